"""The web widget's channel: one WebSocket per open widget (protocol: docs/widget-protocol.md).

``WidgetInput`` is a Rasa input channel (``credentials.yml``:
``connectors.widget.WidgetInput``). ``WidgetOutput`` sends to a conversation
whether or not its widget is connected: every message gets a sequence number
and waits in the conversation's outbox until the widget acknowledges it, so a
reply to a closed tab, or later a support worker's message, is delivered on the
next connection, exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

log = logging.getLogger(__name__)

LANGUAGES = ("fi", "sv", "en")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")


@dataclass(frozen=True)
class Limits:
    """What one widget connection may send."""

    max_frame_bytes: int = 8 * 1024
    max_text: int = 1000
    messages_per_window: int = 10
    window_s: float = 10.0
    outbox_size: int = 200
    """Unacknowledged messages kept per conversation; the oldest go first beyond this."""
    outbox_ttl_s: float = 24 * 3600


class FrameError(ValueError):
    """A frame the protocol does not allow; ``code`` is sent back to the widget."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Conversation:
    next_seq: int = 1
    outbox: deque[dict[str, Any]] = field(default_factory=deque)
    sockets: set[Any] = field(default_factory=set)
    touched: float = field(default_factory=time.monotonic)


class WidgetSessions:
    """Outboxes and open sockets of the widget conversations of this process."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._conversations: dict[str, _Conversation] = {}

    def _get(self, session_id: str) -> _Conversation:
        self._expire()
        conversation = self._conversations.setdefault(session_id, _Conversation())
        conversation.touched = time.monotonic()
        return conversation

    def _expire(self) -> None:
        limit = time.monotonic() - self.limits.outbox_ttl_s
        for key in [
            k for k, c in self._conversations.items() if c.touched < limit and not c.sockets
        ]:
            del self._conversations[key]

    def known(self, session_id: str) -> bool:
        return session_id in self._conversations

    def attach(self, session_id: str, socket: Any) -> None:
        self._get(session_id).sockets.add(socket)

    def resume(self, session_id: str, last_seq: int) -> None:
        """A conversation this process does not know (it restarted): numbering goes on."""
        conversation = self._get(session_id)
        conversation.next_seq = max(conversation.next_seq, last_seq + 1)

    def detach(self, session_id: str, socket: Any) -> None:
        conversation = self._conversations.get(session_id)
        if conversation is not None:
            conversation.sockets.discard(socket)

    def forget(self, session_id: str) -> None:
        self._conversations.pop(session_id, None)

    def ack(self, session_id: str, seq: int) -> None:
        """The widget has shown everything up to ``seq``."""
        outbox = self._get(session_id).outbox
        while outbox and outbox[0]["seq"] <= seq:
            outbox.popleft()

    def pending(self, session_id: str, last_seq: int) -> list[dict[str, Any]]:
        """Messages after ``last_seq`` not yet acknowledged; those before are dropped."""
        self.ack(session_id, last_seq)
        return list(self._get(session_id).outbox)

    async def deliver(self, session_id: str, frame: dict[str, Any]) -> int:
        """Numbers ``frame``, keeps it until acknowledged and sends it to open sockets."""
        conversation = self._get(session_id)
        numbered = {**frame, "seq": conversation.next_seq}
        conversation.next_seq += 1
        conversation.outbox.append(numbered)
        while len(conversation.outbox) > self.limits.outbox_size:
            dropped = conversation.outbox.popleft()
            log.warning("widget outbox full, dropped message %s", dropped["seq"])
        await self._send_all(conversation, numbered)
        return int(numbered["seq"])

    async def signal(self, session_id: str, frame: dict[str, Any]) -> None:
        """A frame that is not kept (typing): only to sockets open now."""
        conversation = self._conversations.get(session_id)
        if conversation is not None:
            await self._send_all(conversation, frame)

    @staticmethod
    async def _send_all(conversation: _Conversation, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, ensure_ascii=False)
        for socket in list(conversation.sockets):
            try:
                await socket.send(text)
            except Exception:  # a closed socket: the outbox keeps the message
                conversation.sockets.discard(socket)


def message_frame(message: dict[str, Any]) -> dict[str, Any]:
    """A Rasa bot message as a widget ``message`` frame: text, buttons and provider cards."""
    custom = message.get("custom") or message.get("json_message") or {}
    cards = custom.get("cards") if isinstance(custom, dict) else None
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in message.get("buttons") or message.get("quick_replies") or []
        if isinstance(b, dict)
    ]
    cards = cards if isinstance(cards, list) else []
    return {
        "type": "message",
        # With cards, the text is their plain rendering for plain channels: the widget
        # shows the cards themselves.
        "text": "" if cards else message.get("text") or "",
        "buttons": buttons,
        "cards": cards,
    }


class WidgetOutput(OutputChannel):
    """Sends bot messages to a widget conversation, connected or not."""

    def __init__(self, sessions: WidgetSessions) -> None:
        self.sessions = sessions

    @classmethod
    def name(cls) -> str:
        return "widget"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # One frame per bot message: its text, buttons and cards stay together.
        await self.sessions.deliver(recipient_id, message_frame(message))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"custom": json_message})


class DemoDataProbe:
    """Whether the provider database holds demo data (the widget then says so)."""

    def __init__(self, database_url: str | None, cache_s: float = 300.0) -> None:
        self._url = database_url
        self._cache_s = cache_s
        self._value: tuple[float, bool] | None = None

    async def present(self) -> bool:
        if self._url is None:
            return False
        if self._value and time.monotonic() - self._value[0] < self._cache_s:
            return self._value[1]
        try:
            found = await asyncio.to_thread(self._query)
        except Exception:
            log.exception("could not check the provider data for demo data")
            found = False
        self._value = (time.monotonic(), found)
        return found

    def _query(self) -> bool:
        from sqlalchemy import text

        from bot.db.engine import make_engine

        engine = make_engine(str(self._url))
        try:
            with engine.connect() as connection:
                return bool(
                    connection.scalar(
                        text("select 1 from providers where active and source = 'demo' limit 1")
                    )
                )
        finally:
            engine.dispose()


@dataclass
class _Connection:
    """One widget's socket: its conversation, its page, its recent messages."""

    socket: Any
    session_id: str | None = None
    language: str = "fi"
    page_url: str = ""
    sent: deque[float] = field(default_factory=deque)


