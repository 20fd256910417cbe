"""A person asks for a human in the widget; a worker takes the chat through the handoff API.

Real processes: the Rasa server with our widget channel and database event broker,
the action server and the web service. The user's side is a WebSocket client
speaking the widget protocol; the worker's side is the console's API and live socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.db.engine import make_engine, make_session_factory
from bot.handoff import Agents
from tests.e2e.conftest import TOKEN

pytestmark = pytest.mark.e2e

PASSWORD = "kirjasto-2026-syksy"
LIVE_SECONDS = 2.0


class WidgetUser:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.last_seq = 0

    async def say(self, text: str) -> None:
        await self.ws.send_str(json.dumps({"type": "message", "text": text}))

    async def turn(self, text: str, timeout: float = 30) -> list[str]:
        """Says ``text``; the bot's messages until it has handled it."""
        await self.say(text)
        texts = []
        while True:
            frame = json.loads(await self.ws.receive_str(timeout=timeout))
            if frame["type"] == "message":
                await self.ws.send_str(json.dumps({"type": "ack", "seq": frame["seq"]}))
                self.last_seq = frame["seq"]
                texts.append(frame.get("text") or "")
            if frame == {"type": "typing", "on": False}:
                return texts

    async def handled(self, timeout: float = 30) -> None:
        """Waits until the bot has taken the last message in (the typing signal ends)."""
        while True:
            frame = json.loads(await self.ws.receive_str(timeout=timeout))
            if frame == {"type": "typing", "on": False}:
                return

    async def next_message(self, timeout: float = 30) -> dict[str, Any]:
        while True:
            frame = json.loads(await self.ws.receive_str(timeout=timeout))
            if frame["type"] == "message":
                await self.ws.send_str(json.dumps({"type": "ack", "seq": frame["seq"]}))
                assert frame["seq"] > self.last_seq, "a message came twice"
                self.last_seq = frame["seq"]
                return frame


async def open_widget(
    stack: Any, session: aiohttp.ClientSession, language: str, user: WidgetUser | None = None
) -> WidgetUser:
    """A widget connection: a new conversation, or ``user``'s again (as after a reload)."""
    ws_url = stack.rasa_url.replace("http", "ws", 1) + "/webhooks/widget/websocket"
    ws = await session.ws_connect(ws_url, headers={"Origin": stack.web_url})
    await ws.send_str(json.dumps(
        {"type": "hello", "session_id": user.session_id if user else None,
         "last_seq": user.last_seq if user else 0, "language": language,
         "page_url": stack.web_url}
    ))  # fmt: skip
    welcome = json.loads(await ws.receive_str(timeout=30))
    assert welcome["type"] == "welcome"
    if user is not None:
        assert welcome["session_id"] == user.session_id
        user.ws = ws
        return user
    opened = WidgetUser(ws, welcome["session_id"])
    await opened.next_message()  # the greeting
    await opened.handled()
    return opened


@asynccontextmanager
async def widget_user(stack: Any, language: str) -> AsyncIterator[WidgetUser]:
    async with aiohttp.ClientSession() as session:
        user = await open_widget(stack, session, language)
        user.http = session  # type: ignore[attr-defined]
        yield user
        await user.ws.close()


