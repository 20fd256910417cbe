"""The staff's pages: the console, the reports and the provider upkeep (``web/*``).

Each is one static page with its script and stylesheet; everything it shows comes
from the API (``bot/web/handoff_api.py`` and the modules it lists). What the pages
share — the API calls, logging in and out, the texts, the language — is one script,
``web/staff/common.js``, served with the pages' other scripts from ``web/staff/`` at
``/staff/{name}``; each page names it before its own script. The topic names the
pages show come from ``data/labels.yml``, served once as JSON at ``/api/v1/labels``.

The pages are never cached, since each is the door to a logged-in session; their
files are revalidated on every load, so a new release is seen at once. The
Content-Security-Policy allows scripts, styles and connections only to this origin,
and for the console also the WebSocket of the same host (its live updates). The
reports and provider pages share the console's base styles (``/console/console.css``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.web.api_common import json_response
from bot.web.keys import SETTINGS
from bot.web.widget import WEB_DIR

TYPES = {".js": "application/javascript", ".css": "text/css"}
STAFF_DIR = WEB_DIR / "staff"
"""The staff pages' shared script and the parts of their scripts, served at ``/staff/{name}``."""
STAFF_ASSETS = "/staff"
_ASSET_NAME = re.compile(r"[a-z][a-z0-9-]*(\.js|\.css)")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
"""A host name or IP address with an optional port: nothing that could end a CSP directive."""


def content_security_policy(host: str | None = None) -> str:
    """The pages' policy; with ``host`` (the console), its WebSocket sources when it is plain."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


@cache
def _read(name: str) -> str:
    """A page, read once per process."""
    return (WEB_DIR / name).read_text(encoding="utf-8")


def _asset(path: Path, policy: str) -> web.FileResponse:
    """A script or stylesheet of the staff pages: typed, revalidated on every load."""
    return web.FileResponse(
        path,
        headers={
            "Content-Type": f"{TYPES[path.suffix]}; charset=utf-8",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
        },
    )


@cache
def _shared_names() -> frozenset[str]:
    """The files ``/staff/{name}`` serves: the scripts and stylesheets in ``web/staff/``."""
    return frozenset(
        path.name
        for path in STAFF_DIR.iterdir()
        if path.is_file() and _ASSET_NAME.fullmatch(path.name)
    )


async def shared_asset(request: web.Request) -> web.StreamResponse:
    """``/staff/{name}``: a file of ``web/staff/``; any other name is not found."""
    name = request.match_info["name"]
    if name not in _shared_names():
        raise web.HTTPNotFound()
    return _asset(STAFF_DIR / name, content_security_policy())


@cache
def _labels(path: Path) -> dict[str, Any]:
    """``data/labels.yml``, read once per process."""
    labels = yaml.safe_load(path.read_text(encoding="utf-8"))
    return labels if isinstance(labels, dict) else {}


async def labels(request: web.Request) -> web.Response:
    """``GET /api/v1/labels``: names of topics, support forms and languages (fi, sv, en)."""
    return json_response(_labels(request.app[SETTINGS].data_dir / "labels.yml"))


@dataclass(frozen=True)
class StaffPage:
    path: str
    """Where the page is, e.g. ``/reports``."""
    assets_at: str
    """Where its files are: ``{assets_at}/{name}``."""
    name: str
    """``web/{name}.html``, ``.js`` and ``.css``."""
    live_socket: bool = False

    def policy(self, request: web.Request) -> str:
        return content_security_policy(request.host if self.live_socket else None)

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(
            text=_read(f"{self.name}.html"),
            content_type="text/html",
            headers={
                "Content-Security-Policy": self.policy(request),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    async def asset(self, request: web.Request) -> web.StreamResponse:
        """The page's script or stylesheet; any other name is not found."""
        name = request.match_info["name"]
        suffix = name[len(self.name) :]
        if not name.startswith(self.name) or suffix not in TYPES:
            raise web.HTTPNotFound()
        return _asset(WEB_DIR / name, self.policy(request))


PAGES = (
    StaffPage("/console", "/console", "console", live_socket=True),
    StaffPage("/reports", "/reports", "reports"),
    # Under /assets: nothing of the page can be mistaken for /api/v1/providers, and
    # /providers/{id} stays free for links to one provider.
    StaffPage("/providers", "/providers/assets", "providers"),
)


def add_routes(app: web.Application) -> None:
    for staff_page in PAGES:
        app.router.add_get(staff_page.path, staff_page.page)
        app.router.add_get(f"{staff_page.assets_at}/{{name}}", staff_page.asset)
    app.router.add_get(f"{STAFF_ASSETS}/{{name}}", shared_asset)