class WidgetInput(InputChannel):
    """The widget's WebSocket endpoint, ``/webhooks/widget/websocket``."""

    def __init__(
        self,
        allowed_origins: list[str] | None = None,
        limits: Limits | None = None,
        demo_probe: DemoDataProbe | None = None,
    ) -> None:
        self.allowed_origins = {o.rstrip("/") for o in (allowed_origins or DEFAULT_ORIGINS)}
        self.sessions = WidgetSessions(limits)
        self.limits = self.sessions.limits
        self.demo_probe = demo_probe or DemoDataProbe(None)
        self._handling: set[asyncio.Future[Any]] = set()

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WidgetInput:
        """Allowed origins from ``credentials.yml``, else ``DIGITUKI_WIDGET_ORIGINS``."""
        from bot.config import load_settings
        from bot.privacy import install_log_redaction
        from connectors.server_tuning import validate_action_responses_with_a_compiled_schema

        validate_action_responses_with_a_compiled_schema()  # this is the Rasa server starting
        install_log_redaction()
        credentials = credentials or {}
        settings = load_settings()
        origins = credentials.get("allowed_origins") or settings.allowed_widget_origins
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise ValueError(f"widget allowed_origins: {origin!r} is not an http(s) origin")
        limits = Limits(
            **{k: credentials[k] for k in ("max_text", "messages_per_window") if k in credentials}
        )
        database_url = credentials.get("database_url") or settings.database_url
        return cls(list(origins), limits, DemoDataProbe(database_url))

    def get_output_channel(self) -> OutputChannel:
        return WidgetOutput(self.sessions)

    def origin_allowed(self, origin: str | None) -> bool:
        return "*" in self.allowed_origins or (origin or "").rstrip("/") in self.allowed_origins

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("widget_webhook", __name__)

        @widget.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @widget.middleware("request")
        async def refuse_other_origins(request: Request) -> HTTPResponse | None:
            # Before the upgrade: a page on another site gets a plain 403, no socket.
            if request.path.endswith("/websocket") and not self.origin_allowed(
                request.headers.get("origin")
            ):
                log.warning("widget connection from %r refused", request.headers.get("origin"))
                return response.json({"error": "origin not allowed"}, status=403)
            return None

        @widget.websocket("/websocket")
        async def websocket(request: Request, socket: Any) -> None:
            connection = _Connection(socket)
            try:
                while True:
                    try:
                        raw = await socket.recv()
                    except ConnectionClosed:
                        break
                    if raw is None:  # closed
                        break
                    try:
                        await self._handle(connection, raw, on_new_message)
                    except FrameError as error:
                        await self._send(
                            socket, {"type": "error", "code": error.code, "message": str(error)}
                        )
            finally:
                if connection.session_id:
                    self.sessions.detach(connection.session_id, socket)

        return widget

    @staticmethod
    async def _send(socket: Any, frame: dict[str, Any]) -> None:
        await socket.send(json.dumps(frame, ensure_ascii=False))

    async def _handle(
        self,
        connection: _Connection,
        raw: str | bytes,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        frame = self._parse(raw)
        kind = frame.get("type")
        if kind == "hello":
            await self._hello(connection, frame, on_new_message)
        elif kind == "message":
            await self._message(connection, frame, on_new_message)
        elif kind == "ack":
            seq = frame.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise FrameError("bad_frame", "ack needs a non-negative integer seq")
            if connection.session_id:
                self.sessions.ack(connection.session_id, seq)
        elif kind == "restart":
            if frame.get("language") in LANGUAGES:  # the language the widget shows now
                connection.language = frame["language"]
            if connection.session_id:
                self.sessions.detach(connection.session_id, connection.socket)
                self.sessions.forget(connection.session_id)
            await self._start(connection, None, 0, on_new_message)
        else:
            raise FrameError("bad_frame", f"unknown frame type {kind!r}")

    def _parse(self, raw: str | bytes) -> dict[str, Any]:
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > self.limits.max_frame_bytes:
            raise FrameError(
                "too_large", f"frames are limited to {self.limits.max_frame_bytes} bytes"
            )
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise FrameError("bad_frame", "a frame must be a JSON object") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise FrameError("bad_frame", "a frame must be a JSON object with a type")
        return frame

    async def _hello(
        self,
        connection: _Connection,
        frame: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        language = frame.get("language")
        connection.language = language if language in LANGUAGES else "fi"
        page_url = frame.get("page_url")
        if isinstance(page_url, str) and urlsplit(page_url).scheme in ("http", "https"):
            connection.page_url = page_url[:500]
        last_seq = frame.get("last_seq")
        last_seq = last_seq if isinstance(last_seq, int) and not isinstance(last_seq, bool) else 0
        wanted = frame.get("session_id")
        session_id = wanted if isinstance(wanted, str) and SESSION_ID.match(wanted) else None
        if connection.session_id:
            self.sessions.detach(connection.session_id, connection.socket)
        await self._start(connection, session_id, max(last_seq, 0), on_new_message)

    async def _start(
        self,
        connection: _Connection,
        session_id: str | None,
        last_seq: int,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Welcome, then what waits in the outbox; a new conversation starts with a greeting."""
        new = session_id is None or not self.sessions.known(session_id)
        if session_id is None:
            session_id = secrets.token_hex(16)
        connection.session_id = session_id
        await self._send(
            connection.socket,
            {
                "type": "welcome",
                "session_id": session_id,
                "demo_data": await self.demo_probe.present(),
                "max_text": self.limits.max_text,
            },
        )
        if new:
            # The widget's numbering goes on: what it has shown stays shown, nothing is hidden.
            self.sessions.resume(session_id, last_seq)
        pending = [] if new else self.sessions.pending(session_id, last_seq)
        self.sessions.attach(session_id, connection.socket)
        for queued in pending:
            await self._send(connection.socket, queued)
        if new and last_seq == 0:
            await self._to_rasa(connection, "/session_start", {}, on_new_message)

    async def _message(
        self,
        connection: _Connection,
        frame: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        if connection.session_id is None:
            raise FrameError("no_session", "send hello first")
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("bad_frame", "a message needs text")
        if len(text) > self.limits.max_text:
            raise FrameError(
                "too_large", f"messages are limited to {self.limits.max_text} characters"
            )
        now = time.monotonic()
        while connection.sent and now - connection.sent[0] > self.limits.window_s:
            connection.sent.popleft()
        if len(connection.sent) >= self.limits.messages_per_window:
            raise FrameError("rate_limited", "too many messages; wait a moment")
        connection.sent.append(now)
        extra: dict[str, Any] = {}
        metadata = frame.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("location"), dict):
            try:
                lat = float(metadata["location"]["lat"])
                lon = float(metadata["location"]["lon"])
            except (KeyError, TypeError, ValueError):
                raise FrameError("bad_frame", "location needs lat and lon") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise FrameError("bad_frame", "location out of range")
            extra["location"] = {"lat": lat, "lon": lon}
        await self._to_rasa(connection, text.strip(), extra, on_new_message)

    async def _to_rasa(
        self,
        connection: _Connection,
        text: str,
        extra: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        session_id = str(connection.session_id)
        metadata = {"page_language": connection.language, "page_url": connection.page_url, **extra}
        await self.sessions.signal(session_id, {"type": "typing", "on": True})
        message = UserMessage(
            text,
            WidgetOutput(self.sessions),
            session_id,
            input_channel=self.name(),
            metadata=metadata,
        )
        # When the tab closes, Sanic cancels this connection's handler. The message is
        # still handled to the end, and its reply waits in the outbox.
        handling = asyncio.ensure_future(on_new_message(message))
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        try:
            await asyncio.shield(handling)
        finally:
            await self.sessions.signal(session_id, {"type": "typing", "on": False})
