"""The handoff API's access rules, through a real aiohttp test server on SQLite and PostgreSQL.

The protected endpoints are read from the OpenAPI document, so an endpoint added
without its checks fails here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents, HandoffRequests
from bot.web.app import init_app
from bot.web.handoff_api import ENDPOINTS
from tests.helpers import FakeRasa

PASSWORD = "kirjasto-2026-syksy"
SAMPLE_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def api(database):  # type: ignore[no-untyped-def]
    sessions = make_session_factory(database.engine)
    agents = Agents(sessions)
    agents.add("wilma", PASSWORD, role="worker", languages=["fi", "sv"])
    agents.add("kalle", PASSWORD, role="coordinator", languages=["fi"])
    async with TestServer(FakeRasa().app()) as rasa:
        settings = dataclasses.replace(
            Settings(),
            database_url=database.url,
            rasa_url=str(rasa.make_url("")),
            rasa_token="rasa-secret",
        )
        async with TestClient(TestServer(init_app(settings))) as client:
            client.requests = HandoffRequests(sessions)  # type: ignore[attr-defined]
            yield client


async def log_in(client: TestClient, username: str) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200
    body = await response.json()
    cookie = response.cookies["digituki_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    return str(body["csrf_token"])


def protected() -> list[tuple[str, str, Any]]:
    return [
        (e.method, e.path.replace("{request_id}", SAMPLE_ID), e)
        for e in ENDPOINTS
        if e.roles is not None
    ]


async def test_every_protected_endpoint_refuses_without_a_session(api):
    document = await (await api.get("/api/v1/openapi.json")).json()
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert listed == {(e.method, e.path) for e in ENDPOINTS}
    for method, path, _ in protected():
        response = await api.request(method, path, json={})
        assert response.status == 401, (method, path)


async def test_wrong_roles_and_missing_csrf_are_refused(api):
    csrf = await log_in(api, "wilma")  # a worker
    for method, path, endpoint in protected():
        response = await api.request(method, path, json={})  # no CSRF header
        if "worker" not in endpoint.roles:
            assert response.status == 403, (method, path)
            assert (await response.json())["error"] == "wrong_role"
        elif endpoint.changes_state:
            assert response.status == 403, (method, path)
            assert (await response.json())["error"] == "csrf"
    response = await api.put(
        "/api/v1/me/availability", json={"available": True}, headers={"X-CSRF-Token": "forged"}
    )
    assert response.status == 403
    response = await api.put(
        "/api/v1/me/availability", json={"available": True}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200 and (await (await api.get("/api/v1/me")).json())["available"]


async def test_a_worker_claims_and_closes_a_request(api):
    request = api.requests.record(conversation_id="widget-abc", channel="widget", language="sv")
    csrf = await log_in(api, "wilma")
    queue = await (await api.get("/api/v1/handoff/queue")).json()
    assert [r["id"] for r in queue["waiting"]] == [request.id]
    headers = {"X-CSRF-Token": csrf}
    claimed = await api.post(f"/api/v1/handoff/requests/{request.id}/claim", headers=headers)
    assert claimed.status == 200 and (await claimed.json())["state"] == "active"
    again = await api.post(f"/api/v1/handoff/requests/{request.id}/claim", headers=headers)
    assert again.status == 409  # no longer waiting
    bad = await api.post(
        f"/api/v1/handoff/requests/{request.id}/close", json={"outcome": "?"}, headers=headers
    )
    assert bad.status == 409
    done = await api.post(
        f"/api/v1/handoff/requests/{request.id}/close",
        json={"outcome": "helped", "notes": "Ohjattu Vaasan digitukeen."},
        headers=headers,
    )
    assert done.status == 204


async def test_a_coordinator_sees_every_request_and_logout_ends_the_session(api):
    api.requests.record(conversation_id="c1", channel="rest", language="fi")
    csrf = await log_in(api, "kalle")
    listed = await (await api.get("/api/v1/handoff/requests")).json()
    assert [r["conversation_id"] for r in listed["requests"]] == ["c1"]
    token = next(c.value for c in api.session.cookie_jar if c.key == "digituki_session")
    assert (await api.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status == 204
    assert (await api.get("/api/v1/me")).status == 401
    # The old cookie, kept by someone, no longer opens anything: the session is gone.
    api.session.cookie_jar.clear()
    stale = await api.get("/api/v1/me", headers={"Cookie": f"digituki_session={token}"})
    assert stale.status == 401


async def test_wrong_passwords_and_bad_bodies(api):
    response = await api.post(
        "/api/v1/auth/login", json={"username": "wilma", "password": "x" * 12}
    )
    assert response.status == 401 and "digituki_session" not in response.cookies
    assert (await api.post("/api/v1/auth/login", data="not json")).status == 400
    assert (await api.post("/api/v1/auth/login", json=["a"])).status == 400
