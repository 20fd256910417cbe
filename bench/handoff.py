"""Delivery latency of handoff messages with many chats at once.

Run with ``make bench`` (or ``python -m bench.handoff``). It starts the action
server, the Rasa server (widget channel, database event broker) and the web
service on free ports with the current model, then

1. logs in ``--handoffs`` workers, each with the console's live socket open;
2. connects as many widget users, each of whom asks for a person;
3. has each worker take one chat and, in every chat at the same time, trade
   ``--rounds`` messages: worker → user (sent through the handoff API, timed until
   the widget receives it) and user → worker (sent in the widget, timed until the
   console's socket shows it);
4. prints p50/p95 per direction and how many messages were lost or duplicated.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import string
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.conversations import percentile, prepare_database
from bench.stack import Processes, free_port, stack_env
from bot.config import load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.handoff import Agents
from bot.ops.run import services
from bot.training import ensure_model

TOKEN = "bench-token"
PASSWORD = "bench-password-2026"
TIMEOUT_S = 30.0
TYPING_S = 1.2
"""The least time between two messages of one person."""


@dataclass
class Delivery:
    """Latencies in seconds per direction, and what did not arrive exactly once."""

    to_user: list[float] = field(default_factory=list)
    to_worker: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    errors: list[str] = field(default_factory=list)


def _nonce() -> str:
    """Letters that make a message unique (digits might be masked as personal data)."""
    return "".join(random.choices(string.ascii_lowercase, k=10))


class Arrivals:
    """When each text arrived (every time it did), and waiting for one without polling."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def note(self, text: str) -> None:
        now = time.perf_counter()
        self.times.setdefault(text, []).append(now)
        waiting = self._waiting.pop(text, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(now)

    async def first(self, text: str, timeout: float) -> float | None:
        """When ``text`` first arrived; ``None`` if not within ``timeout`` seconds."""
        if text in self.times:
            return self.times[text][0]
        waiting = self._waiting.setdefault(text, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), timeout)
        except asyncio.TimeoutError:
            return None

    def duplicates(self, marker: str) -> int:
        return sum(len(v) - 1 for text, v in self.times.items() if marker in text)