class Console:
    """A logged-in worker: the API with the session cookie, and the live socket."""

    def __init__(self, stack: Any, http: aiohttp.ClientSession) -> None:
        self.web = stack.web_url
        self.http = http
        self.headers: dict[str, str] = {}
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.seen: set[int] = set()

    async def log_in(self, username: str) -> None:
        login = await self.http.post(
            f"{self.web}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert login.status == 200, await login.text()
        self.headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        await self.http.put(
            f"{self.web}/api/v1/me/availability", json={"available": True}, headers=self.headers
        )
        await self.connect()

    async def connect(self) -> None:
        """Opens the live socket (again, as a reloaded console page does)."""
        self.socket = await self.http.ws_connect(
            f"{self.web}/api/v1/console/socket", headers={"Origin": self.web}
        )

    async def frame(self, kind: str, timeout: float = LIVE_SECONDS) -> dict[str, Any]:
        assert self.socket is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = json.loads(await self.socket.receive_str(timeout=deadline - loop.time()))
            if frame["type"] == kind:
                return frame

    async def message(self, text: str, timeout: float = LIVE_SECONDS) -> dict[str, Any]:
        """The live message frame with ``text``; earlier messages of the chat may come first
        (Rasa publishes a turn's events when the turn is done), but none twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.frame("message", deadline - loop.time())
            assert frame["event_id"] not in self.seen, f"shown twice: {frame}"
            self.seen.add(frame["event_id"])
            if frame["text"] == text:
                return frame

    async def request_of(self, conversation_id: str, timeout: float = 30) -> dict[str, Any]:
        """The queue entry of this conversation, as the live socket shows it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.frame("queue", deadline - loop.time())
            found = [r for r in frame["waiting"] if r["conversation_id"] == conversation_id]
            if found:
                return found[0]

    async def post(self, path: str, body: Any = None) -> aiohttp.ClientResponse:
        return await self.http.post(f"{self.web}{path}", json=body, headers=self.headers)

    async def leave(self) -> None:
        await self.http.put(
            f"{self.web}/api/v1/me/availability", json={"available": False}, headers=self.headers
        )
        if self.socket is not None:
            await self.socket.close()


@asynccontextmanager
async def console(stack: Any, username: str, languages: list[str]) -> AsyncIterator[Console]:
    engine = make_engine(stack.database_url)
    try:
        Agents(make_session_factory(engine)).add(
            username, PASSWORD, display_name="Anna", languages=languages
        )
    finally:
        engine.dispose()
    # unsafe=True: the cookie jar keeps cookies of an IP address host (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        opened = Console(stack, http)
        await opened.log_in(username)
        try:
            yield opened
        finally:
            await opened.leave()  # the other tests of the session find no one at the console


async def test_a_worker_takes_the_chat_writes_reads_and_hands_back(stack):
    async with console(stack, "e2e-worker", ["fi"]) as worker, widget_user(stack, "fi") as user:
        await user.say("haluan puhua ihmisen kanssa, en osaa käyttää kelan sivuja")
        queued = (await user.next_message())["text"]
        assert "Paikkasi jonossa: 1." in queued, queued
        waiting = await worker.request_of(user.session_id)
        assert (waiting["language"], waiting["topics"], waiting["channel"]) == (
            "fi",
            ["kela"],
            "widget",
        )
        assert "en osaa käyttää kelan sivuja" in waiting["summary"]
        base = f"/api/v1/handoff/requests/{waiting['id']}"
        assert (await worker.post(f"{base}/claim")).status == 200
        joined = await user.next_message()  # who answers now, sent on the claim
        assert joined.get("notice") == "worker_joined" and "Anna" in joined["text"], joined

        sent = await worker.post(f"{base}/messages", {"text": "Hei, olen Anna digituesta."})
        assert sent.status == 204
        assert (await user.next_message(LIVE_SECONDS))["text"] == "Hei, olen Anna digituesta."
        echoed = await worker.message("Hei, olen Anna digituesta.")
        assert echoed["sender"] == "worker"

        await user.say("kiitos, tarviin apua kelan hakemuksen kanssa")  # the bot stays quiet
        heard = await worker.message("kiitos, tarviin apua kelan hakemuksen kanssa")
        assert (heard["sender"], heard["request_id"]) == ("user", waiting["id"])
        await user.handled()
        transcript = await (await worker.http.get(f"{worker.web}{base}/transcript")).json()
        lines = [(m["sender"], m["text"]) for m in transcript["messages"]]
        assert lines[-2:] == [
            ("worker", "Hei, olen Anna digituesta."),
            ("user", "kiitos, tarviin apua kelan hakemuksen kanssa"),
        ]

        assert (await worker.post(f"{base}/return")).status == 204
        assert "Digitukija poistui keskustelusta" in (await user.next_message())["text"]
        await user.say("kiitos")
        assert "Ole hyvä" in (await user.next_message())["text"]  # the bot answers again


async def test_with_no_one_for_the_language_a_call_back_reaches_the_console(stack):
    async with console(stack, "e2e-fi-only", ["fi"]) as worker, widget_user(stack, "sv") as user:
        await user.turn("jag får inte mina bankkoder att fungera i Närpes")
        busy, ask = await user.turn("kan jag få prata med en människa")
        assert "ingen digistödjare ledig" in busy, busy
        assert "telefonnummer eller vilken e-postadress" in ask
        [consent] = await user.turn("ring mig på 050 765 4321")
        assert "Får en digistödjare kontakta dig på 050 765 4321" in consent
        [done] = await user.turn("/affirm")
        assert "Din begäran är i kön" in done

    # The worker who speaks Finnish only does not get it; one who speaks Swedish sees it, with all
    # that was written (the contact number masked in the stored stream).
    async with console(stack, "e2e-sv-worker", ["fi", "sv"]) as coordinator:
        callbacks = await (
            await coordinator.http.get(f"{coordinator.web}/api/v1/handoff/callbacks")
        ).json()
        [mine] = [r for r in callbacks["callbacks"] if r["conversation_id"] == user.session_id]
        assert (mine["kind"], mine["language"], mine["state"]) == ("callback", "sv", "waiting")
        assert "bankkoder" in mine["summary"]
        base = f"/api/v1/handoff/requests/{mine['id']}"
        taken = await (await coordinator.post(f"{base}/claim")).json()
        assert taken["contact"] == {"method": "phone", "value": "050 765 4321"}
        transcript = await (
            await coordinator.http.get(f"{coordinator.web}{base}/transcript")
        ).json()
        written = [m["text"] for m in transcript["messages"] if m["sender"] == "user"]
        assert written == [
            "jag får inte mina bankkoder att fungera i Närpes",
            "kan jag få prata med en människa",
            "ring mig på [phone]",
        ]
        closed = await coordinator.post(f"{base}/close", {"outcome": "callback", "notes": "ringt"})
        assert closed.status == 204
    assert worker  # the Finnish-only worker was at the console all along


async def test_restarting_the_web_service_and_the_rasa_server_mid_chat_loses_nothing(stack):
    processes = stack.processes
    async with console(stack, "e2e-restart", ["en"]) as worker, widget_user(stack, "en") as user:
        await user.say("I want to talk to a human, my email does not work")
        assert "Your place in the queue: 1." in (await user.next_message())["text"]
        waiting = await worker.request_of(user.session_id)
        base = f"/api/v1/handoff/requests/{waiting['id']}"
        assert (await worker.post(f"{base}/claim")).status == 200
        joined = await user.next_message()  # who answers now, sent on the claim
        assert joined.get("notice") == "worker_joined" and "Anna" in joined["text"], joined
        assert (await worker.post(f"{base}/messages", {"text": "Hello, I am Anna."})).status == 204
        assert (await user.next_message())["text"] == "Hello, I am Anna."

        # The web service goes away and comes back; meanwhile the person writes.
        processes.restart("web", kill=True)
        await user.say("are you still there?")
        await user.handled()
        processes.wait_for(f"{stack.web_url}/health", 60)
        await worker.connect()  # the console page reconnects; the login is still valid
        transcript = await (await worker.http.get(f"{worker.web}{base}/transcript")).json()
        written = [m["text"] for m in transcript["messages"] if m["sender"] == "user"]
        assert written.count("are you still there?") == 1
        assert (await worker.post(f"{base}/messages", {"text": "Yes, still here."})).status == 204
        assert (await user.next_message(LIVE_SECONDS))["text"] == "Yes, still here."

        # The Rasa server goes away: the worker's message is refused, not lost silently.
        processes.restart("rasa", kill=True)
        refused = await worker.post(f"{base}/messages", {"text": "Sorry, one moment."})
        assert refused.status == 502
        processes.wait_for(f"{stack.rasa_url}/status?token={TOKEN}", 240)
        await open_widget(stack, user.http, "en", user)  # type: ignore[attr-defined]
        # This test client did not read its console socket (nor answer the server's pings)
        # while it waited; a browser would have. It connects again, as a page does.
        await worker.connect()
        assert (await worker.post(f"{base}/messages", {"text": "Sorry, one moment."})).status == 204
        assert (await user.next_message(LIVE_SECONDS))["text"] == "Sorry, one moment."
        await worker.message("Sorry, one moment.", 5)

        # The conversation is still the worker's: the bot stays quiet and the worker hears.
        await user.say("ok thank you")
        heard = await worker.message("ok thank you")
        assert heard["sender"] == "user"
        await user.handled()
        mine = await (await worker.http.get(f"{worker.web}/api/v1/handoff/mine")).json()
        assert [r["id"] for r in mine["active"]] == [waiting["id"]]
        assert (await worker.post(f"{base}/return")).status == 204
        assert "support worker has left" in (await user.next_message())["text"]
