"""Rasa's events into our database: messages for the console, facts for the reports.

:func:`record_event` is the one place where an event, as Rasa publishes it, becomes
what we keep: a user or bot message (workers' messages included) goes to
``conversation_events`` with its text masked (the bot's own messages as they are:
:func:`bot.conversations.messages.is_public_bot_message`), from where the handoff
console reads it live; what the reports count (languages, needs, searches:
:func:`bot.conversations.facts.facts_of`) goes to ``analytics_events``. Anything
else is ignored. Three things call it:

- the event broker of the single-server profile
  (``connectors.event_store.DatabaseEventBroker``): the Rasa server writes each
  event as it publishes it;
- the events worker (:mod:`bot.conversations.worker`) of the production profile,
  which takes the events of several Rasa servers from RabbitMQ and passes each one's
  message id as the receipt, so an event delivered twice is stored once;
- the recovery of what RabbitMQ never brought (:mod:`bot.conversations.recovery`),
  under the same receipts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.facts import facts_of
from bot.conversations.messages import MAX_TEXT, message_from_rasa_event
from bot.db.models import AnalyticsEventRow, ConversationEventRow, EventReceiptRow
from bot.privacy import redact_pii

RECEIPT_DAYS = 7
"""Receipts are kept this long: a redelivery comes within minutes, hours after a long outage."""
MAX_RECEIPT = 64
EVENT_ERRORS = (DataError, ValueError, TypeError, KeyError)
"""Errors about an event itself (:func:`record_event`): trying again would not help."""


def record_event(sessions: sessionmaker, event: dict[str, Any], receipt: str | None = None) -> bool:
    """Stores what one Rasa event holds for the console and the reports, in one transaction.

    ``receipt`` is a unique key of the event (the events worker passes its message
    id). It is stored with the rest; when it is there already, the event was stored
    before: nothing is written and the answer is ``False``. An event that holds
    nothing to store writes nothing, not even its receipt (its redelivery writes
    nothing either), so the answer is ``False`` only for a real duplicate.
    """
    if receipt is not None and not 0 < len(receipt) <= MAX_RECEIPT:
        raise ValueError(f"a receipt has 1 to {MAX_RECEIPT} characters")
    message = message_from_rasa_event(event)
    facts = [_without_nul(fact) for fact in facts_of(event)]
    if message is None and not facts:
        return True
    try:
        with sessions.begin() as session:
            if receipt is not None:
                # First, so a duplicate fails before anything else is written (and, on
                # PostgreSQL, waits for a concurrent worker's transaction to decide).
                session.execute(insert(EventReceiptRow).values(key=receipt, received_at=_now()))
            if message is not None:
                append_message(session, message)
            session.add_all(AnalyticsEventRow(**fact) for fact in facts)
    except IntegrityError:
        if receipt is not None and has_receipt(sessions, receipt):
            return False
        raise
    return True


def holds_something(event: dict[str, Any]) -> bool:
    """Whether :func:`record_event` would write anything for ``event``."""
    return message_from_rasa_event(event) is not None or bool(facts_of(event))


def append_message(session: Session, message: dict[str, Any]) -> None:
    """Adds a message (:func:`~bot.conversations.messages.message_from_rasa_event`) in ``session``'s transaction.

    The text is masked here, whoever masked it before (masking is idempotent), unless
    it is the bot's own message (``public``: the facts it gave, such as addresses).
    """
    text = message["text"] if message.get("public") else redact_pii(message["text"])
    session.execute(
        insert(ConversationEventRow).values(
            conversation_id=message["conversation_id"][:200],
            sender=message["sender"],
            text=_without_nul(text)[:MAX_TEXT],
            agent=message["agent"],
            message_id=message["message_id"],
            timestamp=message["timestamp"],
        )
    )


def has_receipt(sessions: sessionmaker, receipt: str) -> bool:
    """Whether an event with this receipt was stored (in the last :data:`RECEIPT_DAYS`)."""
    with sessions() as session:
        return (
            session.scalar(select(EventReceiptRow.key).where(EventReceiptRow.key == receipt))
            is not None
        )


def forget_receipts(
    sessions: sessionmaker,
    older_than: dt.timedelta = dt.timedelta(days=RECEIPT_DAYS),
    *,
    now: dt.datetime | None = None,
) -> int:
    """Deletes the receipts older than ``older_than``; how many went."""
    limit = (now or _now()) - older_than
    with sessions.begin() as session:
        result = session.execute(delete(EventReceiptRow).where(EventReceiptRow.received_at < limit))
        return int(result.rowcount or 0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _without_nul(value: Any) -> Any:
    """PostgreSQL refuses text with NUL characters; nobody wrote them on purpose."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    return value
