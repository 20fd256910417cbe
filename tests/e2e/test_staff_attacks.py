"""The outside tester's attacks on the staff side, against the running web service process.

Accounts and requests are written straight into the stack's SQLite database with
the project's own classes; the attacker only has HTTP. Names carry a random
suffix: the stack (and its login throttle) is shared by the whole e2e session.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bench.stack import Processes, free_port
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.db.models import HandoffRequestRow
from bot.handoff import Agents, HandoffRequest, HandoffRequests
from bot.web.throttle import PER_ADDRESS

pytestmark = pytest.mark.e2e

PASSWORD = "kirjasto-2026-syksy"
LAPPI_PHONE = "040 765 4321"


@dataclass
class Scene:
    sessions: Any
    suffix: str
    lappi_callback: HandoffRequest
    lappi_chat: HandoffRequest
    karelia_chat: HandoffRequest

    def row(self, request_id: str) -> tuple[Any, ...]:
        with self.sessions() as session:
            return tuple(
                session.execute(
                    select(
                        HandoffRequestRow.state,
                        HandoffRequestRow.claimed_by,
                        HandoffRequestRow.notes,
                        HandoffRequestRow.outcome,
                    ).where(HandoffRequestRow.id == request_id)
                ).one()
            )


@pytest.fixture
def scene(stack: Any) -> Iterator[Scene]:
    """A Pohjois-Karjala coordinator, a Lappi call-back with notes, a Lappi and a Karelia chat."""
    engine = make_engine(stack.database_url)
    sessions = make_session_factory(engine)
    suffix = uuid.uuid4().hex[:8]
    agents = Agents(sessions)
    agents.add(f"pk{suffix}", PASSWORD, role="coordinator", region_codes=["12"])
    lappi = agents.add(f"lappi{suffix}", PASSWORD, region_codes=["19"])
    requests = HandoffRequests(sessions)
    callback = requests.record(
        conversation_id=f"e2e-lappi-cb-{suffix}", channel="widget", language="fi",
        municipality_code="698", kind="callback", contact=("phone", LAPPI_PHONE),
    )  # fmt: skip
    chat = requests.record(
        conversation_id=f"e2e-lappi-{suffix}", channel="widget", language="fi",
        municipality_code="698",
    )  # fmt: skip
    karelia = requests.record(
        conversation_id=f"e2e-joensuu-{suffix}", channel="widget", language="fi",
        municipality_code="167",
    )  # fmt: skip
    with sessions.begin() as session:
        session.get(HandoffRequestRow, callback.id).notes = "soitettu kerran, ei vastannut"
        session.get(HandoffRequestRow, chat.id).state = "active"
        session.get(HandoffRequestRow, chat.id).claimed_by = lappi.id
    yield Scene(sessions, suffix, callback, chat, karelia)
    engine.dispose()


async def log_in(http: aiohttp.ClientSession, web: str, username: str) -> dict[str, str]:
    response = await http.post(
        f"{web}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def test_a_coordinator_cannot_reach_another_regions_requests(stack, scene):
    web = stack.web_url
    before = {r.id: scene.row(r.id) for r in (scene.lappi_callback, scene.lappi_chat)}
    # unsafe=True: the cookie jar keeps cookies of an IP address host (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        headers = await log_in(http, web, f"pk{scene.suffix}")
        listing = await http.get(f"{web}/api/v1/handoff/requests")
        text = await listing.text()
        assert listing.status == 200, text
        ids = {r["id"] for r in json.loads(text)["requests"]}
        assert scene.karelia_chat.id in ids
        assert not ids & set(before) and LAPPI_PHONE not in text
        callbacks = await (await http.get(f"{web}/api/v1/handoff/callbacks")).text()
        assert scene.lappi_callback.id not in callbacks and LAPPI_PHONE not in callbacks
        for request_id in before:
            base = f"{web}/api/v1/handoff/requests/{request_id}"
            for method, path, body in [
                ("GET", "transcript", None),
                ("PUT", "notes", {"notes": "ylikirjoitettu"}),
                ("POST", "claim", None),
                ("POST", "close", {"outcome": "helped"}),
                ("POST", "messages", {"text": "hei"}),
                ("POST", "return", None),
            ]:
                response = await http.request(method, f"{base}/{path}", json=body, headers=headers)
                answer = await response.text()
                assert response.status == 403, (method, path, answer)
                assert json.loads(answer)["error"] == "out_of_scope"
                assert LAPPI_PHONE not in answer
    assert {r: scene.row(r) for r in before} == before  # nothing changed in the database


async def test_twenty_parallel_guesses_get_at_most_five_password_checks(stack):
    web, name = stack.web_url, f"arvattu{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:

        async def guess(n: int) -> int:
            response = await http.post(
                f"{web}/api/v1/auth/login", json={"username": name, "password": f"arvaus-{n:06}"}
            )
            return response.status

        statuses = Counter(await asyncio.gather(*(guess(n) for n in range(20))))
    # A 401 is an answer after the password check; a 429 is a refusal before it.
    assert statuses == Counter({401: 5, 429: 15})


async def test_login_from_another_site_or_not_in_json_is_refused(stack, scene):
    web = stack.web_url
    credentials = json.dumps({"username": f"pk{scene.suffix}", "password": PASSWORD})
    async with aiohttp.ClientSession() as http:
        for headers, status, error in [
            ({"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
            ({"Content-Type": "application/json", "Origin": "https://evil.example"}, 403,
             "bad_origin"),
            ({"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403, "bad_origin"),
        ]:  # fmt: skip
            response = await http.post(
                f"{web}/api/v1/auth/login", data=credentials, headers=headers
            )
            assert response.status == status
            assert (await response.json())["error"] == error
            assert "Set-Cookie" not in response.headers  # no session, right password or not
        own = await http.post(
            f"{web}/api/v1/auth/login",
            data=credentials,
            headers={"Content-Type": "application/json", "Origin": web},
        )
        assert own.status == 200 and "digituki_session" in own.cookies


@pytest.fixture
def proxied_web(gazetteer: Any, tmp_path: Any) -> Iterator[str]:
    """A web service process of its own, configured as behind one TLS proxy."""
    database_url = f"sqlite:///{tmp_path / 'proxied.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    load_gazetteer(engine, gazetteer)
    engine.dispose()
    port = free_port()
    processes = Processes(tmp_path)
    processes.env.update(
        DIGITUKI_DATABASE_URL=database_url,
        DIGITUKI_WEB_PORT=str(port),
        DIGITUKI_TRUST_PROXY="true",
        DIGITUKI_PROXY_HOPS="1",
    )
    processes.start("web", [sys.executable, "-m", "bot.web"])
    try:
        processes.wait_for(f"http://127.0.0.1:{port}/health", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        processes.stop()


async def test_a_spoofed_forwarded_address_does_not_move_the_limit(proxied_web):
    """The client writes any first X-Forwarded-For entry; our proxy appends the real one."""
    real, other = "198.51.100.7", "198.51.100.8"
    async with aiohttp.ClientSession() as http:

        async def guess(n: int, client: str) -> int:
            response = await http.post(
                f"{proxied_web}/api/v1/auth/login",
                json={"username": f"nimi{n // 5}-{uuid.uuid4().hex[:6]}", "password": "väärä"},
                headers={"X-Forwarded-For": f"10.{n % 250}.{n // 250}.1, {client}"},
            )
            return response.status

        statuses = Counter([await guess(n, real) for n in range(PER_ADDRESS)])
        assert statuses == Counter({401: PER_ADDRESS})
        assert await guess(PER_ADDRESS, real) == 429  # a new first entry does not help
        assert await guess(PER_ADDRESS + 1, other) == 401  # another real client is not locked out
