"""The widget channel on a real Sanic server, spoken to over real WebSockets.

Rasa's message handling is replaced by a small echo bot, so these tests are about
the channel: delivery, reconnects, limits, origins and bad frames.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.widget import WidgetInput
from connectors.widget_limits import Limits
from connectors.widget_sessions import WidgetOutput, message_frame

ORIGIN = "http://shop.example"


@dataclass
class EchoBot:
    """Answers every message with "echo: <text>"; remembers what it was given."""

    received: list[UserMessage] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.gate is not None:
            await self.gate.wait()
        reply = {"text": f"echo: {message.text}"}
        if message.text == "cards":
            reply["custom"] = {
                "type": "provider_cards",
                "cards": [{"id": "lib", "name": "Library"}],
            }
            reply["buttons"] = [{"title": "More", "payload": "/show_more"}]
        await message.output_channel.send_response(message.sender_id, reply)


@dataclass
class Server:
    url: str
    channel: WidgetInput
    bot: EchoBot


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    Sanic.test_mode = True  # several apps in one process (Sanic's touch-ups run once)
    app = Sanic(f"widget-test-{_free_port()}")
    channel = WidgetInput([ORIGIN], Limits(messages_per_window=5, window_s=60))
    bot = EchoBot()
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/widget")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
    )
    assert running is not None
    await running.startup()
    yield Server(f"http://127.0.0.1:{port}/webhooks/widget/websocket", channel, bot)
    running.close()
    await running.wait_closed()


class Widget:
    """A widget's side of one connection."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **frame: Any) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def receive(self, kind: str | None = None, timeout: float = 5) -> dict[str, Any]:
        """The next frame (of ``kind``, skipping typing frames)."""
        while True:
            frame = json.loads(await self.ws.receive_str(timeout=timeout))
            if frame["type"] == "typing" and kind != "typing":
                continue
            if kind is None or frame["type"] == kind:
                return frame

    async def hello(self, session_id: str | None = None, last_seq: int = 0) -> dict[str, Any]:
        await self.send(
            type="hello", session_id=session_id, last_seq=last_seq, language="sv", page_url=ORIGIN
        )
        return await self.receive("welcome")


async def connect(session: aiohttp.ClientSession, url: str, origin: str = ORIGIN) -> Widget:
    return Widget(await session.ws_connect(url, headers={"Origin": origin}))


