"""The conversation event stream: the messages of every conversation, in order, from Rasa.

Rasa publishes each tracker event to its event broker; ours
(:mod:`connectors.event_store`) keeps the messages here. The console reads the
stream by id: a worker's page asks for what came after the last id it has, so
a message is shown once even when the page reconnects, and a transcript can be
read while the Rasa server restarts. Text is stored masked, except the bot's own
messages (:func:`is_public_bot_message`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import sessionmaker

from bot.db.models import ConversationEventRow

SENDERS = ("user", "bot", "worker")
MAX_TEXT = 4000


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


PERSONAL_PLACEHOLDERS = frozenset({"callback_contact"})
"""Placeholders of the domain's responses that Rasa fills with what the person gave.

``callback_contact`` is the phone number or e-mail address for a call-back. The
others hold what the bot or the service knows: a municipality from the gazetteer,
an authority's name, service and website, kilometres, a place in the queue and a
wait, the service hours, the name of the worker who joined.
"""

PERSONAL_RESPONSES = frozenset({"utter_ask_callback_consent"})
"""The responses with a :data:`PERSONAL_PLACEHOLDERS` placeholder: their messages stay masked.

Kept by hand, so that nothing is read at import time; a unit test reads the domain
and fails when a response is missing here.
"""


def is_public_bot_message(event: dict) -> bool:
    """Whether ``event`` is the bot's own message: stored and sent on as it is, never masked.

    The bot's texts hold public facts: a provider's address, phone and opening hours,
    an authority's website. Masked, they would hide from the support worker what the
    bot told the person ("[address]"). Masked stay what the person wrote, a worker's
    message (``metadata.agent``: it may repeat what the person wrote) and a response
    that repeats the person's own data (:data:`PERSONAL_RESPONSES`). Rasa names the
    response in ``metadata.utter_action`` of every message made from one: said by a
    rule or a form, or sent by an action with ``utter_message(response=...)``. An
    action's free text (``utter_message(text=...)``) names none and counts as the
    bot's own, so an action must not put what the person wrote into one.
    """
    metadata = event.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return (
        event.get("event") == "bot"
        and "agent" not in metadata
        and metadata.get("utter_action") not in PERSONAL_RESPONSES
    )


def message_from_rasa_event(event: dict) -> dict | None:
    """The columns for a Rasa ``user`` or ``bot`` event with text; ``None`` for anything else.

    Button payloads (``/intent``) and session starts are not what anyone wrote.
    A bot event with ``metadata.agent`` was written by a support worker.
    """
    kind, text = event.get("event"), event.get("text")
    conversation_id = event.get("sender_id")
    if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
        return None
    if not isinstance(conversation_id, str) or text.startswith("/"):
        return None
    metadata = event.get("metadata")
    agent = metadata.get("agent") if kind == "bot" and isinstance(metadata, dict) else None
    message_id = event.get("message_id") if kind == "user" else None
    timestamp = event.get("timestamp")
    return {
        "conversation_id": conversation_id[:200],
        "sender": "worker" if isinstance(agent, str) and agent else kind,
        "text": text[:MAX_TEXT],
        "agent": agent[:120] if isinstance(agent, str) and agent else None,
        "message_id": message_id[:64] if isinstance(message_id, str) else None,
        "timestamp": float(timestamp) if isinstance(timestamp, int | float) else 0.0,
        "public": is_public_bot_message(event),
    }


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
