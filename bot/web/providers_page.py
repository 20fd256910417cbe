"""The coordinators' provider upkeep page: one page and its two files (``web/providers.*``).

The page is static; the providers come from the provider upkeep API
(``bot/web/providers_api.py``, under ``/api/v1/providers``). The page lives at
``/providers`` and its files under ``/providers/assets/``, so that nothing here
can be mistaken for the API, and ``/providers/{id}`` stays free for links to one
provider. It shares the console's base styles (``/console/console.css``) and adds
its own. Its Content-Security-Policy allows scripts, styles and connections only
to this origin: no live socket here.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web

from bot.web.widget import WEB_DIR

ASSETS = {
    "providers.js": "application/javascript",
    "providers.css": "text/css",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


async def providers_page(request: web.Request) -> web.Response:
    """``GET /providers``: the page; not cached, since it is the door to a logged-in session."""
    return web.Response(
        text=_page(),
        content_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


async def providers_asset(request: web.Request) -> web.StreamResponse:
    """``/providers/assets/providers.js`` and ``.css``; any other name is not found."""
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
    return (WEB_DIR / "providers.html").read_text(encoding="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/providers", providers_page)
    app.router.add_get("/providers/assets/{name}", providers_asset)
