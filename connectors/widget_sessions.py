"""The widget conversations of this process: their open sockets in front of the outbox.

``WidgetOutput`` sends to a conversation whether or not its widget is connected:
every message gets a sequence number and waits in the conversation's outbox
(:mod:`connectors.widget_outbox`) until the widget acknowledges it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from connectors.whole_messages import WholeMessageOutput
from connectors.widget_limits import Limits
from connectors.widget_outbox import MemoryOutbox, Outbox, OutboxLimits, RedisOutbox

log = logging.getLogger(__name__)


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


class WidgetOutput(WholeMessageOutput):
    """Sends bot messages to a widget conversation, connected or not."""

    def __init__(self, sessions: WidgetSessions) -> None:
        self.sessions = sessions

    @classmethod
    def name(cls) -> str:
        return "widget"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # One frame per bot message: its text, buttons and cards stay together.
        await self.sessions.deliver(recipient_id, message_frame(message))
