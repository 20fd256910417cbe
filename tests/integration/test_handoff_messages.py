"""Workers' messages go through Rasa's HTTP API (a fake Rasa records them); transcripts come from the stored event stream."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents, HandoffRequests
from bot.web.app import init_app
from bot.web.keys import SETTINGS
from connectors.event_store import DatabaseEventBroker
from tests.helpers import FakeRasa

PASSWORD = "kirjasto-2026-syksy"


@pytest.fixture
async def setup(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    sessions = make_session_factory(database.engine)
    Agents(sessions).add("wilma", PASSWORD, display_name="Wilma", languages=["sv"])
    Agents(sessions).add("other", PASSWORD, languages=["sv"])
    request = HandoffRequests(sessions).record(
        conversation_id="widget/abc 1", channel="widget", language="sv"
    )
    rasa = FakeRasa()
    async with TestServer(rasa.app()) as rasa_server:
        settings = dataclasses.replace(
            Settings(),
            database_url=database.url,
            rasa_url=str(rasa_server.make_url("")),
            rasa_token="rasa-secret",
        )
        async with TestClient(TestServer(init_app(settings))) as client:
            yield client, rasa, request


async def log_in(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def test_claim_says_who_joined_pauses_the_bot_messages_reach_the_user_and_hand_back_resumes(
    setup,
):
    client, rasa, request = setup
    headers = await log_in(client, "wilma")
    base = f"/api/v1/handoff/requests/{request.id}"
    assert (await client.post(f"{base}/claim", headers=headers)).status == 200
    sent = await client.post(
        f"{base}/messages", json={"text": " Hej, jag heter Wilma. "}, headers=headers
    )
    assert sent.status == 204
    assert (await client.post(f"{base}/return", headers=headers)).status == 204
    path = "/conversations/widget%2Fabc%201"
    assert [(c[0], c[1], c[3]) for c in rasa.calls] == [
        ("POST", f"{path}/tracker/events", [{"event": "slot", "name": "worker_name", "value": "Wilma"}]),
        ("POST", f"{path}/execute", {"name": "utter_worker_joined"}),
        ("POST", f"{path}/tracker/events", [{"event": "action", "name": "action_listen"}]),
        ("POST", f"{path}/tracker/events", [{"event": "pause"}]),
        ("POST", f"{path}/tracker/events",
         [{"event": "bot", "text": "Hej, jag heter Wilma.", "metadata": {"agent": "Wilma"}}]),
        ("POST", f"{path}/tracker/events", [{"event": "resume"}]),
        ("POST", f"{path}/execute", {"name": "utter_handed_back"}),
        ("POST", f"{path}/tracker/events", [{"event": "action", "name": "action_listen"}]),
    ]  # fmt: skip
    assert rasa.calls[1][2]["output_channel"] == "widget"  # "Wilma has joined", in the chat
    message_call = rasa.calls[4][2]
    assert (
        message_call["output_channel"] == "widget"  # the request's channel, not "latest"
        and message_call["execute_side_effects"] == "true"
    )
    assert rasa.calls[6][2]["output_channel"] == "widget"  # "the worker has left", there too


async def test_the_transcript_shows_who_wrote_what(setup):
    client, _, request = setup
    # What the Rasa server publishes to the event broker for this conversation.
    broker = DatabaseEventBroker(str(client.app[SETTINGS].database_url))
    for event in [
        {"event": "user", "text": "/session_start", "timestamp": 1},
        {"event": "bot", "text": "Hej!", "timestamp": 2},
        {"event": "action", "name": "action_listen", "timestamp": 2.5},
        {"event": "user", "text": "jag vill prata med en människa", "timestamp": 3},
        {"event": "bot", "text": "Hej, jag heter Wilma.", "timestamp": 4,
         "metadata": {"agent": "Wilma"}},
        {"event": "user", "text": "other conversation", "timestamp": 5, "sender_id": "x"},
    ]:  # fmt: skip
        broker.publish({"sender_id": request.conversation_id, **event})
    await broker.close()
    headers = await log_in(client, "wilma")
    await client.post(f"/api/v1/handoff/requests/{request.id}/claim", headers=headers)
    body = await (await client.get(f"/api/v1/handoff/requests/{request.id}/transcript")).json()
    assert [(m["sender"], m["text"]) for m in body["messages"]] == [
        ("bot", "Hej!"),
        ("user", "jag vill prata med en människa"),
        ("worker", "Hej, jag heter Wilma."),
    ]


async def test_only_the_worker_with_the_chat_writes_in_it(setup):
    client, rasa, request = setup
    base = f"/api/v1/handoff/requests/{request.id}"
    headers = await log_in(client, "wilma")
    await client.post(f"{base}/claim", headers=headers)
    await client.post("/api/v1/auth/logout", headers=headers)
    other = await log_in(client, "other")
    refused = await client.post(f"{base}/messages", json={"text": "hi"}, headers=other)
    assert refused.status == 409
    assert (await client.get(f"{base}/transcript")).status == 409
    # Only the claim reached Rasa: "Wilma joined" and the pause, nothing of the other worker.
    assert [c[3] for c in rasa.calls][-1] == [{"event": "pause"}] and len(rasa.calls) == 4


async def test_a_message_rasa_did_not_take_is_reported_not_lost_silently(setup):
    client, rasa, request = setup
    headers = await log_in(client, "wilma")
    await client.post(f"/api/v1/handoff/requests/{request.id}/claim", headers=headers)
    rasa.down = True
    failed = await client.post(
        f"/api/v1/handoff/requests/{request.id}/messages", json={"text": "hallo?"}, headers=headers
    )
    assert failed.status == 502 and (await failed.json())["error"] == "rasa_unavailable"
    too_long = await client.post(
        f"/api/v1/handoff/requests/{request.id}/messages",
        json={"text": "x" * 2001},
        headers=headers,
    )
    assert too_long.status == 400
