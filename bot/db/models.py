"""SQLAlchemy models (2.0-style usage on SQLAlchemy 1.4). One schema for SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, registry, relationship
from sqlalchemy.orm.decl_api import DeclarativeMeta

# Deterministic constraint names, so migrations work the same on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Declarative base written out, so type checkers see a real class (SQLAlchemy 1.4)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class RegionRow(Base):
    __tablename__ = "regions"

    code: Mapped[str] = Column(String(2), primary_key=True)
    name_fi: Mapped[str] = Column(String(80), nullable=False, unique=True)
    name_sv: Mapped[str] = Column(String(80), nullable=False)
    name_en: Mapped[str] = Column(String(80), nullable=False)


class MunicipalityRow(Base):
    __tablename__ = "municipalities"

    code: Mapped[str] = Column(String(3), primary_key=True)
    name_fi: Mapped[str] = Column(String(80), nullable=False, unique=True)
    name_sv: Mapped[str] = Column(String(80), nullable=False)
    region_code: Mapped[str] = Column(ForeignKey("regions.code"), nullable=False, index=True)
    lat: Mapped[float] = Column(Float, nullable=False)
    lon: Mapped[float] = Column(Float, nullable=False)


class ProviderRow(Base):
    __tablename__ = "providers"

    id: Mapped[str] = Column(String(120), primary_key=True)
    name_fi: Mapped[str] = Column(String(300), nullable=False)
    name_sv: Mapped[str | None] = Column(String(300))
    name_en: Mapped[str | None] = Column(String(300))
    organisation: Mapped[str | None] = Column(String(300))
    org_type: Mapped[str] = Column(String(20), nullable=False)
    municipality_code: Mapped[str] = Column(
        ForeignKey("municipalities.code"), nullable=False, index=True
    )
    street_address: Mapped[str | None] = Column(String(300))
    postal_code: Mapped[str | None] = Column(String(5))
    lat: Mapped[float] = Column(Float, nullable=False)
    lon: Mapped[float] = Column(Float, nullable=False)
    location_is_municipality_centre: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    opening_hours: Mapped[str | None] = Column(String(500))
    phone: Mapped[str | None] = Column(String(40))
    email: Mapped[str | None] = Column(String(254))
    website: Mapped[str | None] = Column(String(500))
    free_of_charge: Mapped[bool | None] = Column(Boolean)
    wheelchair_accessible: Mapped[bool | None] = Column(Boolean)
    booking_required: Mapped[bool | None] = Column(Boolean)
    description_fi: Mapped[str | None] = Column(Text)
    description_sv: Mapped[str | None] = Column(Text)
    description_en: Mapped[str | None] = Column(Text)
    source: Mapped[str] = Column(String(40), nullable=False, default="import")
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow, onupdate=_utcnow
    )

    support_forms = relationship("ProviderFormRow", cascade="all, delete-orphan", lazy="selectin")
    topics = relationship("ProviderTopicRow", cascade="all, delete-orphan", lazy="selectin")
    languages = relationship("ProviderLanguageRow", cascade="all, delete-orphan", lazy="selectin")
    target_groups = relationship(
        "ProviderTargetGroupRow", cascade="all, delete-orphan", lazy="selectin"
    )
    service_areas = relationship(
        "ProviderServiceAreaRow", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (Index("ix_providers_active_lat_lon", "active", "lat", "lon"),)


def _provider_fk() -> Column:
    return Column(ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True, nullable=False)


class ProviderFormRow(Base):
    __tablename__ = "provider_support_forms"

    provider_id: Mapped[str] = _provider_fk()
    form: Mapped[str] = Column(String(20), primary_key=True)
    __table_args__ = (Index("ix_provider_support_forms_form", "form", "provider_id"),)


class ProviderTopicRow(Base):
    __tablename__ = "provider_topics"

    provider_id: Mapped[str] = _provider_fk()
    topic: Mapped[str] = Column(String(20), primary_key=True)
    __table_args__ = (Index("ix_provider_topics_topic", "topic", "provider_id"),)


class ProviderLanguageRow(Base):
    __tablename__ = "provider_languages"

    provider_id: Mapped[str] = _provider_fk()
    language: Mapped[str] = Column(String(3), primary_key=True)
    __table_args__ = (Index("ix_provider_languages_language", "language", "provider_id"),)


class ProviderTargetGroupRow(Base):
    __tablename__ = "provider_target_groups"

    provider_id: Mapped[str] = _provider_fk()
    target_group: Mapped[str] = Column(String(20), primary_key=True)


class ProviderServiceAreaRow(Base):
    """One item of a remote service's area; ``scope`` is nationwide, region or municipality."""

    __tablename__ = "provider_service_areas"

    id: Mapped[int] = Column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = Column(
        ForeignKey("providers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    scope: Mapped[str] = Column(String(12), nullable=False)
    region_code: Mapped[str | None] = Column(ForeignKey("regions.code"))
    municipality_code: Mapped[str | None] = Column(ForeignKey("municipalities.code"))

    # Coverage lookups go scope by scope and stop at the limit: (key, provider_id) order.
    __table_args__ = (
        Index("ix_provider_service_areas_scope", "scope", "provider_id"),
        Index("ix_provider_service_areas_region", "region_code", "provider_id"),
        Index("ix_provider_service_areas_municipality", "municipality_code", "provider_id"),
    )


class DataVersionRow(Base):
    """A counter per data set, raised by every write, so caches know when to reload."""

    __tablename__ = "data_versions"

    name: Mapped[str] = Column(String(40), primary_key=True)
    version: Mapped[int] = Column(Integer, nullable=False, default=0)


class HandoffRequestRow(Base):
    """A person asked to talk to a human. The queue and its workers build on this."""

    __tablename__ = "handoff_requests"

    id: Mapped[str] = Column(String(36), primary_key=True)
    conversation_id: Mapped[str] = Column(String(200), nullable=False, index=True)
    channel: Mapped[str] = Column(String(40), nullable=False)
    language: Mapped[str] = Column(String(2), nullable=False)
    topics: Mapped[str] = Column(String(200), nullable=False, default="")  # space-separated
    municipality_code: Mapped[str | None] = Column(ForeignKey("municipalities.code"))
    reason: Mapped[str] = Column(String(20), nullable=False)
    state: Mapped[str] = Column(String(12), nullable=False, default="waiting")
    created_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow
    )
    claimed_by: Mapped[int | None] = Column(ForeignKey("agents.id"), index=True)
    claimed_at: Mapped[dt.datetime | None] = Column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = Column(DateTime(timezone=True))
    outcome: Mapped[str | None] = Column(String(30))
    notes: Mapped[str | None] = Column(Text)
    kind: Mapped[str] = Column(String(10), nullable=False, default="chat", server_default="chat")
    summary: Mapped[str | None] = Column(Text)
    contact_method: Mapped[str | None] = Column(String(10))  # call-backs: phone or email
    contact_value: Mapped[str | None] = Column(String(200))
    consent_at: Mapped[dt.datetime | None] = Column(DateTime(timezone=True))

    __table_args__ = (Index("ix_handoff_requests_state_created_at", "state", "created_at"),)


class ConversationEventRow(Base):
    """A message of a conversation from Rasa's event stream, in the order it happened."""

    __tablename__ = "conversation_events"

    id: Mapped[int] = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = Column(String(200), nullable=False)
    sender: Mapped[str] = Column(String(10), nullable=False)  # user, bot or worker
    text: Mapped[str] = Column(Text, nullable=False)
    agent: Mapped[str | None] = Column(String(120))
    message_id: Mapped[str | None] = Column(String(64))
    timestamp: Mapped[float] = Column(Float, nullable=False)

    __table_args__ = (Index("ix_conversation_events_conversation_id_id", "conversation_id", "id"),)


class AnalyticsEventRow(Base):
    """One fact for the reports: a message, the language, a need, a search, feedback (0008)."""

    __tablename__ = "analytics_events"

    id: Mapped[int] = Column(Integer, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = Column(String(32), nullable=False)
    kind: Mapped[str] = Column(String(12), nullable=False)
    timestamp: Mapped[float] = Column(Float, nullable=False, index=True)
    language: Mapped[str | None] = Column(String(2))
    topic: Mapped[str | None] = Column(String(30))
    municipality_code: Mapped[str | None] = Column(String(3))
    region_code: Mapped[str | None] = Column(String(2))
    support_form: Mapped[str | None] = Column(String(12))
    results: Mapped[int | None] = Column(Integer)
    nearest_km: Mapped[float | None] = Column(Float)
    language_relaxed: Mapped[bool | None] = Column(Boolean)
    rating: Mapped[str | None] = Column(String(4))  # feedback: up or down
    comment: Mapped[str | None] = Column(Text)  # feedback comment, masked


class EventReceiptRow(Base):
    """An event the events worker stored, by its message id: a redelivery is stored once (0009)."""

    __tablename__ = "event_receipts"

    key: Mapped[str] = Column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow, index=True
    )


class EventCursorRow(Base):
    """How far a reader of another table has come (0010): the events worker's recovery
    of events from the tracker store (``bot.conversations.recovery``) keeps its place here."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = Column(String(64), primary_key=True)
    last_id: Mapped[int] = Column(BigInteger, nullable=False)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow
    )


class HeldContactRow(Base):
    """A call-back contact waiting for the person's consent (migration 0007 says why)."""

    __tablename__ = "held_contacts"

    conversation_id: Mapped[str] = Column(String(200), primary_key=True)
    method: Mapped[str] = Column(String(10), nullable=False)
    value: Mapped[str] = Column(String(200), nullable=False)
    held_at: Mapped[dt.datetime] = Column(DateTime(timezone=True), nullable=False)


class AgentRow(Base):
    """A digital support worker, coordinator or administrator of the handoff console."""

    __tablename__ = "agents"

    id: Mapped[int] = Column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(120), nullable=False)
    password_hash: Mapped[str] = Column(String(200), nullable=False)
    role: Mapped[str] = Column(String(12), nullable=False)
    languages: Mapped[str] = Column(String(60), nullable=False)  # space-separated codes
    region_codes: Mapped[str] = Column(String(120), nullable=False, default="")  # empty: all
    capacity: Mapped[int] = Column(Integer, nullable=False, default=3)
    available: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow
    )
    last_seen_at: Mapped[dt.datetime | None] = Column(DateTime(timezone=True))
    """When the worker's console was last connected (live help needs someone there)."""


class AgentSessionRow(Base):
    """A logged-in console session. Only a hash of the cookie's token is stored."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = Column(String(64), primary_key=True)
    agent_id: Mapped[int] = Column(
        ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = Column(
        DateTime(timezone=True), nullable=False, default=_utcnow
    )
    expires_at: Mapped[dt.datetime] = Column(DateTime(timezone=True), nullable=False)
