"""What the Messenger Platform sends to our webhook, checked and parsed without trusting it.

A delivery (``POST``) is verified with its ``X-Hub-Signature-256`` header before
anything else looks at it; :func:`parse_delivery` then turns its entries into the
messages people wrote. Nothing here touches the network or Rasa, so all of it can be
tested, and fuzzed, on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_TEXT = 2000
"""Longer messages are cut here before understanding: the platform's own limit for text."""
DEFAULT_GET_STARTED_PAYLOAD = "GET_STARTED"
"""The payload the Page's Get Started button carries (the Page's messenger profile sets it)."""
GREET = "/greet"
"""What the bot gets for the Get Started button: the conversation starts with a greeting."""

Kind = Literal["text", "quick_reply", "postback", "attachment"]


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the HMAC-SHA256 of ``body`` with the app secret.

    The comparison takes the same time wherever the first difference is.
    """
    if not header or not app_secret:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256":
        return False
    key = app_secret.encode("utf-8", "surrogateescape")  # as the environment gave it
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))


def sign(body: bytes, app_secret: str) -> str:
    """The header value the platform would send with ``body`` (for tests and tools)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verification_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the platform subscribes the webhook with our verify token."""
    given = params.get("hub.verify_token") or ""
    if (
        params.get("hub.mode") != "subscribe"
        or not verify_token
        or not hmac.compare_digest(
            given.encode("utf-8", "replace"), verify_token.encode("utf-8", "surrogateescape")
        )
    ):
        return None
    challenge = params.get("hub.challenge") or ""
    # The platform sends digits; anything else is not echoed back into a response.
    return (
        challenge if challenge.isascii() and challenge.isdigit() and len(challenge) <= 64 else None
    )


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: wrote text, tapped a quick reply or pressed a button."""

    sender_id: str
    page_id: str
    kind: Kind
    text: str
    """What goes to the bot: the text written, or the payload of the reply or button
    (for an attachment, its type: the bot does not get it)."""
    message_id: str
    """The platform's id of the message; a redelivery carries the same one."""
    timestamp: int


@dataclass
class Delivery:
    """The messages of one webhook call, and what was left out and why."""

    messages: list[Incoming] = field(default_factory=list)
    ignored: int = 0
    """Echoes of our own messages, delivery and read receipts, reactions and the like."""
    problems: list[str] = field(default_factory=list)
    """Events that were malformed or not understood (logged, never raised)."""


class DeliveryError(ValueError):
    """The body is not a delivery for a Page at all."""


def _id(value: Any) -> str | None:
    """A platform id: digits in a string (or a number), nothing else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 10**40:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 40:
        return value
    return None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # Lone surrogates (valid JSON, invalid text) would break everything downstream.
    value = value.encode("utf-8", "replace").decode("utf-8").strip()
    return value[:MAX_TEXT] if value else None


def _timestamp(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def read_delivery(body: bytes, get_started_payload: str = DEFAULT_GET_STARTED_PAYLOAD) -> Delivery:
    """The messages of a delivery's raw (already verified) body; :class:`DeliveryError` if none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        raise DeliveryError("the body is not JSON") from None
    return parse_delivery(document, get_started_payload)


def parse_delivery(
    document: Any, get_started_payload: str = DEFAULT_GET_STARTED_PAYLOAD
) -> Delivery:
    """The people's messages in a webhook delivery, each entry and each event in order.

    Within a delivery a person's messages are put in the order they were written
    (their timestamps; equal ones keep the delivery's order). A postback with
    ``get_started_payload`` (the Get Started button) comes as :data:`GREET`. Raises
    :class:`DeliveryError` only when the whole body is not a Page delivery.
    """
    if not isinstance(document, dict) or document.get("object") != "page":
        raise DeliveryError("not a Messenger delivery for a Page")
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise DeliveryError("a delivery needs a list of entries")
    delivery = Delivery()
    for number, entry in enumerate(entries):
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            # ``standby`` and ``changes`` entries are other products' business.
            delivery.ignored += 1
            continue
        for position, event in enumerate(events):
            where = f"entry {number} event {position}"
            try:
                message = _event(event, get_started_payload)
            except _Malformed as problem:
                delivery.problems.append(f"{where}: {problem}")
                continue
            if message is None:
                delivery.ignored += 1
            else:
                delivery.messages.append(message)
    delivery.messages.sort(key=lambda m: m.timestamp)  # stable: equal times keep their order
    return delivery


class _Malformed(Exception):
    pass


def _mid(value: Any) -> str | None:
    """The platform's message id: a short string that is valid text."""
    if not isinstance(value, str) or not value or len(value) > 300:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    return value


def _event(event: Any, get_started_payload: str) -> Incoming | None:
    """One ``messaging`` event as a message, ``None`` for what we do not answer."""
    if not isinstance(event, dict):
        raise _Malformed("not an object")
    sender = _id(
        (event.get("sender") or {}).get("id") if isinstance(event.get("sender"), dict) else None
    )
    page = _id(
        (event.get("recipient") or {}).get("id")
        if isinstance(event.get("recipient"), dict)
        else None
    )
    timestamp = _timestamp(event.get("timestamp"))
    message = event.get("message")
    postback = event.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None  # our own message, or one a Page admin wrote in the inbox
        if sender is None or page is None:
            raise _Malformed("a message needs sender and recipient ids")
        mid = _mid(message.get("mid"))
        if mid is None:
            raise _Malformed("a message needs its mid")
        quick = message.get("quick_reply")
        payload = _text(quick.get("payload")) if isinstance(quick, dict) else None
        if payload is not None:
            return Incoming(sender, page, "quick_reply", payload, mid, timestamp)
        text = _text(message.get("text"))
        if text is not None:
            return Incoming(sender, page, "text", text, mid, timestamp)
        attachments = message.get("attachments")
        if isinstance(attachments, list) and attachments:
            # A photo, a sticker, a voice message: the person is told the bot reads only text.
            first = attachments[0] if isinstance(attachments[0], dict) else {}
            kind = first.get("type")
            good = isinstance(kind, str) and kind.isascii() and kind.isalpha() and len(kind) <= 20
            label = kind if good and isinstance(kind, str) else "file"
            return Incoming(sender, page, "attachment", label, mid, timestamp)
        return None
    if isinstance(postback, dict):
        if sender is None or page is None:
            raise _Malformed("a postback needs sender and recipient ids")
        payload = _text(postback.get("payload"))
        title = _text(postback.get("title"))
        if payload == get_started_payload:
            text = GREET  # whatever the button's title says
        elif payload and payload.startswith("/"):
            text = payload  # our own buttons carry an intent
        else:  # other buttons of the Page (a persistent menu) say what they are
            text = title or payload
        if text is None:
            raise _Malformed("a postback needs a payload or a title")
        mid = _mid(postback.get("mid"))
        if mid is None:
            mid = f"postback:{sender}:{timestamp}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        return Incoming(sender, page, "postback", text, mid, timestamp)
    # delivery, read, reaction, referral, optin, account_linking …
    return None