class WidgetSide:
    """One person in the widget: acknowledges every message and notes when each came."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.session_id = ""
        self.arrived = Arrivals()
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.refused: list[str] = []
        self._last_said = 0.0

    async def read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame.get("type") == "welcome":
                self.session_id = frame["session_id"]
            if frame.get("type") == "message":
                await self.ws.send_str(json.dumps({"type": "ack", "seq": frame["seq"]}))
                text = frame.get("text") or ""
                self.arrived.note(text)
                await self.texts.put(text)
            elif frame.get("type") == "error":
                self.refused.append(str(frame.get("code")))

    async def say(self, text: str) -> float:
        """Sends ``text`` no sooner than a person could (the widget allows 10 in 10 s).

        Returns when it was sent."""
        wait = self._last_said + TYPING_S - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_said = time.perf_counter()
        await self.ws.send_str(json.dumps({"type": "message", "text": text}))
        return self._last_said


class ConsoleSide:
    """One worker: the API session and the live socket, noting when each message came."""

    def __init__(self, http: aiohttp.ClientSession, web: str) -> None:
        self.http = http
        self.web = web
        self.headers: dict[str, str] = {}
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.arrived = Arrivals()
        self.queue_frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def log_in(self, username: str) -> None:
        response = await self.http.post(
            f"{self.web}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        self.headers = {"X-CSRF-Token": (await response.json())["csrf_token"]}
        await self.http.put(
            f"{self.web}/api/v1/me/availability", json={"available": True}, headers=self.headers
        )
        self.socket = await self.http.ws_connect(
            f"{self.web}/api/v1/console/socket", headers={"Origin": self.web}
        )

    async def read(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame["type"] == "message" and frame["sender"] == "user":
                self.arrived.note(frame["text"])
            elif frame["type"] == "queue":
                await self.queue_frames.put(frame)

    async def post(self, path: str, body: Any = None) -> int:
        async with self.http.post(f"{self.web}{path}", json=body, headers=self.headers) as r:
            return r.status


async def measure_handoffs(
    rasa_url: str, web_url: str, usernames: list[str], *, rounds: int
) -> Delivery:
    """One chat per worker in ``usernames`` (accounts with ``PASSWORD`` and Finnish)."""
    result = Delivery()
    ws_url = rasa_url.replace("http", "ws", 1) + "/webhooks/widget/websocket"
    readers: list[asyncio.Task[None]] = []
    async with aiohttp.ClientSession() as user_http:
        consoles = []
        for name in usernames:
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            console = ConsoleSide(http, web_url)
            await console.log_in(name)
            readers.append(asyncio.create_task(console.read()))
            consoles.append(console)
        try:
            users = []
            for _ in usernames:
                ws = await user_http.ws_connect(ws_url, headers={"Origin": web_url})
                user = WidgetSide(ws)
                readers.append(asyncio.create_task(user.read()))
                await ws.send_str(json.dumps({"type": "hello", "session_id": None, "last_seq": 0,
                                              "language": "fi", "page_url": web_url}))  # fmt: skip
                await asyncio.wait_for(user.texts.get(), TIMEOUT_S)  # the greeting
                users.append(user)
            for user in users:
                await user.say("haluan puhua ihmisen kanssa")
                await asyncio.wait_for(user.texts.get(), TIMEOUT_S)  # the place in the queue

            async def one_chat(console: ConsoleSide, user: WidgetSide, number: int) -> None:
                request_id = await _find_request(console, user.session_id)
                base = f"/api/v1/handoff/requests/{request_id}"
                if await console.post(f"{base}/claim") != 200:
                    result.errors.append(f"chat {number}: claim refused")
                    return
                for round_number in range(rounds):
                    text = f"tukija {number}.{round_number} {_nonce()}"
                    sent = time.perf_counter()
                    if await console.post(f"{base}/messages", {"text": text}) != 204:
                        result.errors.append(f"chat {number}: a message was refused")
                    came = await user.arrived.first(text, TIMEOUT_S)
                    _count(result, result.to_user, sent, came)
                    reply = f"käyttäjä {number}.{round_number} {_nonce()}"
                    sent = await user.say(reply)
                    came = await console.arrived.first(reply, TIMEOUT_S)
                    _count(result, result.to_worker, sent, came)
                await console.post(f"{base}/close", {"outcome": "helped"})

            await asyncio.gather(
                *(one_chat(c, u, n) for n, (c, u) in enumerate(zip(consoles, users, strict=True)))
            )
            await asyncio.sleep(1.0)  # late duplicates would show up now
            for console in consoles:
                result.duplicated += console.arrived.duplicates("käyttäjä")
            for user in users:
                result.duplicated += user.arrived.duplicates("tukija")
                result.errors += [f"widget refused a message: {code}" for code in user.refused]
                await user.ws.close()
        finally:
            for console in consoles:
                await console.http.put(
                    f"{web_url}/api/v1/me/availability",
                    json={"available": False},
                    headers=console.headers,
                )
                if console.socket is not None:
                    await console.socket.close()
                await console.http.close()
            for reader in readers:
                reader.cancel()
    return result


async def _find_request(console: ConsoleSide, conversation_id: str) -> str:
    """The id of the conversation's request, from the console's live queue."""
    deadline = time.perf_counter() + TIMEOUT_S
    while time.perf_counter() < deadline:
        async with console.http.get(f"{console.web}/api/v1/handoff/queue") as response:
            waiting = (await response.json())["waiting"]
        found = [r["id"] for r in waiting if r["conversation_id"] == conversation_id]
        if found:
            return found[0]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(console.queue_frames.get(), 1.0)
    raise TimeoutError(f"no request for {conversation_id} in the queue")


def _count(result: Delivery, latencies: list[float], sent: float, came: float | None) -> None:
    if came is None:
        result.lost += 1
    else:
        latencies.append(came - sent)


def add_workers(database_url: str, count: int) -> list[str]:
    engine = make_engine(database_url)
    try:
        agents = Agents(make_session_factory(engine))
        names = [f"bench-worker-{n}" for n in range(count)]
        for name in names:
            agents.add(name, PASSWORD, languages=["fi"], capacity=1)
        return names
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--handoffs", type=int, default=20, help="chats at the same time")
    parser.add_argument("--rounds", type=int, default=10, help="messages each way per chat")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="digituki-bench-handoff-"))
    processes = Processes(folder)
    try:
        model = ensure_model()
        database_url = prepare_database(folder)
        usernames = add_workers(database_url, args.handoffs)
        rasa_port, action_port, web_port = free_port(), free_port(), free_port()
        rasa_url, web_url = f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{web_port}"
        processes.env.update(
            DIGITUKI_DATABASE_URL=database_url,
            DIGITUKI_ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook",
            DIGITUKI_RASA_URL=rasa_url,
            DIGITUKI_WEB_PORT=str(web_port),
            DIGITUKI_RASA_TOKEN=TOKEN,
            DIGITUKI_HANDOFF_HOURS="24/7",
            **stack_env(),
        )
        for name, service in zip(
            ("actions", "rasa", "web"), services(load_settings(processes.env), model), strict=True
        ):
            processes.start(name, service.command, env=service.env)
        print(f"starting the stack for {args.handoffs} simultaneous handoffs ...", flush=True)
        processes.wait_for(f"http://127.0.0.1:{action_port}/health")
        processes.wait_for(f"{rasa_url}/status?token={TOKEN}")
        processes.wait_for(f"{web_url}/health")
        result = asyncio.run(measure_handoffs(rasa_url, web_url, usernames, rounds=args.rounds))
        print(
            f"\nhandoff message delivery, {args.handoffs} chats at once, "
            f"{args.rounds} messages each way per chat"
        )
        for name, values in (
            ("worker -> user", result.to_user),
            ("user -> worker", result.to_worker),
        ):
            print(
                f"  {name:<15} n={len(values):<4} p50 {percentile(values, 50) * 1000:6.0f} ms   "
                f"p95 {percentile(values, 95) * 1000:6.0f} ms   max {max(values, default=0) * 1000:6.0f} ms"
            )
        print(f"  lost {result.lost}, duplicated {result.duplicated}, errors {len(result.errors)}")
        for error in result.errors[:10]:
            print(f"    {error}")
    finally:
        processes.stop()


if __name__ == "__main__":
    main()
