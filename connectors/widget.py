"""The web widget's channel: one WebSocket per open widget (protocol: docs/widget-protocol.md).

``WidgetInput`` is a Rasa input channel (``credentials.yml``:
``connectors.widget.WidgetInput``): its HTTP routes, allowed origins and settings.
The frames a widget sends are answered in :mod:`connectors.widget_protocol`.
``WidgetOutput`` (:mod:`connectors.widget_sessions`) sends to a conversation
whether or not its widget is connected: every message gets a sequence number
and waits in the conversation's outbox until the widget acknowledges it, so a
reply to a closed tab, or later a support worker's message, is delivered on the
next connection, exactly once. What a widget may send, and how often, is
:mod:`connectors.widget_limits`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from connectors.widget_limits import Limits, TrustedProxies, widget_limits
from connectors.widget_outbox import Outbox, OutboxLimits, RedisOutbox
from connectors.widget_protocol import (
    Connection,
    DemoDataProbe,
    FrameError,
    WidgetProtocol,
    send_frame,
)
from connectors.widget_sessions import WidgetOutput, WidgetSessions

log = logging.getLogger(__name__)

DEFAULT_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")
TRY_AGAIN_LATER = 1013
"""The WebSocket close code for a connection refused for now (RFC 6455 registry)."""


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
        self.protocol = WidgetProtocol(
            self.sessions, demo_probe or DemoDataProbe(None), self.name()
        )
        self.proxies = proxies or TrustedProxies()
        self._proxy_warned = False
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
            connection = Connection(socket, request.app, self._client_address(request))
            try:
                while True:
                    try:
                        raw = await socket.recv()
                    except ConnectionClosed:
                        break
                    if raw is None:  # closed
                        break
                    try:
                        await self.protocol.handle(connection, raw, on_new_message)
                    except FrameError as error:
                        reply = {"type": "error", "code": error.code, "message": str(error)}
                        if error.message_id:
                            reply["id"] = error.message_id
                        await send_frame(socket, reply)
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
