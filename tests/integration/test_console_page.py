"""The console page and its two files, through a real aiohttp test server."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.app import init_app
from bot.web.staff_pages import content_security_policy


@pytest.fixture
async def client(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as opened:
        yield opened


async def test_the_page_is_served_with_a_strict_policy_naming_its_own_host(client):
    response = await client.get("/console", headers={"Host": "console.example:8080"})
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws://console.example:8080 wss://console.example:8080; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert '<script src="/console/console.js" defer></script>' in page
    assert "<style" not in page and " style=" not in page and "onclick" not in page


async def test_the_script_and_the_styles_are_served_and_nothing_else(client):
    script = await client.get("/console/console.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert ".innerHTML" not in await script.text()  # data is only ever set as text
    styles = await client.get("/console/console.css")
    assert styles.status == 200
    assert styles.headers["Content-Type"] == "text/css; charset=utf-8"
    for name in ("console.html", "widget.js", "demo.html", "..%2fREADME.md", "nothing.js"):
        assert (await client.get(f"/console/{name}")).status == 404, name


def test_a_host_that_could_bend_the_policy_gets_no_socket_sources():
    assert "ws://" not in content_security_policy("evil.example; script-src *")
    assert "ws://[::1]:8080" in content_security_policy("[::1]:8080")
