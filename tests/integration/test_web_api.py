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


async def test_widget_files_are_served_and_nothing_else(client: TestClient) -> None:
    script = await client.get("/widget/widget.js")
    assert script.status == 200 and script.content_type == "application/javascript"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/widget/widget.css")).content_type == "text/css"
    for name in ("demo.html", "..%2Fpyproject.toml", "nope.js"):
        assert (await client.get(f"/widget/{name}")).status == 404


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_demo_page_embeds_the_widget_in_its_language(client: TestClient, language) -> None:
    response = await client.get(f"/demo/{language}")
    assert response.status == 200
    page = await response.text()
    assert f'<html lang="{language}">' in page and "__DIGITUKI" not in page
    assert 'src="/widget/widget.js"' in page and 'data-server="http://127.0.0.1:5005"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "ws://127.0.0.1:5005" in policy
    assert (await client.get("/demo/de")).status == 404


async def test_behind_a_proxy_the_demo_page_embeds_the_public_address(make_database) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(
        Settings(),
        database_url=make_database("sqlite").url,
        rasa_url="http://haproxy:5005",
        public_rasa_url="https://bot.digituki.example",
    )
    async with TestClient(TestServer(init_app(settings))) as client:
        response = await client.get("/demo/sv")
        page = await response.text()
    assert 'data-server="https://bot.digituki.example"' in page and "haproxy" not in page
    assert "wss://bot.digituki.example" in response.headers["Content-Security-Policy"]


async def test_the_front_page_leads_to_the_demo(client: TestClient) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/demo/fi"
