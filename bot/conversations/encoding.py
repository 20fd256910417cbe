"""An event on the wire: masked, canonical JSON, with one identity wherever it is kept.

The RabbitMQ broker (``connectors.rabbitmq_broker.MaskedPikaEventBroker``) sends
each event as :func:`encode_event` makes it; the events worker
(:mod:`bot.conversations.worker`) reads it back with :func:`decode_event`.

- Personal data is masked before an event leaves the process, since a durable
  queue is storage too (``bot.privacy.redact_value`` over the event, except the
  conversation id: it is the key the console and the handoff requests use, stored
  as it is everywhere, and a Messenger id of 16 digits can look like a card number).
  The bot's own messages keep their text and data as they are
  (:func:`bot.conversations.messages.is_public_bot_message`): the addresses and phone
  numbers the bot gave are public facts that the support worker needs to see.
- Each message has a message id, :func:`event_identity` of its event, so an event
  published twice (after a publish whose confirmation was lost), or recovered from
  the tracker store as well (:mod:`bot.conversations.recovery`), is stored once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.conversations.messages import is_public_bot_message
from bot.privacy import redact_value

DEFAULT_QUEUE = "digituki_events"
DEFAULT_EXCHANGE = "digituki-events"
UNMASKED_KEYS = frozenset({"sender_id"})
PUBLIC_KEYS = UNMASKED_KEYS | {"text", "data"}


def masked_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with every string masked, except the conversation id.

    The text and data of the bot's own messages (:func:`is_public_bot_message`) go as
    they are; their metadata is masked like the rest.
    """
    unmasked = PUBLIC_KEYS if is_public_bot_message(event) else UNMASKED_KEYS
    return {key: value if key in unmasked else redact_value(value) for key, value in event.items()}


def encode_event(event: dict[str, Any]) -> tuple[bytes, str]:
    """The message body of ``event`` (masked, canonical JSON) and its message id."""
    masked = masked_event(event)
    body = _canonical(masked)
    return body, event_identity(masked, body)


def _canonical(masked: dict[str, Any]) -> bytes:
    return json.dumps(masked, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_identity(event: dict[str, Any], body: bytes | None = None) -> str:
    """The id of one tracker event: the same for its message in RabbitMQ and its row in
    the tracker store (:mod:`bot.conversations.recovery` recovers events from there).

    A SHA-256 of the conversation, the kind of event, its timestamp and its name (a
    slot's or an action's): Rasa stamps every event when it makes it, so these tell
    events apart, and neither masking nor the tracker store's round trip changes them.
    An event without a timestamp (not one of Rasa's) is known by its whole masked body.
    """
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return hashlib.sha256(_canonical(masked_event(event)) if body is None else body).hexdigest()
    name = event.get("name")
    key = [
        "rasa-event",
        event.get("sender_id"),
        event.get("event"),
        float(timestamp),
        name if isinstance(name, str) else None,
    ]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()


def decode_event(body: bytes) -> dict[str, Any] | None:
    """The Rasa event in a message body; ``None`` when it is not one."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return event
