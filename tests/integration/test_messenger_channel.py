"""The Messenger channel on a real Sanic server, with the fake Graph API in the same loop.

Rasa's message handling is replaced by a small echo bot, so these tests are about
the channel: signatures, batches, redeliveries, limits, order, and what goes out
through the Send API, including retries and a support worker's tagged messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.graph_api import GraphApi, GraphApiError, RetryPolicy
from connectors.messenger import (
    ONLY_TEXT,
    MessengerConfig,
    MessengerInput,
    MessengerOutput,
    SharedSeenMessages,
)
from connectors.messenger_webhook import SIGNATURE_HEADER, sign
from tests.fake_graph_api import PAGE_ID, FakeGraphApi

SECRET = "app-secret-for-tests"
VERIFY = "verify-token-for-tests"


@dataclass
class EchoBot:
    """Answers every message with "echo: <text>"; remembers what it was given."""

    received: list[UserMessage] = field(default_factory=list)
    delay_first_s: float = 0.0

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay_first_s and len(self.received) == 1:
            await asyncio.sleep(self.delay_first_s)
        if message.text == "silence":
            return
        reply: dict[str, Any] = {"text": f"echo: {message.text}"}
        if message.text == "cards":
            reply["custom"] = {
                "type": "provider_cards",
                "language": "sv",
                "labels": {
                    "call": "Ring",
                    "web": "Webbsida",
                    "map": "Karta",
                    "demo": "Exempeldata (demo)",
                },
                "cards": [
                    {
                        "name": "Närpes bibliotek",
                        "address": "Biblioteksgatan 1, 64200 Närpes",
                        "helps_with": ["FPA"],
                        "phone": "06 123 4567",
                        "website": "https://example.org/bibliotek",
                        "map_url": "https://www.openstreetmap.org/?mlat=62.47&mlon=21.33",
                        "demo": True,
                    }
                ],
            }
        if message.text == "choices":
            reply["buttons"] = [
                {"title": f"Choice number {n}", "payload": f"/pick{n}"} for n in range(20)
            ]
        await message.output_channel.send_response(message.sender_id, reply)


@dataclass
class Server:
    url: str
    channel: MessengerInput
    bot: EchoBot
    graph: FakeGraphApi
    http: aiohttp.ClientSession

    async def post(self, body: bytes, signature: str | None = "sign") -> aiohttp.ClientResponse:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers[SIGNATURE_HEADER] = sign(body, SECRET)
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        async with self.http.post(f"{self.url}/webhook", data=body, headers=headers) as response:
            await response.read()
            return response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    graph = FakeGraphApi(profiles={"1001": {"locale": "fi_FI"}, "1002": {"locale": "sv_SE"}})
    await graph.start()
    async with replica(graph) as running:
        yield running
    await graph.stop()


@asynccontextmanager
async def replica(
    graph: FakeGraphApi,
    shared_seen: SharedSeenMessages | None = None,
    get_started_payload: str = "GET_STARTED",
) -> AsyncIterator[Server]:
    """A server with the channel, talking to ``graph`` (started)."""
    graph_url = graph.url
    config = MessengerConfig(
        "test-page-token",
        SECRET,
        VERIFY,
        graph_url,
        "v24.0",
        max_body_bytes=16 * 1024,
        get_started_payload=get_started_payload,
    )
    channel = MessengerInput(
        config,
        GraphApi(config.page_access_token, graph_url, "v24.0", RetryPolicy(first_delay_s=0.01)),
        shared_seen,
    )
    Sanic.test_mode = True
    app = Sanic(f"messenger-test-{_free_port()}")
    bot = EchoBot()
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/messenger")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
    )
    assert running is not None
    await running.startup()
    async with aiohttp.ClientSession() as http:
        yield Server(f"http://127.0.0.1:{port}/webhooks/messenger", channel, bot, graph, http)
    await channel.graph.close()  # type: ignore[union-attr]
    running.close()
    await running.wait_closed()


def message_event(
    psid: str, text: str, mid: str, timestamp: int = 1_700_000_000_000
) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }


def delivery(*entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE_ID, "time": 1_700_000_000_000, "messaging": e} for e in entries],
        }
    ).encode()


async def test_the_platform_subscription_check_echoes_the_challenge_only_for_our_token(
    server: Server,
) -> None:
    async def check(token: str, challenge: str = "1158201444") -> tuple[int, str]:
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
        async with server.http.get(f"{server.url}/webhook", params=params) as response:
            return response.status, await response.text()

    assert await check(VERIFY) == (200, "1158201444")
    assert (await check("guess"))[0] == 403
    assert (await check(VERIFY, "<script>"))[0] == 403


async def test_a_batched_delivery_of_three_people_makes_three_conversations(server: Server) -> None:
    body = delivery(
        [
            message_event("1001", "hei", "m-a1", 1_700_000_000_100),
            message_event("1002", "hej", "m-b1", 1_700_000_000_200),
            # an echo of our own message, a delivery receipt and a read receipt: not answered
            {"sender": {"id": PAGE_ID}, "recipient": {"id": "1001"}, "timestamp": 1,
             "message": {"mid": "m-echo", "text": "echo: hei", "is_echo": True}},
            {"sender": {"id": "1001"}, "recipient": {"id": PAGE_ID}, "delivery": {"mids": ["x"]}},
            {"sender": {"id": "1002"}, "recipient": {"id": PAGE_ID}, "read": {"watermark": 1}},
        ],
        [
            # written after "hei" but listed first: handled in the order written
            message_event("1001", "toinen viesti", "m-a3", 1_700_000_000_900),
            message_event("1001", "ensimmäinen jatko", "m-a2", 1_700_000_000_500),
            {"sender": {"id": "1003"}, "recipient": {"id": PAGE_ID}, "timestamp": 1_700_000_000_300,
             "postback": {"title": "Aloita", "payload": "/greet", "mid": "m-c1"}},
        ],
    )  # fmt: skip
    response = await server.post(body)
    assert response.status == 200
    assert await server.graph.until("1001", 3) and await server.graph.until("1002", 1)
    assert server.graph.texts_to("1001") == [
        "echo: hei",
        "echo: ensimmäinen jatko",
        "echo: toinen viesti",
    ]
    assert server.graph.texts_to("1002") == ["echo: hej"]
    assert server.graph.texts_to("1003") == ["echo: /greet"]
    assert len(server.bot.received) == 5
    by_sender = {m.sender_id: m for m in server.bot.received}
    assert by_sender["1002"].metadata == {"locale": "sv_SE"}
    assert by_sender["1001"].metadata == {"locale": "fi_FI"}
    assert by_sender["1003"].metadata == {}  # no profile: the bot detects the language
    assert all(m.input_channel == "messenger" for m in server.bot.received)
    # Replies answer within the window, and the profile is asked once per person.
    assert all(c.get("messaging_type") == "RESPONSE" for c in server.graph.calls if "message" in c)
    assert sorted(server.graph.profile_lookups) == ["1001", "1002", "1003"]


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=abc",
        "sha256=zz",
        "sign-other-secret",
        "sign-other-body",
    ],
)
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_processed(
    server: Server, signature: str | None
) -> None:
    body = delivery([message_event("1001", "hei", "m-sig")])
    if signature == "sign-other-secret":
        signature = sign(body, "not-our-secret")
    elif signature == "sign-other-body":
        signature = sign(body + b" ", SECRET)
    response = await server.post(body, signature)
    assert response.status == 403
    await asyncio.sleep(0.1)
    assert (
        server.bot.received == []
        and server.graph.calls == []
        and server.graph.profile_lookups == []
    )


async def test_a_replayed_delivery_is_processed_once(server: Server) -> None:
    body = delivery(
        [message_event("1001", "hei", "m-once"), message_event("1002", "hej", "m-once-2")]
    )
    for _ in range(3):
        assert (await server.post(body)).status == 200
    # The same message again inside another batch, next to a new one.
    again = delivery(
        [message_event("1001", "hei", "m-once"), message_event("1001", "uusi", "m-new")]
    )
    assert (await server.post(again)).status == 200
    await server.graph.until("1001", 2)
    await asyncio.sleep(0.1)
    assert sorted(m.text for m in server.bot.received) == ["hei", "hej", "uusi"]
    assert server.graph.texts_to("1001") == ["echo: hei", "echo: uusi"]


async def test_a_redelivery_to_another_replica_is_processed_once(redis_url: str) -> None:
    """Two replicas behind HAProxy: the platform sends a delivery again (it got no 200
    in time) and it lands on the other replica."""
    import uuid

    graph = FakeGraphApi(profiles={"1001": {"locale": "fi_FI"}})
    await graph.start()
    run = uuid.uuid4().hex[:8]  # message ids of this run only: Redis keeps them for 48 h
    first, second = SharedSeenMessages(redis_url), SharedSeenMessages(redis_url)
    try:
        async with replica(graph, first) as one, replica(graph, second) as two:
            body = delivery([message_event("1001", "hei", f"m-{run}-1")])
            assert (await one.post(body)).status == 200
            assert (await two.post(body)).status == 200
            both = delivery(
                [message_event("1001", "hei", f"m-{run}-1"),
                 message_event("1001", "uusi", f"m-{run}-2", 1_700_000_000_500)]
            )  # fmt: skip
            assert (await two.post(both)).status == 200
            assert (await one.post(both)).status == 200
            await graph.until("1001", 2)
            await asyncio.sleep(0.2)
            assert [m.text for m in one.bot.received] == ["hei"]
            assert [m.text for m in two.bot.received] == ["uusi"]
            assert graph.texts_to("1001") == ["echo: hei", "echo: uusi"]
    finally:
        await first.close()
        await second.close()
        await graph.stop()


async def test_without_redis_a_replica_still_answers_what_it_has_not_seen() -> None:
    graph = FakeGraphApi(profiles={"1001": {"locale": "fi_FI"}})
    await graph.start()
    nowhere = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    shared = SharedSeenMessages(nowhere)
    try:
        async with replica(graph, shared) as one:
            body = delivery([message_event("1001", "hei", "m-no-redis")])
            assert (await one.post(body)).status == 200
            assert (await one.post(body)).status == 200  # its own memory still knows it
            await graph.until("1001", 1)
            await asyncio.sleep(0.1)
            assert [m.text for m in one.bot.received] == ["hei"]
            assert shared.unanswered == 1
    finally:
        await shared.close()
        await graph.stop()


async def test_an_oversize_body_is_refused_unread(server: Server) -> None:
    big = delivery([message_event("1001", "x" * 1000, f"m-{n}") for n in range(20)])
    assert len(big) > 16 * 1024
    assert (await server.post(big)).status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    headers = {SIGNATURE_HEADER: sign(big, SECRET), "Content-Type": "application/json"}
    async with server.http.post(
        f"{server.url}/webhook", data=chunks(), headers=headers
    ) as response:
        assert response.status == 413
    await asyncio.sleep(0.1)
    assert server.bot.received == []


@pytest.mark.parametrize(
    "body", [b"", b"not json", b'{"object": "instagram", "entry": []}', b"[" * 5000]
)
async def test_a_signed_body_that_is_no_delivery_gets_400(server: Server, body: bytes) -> None:
    assert (await server.post(body)).status == 400
    assert server.bot.received == []


async def test_one_persons_messages_are_handled_in_order_across_deliveries(server: Server) -> None:
    server.bot.delay_first_s = 0.5  # the first message is slow to answer
    first = asyncio.ensure_future(server.post(delivery([message_event("1001", "yksi", "m-o1", 1)])))
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(
        server.post(delivery([message_event("1001", "kaksi", "m-o2", 2)]))
    )
    other = await server.post(delivery([message_event("1002", "hej", "m-o3", 3)]))
    assert other.status == 200
    # Another person is not held up by the slow one.
    assert server.graph.texts_to("1002") == ["echo: hej"] and server.graph.texts_to("1001") == []
    await asyncio.gather(first, second)
    assert server.graph.texts_to("1001") == ["echo: yksi", "echo: kaksi"]


async def test_temporary_send_failures_are_retried_and_the_reply_arrives_once(
    server: Server,
) -> None:
    server.graph.fail_next(1, status=500, code=1200)
    server.graph.fail_next(1, status=429, code=613, retry_after=0.05)
    server.graph.fail_next(1, status=500, code=2)
    await server.post(delivery([message_event("1001", "hei", "m-t1")]))
    assert server.graph.texts_to("1001") == ["echo: hei"]
    assert [r["problem"] for r in server.graph.refused] == ["code 1200", "code 613", "code 2"]


async def test_a_reply_the_platform_will_not_deliver_is_logged_not_raised(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.graph.blocked.add("1001")
    with caplog.at_level(logging.ERROR, logger="connectors.messenger"):
        assert (await server.post(delivery([message_event("1001", "hei", "m-b")]))).status == 200
    assert server.graph.messages_to("1001") == []
    assert any(
        "not delivered" in r.getMessage() and "551" in r.getMessage() for r in caplog.records
    )
    assert server.channel.graph is not None and server.channel.graph.failed >= 1


async def test_a_workers_message_goes_with_the_human_agent_tag_and_a_refusal_reaches_the_worker(
    server: Server,
) -> None:
    output = server.channel.get_output_channel()
    assert isinstance(output, MessengerOutput)
    # What Rasa passes on for a bot event carrying the worker's name (bot.handoff.rasa_client).
    await output.send_response(
        "1001", {"text": "Hei, olen Aino digitukipisteestä.", "agent": "Aino"}
    )
    (call,) = server.graph.messages_to("1001")
    assert call["messaging_type"] == "MESSAGE_TAG" and call["tag"] == "HUMAN_AGENT"
    # Marked as a person's message: the worker's name before the text.
    assert call["message"] == {"text": "👤 Aino: Hei, olen Aino digitukipisteestä."}
    server.graph.blocked.add("1001")
    with pytest.raises(GraphApiError):
        await output.send_response("1001", {"text": "Oletko vielä siellä?", "agent": "Aino"})


async def test_long_texts_many_buttons_and_cards_fit_the_platforms_limits(server: Server) -> None:
    output = server.channel.get_output_channel()
    long_text = " ".join(f"Lause numero {n} kertoo jotain tärkeää." for n in range(150))
    await output.send_response(
        "1001", {"text": long_text, "buttons": [{"title": "Kyllä", "payload": "/affirm"}]}
    )
    parts = server.graph.messages_to("1001")
    assert len(parts) == 3 and not server.graph.refused
    assert " ".join(p["message"]["text"] for p in parts) == long_text
    assert [("quick_replies" in p["message"]) for p in parts] == [False, False, True]

    await server.post(delivery([message_event("1002", "choices", "m-q")]))
    (choices,) = server.graph.messages_to("1002")
    replies = choices["message"]["quick_replies"]
    assert len(replies) == 13 and replies[0] == {
        "content_type": "text",
        "title": "Choice number 0",
        "payload": "/pick0",
    }

    await server.post(delivery([message_event("1002", "cards", "m-c")]))
    template = server.graph.messages_to("1002")[-1]["message"]
    assert "text" not in template and not server.graph.refused
    (element,) = template["attachment"]["payload"]["elements"]
    assert element["title"] == "Närpes bibliotek – Exempeldata (demo)"
    assert element["buttons"] == [
        {"type": "phone_number", "title": "Ring", "payload": "+35861234567"},
        {"type": "web_url", "title": "Webbsida", "url": "https://example.org/bibliotek"},
        {
            "type": "web_url",
            "title": "Karta",
            "url": "https://www.openstreetmap.org/?mlat=62.47&mlon=21.33",
        },
    ]


async def test_cards_the_platform_refuses_arrive_as_text(server: Server) -> None:
    server.graph.fail_next(1, status=400, code=100, transient=False)
    await server.post(delivery([message_event("1002", "cards", "m-f")]))
    assert server.graph.texts_to("1002") == ["echo: cards"]


async def test_typing_shows_while_the_bot_thinks_and_stops_when_it_says_nothing(
    server: Server,
) -> None:
    await server.post(delivery([message_event("1001", "silence", "m-s")]))
    actions = [c["sender_action"] for c in server.graph.calls if c["recipient"]["id"] == "1001"]
    assert actions == ["typing_on", "typing_off"]
    await server.post(delivery([message_event("1002", "hej", "m-s2")]))
    kinds = [
        c.get("sender_action", "message")
        for c in server.graph.calls
        if c["recipient"]["id"] == "1002"
    ]
    assert kinds == ["typing_on", "message"]


async def test_the_channel_is_off_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAGE_TOKEN", "APP_SECRET", "VERIFY_TOKEN"):
        monkeypatch.delenv(f"DIGITUKI_MESSENGER_{name}", raising=False)
    channel = MessengerInput.from_credentials({})
    assert channel.config is None
    Sanic.test_mode = True
    app = Sanic(f"messenger-off-{_free_port()}")
    app.blueprint(channel.blueprint(EchoBot()), url_prefix="/webhooks/messenger")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
    )
    assert running is not None
    await running.startup()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"http://127.0.0.1:{port}/webhooks/messenger/webhook", data=b"{}"
            ) as r:
                assert r.status == 404
            async with http.get(f"http://127.0.0.1:{port}/webhooks/messenger/") as r:
                assert (await r.json()) == {"status": "off"}
    finally:
        running.close()
        await running.wait_closed()


async def test_when_retries_run_out_the_failure_is_logged_and_counted(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.graph.fail_next(4, status=503, code=2)  # as many failures as attempts
    with caplog.at_level(logging.WARNING, logger="connectors"):
        await server.post(delivery([message_event("1001", "hei", "m-x")]))
    assert server.graph.texts_to("1001") == []
    assert len(server.graph.refused) == 4
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 3
    assert any(
        r.levelno == logging.ERROR and "not delivered" in r.getMessage() for r in caplog.records
    )
    async with server.http.get(f"{server.url}/") as health:
        assert await health.json() == {"status": "ok", "sent": 2, "failed": 1}  # typing on and off
    # The next message goes through: nothing is stuck.
    await server.post(delivery([message_event("1001", "uudestaan", "m-y")]))
    assert server.graph.texts_to("1001") == ["echo: uudestaan"]


async def test_a_photo_or_sticker_gets_a_note_in_the_persons_language_and_the_bot_is_not_asked(
    server: Server,
) -> None:
    photo = {**message_event("1002", "", "m-photo"), "message": {
        "mid": "m-photo", "attachments": [{"type": "image", "payload": {"url": "https://x.example/p.jpg"}}],
    }}  # fmt: skip
    assert (await server.post(delivery([photo]))).status == 200
    assert server.graph.texts_to("1002") == [ONLY_TEXT["sv"]]
    assert server.bot.received == []


def postback_event(
    psid: str, payload: str, title: str, mid: str, timestamp: int = 1_700_000_000_000
) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": timestamp,
        "postback": {"payload": payload, "title": title, "mid": mid},
    }


async def test_the_get_started_button_greets_in_the_language_of_the_persons_locale(
    server: Server,
) -> None:
    body = delivery([postback_event("1002", "GET_STARTED", "Kom igång", "m-start")])
    assert (await server.post(body)).status == 200
    assert await server.graph.until("1002", 1)
    (greeting,) = server.bot.received
    assert greeting.text == "/greet"  # not the title, which the bot did not understand
    assert greeting.metadata == {"locale": "sv_SE"}  # the bot greets in Swedish
    # The Page's other buttons keep their behaviour: read by their title.
    body = delivery([postback_event("1002", "MENU_HOURS", "Öppettider", "m-menu")])
    assert (await server.post(body)).status == 200
    assert await server.graph.until("1002", 2)
    assert server.bot.received[-1].text == "Öppettider"


async def test_a_get_started_payload_set_for_the_page_is_the_one_that_greets() -> None:
    graph = FakeGraphApi(profiles={"1001": {"locale": "fi_FI"}})
    await graph.start()
    try:
        async with replica(graph, get_started_payload="ALOITA_DIGITUKI") as server:
            body = delivery(
                [
                    postback_event("1001", "ALOITA_DIGITUKI", "Aloita", "m-1"),
                    postback_event("1001", "GET_STARTED", "Aloita", "m-2", 1_700_000_000_001),
                ]
            )
            assert (await server.post(body)).status == 200
            assert await server.graph.until("1001", 2)
            assert [m.text for m in server.bot.received] == ["/greet", "Aloita"]
    finally:
        await graph.stop()
