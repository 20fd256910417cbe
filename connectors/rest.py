"""A REST channel for tests, benchmarks and local trials: behind a token, in its own conversations.

Rasa's own ``rest`` channel lets any caller speak as anyone: the body names the
``sender`` (any conversation id, a widget's or a Messenger user's) and even the
``input_channel`` that a support worker's reply is later routed through. This one
(``credentials.yml`` of the tests: ``connectors.rest.TokenRestInput``) keeps the
same URL and JSON (``POST /webhooks/rest/webhook`` with ``sender``, ``message``,
``metadata``; the bot's replies as a JSON list) and adds:

- every call needs ``Authorization: Bearer <DIGITUKI_REST_TOKEN>`` (or ``token`` in
  the credentials file); without a token configured the server does not start;
- the message is always of the ``rest`` channel, whatever the body says;
- a conversation that another channel started (the widget's, Messenger's) is never
  touched: such a sender is refused with 403 before anything is stored;
- the body is at most 16 KB and the message at most 2 000 characters (413).

The deployed profiles do not load it (the project's ``credentials.yml`` has no
REST channel); ``make chat`` talks through the widget's socket instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.observability import bearer_matches

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
MAX_TEXT = 2000
SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,80}$")
CHANNEL = "rest"


class RestChannelError(ValueError):
    """The REST channel is listed but cannot be switched on safely."""


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


def started_elsewhere(events: Any) -> str | None:
    """The channel of the first person's message not sent through this channel, if any."""
    for event in events:
        if isinstance(event, UserUttered) and (event.input_channel or CHANNEL) != CHANNEL:
            return str(event.input_channel)
    return None


class TokenRestInput(InputChannel):
    """``POST /webhooks/rest/webhook`` behind a bearer token, in REST conversations only."""

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        """The token from ``credentials`` (``token``) or ``DIGITUKI_REST_TOKEN``; required."""
        token = str((credentials or {}).get("token") or os.environ.get("DIGITUKI_REST_TOKEN", ""))
        token = token.strip()
        if len(token) < 12:
            raise RestChannelError(
                "the rest channel needs a token of at least 12 characters: "
                "set DIGITUKI_REST_TOKEN (or remove the channel from the credentials file)"
            )
        return cls(token)

    async def _conversation_channel(self, request: Request, sender: str) -> str | None:
        """The other channel whose conversation ``sender`` is, if any (read from the tracker store)."""
        agent = getattr(getattr(request.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        tracker = await store.retrieve(sender)
        return None if tracker is None else started_elsewhere(tracker.events)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("token_rest_webhook", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not bearer_matches(request.headers.get("Authorization"), self.token):
                return _error(401, "unauthorized", "Authorization: Bearer <token> is required")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "too_large", f"the body is at most {MAX_BODY_BYTES} bytes")
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _error(400, "bad_request", "the body must be a JSON object")
            if not isinstance(body, dict):
                return _error(400, "bad_request", "the body must be a JSON object")
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata")
            if not isinstance(sender, str) or not SENDER.match(sender):
                return _error(400, "bad_sender", "sender is 1–80 letters, digits or _.:@-")
            if not isinstance(text, str):
                return _error(400, "bad_request", "message must be text")
            if len(text) > MAX_TEXT:
                return _error(413, "too_long", f"a message is at most {MAX_TEXT} characters")
            if metadata is not None and not isinstance(metadata, dict):
                return _error(400, "bad_request", "metadata must be an object")
            other = await self._conversation_channel(request, sender)
            if other is not None:
                log.warning("rest: refused a message to a conversation of the %s channel", other)
                return _error(
                    403, "not_a_rest_conversation", "this conversation belongs to another channel"
                )
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=CHANNEL, metadata=metadata)
            )
            return response.json(collector.messages)

        return rest
