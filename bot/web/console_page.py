"""The console of digital support workers: one page and its two files (``web/console.*``).

The page is static; everything it shows comes from the handoff API
(``bot/web/handoff_api.py``) and the console socket. Its Content-Security-Policy
allows scripts, styles and connections only to this origin, plus the WebSocket
scheme of the same host for live updates.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aiohttp import web

from bot.web.widget import WEB_DIR

ASSETS = {
    "console.js": "application/javascript",
    "console.css": "text/css",
}
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
"""A host name or IP address with an optional port: nothing that could end a CSP directive."""


def content_security_policy(host: str) -> str:
    """The page's policy; the WebSocket sources name ``host`` only when it is a plain host."""
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


async def console_page(request: web.Request) -> web.Response:
    """``GET /console``: the page; not cached, since it is the door to a logged-in session."""
    return web.Response(
        text=_page(),
        content_type="text/html",
        headers={
            "Content-Security-Policy": content_security_policy(request.host),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


async def console_asset(request: web.Request) -> web.StreamResponse:
    """``/console/console.js`` and ``/console/console.css``; any other name is not found."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.FileResponse(
        WEB_DIR / name,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "no-cache",  # revalidated: a new release is seen at once
            "X-Content-Type-Options": "nosniff",
        },
    )


@lru_cache(maxsize=1)
def _page() -> str:
    """The page, read once per process."""
    return (WEB_DIR / "console.html").read_text(encoding="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", console_page)
    app.router.add_get("/console/{name}", console_asset)
