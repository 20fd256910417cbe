"""Retention: conversations older than N days are deleted, handoff requests anonymised.

``digituki retention apply --days N`` (run daily from cron or a timer):

- a conversation whose last message is older than the limit is deleted whole: its
  messages in ``conversation_events`` and its tracker in Rasa's ``events`` table (a
  conversation still going on is kept whole, so the bot never sees half of one);
- a handoff request that ended before the limit keeps what the reports count (language,
  topics, municipality, channel, reason, kind, times, outcome) and loses the rest: the
  summary, the worker's notes, the call-back contact, and the conversation id, which
  becomes a one-way hash;
- call-back contacts held for consent longer than a day are deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, delete, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.db.models import ConversationEventRow, HandoffRequestRow
from bot.handoff.requests import HandoffRequests

ANONYMISED_PREFIX = "anon-"
OPEN_STATES = ("waiting", "active")
BATCH = 500


@dataclass(frozen=True)
class RetentionResult:
    conversations: int
    """Conversations deleted (messages and tracker)."""
    messages: int
    tracker_events: int
    requests_anonymised: int
    held_contacts: int
    dry_run: bool = False


def anonymous_id(conversation_id: str) -> str:
    """A stable one-way replacement: the same conversation's requests still group together."""
    return ANONYMISED_PREFIX + hashlib.sha256(conversation_id.encode()).hexdigest()[:24]


def apply_retention(
    engine: Engine,
    sessions: sessionmaker,
    days: int,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int], object] | None = None,
) -> RetentionResult:
    """Deletes and anonymises what is older than ``days``; counts of what was (or would be) done."""
    if days < 1:
        raise ValueError("keep conversations at least one day")
    now = now or dt.datetime.now(dt.timezone.utc)
    limit = now - dt.timedelta(days=days)
    old = _old_conversations(engine, sessions, limit.timestamp())
    messages = tracker_events = 0
    rasa_events = _rasa_events_table(engine)
    with sessions.begin() as session:
        for start in range(0, len(old), BATCH):
            batch = old[start : start + BATCH]
            messages += _count_or_delete(
                session,
                ConversationEventRow.__table__,
                ConversationEventRow.conversation_id,
                batch,
                dry_run,
            )
            if rasa_events is not None:
                tracker_events += _count_or_delete(
                    session, rasa_events, rasa_events.c.sender_id, batch, dry_run
                )
            if on_progress:
                on_progress(len(batch))
        ended = list(
            session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.created_at < limit,
                    HandoffRequestRow.state.not_in(OPEN_STATES),
                    ~HandoffRequestRow.conversation_id.startswith(ANONYMISED_PREFIX),
                )
            )
        )
        for row in [] if dry_run else ended:
            row.conversation_id = anonymous_id(row.conversation_id)
            row.summary = row.notes = row.contact_value = None
    held = 0 if dry_run else HandoffRequests(sessions).drop_stale_contacts(now)
    return RetentionResult(len(old), messages, tracker_events, len(ended), held, dry_run)


def _old_conversations(engine: Engine, sessions: sessionmaker, limit_ts: float) -> list[str]:
    """Conversations whose latest message or tracker event is older than ``limit_ts``."""
    latest: dict[str, float] = {}
    with sessions() as session:
        for conversation_id, last in session.execute(
            select(
                ConversationEventRow.conversation_id, func.max(ConversationEventRow.timestamp)
            ).group_by(ConversationEventRow.conversation_id)
        ):
            latest[conversation_id] = float(last or 0)
        rasa_events = _rasa_events_table(engine)
        if rasa_events is not None:
            for sender_id, last in session.execute(
                select(rasa_events.c.sender_id, func.max(rasa_events.c.timestamp)).group_by(
                    rasa_events.c.sender_id
                )
            ):
                latest[sender_id] = max(latest.get(sender_id, 0.0), float(last or 0))
    return sorted(c for c, last in latest.items() if last < limit_ts)


def _rasa_events_table(engine: Engine) -> Table | None:
    """Rasa's tracker table, when the Rasa server has created it in this database."""
    if not inspect(engine).has_table("events"):
        return None
    return Table("events", MetaData(), autoload_with=engine)


def _count_or_delete(
    session: Any, table: Table, column: Any, conversations: list[str], dry_run: bool
) -> int:
    where = column.in_(conversations)
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(table).where(where)) or 0)
    return int(session.execute(delete(table).where(where)).rowcount or 0)
