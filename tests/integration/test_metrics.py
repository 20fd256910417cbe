"""Readiness and Prometheus metrics of the web service."""

from __future__ import annotations

import dataclasses

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_engine, make_session_factory
from bot.handoff import HandoffRequests
from bot.web.app import init_app
from bot.web.keys import ENGINE


async def test_ready_and_metrics_count_routes_and_the_queue_without_personal_data(
    database, tmp_path
):
    HandoffRequests(make_session_factory(database.engine)).record(
        conversation_id="c-1", channel="widget", language="sv"
    )
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as client:
        ready = await client.get("/ready")
        assert ready.status == 200 and (await ready.json())["database"] == "up"
        await client.get(
            "/api/v1/handoff/requests/secret-id-123/transcript"
        )  # 401, an id in the path
        await client.get("/no/such/page")
        text = await (await client.get("/metrics")).text()
    assert 'digituki_http_requests_total{method="GET",route="/ready",status="200"} 1.0' in text
    assert (
        'digituki_http_requests_total{method="GET",route="/api/v1/handoff/requests/{request_id}/transcript",'
        'status="401"} 1.0'
    ) in text
    assert 'route="unmatched",status="404"' in text
    assert "secret-id-123" not in text
    assert 'digituki_handoff_waiting{language="sv"} 1.0' in text
    assert 'digituki_handoff_waiting{language="fi"} 0.0' in text
    assert "digituki_http_request_seconds_bucket" in text


async def test_not_ready_without_the_database_and_metrics_behind_a_token(database, tmp_path):
    settings = dataclasses.replace(
        Settings(), database_url=database.url, metrics_token="s3cret-token"
    )
    async with TestClient(TestServer(init_app(settings))) as client:
        app = client.server.app
        working = app[ENGINE]
        app[ENGINE] = make_engine(
            f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
        )  # the database goes
        try:
            ready = await client.get("/ready")
            assert ready.status == 503 and (await ready.json())["database"] == "down"
        finally:
            app[ENGINE].dispose()
            app[ENGINE] = working
        assert (await client.get("/ready")).status == 200
        assert (await client.get("/metrics")).status == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert right.status == 200 and "digituki_http_requests_total" in await right.text()
