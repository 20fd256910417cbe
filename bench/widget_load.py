"""Many people chatting in the widget at once, over real WebSockets: the load of a busy day.

Each virtual user does what ``web/widget.js`` does: ``hello`` (again after every
reconnect, with its ``last_seq``), messages with an ``id``, acknowledgements, and
after a reconnect the message that has no ``handled`` yet is sent again with the
same id. It holds one conversation after another (a script of a few messages, then
``restart``) until the time is up, and thinks a moment between messages.

What it counts is what a person would notice:

- a message is *answered* when ``handled`` comes for its id (with the bot's replies
  before it), *refused* when an ``error`` comes for it (a clear error the person
  sees), and *lost* when neither has come when the run ends;
- a bot message is *duplicated* when a ``seq`` arrives that was shown already, and
  *missing* when a ``seq`` is skipped;
- a refused connection (HTTP status of the upgrade) and every reconnect.

It asserts nothing; :func:`run_load` returns a :class:`LoadReport`.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hei", "mä en osaa käyttää sähköpostia", "asun Oulussa", "paikan päällä"),
    ("hej", "jag behöver hjälp med smarttelefonen", "jag bor i Vasa", "på plats"),
    ("hello", "I need help with my email", "I live in Tampere", "in person"),
    ("hei", "haluan puhua ihmisen kanssa, en osaa käyttää kelan sivuja"),
)
"""Greeting, need, place, form (the last reply carries provider cards); or asking for a person."""
HANDOFF_SCRIPT = 3
QUEUED = "jonossa"
"""In the Finnish ``utter_in_queue``: the person was put in the queue."""
LANGUAGES = ("fi", "sv", "en", "fi")


@dataclass
class Turn:
    """One message a person sent."""

    conversation: str
    text: str
    sent_at: float
    handled_at: float | None = None
    error: str | None = None
    replies: int = 0
    texts: list[str] = field(default_factory=list)
    """The start of each reply."""

    @property
    def seconds(self) -> float | None:
        return None if self.handled_at is None else self.handled_at - self.sent_at


@dataclass
class LoadReport:
    """What the virtual users saw."""

    users: int
    wall_s: float
    turns: list[Turn] = field(default_factory=list)
    duplicated: int = 0
    missing: int = 0
    refused_connections: Counter[int] = field(default_factory=Counter)
    reconnects: int = 0
    conversations: dict[str, int] = field(default_factory=dict)
    """Session id -> messages the person sent in it."""
    handoffs: set[str] = field(default_factory=set)
    """Conversations that asked for a person."""
    settle_s: float = 0.0
    """After the load, until its events were in the database (``bench.replicas.settle``)."""
    failures: Counter[str] = field(default_factory=Counter)
    """Virtual users that stopped on an exception of their own (a bug here), by type."""

    @property
    def answered(self) -> list[Turn]:
        return [t for t in self.turns if t.handled_at is not None]

    @property
    def refused(self) -> list[Turn]:
        return [t for t in self.turns if t.error is not None]

    @property
    def lost(self) -> list[Turn]:
        return [t for t in self.turns if t.handled_at is None and t.error is None]

    @property
    def queued(self) -> set[str]:
        """Conversations the bot told that they are in the queue for a person."""
        return {t.conversation for t in self.turns if any(QUEUED in x for x in t.texts)}

    @property
    def server_errors(self) -> int:
        """Upgrades refused with a 5xx status."""
        return sum(n for status, n in self.refused_connections.items() if status >= 500)

    @property
    def messages_per_s(self) -> float:
        return len(self.answered) / self.wall_s if self.wall_s else 0.0

    def latencies(self) -> list[float]:
        return [t.seconds for t in self.answered if t.seconds is not None]

    def summary(self) -> str:
        from bench.conversations import percentile

        seconds = self.latencies()
        return (
            f"{self.users} users, {self.wall_s:.0f} s: {len(self.turns)} messages sent, "
            f"{len(self.answered)} answered, {len(self.refused)} refused with a clear error, "
            f"{len(self.lost)} lost; bot messages duplicated {self.duplicated}, missing "
            f"{self.missing}; upgrades refused {dict(self.refused_connections) or 0} "
            f"(5xx: {self.server_errors}); reconnects {self.reconnects}; "
            f"{f'load generator failures {dict(self.failures)}; ' if self.failures else ''}"
            f"{self.messages_per_s:.1f} messages/s; latency p50 "
            f"{percentile(seconds, 50) * 1000:.0f} ms, p95 {percentile(seconds, 95) * 1000:.0f} ms"
        )


class _Closed(Exception):
    """The socket went away (the widget reconnects)."""


class VirtualUser:
    """One person with a widget open."""

    def __init__(
        self,
        number: int,
        url: str,
        origin: str,
        http: aiohttp.ClientSession,
        report: LoadReport,
        think_s: tuple[float, float],
        reply_timeout_s: float,
    ) -> None:
        self.number = number
        self.url = url
        self.origin = origin
        self.http = http
        self.report = report
        self.think_s = think_s
        self.reply_timeout_s = reply_timeout_s
        self.random = random.Random(number)
        self.language = LANGUAGES[number % len(LANGUAGES)]
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.session_id: str | None = None
        self.last_seq = 0

    async def run(self, deadline: list[float]) -> None:
        """Conversations one after another until ``deadline[0]`` (monotonic; it may move)."""
        await asyncio.sleep(self.random.uniform(0, self.think_s[1]))  # not all at once
        script_number = self.number % len(SCRIPTS)
        try:
            while time.monotonic() < deadline[0]:
                await self._conversation(SCRIPTS[script_number], script_number, deadline)
                script_number = (script_number + 1) % len(SCRIPTS)
        finally:
            if self.ws is not None:
                await self.ws.close()

    async def _conversation(
        self, script: Sequence[str], number: int, deadline: list[float]
    ) -> None:
        until = deadline[0]
        if self.ws is None:
            await self._connect(until)
        else:
            try:
                await self._send({"type": "restart", "language": self.language})
                await self._welcome(until + self.reply_timeout_s, restart=True)
            except (_Closed, asyncio.TimeoutError, aiohttp.ClientError, OSError):
                self.report.reconnects += 1
                self.session_id, self.last_seq = None, 0  # a new conversation, a new connection
                await self._connect(until)
        assert self.session_id is not None
        self.report.conversations.setdefault(self.session_id, 0)
        if number == HANDOFF_SCRIPT:
            self.report.handoffs.add(self.session_id)
        for text in script:
            if time.monotonic() >= deadline[0]:
                return
            await asyncio.sleep(self.random.uniform(*self.think_s))
            await self._turn(text, until)

    async def _connect(self, until: float) -> None:
        """Connects (again) and says hello; retries with a short backoff until ``until``."""
        delay = 0.2
        while True:
            try:
                self.ws = await self.http.ws_connect(
                    self.url, headers={"Origin": self.origin}, heartbeat=None
                )
                await self._send(
                    {
                        "type": "hello",
                        "session_id": self.session_id,
                        "last_seq": self.last_seq,
                        "language": self.language,
                        "page_url": f"{self.origin}/demo",
                    }
                )
                await self._welcome(until + self.reply_timeout_s)
                return
            except aiohttp.WSServerHandshakeError as error:
                self.report.refused_connections[error.status] += 1
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, _Closed):
                pass
            if time.monotonic() > until + self.reply_timeout_s:
                raise _Closed()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _welcome(self, until: float, restart: bool = False) -> None:
        while True:
            frame = await self._receive(max(until - time.monotonic(), 1.0))
            if frame.get("type") == "welcome":
                if restart or frame["session_id"] != self.session_id:
                    self.last_seq = 0  # a new conversation numbers from 1
                self.session_id = frame["session_id"]
                return
            self._shown(frame)

    async def _turn(self, text: str, until: float) -> None:
        assert self.session_id is not None
        message_id = uuid.uuid4().hex
        turn = Turn(self.session_id, text, time.monotonic())
        self.report.turns.append(turn)
        self.report.conversations[self.session_id] += 1
        frame = {"type": "message", "text": text, "id": message_id}
        deadline = turn.sent_at + self.reply_timeout_s
        sent = False
        while time.monotonic() < deadline:
            try:
                if not sent:
                    await self._send(frame)
                    sent = True
                reply = await self._receive(deadline - time.monotonic())
            except (_Closed, asyncio.TimeoutError, aiohttp.ClientError, OSError):
                if time.monotonic() >= deadline:
                    return
                self.report.reconnects += 1
                try:
                    await self._connect(deadline)
                except _Closed:
                    return
                sent = False  # as the widget does: the unhandled message goes again
                continue
            if reply.get("type") == "handled" and reply.get("id") == message_id:
                turn.handled_at = time.monotonic()
                return
            if reply.get("type") == "error" and reply.get("id") == message_id:
                turn.error = str(reply.get("code"))
                return
            if self._shown(reply):
                turn.replies += 1
                turn.texts.append(str(reply.get("text") or "")[:120])

    def _shown(self, frame: dict[str, Any]) -> bool:
        """Shows (counts) a bot message once by ``seq`` and acknowledges it."""
        if frame.get("type") != "message" or not isinstance(frame.get("seq"), int):
            return False
        seq = frame["seq"]
        if seq <= self.last_seq:
            self.report.duplicated += 1
            return False
        self.report.missing += seq - self.last_seq - 1
        self.last_seq = seq
        if self.ws is not None and not self.ws.closed:
            task = asyncio.ensure_future(self.ws.send_str(json.dumps({"type": "ack", "seq": seq})))
            task.add_done_callback(lambda t: t.exception())
        return True

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is None or self.ws.closed:
            raise _Closed()
        try:
            await self.ws.send_str(json.dumps(frame))
        except (ConnectionResetError, RuntimeError) as error:
            raise _Closed() from error

    async def _receive(self, timeout: float) -> dict[str, Any]:
        if self.ws is None:
            raise _Closed()
        message = await self.ws.receive(timeout=max(timeout, 0.01))
        if message.type != aiohttp.WSMsgType.TEXT:
            raise _Closed()
        frame = json.loads(message.data)
        return frame if isinstance(frame, dict) else {}


T = TypeVar("T")


def run_on_standard_loop(main: Coroutine[Any, Any, T]) -> T:
    """Runs ``main`` to the end on the standard library's event loop.

    Importing Rasa's Sanic makes uvloop the process's event-loop policy, so ``asyncio.run``
    in a test process that started a Rasa server earlier gets a uvloop loop. There, once,
    16 simulated widgets waited for ever in a receive whose timeout never fired (the
    loop slept with no timer left). The load runs on the loop it was written for.
    """
    loop = asyncio.SelectorEventLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def run_load(
    url: str,
    origin: str,
    *,
    users: int,
    duration_s: float,
    think_s: tuple[float, float] = (0.5, 2.0),
    reply_timeout_s: float = 120.0,
    stop: asyncio.Event | None = None,
) -> LoadReport:
    """``users`` widgets at ``url`` (the WebSocket) for ``duration_s`` (or until ``stop``).

    No new message is sent after that; the answers to those sent are waited for.
    """
    report = LoadReport(users, 0.0)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()
        deadline = [started + duration_s]

        async def stop_early() -> None:
            if stop is not None:
                await stop.wait()
                deadline[0] = min(deadline[0], time.monotonic())

        stopping = asyncio.ensure_future(stop_early())
        people = [
            VirtualUser(n, url, origin, http, report, think_s, reply_timeout_s)
            for n in range(users)
        ]
        tasks = [asyncio.ensure_future(p.run(deadline)) for p in people]
        finished = threading.Event()
        loop = asyncio.get_running_loop()

        def stalled() -> None:
            for task in tasks:
                if not task.done():
                    report.failures["stalled"] += 1
                    task.cancel()

        def watch() -> None:
            # Every wait of a widget has its own timeout, so nothing outlives the last
            # reply's: a widget still waiting a minute after that is stuck. Cancelled from
            # another thread, it is counted, and the run ends instead of hanging.
            while not finished.wait(5):
                if time.monotonic() > deadline[0] + 2 * reply_timeout_s + 60:
                    loop.call_soon_threadsafe(stalled)
                    return

        threading.Thread(target=watch, name="load-watchdog", daemon=True).start()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        finished.set()
        stopping.cancel()
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, _Closed | asyncio.CancelledError
            ):
                report.failures[type(outcome).__name__] += 1
        report.wall_s = time.monotonic() - started
    return report
