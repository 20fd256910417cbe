"""A person asks for a human in the widget; a worker takes the chat through the handoff API.

Real processes: the Rasa server with our widget channel, the action server and the web
service. The user's side is a WebSocket client speaking the widget protocol.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.db.engine import make_engine, make_session_factory
from bot.handoff import Agents

pytestmark = pytest.mark.e2e

PASSWORD = "kirjasto-2026-syksy"


class WidgetUser:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def say(self, text: str) -> None:
        await self.ws.send_str(json.dumps({"type": "message", "text": text}))

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
                return frame


async def test_a_worker_takes_the_chat_writes_reads_and_hands_back(stack):
    engine = make_engine(stack.database_url)
    try:
        Agents(make_session_factory(engine)).add(
            "e2e-worker", PASSWORD, display_name="Anna", languages=["fi"]
        )
    finally:
        engine.dispose()
    ws_url = stack.rasa_url.replace("http", "ws", 1) + "/webhooks/widget/websocket"
    # unsafe=True: the cookie jar keeps cookies of an IP address host (127.0.0.1).
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession() as user_session,
        aiohttp.ClientSession(cookie_jar=jar) as console,
    ):
        ws = await user_session.ws_connect(ws_url, headers={"Origin": stack.web_url})
        user = WidgetUser(ws)
        await ws.send_str(json.dumps(
            {"type": "hello", "session_id": None, "last_seq": 0, "language": "fi", "page_url": stack.web_url}
        ))  # fmt: skip
        welcome = json.loads(await ws.receive_str(timeout=30))
        assert welcome["type"] == "welcome"
        assert "Digituki-avustaja" in (await user.next_message())["text"]
        await user.say("haluan puhua ihmisen kanssa, en osaa käyttää kelan sivuja")
        assert "puhua ihmisen kanssa" in (await user.next_message())["text"]

        login = await console.post(
            f"{stack.web_url}/api/v1/auth/login",
            json={"username": "e2e-worker", "password": PASSWORD},
        )
        headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        assert login.status == 200, await login.text()
        queue = await (await console.get(f"{stack.web_url}/api/v1/handoff/queue")).json()
        assert "waiting" in queue, queue
        # Other tests of this session may have asked for a person too: this conversation's.
        [waiting] = [r for r in queue["waiting"] if r["conversation_id"] == welcome["session_id"]]
        assert (waiting["language"], waiting["topics"], waiting["channel"]) == (
            "fi",
            ["kela"],
            "widget",
        )
        base = f"{stack.web_url}/api/v1/handoff/requests/{waiting['id']}"
        assert (await console.post(f"{base}/claim", headers=headers)).status == 200

        sent = await console.post(
            f"{base}/messages", json={"text": "Hei, olen Anna digituesta."}, headers=headers
        )
        assert sent.status == 204
        assert (await user.next_message())["text"] == "Hei, olen Anna digituesta."

        await user.say("kiitos, tarviin apua kelan hakemuksen kanssa")  # the bot stays quiet
        await user.handled()
        transcript = await (await console.get(f"{base}/transcript")).json()
        lines = [(m["sender"], m["text"]) for m in transcript["messages"]]
        assert lines[-2:] == [
            ("worker", "Hei, olen Anna digituesta."),
            ("user", "kiitos, tarviin apua kelan hakemuksen kanssa"),
        ]

        assert (await console.post(f"{base}/return", headers=headers)).status == 204
        assert "Digitukija poistui keskustelusta" in (await user.next_message())["text"]
        await user.say("kiitos")
        assert "Ole hyvä" in (await user.next_message())["text"]  # the bot answers again
        await ws.close()