async def test_a_new_conversation_starts_with_the_greeting_and_page_metadata(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        welcome = await widget.hello()
        assert len(welcome["session_id"]) == 32 and welcome["max_text"] == 1000
        greeting = await widget.receive("message")
        assert (greeting["seq"], greeting["text"]) == (1, "echo: /session_start")
        await widget.send(type="message", text="cards")
        frames = [json.loads(await widget.ws.receive_str(timeout=5))]
        while frames[-1]["type"] != "message":
            frames.append(json.loads(await widget.ws.receive_str(timeout=5)))
        assert {"type": "typing", "on": True} in frames  # the bot is writing
        reply = frames[-1]
        assert reply["seq"] == 2 and reply["cards"] == [{"id": "lib", "name": "Library"}]
        assert reply["text"] == ""
        assert reply["buttons"] == [{"title": "More", "payload": "/show_more"}]
    first = server.bot.received[1]
    assert first.sender_id == welcome["session_id"] and first.input_channel == "widget"
    assert first.metadata == {"page_language": "sv", "page_url": ORIGIN}


async def test_reconnect_delivers_what_was_missed_exactly_once(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        session_id = (await widget.hello())["session_id"]
        await widget.receive("message")  # greeting, seq 1 (not acknowledged yet)
        server.bot.gate = asyncio.Event()
        await widget.send(type="message", text="slow question")
        while server.bot.received[-1].text != "slow question":
            await asyncio.sleep(0.01)
        await widget.ws.close()  # the tab closes while the bot is still thinking
        server.bot.gate.set()
        await asyncio.sleep(0.1)  # the reply goes to the outbox, nobody connected

        widget = await connect(session, server.url)
        assert (await widget.hello(session_id, last_seq=1))["session_id"] == session_id
        missed = await widget.receive("message")
        assert (missed["seq"], missed["text"]) == (2, "echo: slow question")
        await widget.send(type="ack", seq=2)
        await widget.ws.close()

        widget = await connect(session, server.url)
        await widget.hello(session_id, last_seq=2)
        await widget.send(type="message", text="next")
        assert (await widget.receive("message"))["seq"] == 3  # nothing shown twice
    assert [m.text for m in server.bot.received].count("/session_start") == 1


async def test_a_message_from_outside_a_request_reaches_a_disconnected_user(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        session_id = (await widget.hello())["session_id"]
        greeting = await widget.receive("message")
        await widget.send(type="ack", seq=greeting["seq"])
        await widget.ws.close()
        # As Rasa does for POST /conversations/{id}/tracker/events?output_channel=latest
        output = server.channel.get_output_channel()
        await output.send_response(session_id, {"text": "Hei, olen digitukija Anna."})
        widget = await connect(session, server.url)
        await widget.hello(session_id, last_seq=greeting["seq"])
        assert (await widget.receive("message"))["text"] == "Hei, olen digitukija Anna."


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "launch"}', "bad_frame"),
        ('{"type": "message", "text": 42}', "bad_frame"),
        ('{"type": "ack", "seq": "x"}', "bad_frame"),
        (
            '{"type": "message", "text": "hi", "metadata": {"location": {"lat": 99, "lon": 0}}}',
            "bad_frame",
        ),
        (json.dumps({"type": "message", "text": "x" * 1001}), "too_large"),
        (json.dumps({"type": "message", "text": "x" * 9000}), "too_large"),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_goes_on(server, frame, code):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        await widget.hello()
        await widget.receive("message")
        await widget.ws.send_str(frame)
        error = await widget.receive("error")
        assert error["code"] == code and error["message"]
        await widget.send(type="message", text="still here")
        assert (await widget.receive("message"))["text"] == "echo: still here"


async def test_a_message_before_hello_is_refused(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        await widget.send(type="message", text="hi")
        assert (await widget.receive("error"))["code"] == "no_session"
    assert server.bot.received == []


async def test_too_many_messages_are_refused_politely(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        await widget.hello()
        await widget.receive("message")  # the greeting is the bot's, not counted
        codes = []
        for n in range(6):
            await widget.send(type="message", text=f"m{n}")
            frame = await widget.receive()
            codes.append(frame.get("code") or frame["type"])
        assert codes == ["message"] * 5 + ["rate_limited"]  # 5 a minute in this fixture


async def test_a_page_on_another_site_is_refused_before_the_upgrade(server):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await connect(session, server.url, origin="https://evil.example")
        assert refused.value.status == 403
    assert server.bot.received == []


async def test_a_page_can_ask_whether_its_origin_is_refused(server):
    # The browser gives a failed socket no reason; the widget asks this instead.
    probe = server.url.replace("/websocket", "/origin")
    async with aiohttp.ClientSession() as session:
        for origin, allowed in (("https://evil.example", False), (ORIGIN, True)):
            async with session.get(probe, headers={"Origin": origin}) as answer:
                assert answer.status == 200 and await answer.json() == {"allowed": allowed}
                assert answer.headers["Access-Control-Allow-Origin"] == origin  # readable there


async def test_restart_starts_a_new_conversation(server):
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        old = (await widget.hello())["session_id"]
        await widget.receive("message")
        await widget.send(type="restart", language="en")
        new = (await widget.receive("welcome"))["session_id"]
        assert new != old
        greeting = await widget.receive("message")
        assert (greeting["seq"], greeting["text"]) == (1, "echo: /session_start")
    assert server.bot.received[-1].metadata["page_language"] == "en"  # as the widget shows now


async def test_html_stays_text_in_frames(server):
    payload = '<img src=x onerror="alert(1)">'
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        await widget.hello()
        await widget.receive("message")
        await widget.send(type="message", text=payload)
        assert (await widget.receive("message"))["text"] == f"echo: {payload}"


def test_bot_messages_become_one_frame_each():
    frame = message_frame(
        {
            "text": "Testikirjasto Oulu\nOulu – 11 km",  # the cards as plain text
            "buttons": [{"title": "Lisää", "payload": "/show_more"}],
            "custom": {"type": "provider_cards", "language": "sv", "cards": [{"id": "a"}]},
        }
    )
    assert frame == {
        "type": "message",
        "text": "",  # the widget shows the cards, not their plain rendering
        "buttons": [{"title": "Lisää", "payload": "/show_more"}],
        "cards": [{"id": "a"}],
        "sender": {"kind": "bot"},
        "language": "sv",  # the cards' labels stay in the language of their content
    }
    assert message_frame({"text": "Hei"})["text"] == "Hei"


def test_a_workers_message_and_the_join_notice_say_so_in_the_frame():
    # How Rasa hands them to the channel: the event's metadata merged into the message.
    worker = message_frame({"text": "Hei, olen Wilma.", "agent": "Wilma Virtanen"})
    assert worker["sender"] == {"kind": "worker", "name": "Wilma Virtanen"}
    assert "notice" not in worker
    joined = message_frame(
        {"text": "Wilma, digitukija, tuli keskusteluun.", "metadata": {"notice": "worker_joined"}}
    )
    assert (joined["sender"], joined["notice"]) == ({"kind": "bot"}, "worker_joined")
    odd = message_frame({"text": "x", "agent": ["?"], "metadata": {"notice": "<b>"}})
    assert odd["sender"] == {"kind": "bot"} and "notice" not in odd
    assert WidgetOutput.name() == "widget"


def test_allowed_origins_are_checked_when_the_channel_is_configured():
    channel = WidgetInput.from_credentials({"allowed_origins": "https://a.fi, https://b.fi"})
    assert channel.origin_allowed("https://a.fi") and not channel.origin_allowed("https://c.fi")
    assert not channel.origin_allowed(None)
    with pytest.raises(ValueError, match="not an http"):
        WidgetInput.from_credentials({"allowed_origins": ["javascript:alert(1)"]})


async def test_a_conversation_the_server_forgot_goes_on_with_its_numbering(server):
    # After a restart of the Rasa server the outbox is empty, but the widget has shown 7.
    session_id = "0123456789abcdef0123456789abcdef"
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, server.url)
        assert (await widget.hello(session_id, last_seq=7))["session_id"] == session_id
        await widget.send(type="message", text="still there?")
        reply = await widget.receive("message")
        assert (reply["seq"], reply["text"]) == (8, "echo: still there?")
    assert [m.text for m in server.bot.received] == ["still there?"]  # no second greeting


async def test_the_demo_notice_follows_the_provider_data(make_database, gazetteer):
    import dataclasses

    from connectors.widget_protocol import DemoDataProbe
    from tests.conftest import FIXTURES
    from tests.helpers import load_providers

    database = make_database("sqlite")
    providers = load_providers(FIXTURES / "search_providers.yml", gazetteer)
    database.repository.upsert(providers)
    assert await DemoDataProbe(database.url).present() is False
    database.repository.upsert([dataclasses.replace(providers[0], id="demo-1", source="demo")])
    assert await DemoDataProbe(database.url).present() is True
    assert await DemoDataProbe(None).present() is False
