"""The handoff API's access rules, through a real aiohttp test server on SQLite and PostgreSQL.

The protected endpoints are read from the OpenAPI document, so an endpoint added
without its checks fails here. The login's defences (the throttle against parallel
and spoofed guesses, login CSRF) are attacked as an outsider would, over the socket;
the request scope of each account is in ``test_staff_scope.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents, HandoffRequests
from bot.web.app import init_app
from bot.web.handoff_api import ENDPOINTS
from bot.web.keys import AGENTS, LOGIN_THROTTLE
from bot.web.throttle import LoginThrottle
from tests.conftest import Database
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


async def test_a_coordinator_lists_requests_in_their_languages_and_logout_ends_the_session(api):
    api.requests.record(conversation_id="c1", channel="rest", language="fi")
    api.requests.record(conversation_id="c2", channel="rest", language="sv")
    csrf = await log_in(api, "kalle")  # speaks Finnish only
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
    json_type = {"Content-Type": "application/json"}
    assert (await api.post("/api/v1/auth/login", data="not json", headers=json_type)).status == 400
    assert (await api.post("/api/v1/auth/login", json=["a"])).status == 400


# --- the login's defences, attacked over a real socket ------------------------------------


@dataclasses.dataclass
class Checks:
    """The password checks the web service made: names in order, and the most at once."""

    names: list[str] = dataclasses.field(default_factory=list)
    running: int = 0
    most_at_once: int = 0


@contextlib.asynccontextmanager
async def login_server(
    make_database: Callable[[str], Database], throttle: LoginThrottle | None = None, **settings: Any
) -> AsyncIterator[tuple[TestClient, Checks]]:
    """The web service on SQLite with the accounts wilma and otto, and the password
    checks it made (the check is wrapped to count them)."""
    database = make_database("sqlite")
    agents = Agents(make_session_factory(database.engine))
    agents.add("wilma", PASSWORD)
    agents.add("otto", PASSWORD)
    app = init_app(dataclasses.replace(Settings(), database_url=database.url, **settings))
    if throttle is not None:
        app[LOGIN_THROTTLE] = throttle
    checked, counting = Checks(), threading.Lock()
    async with TestClient(TestServer(app)) as client:
        service_agents = app[AGENTS]
        authenticate = service_agents.authenticate

        def counted(username: str, password: str) -> Any:
            with counting:
                checked.names.append(username)
                checked.running += 1
                checked.most_at_once = max(checked.most_at_once, checked.running)
            try:
                return authenticate(username, password)
            finally:
                with counting:
                    checked.running -= 1

        service_agents.authenticate = counted  # type: ignore[method-assign]
        yield client, checked


async def test_twenty_parallel_guesses_for_one_name_reach_the_password_check_five_times(
    make_database,
):
    async with login_server(make_database) as (client, checked):

        async def guess(n: int) -> int:
            response = await client.post(
                "/api/v1/auth/login", json={"username": "wilma", "password": f"arvaus-{n:06}"}
            )
            return response.status

        statuses = await asyncio.gather(*(guess(n) for n in range(20)))
        assert sorted(statuses) == [401] * 5 + [429] * 15
        assert checked.names == ["wilma"] * 5 and checked.most_at_once == 1  # one at a time
        right = await client.post(
            "/api/v1/auth/login", json={"username": "wilma", "password": PASSWORD}
        )
        assert right.status == 429 and len(checked.names) == 5  # locked: not even checked
        other = await client.post(
            "/api/v1/auth/login", json={"username": "otto", "password": PASSWORD}
        )
        assert other.status == 200


async def test_a_spoofed_forwarded_for_does_not_move_the_address_limit(make_database):
    throttle = LoginThrottle(per_address=4)
    async with login_server(make_database, throttle, trust_proxy=True) as (client, checked):
        statuses = []
        for n in range(8):  # a new name and a new made-up first entry every time
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": f"arvattu{n}", "password": "arvaus-123456"},
                headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.5"},
            )
            statuses.append(response.status)
        assert statuses == [401] * 4 + [429] * 4 and len(checked.names) == 4
        elsewhere = await client.post(
            "/api/v1/auth/login",
            json={"username": "otto", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5, 192.0.2.44"},  # another real client
        )
        assert elsewhere.status == 200


async def test_two_proxies_the_client_is_the_second_entry_from_the_right(make_database):
    throttle = LoginThrottle(per_address=2)
    settings = {"trust_proxy": True, "proxy_hops": 2}
    async with login_server(make_database, throttle, **settings) as (client, _):
        for n, expected in enumerate((401, 401, 429)):
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": f"arvattu{n}", "password": "arvaus-123456"},
                headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.5, 10.1.1.{n}"},
            )
            assert response.status == expected


async def test_the_whole_staff_behind_one_untrusted_proxy_is_not_locked_out_by_typos(
    make_database,
):
    """Without DIGITUKI_TRUST_PROXY every login comes from the proxy's address."""
    async with login_server(make_database) as (client, checked):
        for n in range(25):  # five names, five wrong passwords each
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": f"kollega{n % 5}", "password": "arvaus-123456"},
            )
            assert response.status == 401
        right = await client.post(
            "/api/v1/auth/login", json={"username": "otto", "password": PASSWORD}
        )
        assert right.status == 200 and len(checked.names) == 26


async def test_login_takes_only_json_from_its_own_origin(make_database):
    async with login_server(make_database) as (client, checked):
        credentials = json.dumps({"username": "wilma", "password": PASSWORD})
        own = f"http://{client.host}:{client.port}"
        for headers, status, error in [
            ({"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
            ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
            ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "unsupported_media_type"),
            ({"Content-Type": "application/json", "Origin": "https://evil.example"}, 403, "bad_origin"),
            ({"Content-Type": "application/json", "Origin": "null"}, 403, "bad_origin"),
            ({"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403, "bad_origin"),
            ({"Content-Type": "application/json", "Origin": f"https://{client.host}:{client.port}"}, 403, "bad_origin"),
        ]:  # fmt: skip
            response = await client.post("/api/v1/auth/login", data=credentials, headers=headers)
            assert (response.status, (await response.json())["error"]) == (status, error), headers
            assert "digituki_session" not in response.cookies
        assert checked.names == []  # refused before the password check
        for headers in ({"Content-Type": "application/json", "Origin": own},
                        {"Content-Type": "application/json; charset=utf-8"}):  # fmt: skip
            response = await client.post("/api/v1/auth/login", data=credentials, headers=headers)
            assert response.status == 200 and "digituki_session" in response.cookies


async def test_behind_a_trusted_proxy_the_origin_is_the_forwarded_one(make_database):
    credentials = json.dumps({"username": "wilma", "password": PASSWORD})
    forwarded = {
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "tuki.example.fi",
        "Origin": "https://tuki.example.fi",
    }
    for trust, status in ((True, 200), (False, 403)):
        async with login_server(make_database, trust_proxy=trust) as (client, _):
            response = await client.post("/api/v1/auth/login", data=credentials, headers=forwarded)
            assert response.status == status, trust
