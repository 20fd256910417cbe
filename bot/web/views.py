"""Request handlers. Database work runs in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.providers.search import InvalidQueryError, SearchQuery, search
from bot.web.keys import GAZETTEER, PROVIDERS, SETTINGS


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def search_providers(request: web.Request) -> web.Response:
    """``GET /api/v1/providers/search``: the JSON of ``digituki providers search --json``."""
    params = request.query
    try:
        lat = float(params["lat"]) if "lat" in params else None
        lon = float(params["lon"]) if "lon" in params else None
        limit = int(params.get("limit", "3"))
    except ValueError:
        return _bad_request("lat, lon and limit must be numbers")
    query = SearchQuery(
        municipality=params.get("municipality") or None,
        lat=lat,
        lon=lon,
        topics=tuple(params.getall("topic", [])),
        form=params.get("form") or None,
        language=params.get("language") or None,
        limit=limit,
    )
    app = request.app
    gazetteer = app[GAZETTEER]
    try:
        response = await asyncio.to_thread(
            search,
            query,
            repository=app[PROVIDERS],
            gazetteer=gazetteer,
            timezone=app[SETTINGS].timezone,
        )
    except InvalidQueryError as exc:
        return _bad_request(str(exc), field=exc.field, suggestions=exc.suggestions)
    return web.json_response(response.to_dict(gazetteer), dumps=_dumps)


def _bad_request(message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=400, dumps=_dumps)


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
