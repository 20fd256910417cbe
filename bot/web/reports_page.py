"""The coordinators' report page: one page and its two files (``web/reports.*``).

The page is static; the figures come from the reports API (``bot/web/reports_api.py``)
and are drawn in the browser. It shares the console's base styles
(``/console/console.css``) and adds its own. Its Content-Security-Policy allows
scripts, styles and connections only to this origin: no live socket here.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web

from bot.web.widget import WEB_DIR

ASSETS = {
    "reports.js": "application/javascript",
    "reports.css": "text/css",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


async def reports_page(request: web.Request) -> web.Response:
    """``GET /reports``: the page; not cached, since it is the door to a logged-in session."""
    return web.Response(
        text=_page(),
        content_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


async def reports_asset(request: web.Request) -> web.StreamResponse:
    """``/reports/reports.js`` and ``/reports/reports.css``; any other name is not found."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.FileResponse(
        WEB_DIR / name,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "no-cache",  # revalidated: a new release is seen at once
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )


@lru_cache(maxsize=1)
def _page() -> str:
    """The page, read once per process."""
    return (WEB_DIR / "reports.html").read_text(encoding="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reports", reports_page)
    app.router.add_get("/reports/{name}", reports_asset)
