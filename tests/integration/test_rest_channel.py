"""The tests' REST channel on a real Sanic server: a token, REST conversations only, size caps.

Rasa's message handling is a small echo bot and the tracker store Rasa's in-memory
one, holding the conversations other channels started; the channel is the real one.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from connectors.rasa_server import LaunchError, rasa_arguments
from connectors.rest import MAX_BODY_BYTES, MAX_TEXT, RestChannelError, TokenRestInput

TOKEN = "rest-channel-test-token"
WIDGET_SESSION = "0123456789abcdef0123456789abcdef"


@dataclass
class EchoBot:
    received: list[UserMessage] = field(default_factory=list)

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_response(
            message.sender_id, {"text": f"echo: {message.text}"}
        )


@dataclass
class Server:
    url: str
    bot: EchoBot
    store: InMemoryTrackerStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    Sanic.test_mode = True
    app = Sanic(f"rest-test-{_free_port()}")
    store = InMemoryTrackerStore(Domain.empty())
    widget = DialogueStateTracker(WIDGET_SESSION, slots=[])
    widget.update(UserUttered("mun pitää päästä kelan sivuille", input_channel="widget"))
    await store.save(widget)
    app.ctx.agent = SimpleNamespace(tracker_store=store)  # as the Rasa server has it
    bot = EchoBot()
    app.blueprint(TokenRestInput(TOKEN).blueprint(bot), url_prefix="/webhooks/rest")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
    )
    assert running is not None
    await running.startup()
    yield Server(f"http://127.0.0.1:{port}/webhooks/rest/webhook", bot, store)
    running.close()
    await running.wait_closed()


async def _post(url: str, body: Any, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_a_message_with_the_token_is_answered_in_a_rest_conversation(server: Server) -> None:
    status, replies = await _post(server.url, {"sender": "terminal-1", "message": "hei"})
    assert (status, replies) == (200, [{"recipient_id": "terminal-1", "text": "echo: hei"}])
    assert server.bot.received[0].input_channel == "rest"


@pytest.mark.parametrize("token", [None, "wrong-token-of-the-same-kind", TOKEN + "x"])
async def test_without_the_right_token_nothing_reaches_the_bot(
    server: Server, token: str | None
) -> None:
    status, body = await _post(server.url, {"sender": "x", "message": "hei"}, token)
    assert status == 401 and body["error"] == "unauthorized"
    assert server.bot.received == []


async def test_a_widget_conversation_is_refused_and_left_as_it_was(server: Server) -> None:
    before = await server.store.retrieve(WIDGET_SESSION)
    assert before is not None
    status, body = await _post(
        server.url,
        {"sender": WIDGET_SESSION, "message": "mitä olin sanonut?", "input_channel": "widget"},
    )
    assert status == 403 and body["error"] == "not_a_rest_conversation"
    assert server.bot.received == []
    after = await server.store.retrieve(WIDGET_SESSION)
    assert after is not None and len(after.events) == len(before.events)


async def test_the_body_cannot_choose_the_channel(server: Server) -> None:
    status, _ = await _post(
        server.url, {"sender": "1234567890", "message": "hei", "input_channel": "messenger"}
    )
    assert status == 200
    assert server.bot.received[0].input_channel == "rest"


async def test_oversized_bodies_and_messages_are_refused_unread(server: Server) -> None:
    status, body = await _post(server.url, {"sender": "x", "message": "a" * (MAX_TEXT + 1)})
    assert (status, body["error"]) == (413, "too_long")
    status, body = await _post(
        server.url, {"sender": "x", "message": "hei", "metadata": {"pad": "b" * MAX_BODY_BYTES}}
    )
    assert (status, body["error"]) == (413, "too_large")
    status, body = await _post(server.url, {"sender": "x", "message": "a" * 100_000})
    assert status == 413
    assert server.bot.received == []


@pytest.mark.parametrize(
    "body",
    [[], {"sender": "", "message": "hei"}, {"sender": "a b", "message": "hei"},
     {"sender": "x", "message": 5}, {"sender": "x", "message": "hei", "metadata": []}],
)  # fmt: skip
async def test_bad_bodies_get_400(server: Server, body: Any) -> None:
    status, _ = await _post(server.url, body)
    assert status == 400
    assert server.bot.received == []


def test_the_channel_does_not_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITUKI_REST_TOKEN", raising=False)
    with pytest.raises(RestChannelError, match="DIGITUKI_REST_TOKEN"):
        TokenRestInput.from_credentials(None)
    with pytest.raises(RestChannelError):
        TokenRestInput.from_credentials({"token": "short"})
    monkeypatch.setenv("DIGITUKI_REST_TOKEN", TOKEN)
    assert TokenRestInput.from_credentials(None).token == TOKEN


def test_the_rasa_launcher_takes_secrets_from_the_environment() -> None:
    args = rasa_arguments(["--model", "m.tar.gz", "--port", "5005"], {"DIGITUKI_RASA_TOKEN": "t"})
    assert args == [
        "run", "--model", "m.tar.gz", "--port", "5005", "--interface", "127.0.0.1",
        "--credentials", "credentials.yml", "--enable-api", "--auth-token", "t",
    ]  # fmt: skip
    exposed = rasa_arguments(
        [],
        {"DIGITUKI_RASA_HOST": "0.0.0.0", "DIGITUKI_RASA_CREDENTIALS": "tests/credentials.yml"},
    )
    assert exposed == ["run", "--interface", "0.0.0.0", "--credentials", "tests/credentials.yml"]
    with pytest.raises(LaunchError, match="DIGITUKI_RASA_TOKEN"):
        rasa_arguments(["--auth-token", "t"], {})
    with pytest.raises(LaunchError, match="anyone"):
        rasa_arguments(["--enable-api"], {})
