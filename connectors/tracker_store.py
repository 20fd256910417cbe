"""Rasa's SQL tracker store on our database, with our engine settings.

Rasa's own ``type: SQL`` store opens a new SQLite connection per operation and
commits with a full disk sync each time; under 20 simultaneous conversations
that made the Rasa server half as fast. This store is Rasa's, with the engine
of :func:`bot.db.engine.make_engine`: pooled connections and, on SQLite, WAL
with ``synchronous=NORMAL`` (safe against crashes; only a power cut can lose the
last moments).

A database that does not answer for a moment (a PostgreSQL restart, a failover) is
waited for: reading and saving a conversation are tried again for up to
``retry_seconds`` (20) before the error goes to Rasa. Rasa's answer to an error is to
go on in memory (``FailSafeTrackerStore``): for a read that means a conversation
starting over, for a save one the other replicas never see.

It stores every event with personal data masked (``bot.privacy.redact_value``):
what people wrote, slot values, metadata, by the same rule as the event stream
(:func:`bot.conversations.encoding.masked_event`). The bot's own messages keep their
text: the addresses and phone numbers in them are public facts, and an event
recovered from here (:mod:`bot.conversations.recovery`) must show the support
worker what the bot said, as the stream does. The conversation goes on from the
masked copy; the one value a later turn needs, a call-back contact, waits in
``held_contacts`` instead (``bot.handoff.requests``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.encoding import masked_event
from bot.db.engine import make_engine

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    retry_seconds: float = 20.0
    """How long a read or a save is tried again while the database does not answer."""

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await self._retrying(
            "read",
            lambda: super(DatabaseTrackerStore, self)._retrieve(
                sender_id, fetch_events_from_all_sessions
            ),
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        # A save that fails after its events were published is published again: the
        # events worker stores each event once (bot.conversations.encoding.event_identity).
        await self._retrying("save", lambda: super(DatabaseTrackerStore, self).save(tracker))

    async def keys(self) -> Iterable[str]:
        return await self._retrying("read", lambda: super(DatabaseTrackerStore, self).keys())

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``, again with a growing pause while the database does not answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                return await attempt()
            except (OperationalError, InterfaceError) as error:
                if loop.time() + pause > deadline:
                    raise
                log.warning(
                    "the tracker store's database does not answer (%s); %s tried again",
                    type(error).__name__,
                    what,
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

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
    """A copy of ``event`` with its personal data masked (the original stays as it is)."""
    return Event.from_parameters(masked_event(event.as_dict()))
