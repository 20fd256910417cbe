"""What the staff pages share: one script at /staff/, the topic names of data/labels.yml."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.config import DEFAULT_DATA_DIR, Settings
from bot.web.app import init_app
from bot.web.staff_pages import PAGES, STAFF_DIR, content_security_policy
from bot.web.widget import WEB_DIR

STAFF_SCRIPTS = [WEB_DIR / f"{page.name}.js" for page in PAGES] + sorted(STAFF_DIR.glob("*.js"))


@pytest.fixture
async def client(make_database):  # type: ignore[no-untyped-def]
    database = make_database("sqlite")
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as opened:
        yield opened


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
async def test_every_page_runs_the_shared_script_first_and_its_own_last(client, page):
    html = await (await client.get(page.path)).text()
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', html)
    assert len(scripts) == len(re.findall(r"<script\b", html))  # every script a file
    assert scripts[0] == "/staff/common.js"
    assert scripts[-1] == f"{page.assets_at}/{page.name}.js"
    for path in scripts:
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"


async def test_the_shared_files_are_served_like_the_pages_own_and_nothing_else(client):
    names = sorted(path.name for path in STAFF_DIR.iterdir())
    assert "common.js" in names
    for name in names:
        response = await client.get(f"/staff/{name}")
        assert response.status == 200, name
        assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"  # revalidated on every load
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == content_security_policy()
    for name in (
        "console.js",  # a page's own script is at the page's own address
        "console.html",
        "widget.js",
        "nothing.js",
        "COMMON.JS",
        "common.js.orig",
        "..%2fconsole.js",
        "..%2f..%2fpyproject.toml",
        "%2e%2e%2fREADME.md",
    ):
        assert (await client.get(f"/staff/{name}")).status == 404, name
    assert (await client.get("/staff/")).status == 404


async def test_the_labels_are_data_labels_yml_for_anyone(client):
    response = await client.get("/api/v1/labels")  # no session: topic names are not secret
    assert response.status == 200 and response.content_type == "application/json"
    labels = await response.json()
    expected = yaml.safe_load((DEFAULT_DATA_DIR / "labels.yml").read_text(encoding="utf-8"))
    assert labels == expected
    assert labels["topic"]["kela"] == ["Kela", "FPA", "Kela"]  # fi, sv, en
    assert (await client.post("/api/v1/labels")).status == 405


def test_the_staff_scripts_share_their_helpers_instead_of_copying_them():
    sources = {path.name: path.read_text(encoding="utf-8") for path in STAFF_SCRIPTS}
    for helper in ("call", "el", "t", "relabelStatic", "onLoginSubmit", "changeLanguage"):
        defined = [name for name, code in sources.items() if f"function {helper}(" in code]
        assert defined == ["common.js"], helper
    for name, code in sources.items():
        assert "TOPIC_NAMES" not in code, name  # topic names come from /api/v1/labels
        assert code.count("\n") <= 1200, name
        for unsafe in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert unsafe not in code, (name, unsafe)  # data is only ever set as text
