"""The provider upkeep page and its two files, through a real aiohttp test server."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.app import init_app
from bot.web.staff_pages import content_security_policy

CONTENT_SECURITY_POLICY = content_security_policy()


@pytest.fixture
async def client(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as opened:
        yield opened


async def test_the_page_is_served_with_a_strict_policy_and_never_cached(client):
    response = await client.get("/providers")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert '<script src="/providers/assets/providers.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/providers/assets/providers.css">' in page
    assert "<style" not in page and " style=" not in page and "onclick" not in page


async def test_the_script_and_the_styles_are_served_and_nothing_else(client):
    script = await client.get("/providers/assets/providers.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert script.headers["Cache-Control"] == "no-cache"  # revalidated on every load
    code = await script.text()
    assert ".innerHTML" not in code and "eval(" not in code  # data is only ever set as text
    styles = await client.get("/providers/assets/providers.css")
    assert styles.status == 200
    assert styles.headers["Content-Type"] == "text/css; charset=utf-8"
    assert styles.headers["X-Content-Type-Options"] == "nosniff"
    for name in ("providers.html", "console.js", "widget.js", "..%2fREADME.md", "nothing.js"):
        assert (await client.get(f"/providers/assets/{name}")).status == 404, name


async def test_the_page_does_not_shadow_the_providers_api(client):
    listed = await client.get("/api/v1/providers")
    assert listed.status == 401 and (await listed.json())["error"] == "not_logged_in"
    assert (await client.get("/providers/narpes-sv")).status == 404
