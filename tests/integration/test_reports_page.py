"""The report page and its two files, through a real aiohttp test server."""

from __future__ import annotations

import dataclasses
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.app import init_app

POLICY = (  # written out: what the page may load, without a live socket
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@pytest.fixture
async def client(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as opened:
        yield opened


async def test_the_page_is_served_with_a_strict_policy_and_not_cached(client):
    response = await client.get("/reports")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert '<script src="/reports/reports.js" defer></script>' in page
    assert "<style" not in page and " style=" not in page and "onclick" not in page
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script src="/staff/common.js" defer>',  # the staff pages' shared script, first
        '<script src="/reports/reports.js" defer>',
    ]


async def test_every_file_the_page_names_is_served(client):
    page = await (await client.get("/reports")).text()
    local = re.findall(r'(?:src|href)="(/[^"#?]*)', page)
    assert {"/reports/reports.js", "/reports/reports.css", "/console/console.css"} <= set(local)
    for path in set(local) - {"/console", "/api/v1/reports.csv"}:
        assert (await client.get(path)).status == 200, path


async def test_the_script_and_the_styles_are_served_with_the_policy(client):
    script = await client.get("/reports/reports.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert script.headers["Content-Security-Policy"] == POLICY
    source = await script.text()
    for unsafe in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
        assert unsafe not in source, unsafe  # data is only ever set as text
    styles = await client.get("/reports/reports.css")
    assert styles.status == 200
    assert styles.headers["Content-Type"] == "text/css; charset=utf-8"
    assert styles.headers["X-Content-Type-Options"] == "nosniff"
    assert styles.headers["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize(
    "name", ["reports.html", "console.js", "widget.js", "..%2fREADME.md", "nothing.js"]
)
async def test_any_other_name_is_not_found(client, name):
    assert (await client.get(f"/reports/{name}")).status == 404
