"""The conversation event stream: the messages of every conversation, in order, from Rasa.

Rasa publishes each tracker event to its event broker; the messages in them are
kept here (:func:`bot.conversations.store.record_event`). The console reads the
stream by id: a worker's page asks for what came after the last id it has, so
a message is shown once even when the page reconnects, and a transcript can be
read while the Rasa server restarts. Text is stored masked, except the bot's own
messages (:func:`bot.conversations.messages.is_public_bot_message`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import sessionmaker

from bot.conversations.messages import MAX_TEXT
from bot.db.models import ConversationEventRow

SENDERS = ("user", "bot", "worker")


@dataclass(frozen=True)
class ConversationEvent:
    """One message: what the person, the bot or a worker wrote."""

    id: int
    conversation_id: str
    sender: str
    text: str
    timestamp: float
    agent: str | None = None
    message_id: str | None = None


def _from_row(row: ConversationEventRow) -> ConversationEvent:
    return ConversationEvent(
        id=row.id,
        conversation_id=row.conversation_id,
        sender=row.sender,
        text=row.text,
        timestamp=row.timestamp,
        agent=row.agent,
        message_id=row.message_id,
    )


class ConversationEvents:
    """The stored stream."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory

    def append(
        self,
        conversation_id: str,
        sender: str,
        text: str,
        timestamp: float,
        *,
        agent: str | None = None,
        message_id: str | None = None,
    ) -> int:
        """Stores one message and returns its id (ids only grow)."""
        if sender not in SENDERS:
            raise ValueError(f"sender must be one of {', '.join(SENDERS)}")
        with self._sessions.begin() as session:
            result = session.execute(
                insert(ConversationEventRow).values(
                    conversation_id=conversation_id[:200],
                    sender=sender,
                    text=text[:MAX_TEXT],
                    agent=agent,
                    message_id=message_id,
                    timestamp=timestamp,
                )
            )
            return int(result.inserted_primary_key[0])

    def after(self, last_id: int, limit: int = 500) -> list[ConversationEvent]:
        """Messages of every conversation stored after ``last_id``, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(ConversationEventRow)
                .where(ConversationEventRow.id > last_id)
                .order_by(ConversationEventRow.id)
                .limit(limit)
            )
            return [_from_row(row) for row in rows]

    def of_conversation(
        self, conversation_id: str, after_id: int = 0, limit: int = 1000
    ) -> list[ConversationEvent]:
        """One conversation's messages, oldest first (the last ``limit`` of them)."""
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(ConversationEventRow)
                    .where(
                        ConversationEventRow.conversation_id == conversation_id,
                        ConversationEventRow.id > after_id,
                    )
                    .order_by(ConversationEventRow.id.desc())
                    .limit(limit)
                )
            )
            return [_from_row(row) for row in reversed(rows)]

    def last_id(self) -> int:
        """The id of the newest stored message (0 when there is none)."""
        with self._sessions() as session:
            return int(session.scalar(select(func.max(ConversationEventRow.id))) or 0)
