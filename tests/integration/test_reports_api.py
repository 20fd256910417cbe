"""The reports API: a coordinator sees their regions only; the CSV is the same rows."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents
from bot.web.app import init_app
from connectors.event_store import DatabaseEventBroker
from tests.integration.test_reports import SCRIPT

PASSWORD = "kirjasto-2026-syksy"
PERIOD = {"since": "2026-11-23", "until": "2026-11-29"}


@pytest.fixture
async def api(database):  # type: ignore[no-untyped-def]
    agents = Agents(make_session_factory(database.engine))
    agents.add(
        "pohjanmaa", PASSWORD, role="coordinator", languages=["fi", "sv"], region_codes=["15"]
    )
    agents.add("kaikki", PASSWORD, role="admin", languages=["fi"])
    agents.add("tyontekija", PASSWORD, role="worker", languages=["fi"])
    broker = DatabaseEventBroker(database.url)
    for events in SCRIPT:
        for event in events:
            broker.publish(event)
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as client:
        yield client


async def log_in(client: TestClient, username: str) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200


async def test_a_coordinator_sees_their_regions_and_downloads_the_same_rows(api):
    await log_in(api, "pohjanmaa")
    body = await (await api.get("/api/v1/reports", params=PERIOD)).json()
    assert [r["code"] for r in body["regions"]] == ["15"]
    assert {r["region"] for r in body["rows"]} == {"15"}
    [week] = body["totals"]["week"]
    assert (
        week["conversations"],
        week["unmet"],
        week["unmet_distance"],
        week["unmet_language"],
    ) == (2, 2, 1, 1)

    response = await api.get("/api/v1/reports.csv", params=PERIOD)
    assert response.status == 200 and response.content_type == "text/csv"
    assert (
        'filename="digituki-report-2026-11-23-2026-11-29.csv"'
        in response.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == len(body["rows"]) and {r["region"] for r in rows} == {"15"}

    refused = await api.get("/api/v1/reports", params={**PERIOD, "region": "12"})
    assert refused.status == 403 and (await refused.json())["error"] == "outside_regions"


async def test_an_administrator_sees_every_region_and_can_pick_one(api):
    await log_in(api, "kaikki")
    body = await (await api.get("/api/v1/reports", params=PERIOD)).json()
    assert len(body["regions"]) == 19 and {r["region"] for r in body["rows"]} == {"12", "15", ""}
    only = await (await api.get("/api/v1/reports", params={**PERIOD, "region": "12"})).json()
    assert {r["region"] for r in only["rows"]} == {"12"}


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-11-29", "until": "2026-11-23"},
        {"since": "2024-01-01", "until": "2026-11-23"},
        {"unmet_km": "far"},
        {"unmet_km": "0"},
        {"region": "99"},
    ],
)
async def test_bad_queries_get_a_clear_400(api, params):
    await log_in(api, "kaikki")
    response = await api.get("/api/v1/reports", params=params)
    assert response.status == 400
    assert (await response.json())["error"] == "bad_query"


async def test_workers_do_not_see_reports(api):
    await log_in(api, "tyontekija")
    assert (await api.get("/api/v1/reports")).status == 403
    assert (await api.get("/api/v1/reports.csv")).status == 403
