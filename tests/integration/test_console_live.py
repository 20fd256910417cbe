"""The console's live socket, the event stream behind it, and the API around a chat.

A real aiohttp server on SQLite; a fake Rasa publishes the events it is sent
to our real database event broker, as the Rasa server does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents, HandoffRequests
from bot.web.app import init_app
from connectors.event_store import DatabaseEventBroker
from tests.helpers import FakeRasa

PASSWORD = "kirjasto-2026-syksy"
LIVE_SECONDS = 2.0


@dataclasses.dataclass
class Setup:
    client: TestClient
    rasa: FakeRasa
    broker: DatabaseEventBroker
    requests: HandoffRequests
    agents: Agents


@pytest.fixture
async def setup(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    sessions = make_session_factory(database.engine)
    agents = Agents(sessions)
    agents.add("wilma", PASSWORD, display_name="Wilma", languages=["sv", "fi"])
    agents.add("otto", PASSWORD, display_name="Otto", languages=["fi"])
    agents.add("kalle", PASSWORD, role="coordinator", languages=["fi"])
    broker = DatabaseEventBroker(database.url)
    rasa = FakeRasa(broker=broker)
    async with TestServer(rasa.app()) as rasa_server:
        settings = dataclasses.replace(
            Settings(),
            database_url=database.url,
            rasa_url=str(rasa_server.make_url("")),
            rasa_token="rasa-secret",
        )
        async with TestClient(TestServer(init_app(settings))) as client:
            yield Setup(client, rasa, broker, HandoffRequests(sessions), agents)
    await broker.close()


async def log_in(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


def user_says(broker: DatabaseEventBroker, conversation: str, text: str) -> None:
    """What the Rasa server publishes when the person writes."""
    broker.publish(
        {"event": "user", "sender_id": conversation, "text": text, "timestamp": time.time(),
         "message_id": f"m-{time.monotonic_ns()}", "parse_data": {}}
    )  # fmt: skip


async def next_frame(
    socket: Any,
    kind: str,
    timeout: float = LIVE_SECONDS,
    where: Callable[[dict[str, Any]], bool] = lambda frame: True,
) -> dict[str, Any]:
    """The next frame of ``kind`` (and ``where``) within ``timeout`` seconds; others skipped."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {kind} frame within {timeout} s")
        message = await socket.receive(timeout=left)
        assert message.type == WSMsgType.TEXT, message
        frame = message.json()
        if frame["type"] == kind and where(frame):
            return frame


async def test_a_new_request_reaches_the_open_console_live(setup):
    await log_in(setup.client, "wilma")
    async with setup.client.ws_connect("/api/v1/console/socket") as socket:
        first = await next_frame(socket, "queue")
        assert first == {"type": "queue", "waiting": [], "active": []}
        setup.requests.record(
            conversation_id="widget/a", channel="widget", language="sv",
            topics=["kela"], municipality_code="599", summary="jag behöver hjälp med Kela",
        )  # fmt: skip
        # The queue as it was may come again first (the page's own first frame and the
        # updater's first look can cross); the request must arrive within the time.
        frame = await next_frame(socket, "queue", where=lambda f: bool(f["waiting"]))
        [waiting] = frame["waiting"]
        assert (waiting["language"], waiting["topics"], waiting["municipality"]) == (
            "sv",
            ["kela"],
            "Pedersöre",
        )
        assert waiting["summary"] == "jag behöver hjälp med Kela" and waiting["wait_seconds"] >= 0


