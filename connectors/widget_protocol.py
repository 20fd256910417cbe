"""The widget's socket protocol: the frames a widget sends and how each is answered
(docs/widget-protocol.md).

``hello`` starts or resumes a conversation, ``message`` hands the person's text to
Rasa (once, however often the widget sends it), ``ack`` lets the outbox drop what
the widget has shown, ``restart`` starts a new conversation. The Rasa input channel
that serves the sockets is :mod:`connectors.widget`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import UserUttered

from bot.observability import MESSAGE_ERRORS, MESSAGE_SECONDS, MESSAGES
from connectors.widget_limits import SlidingWindow
from connectors.widget_outbox import DONE, RETAKEN, TAKEN
from connectors.widget_sessions import WidgetOutput, WidgetSessions

log = logging.getLogger(__name__)

LANGUAGES = ("fi", "sv", "en")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


async def _in_conversation(connection: Connection, message_id: str) -> bool:
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
class Connection:
    """One widget's socket: its conversation, its page, its recent messages."""

    socket: Any
    app: Any = None
    """The Sanic app: in a Rasa server, ``app.ctx.agent`` holds the tracker store."""
    address: str = "unknown"
    """The client's address, as the new-conversation cap counts it."""
    session_id: str | None = None
    language: str = "fi"
    page_url: str = ""


async def send_frame(socket: Any, frame: dict[str, Any]) -> None:
    await socket.send(json.dumps(frame, ensure_ascii=False))


class WidgetProtocol:
    """Answers the frames of a channel's widget sockets, counting them against its limits."""

    def __init__(
        self, sessions: WidgetSessions, demo_probe: DemoDataProbe, input_channel: str
    ) -> None:
        self.sessions = sessions
        self.limits = sessions.limits
        self.demo_probe = demo_probe
        self.input_channel = input_channel
        """The channel's name, as Rasa records it with each message."""
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
        self._handling: set[asyncio.Future[Any]] = set()

    def _admit_new_session(self, connection: Connection) -> None:
        """Counts a new conversation for the connection's address; refuses one over the cap."""
        if not self.sessions_started.allow(connection.address):
            log.warning("widget: a new conversation refused (too many from one address)")
            raise TooManySessions()

    async def handle(
        self,
        connection: Connection,
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
        connection: Connection,
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
        connection: Connection,
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
        await send_frame(
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
        connection: Connection,
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
        connection: Connection,
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
            await send_frame(connection.socket, {"type": "handled", "id": message_id})
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
        connection: Connection,
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
            input_channel=self.input_channel,
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
