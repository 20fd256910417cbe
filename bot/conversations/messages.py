"""The messages in Rasa's events: what the person, the bot or a support worker wrote.

:func:`message_from_rasa_event` picks them out for the console's conversation stream
(stored by :func:`bot.conversations.store.record_event`, read by
:class:`bot.handoff.events.ConversationEvents`). :func:`is_public_bot_message` says
which of them are the bot's own, kept and sent on as they are; everything else is masked.
"""

from __future__ import annotations

MAX_TEXT = 4000
"""The longest text kept of one message."""

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
