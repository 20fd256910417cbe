"""Rasa's SQL tracker store on our database, with our engine settings.

Rasa's own ``type: SQL`` store opens a new SQLite connection per operation and
commits with a full disk sync each time; under 20 simultaneous conversations
that made the Rasa server half as fast. This store is Rasa's, with the engine
of :func:`bot.db.engine.make_engine`: pooled connections and, on SQLite, WAL
with ``synchronous=NORMAL`` (safe against crashes; only a power cut can lose the
last moments).

It stores every event with personal data masked (``bot.privacy.redact_value``):
what people wrote, what the bot said back, slot values, metadata. The conversation
goes on from the masked copy; the one value a later turn needs, a call-back
contact, waits in ``held_contacts`` instead (``bot.handoff.requests``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine
from bot.privacy import redact_value


class DatabaseTrackerStore(SQLTrackerStore):
    """Configured in ``endpoints.yml`` with ``url: ${DIGITUKI_DATABASE_URL}``."""

    def __init__(
        self,
        host: str | None = None,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        if not host or "://" not in host:
            raise ValueError("the database tracker store needs `url` (DIGITUKI_DATABASE_URL)")
        # Rasa's constructor creates its table (it takes a full URL as the host). Rasa
        # replicas starting together on PostgreSQL take turns, or all but one would
        # fail to create it ("relation events already exists").
        with _one_at_a_time(host):
            super().__init__(domain=domain, host=host, event_broker=event_broker, **kwargs)
        self.engine.dispose()
        self.engine: Engine = make_engine(host)
        self.sessionmaker = sessionmaker(bind=self.engine)

    def _additional_events(
        self, session: Session, tracker: DialogueStateTracker
    ) -> Iterator[Event]:
        """The events not stored yet, each with its personal data masked."""
        for event in super()._additional_events(session, tracker):
            yield masked(event)


@contextmanager
def _one_at_a_time(url: str) -> Iterator[None]:
    """A PostgreSQL advisory lock for the set-up of the table; nothing on SQLite."""
    if not url.startswith("postgresql"):
        yield
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("select pg_advisory_lock(:key)"), {"key": TABLE_SETUP_LOCK})
            try:
                yield
            finally:
                connection.execute(
                    text("select pg_advisory_unlock(:key)"), {"key": TABLE_SETUP_LOCK}
                )
    finally:
        engine.dispose()


TABLE_SETUP_LOCK = 0x44_69_67_69  # "Digi": any number our database uses for nothing else


def masked(event: Event) -> Event:
    """A copy of ``event`` with every string in it masked (the original stays as it is)."""
    return Event.from_parameters(redact_value(event.as_dict()))
