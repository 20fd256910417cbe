"""The web service's provider search API, through a real aiohttp test server."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.app import init_app
from tests.conftest import FIXTURES
from tests.helpers import load_providers


@pytest.fixture
async def client(make_database, gazetteer):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    database.repository.upsert(load_providers(FIXTURES / "search_providers.yml", gazetteer))
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as client:
        yield client


async def test_health(client: TestClient) -> None:
    response = await client.get("/health")
    assert response.status == 200 and (await response.json()) == {"status": "ok"}


async def test_search_returns_the_cli_json(client: TestClient) -> None:
    response = await client.get(
        "/api/v1/providers/search",
        params=[("municipality", "Närpes"), ("language", "sv"), ("form", "in_person")],
    )
    assert response.status == 200
    body = await response.json()
    assert body["query"]["municipality"] == "Närpiö"
    assert [r["id"] for r in body["results"]] == ["narpes-sv", "vaasa-sv", "oulu-library"]
    assert body["results"][0]["name"] == "Testpunkt Närpes"  # in the language asked for


async def test_bad_values_are_a_400_naming_them(client: TestClient) -> None:
    response = await client.get(
        "/api/v1/providers/search", params={"municipality": "Oulu", "topic": "emial"}
    )
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "topic" and "email" in body["suggestions"]
    response = await client.get("/api/v1/providers/search", params={"lat": "north"})
    assert response.status == 400
