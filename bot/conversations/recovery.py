"""Events the Rasa replicas never published, recovered from the tracker store.

A Rasa replica publishes each event to RabbitMQ from memory, after its turn
(``connectors.rabbitmq_broker``). When the replica is killed, what it still held
never reaches the stream, yet the conversation is whole in the tracker store: Rasa's
``events`` table, in the same database, masked (``connectors.tracker_store``).

So the events worker (:mod:`bot.conversations.worker`) also reads that table, in the
order it was written and ``grace_s`` behind the present (the stream has brought
nearly everything by then), and stores each event the stream did not bring, under
the same receipt (:func:`bot.conversations.encoding.event_identity`): an event that
comes through RabbitMQ as well, before or after, is stored once. Its place is kept in
``event_cursors`` (migration 0010), so a restart goes on where it stopped. The first
run starts at the events of the last :data:`FIRST_RUN_DAYS` days: older ones were
stored long ago and their receipts are gone.

A row written late with a lower id than rows already read (a transaction open for
longer than ``grace_s``) is not read again; Rasa writes a turn's events in one short
transaction, so in practice this does not happen.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.conversations.encoding import event_identity
from bot.conversations.store import EVENT_ERRORS, RECEIPT_DAYS, holds_something, record_event
from bot.db.models import EventCursorRow, EventReceiptRow

log = logging.getLogger(__name__)

CURSOR = "rasa_tracker_events"
TRACKER_TABLE = "events"
"""Rasa's SQL tracker store's table."""
FIRST_RUN_DAYS = RECEIPT_DAYS - 1
"""Receipts live :data:`~bot.conversations.store.RECEIPT_DAYS`; a day less leaves a margin."""

RECOVERED = Counter(
    "digituki_events_recovered",
    "Events stored from the tracker store because RabbitMQ had not brought them within "
    "the grace period (a Rasa replica stopped before publishing them, or the stream lags)",
)


@dataclass
class Reconciler:
    """Reads the tracker store's events after the stream and stores what is missing."""

    sessions: sessionmaker
    grace_s: float = 120.0
    batch: int = 500
    recovered: int = 0
    """Events stored because the stream had not brought them within ``grace_s``."""
    read: int = 0
    """Tracker store rows read."""
    _position: int | None = field(default=None, init=False, repr=False)
    """The last row read, once known (the database has it too, for a restart)."""

    def run_once(self, now: float | None = None) -> int:
        """Reads every row older than ``grace_s``; how many events it stored (recovered)."""
        now = time.time() if now is None else now
        if self._position is None:
            with self.sessions() as session:
                if not inspect(session.connection()).has_table(TRACKER_TABLE):
                    return 0  # no Rasa server has written yet
        total = 0
        while True:
            stored, more = self._one_batch(now)
            total += stored
            if not more:
                break
        if total:
            self.recovered += total
            RECOVERED.inc(total)
            log.warning(
                "stored %d events from the tracker store that had not come through RabbitMQ "
                "within %.0f s (a Rasa replica stopped before publishing them, or the stream "
                "lags)",
                total,
                self.grace_s,
            )
        return total

    def _one_batch(self, now: float) -> tuple[int, bool]:
        """One batch of rows: (events stored, whether there may be more to read now)."""
        if self._position is None:
            self._position = self._cursor(now)
        start = self._position
        with self.sessions() as session:
            rows = session.execute(
                text(
                    f"select id, sender_id, timestamp, data from {TRACKER_TABLE} "
                    "where id > :start order by id limit :batch"
                ),
                {"start": start, "batch": self.batch},
            ).all()
        last = start
        missing: list[tuple[dict[str, Any], str]] = []
        reached_the_present = False
        for row in rows:
            if row.timestamp is not None and row.timestamp > now - self.grace_s:
                reached_the_present = True
                break
            last = row.id
            self.read += 1
            event = _event_of(row.sender_id, row.data)
            if event is not None and holds_something(event):
                missing.append((event, event_identity(event)))
        known = self._known_receipts([receipt for _, receipt in missing])
        stored = 0
        for event, receipt in missing:
            if receipt in known:
                continue
            try:
                stored += record_event(self.sessions, event, receipt)
            except EVENT_ERRORS as error:
                log.error(
                    "a tracker store event could not be stored (%s, receipt %s)",
                    type(error).__name__,
                    receipt,
                )
        if last != start:
            self._move_cursor(last)
            self._position = last
        return stored, len(rows) == self.batch and not reached_the_present

    def _cursor(self, now: float) -> int:
        """Where reading goes on; made on the first run (see the module's text)."""
        with self.sessions() as session:
            last = session.scalar(
                select(EventCursorRow.last_id).where(EventCursorRow.name == CURSOR)
            )
        if last is not None:
            return int(last)
        since = now - FIRST_RUN_DAYS * 86400
        with self.sessions() as session:
            first_recent = session.execute(
                text(f"select min(id) from {TRACKER_TABLE} where timestamp >= :since"),
                {"since": since},
            ).scalar()
            if first_recent is None:
                first_recent = (
                    session.execute(text(f"select max(id) from {TRACKER_TABLE}")).scalar() or 0
                ) + 1
        start = int(first_recent) - 1
        try:
            with self.sessions.begin() as session:
                session.add(EventCursorRow(name=CURSOR, last_id=start, updated_at=_utcnow()))
        except IntegrityError:  # another worker made it first
            return self._cursor(now)
        return start

    def _move_cursor(self, last: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(EventCursorRow)
                .where(EventCursorRow.name == CURSOR, EventCursorRow.last_id < last)
                .values(last_id=last, updated_at=_utcnow())
            )

    def _known_receipts(self, receipts: list[str]) -> set[str]:
        if not receipts:
            return set()
        with self.sessions() as session:
            return set(
                session.scalars(
                    select(EventReceiptRow.key).where(EventReceiptRow.key.in_(receipts))
                )
            )


def _event_of(sender_id: Any, data: Any) -> dict[str, Any] | None:
    """The event as the broker would have published it: its data and the conversation id."""
    try:
        event = json.loads(data) if isinstance(data, str | bytes) else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return {"sender_id": sender_id, **event}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
