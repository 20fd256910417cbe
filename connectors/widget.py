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
import ipaddress
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from bot.observability import MESSAGE_ERRORS, MESSAGE_SECONDS, MESSAGES
from bot.web.forwarded import forwarded_client
from connectors.widget_outbox import (
    DONE,
    RETAKEN,
    TAKEN,
    MemoryOutbox,
    Outbox,
    OutboxLimits,
    RedisOutbox,
)

log = logging.getLogger(__name__)

LANGUAGES = ("fi", "sv", "en")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")
TRY_AGAIN_LATER = 1013
"""The WebSocket close code for a connection refused for now (RFC 6455 registry)."""


@dataclass(frozen=True)
class Limits:
    """What widgets may send, and how much this process remembers to count it.

    The counts are in this process's memory: each Rasa replica counts its own.
    """

    max_frame_bytes: int = 8 * 1024
    max_text: int = 1000
    messages_per_window: int = 10
    """Messages one conversation may send per ``window_s``, over all its connections (0: no limit)."""
    window_s: float = 10.0
    new_sessions_per_address: int = 10
    """New conversations one client address may start per ``new_sessions_window_s`` (0: no limit)."""
    new_sessions_window_s: float = 60.0
    tracked_conversations: int = 10_000
    tracked_addresses: int = 10_000
    """At most this many conversations and addresses are counted at once: those with nothing
    in their window go first, then the least recently counted (memory stays bounded)."""
    outbox_size: int = 200
    """Unacknowledged messages kept per conversation; the oldest go first beyond this."""
    outbox_ttl_s: float = 24 * 3600
    claim_lease_s: float = 10.0
    """A message being handled is the handler's for this long, renewed while it works:
    if its replica dies, a copy the widget sends again is handled elsewhere after this."""