async def test_messages_of_my_chat_arrive_once_in_order_and_others_do_not(setup):
    mine = setup.requests.record(conversation_id="widget/mine", channel="widget", language="fi")
    setup.requests.record(conversation_id="widget/other", channel="widget", language="fi")
    headers = await log_in(setup.client, "wilma")
    base = f"/api/v1/handoff/requests/{mine.id}"
    assert (await setup.client.post(f"{base}/claim", headers=headers)).status == 200
    async with setup.client.ws_connect("/api/v1/console/socket") as socket:
        frame = await next_frame(socket, "queue")
        assert [r["id"] for r in frame["active"]] == [mine.id]
        user_says(setup.broker, "widget/other", "not for Wilma")
        user_says(setup.broker, "widget/mine", "Hei, tarvitsen apua")
        sent = await setup.client.post(
            f"{base}/messages", json={"text": "Hei, olen Wilma"}, headers=headers
        )
        assert sent.status == 204
        user_says(setup.broker, "widget/mine", "Kiitos!")
        frames = [await next_frame(socket, "message") for _ in range(3)]
        assert [(f["sender"], f["text"]) for f in frames] == [
            ("user", "Hei, tarvitsen apua"),
            ("worker", "Hei, olen Wilma"),
            ("user", "Kiitos!"),
        ]
        assert all(f["request_id"] == mine.id for f in frames)
        ids = [f["event_id"] for f in frames]
        assert ids == sorted(set(ids))
        with pytest.raises(asyncio.TimeoutError):
            await next_frame(socket, "message", timeout=0.8)  # nothing twice, nothing else
    # A reloaded page reads the same messages, with the same ids, from the transcript.
    body = await (await setup.client.get(f"{base}/transcript")).json()
    assert [m["event_id"] for m in body["messages"]] == ids


async def test_the_stored_stream_is_masked_and_survives_without_rasa(setup):
    request = setup.requests.record(conversation_id="widget/p", channel="widget", language="fi")
    user_says(setup.broker, "widget/p", "hetuni on 131052-308T ja numero 040 123 4567")
    headers = await log_in(setup.client, "wilma")
    await setup.client.post(f"/api/v1/handoff/requests/{request.id}/claim", headers=headers)
    setup.rasa.down = True
    response = await setup.client.get(f"/api/v1/handoff/requests/{request.id}/transcript")
    assert response.status == 200
    [line] = (await response.json())["messages"]
    assert line["text"] == "hetuni on [identity_code] ja numero [phone]"


