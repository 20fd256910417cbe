"""Recorded requests to talk to a person. No message text is stored here, only what routes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from bot import vocab
from bot.db.models import HandoffRequestRow, HeldContactRow

REASONS = ("asked", "fallback", "stuck")
LANGUAGES = ("fi", "sv", "en")
KINDS = ("chat", "callback")
CONTACT_METHODS = ("phone", "email")
MAX_SUMMARY = 600
HOLD_CONTACT_FOR = dt.timedelta(days=1)


def utc_now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` if given (tests pass one), else the current time in UTC."""
    return now or dt.datetime.now(dt.timezone.utc)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class HandoffRequest:
    id: str
    conversation_id: str
    channel: str
    language: str
    topics: tuple[str, ...]
    municipality_code: str | None
    reason: str
    state: str
    created_at: dt.datetime
    claimed_by: int | None = None
    claimed_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None
    kind: str = "chat"
    summary: str = ""
    notes: str | None = None
    contact_method: str | None = None
    contact_value: str | None = None
    region_code: str | None = None
    """The municipality's region; filled where the queue reads requests for staff."""


def request_from_row(row: HandoffRequestRow, region_code: str | None = None) -> HandoffRequest:
    """The request as the rest of the application sees it (``region_code`` when it was read)."""
    return HandoffRequest(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        topics=tuple(row.topics.split()),
        municipality_code=row.municipality_code,
        reason=row.reason,
        state=row.state,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        ended_at=row.ended_at,
        outcome=row.outcome,
        kind=row.kind or "chat",
        summary=row.summary or "",
        notes=row.notes,
        contact_method=row.contact_method,
        contact_value=row.contact_value,
        region_code=region_code,
    )


class HandoffRequests:
    """The requests in the database."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory

    def record(
        self,
        *,
        conversation_id: str,
        channel: str | None,
        language: str,
        topics: Sequence[str] = (),
        municipality_code: str | None = None,
        reason: str = "asked",
        kind: str = "chat",
        summary: str = "",
        contact: tuple[str, str] | None = None,
    ) -> HandoffRequest:
        """Records a waiting request; one per conversation while it waits.

        A call-back request (``kind="callback"``) needs ``contact`` — ``("phone", ...)``
        or ``("email", ...)`` — given with the person's consent, which is recorded.
        """
        if not conversation_id:
            raise ValueError("a handoff request needs the conversation id")
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}; expected one of {', '.join(REASONS)}")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "callback" and (
            contact is None or contact[0] not in CONTACT_METHODS or not contact[1].strip()
        ):
            raise ValueError("a call-back request needs a phone number or an e-mail address")
        with self._sessions.begin() as session:
            waiting = session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state == "waiting",
                )
            ).first()
            row = waiting or HandoffRequestRow(
                id=str(uuid.uuid4()),
                conversation_id=conversation_id[:200],
                state="waiting",
                created_at=dt.datetime.now(dt.timezone.utc),
            )
            # The latest context wins: the person may have said more since asking.
            row.channel = (channel or "unknown")[:40]
            row.language = language if language in LANGUAGES else "fi"
            row.topics = " ".join(t for t in dict.fromkeys(topics) if t in vocab.TOPICS)
            row.municipality_code = municipality_code
            row.reason = reason
            row.kind = kind
            row.summary = summary[:MAX_SUMMARY] or None
            if kind == "callback" and contact is not None:
                row.contact_method, row.contact_value = contact[0], contact[1].strip()[:200]
                row.consent_at = dt.datetime.now(dt.timezone.utc)
            session.add(row)
            session.flush()
            return request_from_row(row)

    def open_of(self, conversation_id: str) -> HandoffRequest | None:
        """The conversation's waiting or active request, if it has one."""
        with self._sessions() as session:
            row = session.scalars(
                select(HandoffRequestRow)
                .where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state.in_(("waiting", "active")),
                )
                .order_by(HandoffRequestRow.created_at.desc())
            ).first()
            return request_from_row(row) if row else None

    def cancel(self, conversation_id: str) -> HandoffRequest | None:
        """The person leaves the queue: their waiting request is cancelled (and kept)."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state == "waiting",
                )
            ).first()
            if row is None:
                return None
            row.state = "cancelled"
            row.ended_at = dt.datetime.now(dt.timezone.utc)
            session.flush()
            return request_from_row(row)

    def waiting(self) -> list[HandoffRequest]:
        """Waiting requests, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(HandoffRequestRow)
                .where(HandoffRequestRow.state == "waiting")
                .order_by(HandoffRequestRow.created_at, HandoffRequestRow.id)
            )
            return [request_from_row(row) for row in rows]

    def hold_contact(self, conversation_id: str, method: str, value: str) -> None:
        """Keeps a call-back contact until the person consents or declines (one per conversation).

        The conversation store masks it, so it waits here between the two questions.
        """
        if method not in CONTACT_METHODS or not value.strip():
            raise ValueError("a held contact is a phone number or an e-mail address")
        with self._sessions.begin() as session:
            row = session.get(HeldContactRow, conversation_id[:200]) or HeldContactRow(
                conversation_id=conversation_id[:200]
            )
            row.method, row.value = method, value.strip()[:200]
            row.held_at = dt.datetime.now(dt.timezone.utc)
            session.add(row)

    def take_held_contact(self, conversation_id: str) -> tuple[str, str] | None:
        """The held contact as (method, value), deleted as it is taken; ``None`` if none is held."""
        with self._sessions.begin() as session:
            row = session.get(HeldContactRow, conversation_id[:200])
            if row is None:
                return None
            held = (row.method, row.value)
            fresh = as_utc(row.held_at) > dt.datetime.now(dt.timezone.utc) - HOLD_CONTACT_FOR
            session.delete(row)
            return held if fresh else None

    def drop_stale_contacts(self, now: dt.datetime | None = None) -> int:
        """Deletes contacts held longer than a day (the person never answered); how many."""
        limit = (now or dt.datetime.now(dt.timezone.utc)) - HOLD_CONTACT_FOR
        with self._sessions.begin() as session:
            result = session.execute(delete(HeldContactRow).where(HeldContactRow.held_at < limit))
            return int(result.rowcount or 0)