class FrameError(ValueError):
    """A frame the protocol does not allow; ``code`` is sent back to the widget."""

    closes = False
    """Whether the connection is closed after the error is sent."""

    def __init__(self, code: str, message: str, message_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message_id = message_id
        """The widget's id of the message this is about, when it gave one."""


class Unavailable(FrameError):
    """The bot could not handle a message now; the person may send it again."""

    def __init__(self, message_id: str | None = None) -> None:
        super().__init__(
            "unavailable", "the message could not be handled now; send it again", message_id
        )


class TooManySessions(FrameError):
    """Too many new conversations from one address: the widget is told, then the socket closes."""

    closes = True

    def __init__(self) -> None:
        super().__init__(
            "too_many_sessions", "too many new conversations from this address; try again later"
        )


class SlidingWindow:
    """At most ``limit`` events per key in any ``window_s`` seconds, counted in memory.

    At most ``max_keys`` keys are kept: keys with nothing left in the window go first,
    then the least recently counted, so a flood of new keys cannot grow memory without
    end (a key dropped that way starts counting again).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max(1, max_keys)
        self._clock = clock
        # key -> (time, event id) of its counted events, oldest first; the keys are in the
        # order of their latest event, so the front is the first to run out of its window.
        self._events: OrderedDict[str, list[tuple[float, str | None]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def allow(self, key: str, event_id: str | None = None) -> bool:
        """Counts an event of ``key`` if that stays within the limit; ``False`` (not counted) if not.

        An event with the id of one counted in the window is allowed again without being
        counted: the widget sends a message again, with its id, after a reconnect.
        """
        if self.limit <= 0:
            return True
        now = self._clock()
        since = now - self.window_s
        while self._events:
            oldest_key, oldest = next(iter(self._events.items()))
            if oldest[-1][0] > since:
                break
            del self._events[oldest_key]
        events = [event for event in self._events.get(key, ()) if event[0] > since]
        if event_id is not None and any(counted == event_id for _, counted in events):
            return True
        if len(events) >= self.limit:
            self._events[key] = events  # keeps its place: its latest event is unchanged
            return False
        events.append((now, event_id))
        self._events[key] = events
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return True


def address_key(address: str) -> str | None:
    """The client an address stands for: an IPv4 address, or an IPv6 one's /64 network.

    One household or library gets a whole /64, so its addresses count together.
    ``None`` for what is not an address (``host:port`` and ``[v6]:port`` are read too).
    """
    text = address.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class TrustedProxies:
    """Whose ``X-Forwarded-For`` to believe: ``hops`` proxies of ours in front (0: none).

    Each proxy appends the address that connected to it, so the entry the outermost of
    ours appended, ``hops`` from the right, is the client's; entries left of it are
    whatever the client wrote and are never used.
    """

    hops: int = 0
    """``DIGITUKI_PROXY_HOPS`` when ``DIGITUKI_TRUST_PROXY`` is on, else 0."""

    def client_address(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address (as counted, see :func:`address_key`)."""
        entry = forwarded_client(forwarded_for, self.hops)
        key = address_key(entry) if entry is not None else None
        return key or address_key(peer) or peer or "unknown"


@dataclass
class _Socket:
    """One open socket of a conversation, and the next number it should be sent."""

    socket: Any
    next_seq: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WidgetSessions:
    """The open sockets of this process in front of the (possibly shared) outbox.

    Frames reach a socket in the order of their numbers, each once: a frame announced
    ahead of one still on its way is sent after the missing ones, read from the outbox.
    """

    def __init__(self, limits: Limits | None = None, outbox: Outbox | None = None) -> None:
        self.limits = limits or Limits()
        self.outbox: Outbox = outbox or MemoryOutbox(
            OutboxLimits(self.limits.outbox_size, self.limits.outbox_ttl_s)
        )
        self._sockets: dict[str, dict[int, _Socket]] = {}
        self._started: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts listening to the outbox's announcements (once, on first use)."""
        if self._started is None:
            if isinstance(self.outbox, RedisOutbox):
                self.outbox.reconnected = self._catch_up
            self._started = asyncio.ensure_future(self.outbox.start(self._announced))
        await asyncio.shield(self._started)

    async def known(self, session_id: str) -> bool:
        return await self.outbox.known(session_id)

    async def resume(self, session_id: str, last_seq: int) -> None:
        """A conversation the outbox does not know (expired, or Redis lost it): numbering goes on."""
        await self.outbox.resume(session_id, last_seq)

    async def attach(self, session_id: str, socket: Any, last_seq: int) -> None:
        """Sends what waits after ``last_seq``; from then on, every new frame."""
        await self.start()
        entry = _Socket(socket, last_seq + 1)
        async with entry.lock:
            self._sockets.setdefault(session_id, {})[id(socket)] = entry
            await self.outbox.ack(session_id, last_seq)
            for frame in await self.outbox.pending(session_id, last_seq):
                await self._send(session_id, entry, frame)

    def detach(self, session_id: str, socket: Any) -> None:
        sockets = self._sockets.get(session_id)
        if sockets is not None:
            sockets.pop(id(socket), None)
            if not sockets:
                del self._sockets[session_id]

    async def forget(self, session_id: str) -> None:
        await self.outbox.forget(session_id)

    async def ack(self, session_id: str, seq: int) -> None:
        await self.outbox.ack(session_id, seq)

    async def deliver(self, session_id: str, frame: dict[str, Any]) -> int:
        """Numbers ``frame`` and keeps it until acknowledged; open sockets get it at once."""
        numbered = await self.outbox.append(session_id, frame)
        return int(numbered["seq"])

    async def signal(self, session_id: str, frame: dict[str, Any]) -> None:
        """A frame that is not kept (typing): only to sockets open now, wherever they are."""
        try:
            await self.outbox.announce(session_id, frame)
        except Exception as error:  # typing dots are not worth failing a message for
            log.warning("widget: could not announce a %s frame (%s)", frame.get("type"), error)

    async def _announced(self, session_id: str, frame: dict[str, Any]) -> None:
        for entry in list(self._sockets.get(session_id, {}).values()):
            if "seq" not in frame:
                await self._send_now(session_id, entry, frame)
                continue
            async with entry.lock:
                seq = int(frame["seq"])
                if seq < entry.next_seq:
                    continue  # sent already (from the outbox)
                if seq > entry.next_seq:  # one is still on its way: take them in order
                    for missing in await self.outbox.pending(session_id, entry.next_seq - 1):
                        if missing["seq"] < seq:
                            await self._send(session_id, entry, missing)
                await self._send(session_id, entry, frame)

    async def _catch_up(self) -> None:
        """After a lost subscription: what was announced meanwhile, from the outboxes."""
        for session_id, sockets in list(self._sockets.items()):
            for entry in list(sockets.values()):
                async with entry.lock:
                    for frame in await self.outbox.pending(session_id, entry.next_seq - 1):
                        await self._send(session_id, entry, frame)

    async def _send(self, session_id: str, entry: _Socket, frame: dict[str, Any]) -> None:
        entry.next_seq = max(entry.next_seq, int(frame["seq"]) + 1)
        await self._send_now(session_id, entry, frame)

    async def _send_now(self, session_id: str, entry: _Socket, frame: dict[str, Any]) -> None:
        try:
            await entry.socket.send(json.dumps(frame, ensure_ascii=False))
        except Exception:  # a closed socket: the outbox keeps the message
            self.detach(session_id, entry.socket)


NOTICES = frozenset({"worker_joined", "worker_left"})
"""Messages about the conversation itself (a response's ``metadata.notice``, domain/handoff.yml)."""
MAX_SENDER_NAME = 80


def message_frame(message: dict[str, Any]) -> dict[str, Any]:
    """A Rasa bot message as a widget ``message`` frame: text, buttons and provider cards.

    ``sender`` says who wrote it: ``{"kind": "worker", "name": ...}`` for a support
    worker's message (its event's ``agent`` metadata), else ``{"kind": "bot"}``; a
    ``notice`` marks the bot's "a worker joined" and "the worker left" messages.
    """
    custom = message.get("custom") or message.get("json_message") or {}
    cards = custom.get("cards") if isinstance(custom, dict) else None
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in message.get("buttons") or message.get("quick_replies") or []
        if isinstance(b, dict)
    ]
    cards = cards if isinstance(cards, list) else []
    agent = message.get("agent")
    sender: dict[str, str] = {"kind": "bot"}
    if isinstance(agent, str) and agent.strip():
        sender = {"kind": "worker", "name": agent.strip()[:MAX_SENDER_NAME]}
    metadata = message.get("metadata")
    notice = metadata.get("notice") if isinstance(metadata, dict) else None
    frame = {
        "type": "message",
        # With cards, the text is their plain rendering for plain channels: the widget
        # shows the cards themselves.
        "text": "" if cards else message.get("text") or "",
        "buttons": buttons,
        "cards": cards,
        "sender": sender,
    }
    if notice in NOTICES:
        frame["notice"] = notice
    language = custom.get("language") if isinstance(custom, dict) else None
    if cards and isinstance(language, str) and len(language) <= 8:
        frame["language"] = language  # the cards' own: their labels stay in it
    return frame


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


