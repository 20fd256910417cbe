"""The widget's files and the demo page that embeds it (``web/``)."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import PROJECT_ROOT
from bot.web.keys import SETTINGS

WEB_DIR = PROJECT_ROOT / "web"
ASSETS = {
    "widget.js": "application/javascript",
    "widget.css": "text/css",
    "demo.css": "text/css",
}
DEMO_LANGUAGES = ("fi", "sv", "en")


async def widget_asset(request: web.Request) -> web.StreamResponse:
    """``/widget/widget.js`` and ``/widget/widget.css``; any other name is not found."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.FileResponse(
        WEB_DIR / name,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "public, max-age=300",
            # Any site the agency chooses may load the script; the channel checks origins.
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


def websocket_origin(rasa_url: str) -> str:
    """``ws://host:port`` of the Rasa server, for the page's Content-Security-Policy."""
    parts = urlsplit(rasa_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


async def demo_page(request: web.Request) -> web.Response:
    """``/demo/{fi,sv,en}``: a page of demo content with the widget embedded."""
    language = request.match_info["language"]
    if language not in DEMO_LANGUAGES:
        raise web.HTTPNotFound()
    settings = request.app[SETTINGS]
    server = settings.public_rasa_url or settings.rasa_url
    page = _template(WEB_DIR / "demo.html")
    page = page.replace("__DIGITUKI_SERVER__", html.escape(server, quote=True))
    page = page.replace("__DIGITUKI_LANG__", language)
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {websocket_origin(server)}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return web.Response(
        text=page,
        content_type="text/html",
        headers={"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff"},
    )


async def demo_index(request: web.Request) -> web.Response:
    """``/``: the Finnish demo page."""
    raise web.HTTPFound("/demo/fi")


@lru_cache(maxsize=4)
def _template(path: Path) -> str:
    """The page template, read once per process."""
    return path.read_text(encoding="utf-8")