async def test_the_socket_refuses_strangers_other_sites_and_plain_requests(setup):
    refused = await setup.client.get("/api/v1/console/socket")
    assert refused.status == 401
    await log_in(setup.client, "wilma")
    plain = await setup.client.get("/api/v1/console/socket")
    assert plain.status == 400 and (await plain.json())["error"] == "not_websocket"
    foreign = await setup.client.get(
        "/api/v1/console/socket",
        headers={"Origin": "https://evil.example", "Connection": "Upgrade",
                 "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    )  # fmt: skip
    assert foreign.status == 403 and (await foreign.json())["error"] == "bad_origin"


async def test_the_socket_pushes_nothing_outside_the_accounts_regions(setup):
    setup.agents.add("pk.coord", PASSWORD, role="coordinator", region_codes=["12"])
    setup.agents.add("lappi", PASSWORD, display_name="Lappi", region_codes=["19"])
    lappi_chat = setup.requests.record(
        conversation_id="widget/rovaniemi", channel="widget", language="fi",
        municipality_code="698",
    )  # fmt: skip
    lappi = await log_in(setup.client, "lappi")
    claimed = await setup.client.post(
        f"/api/v1/handoff/requests/{lappi_chat.id}/claim", headers=lappi
    )
    assert claimed.status == 200
    await log_in(setup.client, "pk.coord")
    async with setup.client.ws_connect("/api/v1/console/socket") as socket:
        assert await next_frame(socket, "queue") == {"type": "queue", "waiting": [], "active": []}
        setup.requests.record(
            conversation_id="widget/lappi-2", channel="widget", language="fi",
            municipality_code="698", kind="callback", contact=("phone", "040 765 4321"),
        )  # fmt: skip
        setup.requests.record(
            conversation_id="widget/joensuu", channel="widget", language="fi",
            municipality_code="167",
        )  # fmt: skip
        user_says(setup.broker, "widget/rovaniemi", "numeroni on 040 765 4321")
        seen: list[list[str]] = []
        while ["widget/joensuu"] not in seen:  # the hub may look between the two requests
            frame = await next_frame(socket, "queue")
            seen.append([r["conversation_id"] for r in frame["waiting"]])
            assert frame["active"] == []
        assert all(waiting in ([], ["widget/joensuu"]) for waiting in seen), seen
        with pytest.raises(asyncio.TimeoutError):
            await next_frame(socket, "message", timeout=0.8)


async def test_waiting_people_hear_when_their_place_improves(setup):
    first = setup.requests.record(conversation_id="widget/1", channel="widget", language="fi")
    setup.requests.record(conversation_id="widget/2", channel="widget", language="fi")
    headers = await log_in(setup.client, "otto")
    async with setup.client.ws_connect("/api/v1/console/socket") as socket:
        await next_frame(socket, "queue")
        await asyncio.sleep(0.5)  # the hub has seen both places
        await setup.client.post(f"/api/v1/handoff/requests/{first.id}/claim", headers=headers)
        await next_frame(socket, "queue")
        for _ in range(20):
            told = [c for c in setup.rasa.calls if c[1].startswith("/conversations/widget%2F2")]
            if len(told) >= 3:
                break
            await asyncio.sleep(0.1)
    slots, say, listen = told[:3]
    assert slots[3][0] == {"event": "slot", "name": "queue_position", "value": 1}
    assert say[1].endswith("/execute") and say[3] == {"name": "utter_queue_update"}
    assert say[2]["output_channel"] == "widget"
    assert listen[3] == [{"event": "action", "name": "action_listen"}]
    told_first = [c[3] for c in setup.rasa.calls if c[1] == "/conversations/widget%2F1/execute"]
    assert told_first == [{"name": "utter_worker_joined"}]  # not a place: a worker has it


async def test_notes_my_chats_and_call_back_contacts_only_for_whoever_takes_them(setup):
    callback = setup.requests.record(
        conversation_id="widget/cb", channel="widget", language="fi",
        kind="callback", contact=("phone", "040 123 4567"),
    )  # fmt: skip
    otto = await log_in(setup.client, "otto")
    [listed] = (await (await setup.client.get("/api/v1/handoff/queue")).json())["waiting"]
    assert listed["kind"] == "callback" and listed["contact"] is None
    base = f"/api/v1/handoff/requests/{callback.id}"
    taken = await (await setup.client.post(f"{base}/claim", headers=otto)).json()
    assert taken["contact"] == {"method": "phone", "value": "040 123 4567"}
    assert not [c for c in setup.rasa.calls if c[3] == [{"event": "pause"}]]  # no chat to pause
    saved = await setup.client.put(f"{base}/notes", json={"notes": "soitan klo 14"}, headers=otto)
    assert saved.status == 204
    [active] = (await (await setup.client.get("/api/v1/handoff/mine")).json())["active"]
    assert active["notes"] == "soitan klo 14"
    [listed] = (await (await setup.client.get("/api/v1/handoff/callbacks")).json())["callbacks"]
    assert listed["id"] == callback.id
    wilma = await log_in(setup.client, "wilma")
    refused = await setup.client.put(f"{base}/notes", json={"notes": "x"}, headers=wilma)
    assert refused.status == 409  # in Wilma's scope, but Otto's chat


async def test_repeated_wrong_passwords_wait_and_the_right_one_resets(setup):
    for _ in range(5):
        wrong = await setup.client.post(
            "/api/v1/auth/login", json={"username": "wilma", "password": "arvaus-123456"}
        )
        assert wrong.status == 401
    blocked = await setup.client.post(
        "/api/v1/auth/login", json={"username": "Wilma", "password": PASSWORD}
    )
    assert blocked.status == 429 and int(blocked.headers["Retry-After"]) > 0
    assert (await blocked.json())["error"] == "too_many_attempts"
    other = await setup.client.post(
        "/api/v1/auth/login", json={"username": "otto", "password": PASSWORD}
    )
    assert other.status == 200  # one name's failures do not lock out the others


async def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(make_database):
    database = make_database("sqlite")
    Agents(make_session_factory(database.engine)).add("wilma", PASSWORD)
    for trust, expected in ((True, True), (False, False)):
        settings = dataclasses.replace(Settings(), database_url=database.url, trust_proxy=trust)
        async with TestClient(TestServer(init_app(settings))) as client:
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": "wilma", "password": PASSWORD},
                headers={"X-Forwarded-Proto": "https"},
            )
            assert bool(response.cookies["digituki_session"]["secure"]) is expected