def rasa_message_id(session_id: str, message_id: str) -> str:
    """The id a widget message has in the conversation (``UserUttered.message_id``)."""
    return f"widget-{session_id[:8]}-{message_id}"


async def _in_conversation(connection: _Connection, message_id: str) -> bool:
    """Whether the conversation holds the person's message ``message_id`` already.

    Asked only when a message is taken over from a replica that stopped (rare): it
    reads the conversation from the tracker store of the Rasa server this runs in.
    Outside one (no tracker store), the answer is no.
    """
    agent = getattr(getattr(connection.app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None or connection.session_id is None:
        return False
    wanted = rasa_message_id(connection.session_id, message_id)
    tracker = await store.retrieve(connection.session_id)
    return tracker is not None and any(
        isinstance(event, UserUttered) and event.message_id == wanted for event in tracker.events
    )


@dataclass
class _Connection:
    """One widget's socket: its conversation, its page, its recent messages."""

    socket: Any
    app: Any = None
    """The Sanic app: in a Rasa server, ``app.ctx.agent`` holds the tracker store."""
    address: str = "unknown"
    """The client's address, as the new-conversation cap counts it."""
    session_id: str | None = None
    language: str = "fi"
    page_url: str = ""


def widget_limits(credentials: Mapping[str, Any]) -> Limits:
    """``max_text``, ``messages_per_window`` and ``new_sessions_per_address`` from ``credentials.yml``.

    A load test, or a site whose visitors all come through one address, raises the cap
    on new conversations (0 turns a limit off).
    """
    values: dict[str, int] = {}
    for key in ("max_text", "messages_per_window", "new_sessions_per_address"):
        value = credentials.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError(f"widget {key} {value!r}: expected a whole number, 0 or more")
        values[key] = int(text)
    if values.get("max_text") == 0:
        raise ValueError("widget max_text: expected 1 or more")
    return Limits(**values)


class WidgetInput(InputChannel):
    """The widget's WebSocket endpoint, ``/webhooks/widget/websocket``."""

    def __init__(
        self,
        allowed_origins: list[str] | None = None,
        limits: Limits | None = None,
        demo_probe: DemoDataProbe | None = None,
        outbox: Outbox | None = None,
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.allowed_origins = {o.rstrip("/") for o in (allowed_origins or DEFAULT_ORIGINS)}
        self.sessions = WidgetSessions(limits, outbox)
        self.limits = self.sessions.limits
        self.demo_probe = demo_probe or DemoDataProbe(None)
        self.proxies = proxies or TrustedProxies()
        self.messages_sent = SlidingWindow(
            self.limits.messages_per_window, self.limits.window_s, self.limits.tracked_conversations
        )
        """Messages per conversation: a reconnect does not start the count again."""
        self.sessions_started = SlidingWindow(
            self.limits.new_sessions_per_address,
            self.limits.new_sessions_window_s,
            self.limits.tracked_addresses,
        )
        """New conversations per client address."""
        self._proxy_warned = False
        self._handling: set[asyncio.Future[Any]] = set()
        self.serving = False
        """The Rasa server has started (and loaded its model)."""
        self.log_level: str | None = None
        """Set when the Rasa server made this channel: our log format is set up again
        in :meth:`blueprint`, after the server set up its own."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WidgetInput:
        """Allowed origins from ``credentials.yml``, else ``DIGITUKI_WIDGET_ORIGINS``.

        With ``DIGITUKI_REDIS_URL`` (or ``redis_url``) set, outboxes live in Redis and
        several Rasa replicas serve the same widgets (the production profile). Behind
        proxies, ``DIGITUKI_TRUST_PROXY`` and ``DIGITUKI_PROXY_HOPS`` say whose
        ``X-Forwarded-For`` entry is the client's address.
        """
        from bot.config import load_settings
        from bot.logs import configure_logging
        from bot.observability import (
            database_check,
            redis_check,
            start_process_observability,
            tcp_check,
        )
        from bot.privacy import install_log_redaction
        from connectors.server_tuning import validate_action_responses_with_a_compiled_schema

        validate_action_responses_with_a_compiled_schema()  # this is the Rasa server starting
        install_log_redaction()
        credentials = credentials or {}
        settings = load_settings()
        configure_logging("rasa", settings.log_level)
        origins = credentials.get("allowed_origins") or settings.allowed_widget_origins
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise ValueError(f"widget allowed_origins: {origin!r} is not an http(s) origin")
        limits = widget_limits(credentials)
        database_url = credentials.get("database_url") or settings.database_url
        redis_url = credentials.get("redis_url") or settings.redis_url
        outbox = (
            RedisOutbox(redis_url, OutboxLimits(limits.outbox_size, limits.outbox_ttl_s))
            if redis_url
            else None
        )
        checks = {"database": database_check(database_url)}
        if redis_url:
            checks["redis"] = redis_check(redis_url)
        if settings.rabbitmq_url:
            broker = urlsplit(settings.rabbitmq_url)
            checks["rabbitmq"] = tcp_check(broker.hostname or "127.0.0.1", broker.port or 5672)
        proxies = TrustedProxies(settings.proxy_hops if settings.trust_proxy else 0)
        channel = cls(list(origins), limits, DemoDataProbe(database_url), outbox, proxies)
        channel.log_level = settings.log_level
        # Ready once the server answers: the model is loaded and the port open.
        start_process_observability("rasa", {"serving": lambda: channel.serving, **checks})
        return channel

    def get_output_channel(self) -> OutputChannel:
        return WidgetOutput(self.sessions)

    def origin_allowed(self, origin: str | None) -> bool:
        return "*" in self.allowed_origins or (origin or "").rstrip("/") in self.allowed_origins

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("widget_webhook", __name__)
        if self.log_level is not None:
            from bot.logs import configure_logging

            configure_logging("rasa", self.log_level)

        @widget.listener("after_server_start")
        async def started(*_: Any) -> None:
            self.serving = True

        @widget.listener("before_server_stop")
        async def stopping(*_: Any) -> None:
            self.serving = False

        @widget.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @widget.route("/origin", methods=["GET"])
        async def origin_check(request: Request) -> HTTPResponse:
            # A socket that fails tells the page nothing; this ordinary request does (its
            # answer readable by that page): the widget then stops retrying and says so.
            origin = request.headers.get("origin")
            headers = {"Vary": "Origin", "Cache-Control": "no-store"}
            if origin:
                headers["Access-Control-Allow-Origin"] = origin
            return response.json({"allowed": self.origin_allowed(origin)}, headers=headers)

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
            connection = _Connection(socket, request.app, self._client_address(request))
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
                        reply = {"type": "error", "code": error.code, "message": str(error)}
                        if error.message_id:
                            reply["id"] = error.message_id
                        await self._send(socket, reply)
                        if error.closes:
                            await socket.close(TRY_AGAIN_LATER, error.code)
                            break
            finally:
                if connection.session_id:
                    self.sessions.detach(connection.session_id, socket)

        return widget

    def _client_address(self, request: Request) -> str:
        """The address the new-conversation cap counts: the socket's peer, or, behind
        proxies we trust, the ``X-Forwarded-For`` entry the outermost one appended."""
        forwarded_for = request.headers.getall("x-forwarded-for", [])
        if forwarded_for and not self.proxies.hops and not self._proxy_warned:
            self._proxy_warned = True
            log.warning(
                "widget connections carry X-Forwarded-For, but DIGITUKI_TRUST_PROXY is off: "
                "new conversations are counted per proxy address, not per client"
            )
        return self.proxies.client_address(request.ip, forwarded_for)

    def _admit_new_session(self, connection: _Connection) -> None:
        """Counts a new conversation for the connection's address; refuses one over the cap."""
        if not self.sessions_started.allow(connection.address):
            log.warning("widget: a new conversation refused (too many from one address)")
            raise TooManySessions()

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
                await self.sessions.ack(connection.session_id, seq)
        elif kind == "restart":
            if frame.get("language") in LANGUAGES:  # the language the widget shows now
                connection.language = frame["language"]
            self._admit_new_session(connection)  # before the old conversation is forgotten
            if connection.session_id:
                self.sessions.detach(connection.session_id, connection.socket)
                await self.sessions.forget(connection.session_id)
            await self._start(connection, None, 0, on_new_message, admitted=True)
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
        admitted: bool = False,
    ) -> None:
        """Welcome, then what waits in the outbox; a new conversation starts with a greeting.

        A conversation the outbox does not know counts as new for the address's cap, also
        when the widget had an id for it: otherwise any made-up id would start one.
        """
        new = session_id is None or not await self.sessions.known(session_id)
        if new and not admitted:
            self._admit_new_session(connection)
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
            await self.sessions.resume(session_id, last_seq)
        await self.sessions.attach(session_id, connection.socket, last_seq)
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
        message_id = frame.get("id")
        if message_id is not None and (
            not isinstance(message_id, str) or not MESSAGE_ID.match(message_id)
        ):
            raise FrameError("bad_frame", "a message id is 1-64 letters, digits, - or _")
        # Counted per conversation, not per socket: reconnecting does not start it again.
        if not self.messages_sent.allow(connection.session_id, message_id):
            raise FrameError("rate_limited", "too many messages; wait a moment", message_id)
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
        if message_id is None:
            await self._to_rasa(connection, text.strip(), extra, on_new_message)
            return
        await self._once(connection, message_id, text.strip(), extra, on_new_message)

    async def _once(
        self,
        connection: _Connection,
        message_id: str,
        text: str,
        extra: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Handles a message with the widget's id once, however often the widget sends it.

        The widget sends again what it has no ``handled`` frame for after a reconnect.
        The first sender claims the message; a copy that comes while it is handled
        elsewhere waits for that to end, and takes it over if that replica died (its
        claim ran out). Then the widget gets ``handled`` with the id.
        """
        session_id = str(connection.session_id)
        outbox = self.sessions.outbox
        state = await outbox.claim(session_id, message_id, self.limits.claim_lease_s)
        while state == TAKEN:
            await asyncio.sleep(0.5)
            state = await outbox.claim(session_id, message_id, self.limits.claim_lease_s)
        if state == DONE:
            await self._send(connection.socket, {"type": "handled", "id": message_id})
            return
        if state == RETAKEN and await _in_conversation(connection, message_id):
            # The replica that had it died after the turn was saved, and so after its
            # answers went to the outbox: handling it again would answer twice.
            log.info("widget: a message handled by a replica that then stopped is done")
            await outbox.finish(session_id, message_id, handled=True)
            await self.sessions.signal(session_id, {"type": "handled", "id": message_id})
            return

        async def keep_claim() -> None:
            while True:
                await asyncio.sleep(self.limits.claim_lease_s / 3)
                await outbox.renew(session_id, message_id, self.limits.claim_lease_s)

        renewing = asyncio.ensure_future(keep_claim())
        try:
            await self._to_rasa(connection, text, extra, on_new_message, message_id)
        except Exception:
            await outbox.finish(session_id, message_id, handled=False)
            raise
        finally:
            renewing.cancel()
        await outbox.finish(session_id, message_id, handled=True)
        await self.sessions.signal(session_id, {"type": "handled", "id": message_id})

    async def _to_rasa(
        self,
        connection: _Connection,
        text: str,
        extra: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message_id: str | None = None,
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
            message_id=rasa_message_id(session_id, message_id) if message_id else None,
        )
        # When the tab closes, Sanic cancels this connection's handler. The message is
        # still handled to the end, and its reply waits in the outbox.
        handling = asyncio.ensure_future(on_new_message(message))
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        started = time.perf_counter()
        MESSAGES.labels("widget", "in").inc()
        try:
            await asyncio.shield(handling)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The bot could not take the message (a part of it is down): the person is
            # told so, and may send it again. The message is not lost silently.
            MESSAGE_ERRORS.labels("widget").inc()
            log.error("widget: a message could not be handled (%s)", type(error).__name__)
            raise Unavailable(message_id) from error
        finally:
            MESSAGE_SECONDS.labels("widget").observe(time.perf_counter() - started)
            await self.sessions.signal(session_id, {"type": "typing", "on": False})
