"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.config import Settings, load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.geo import Gazetteer
from bot.handoff import Agents, HandoffQueue
from bot.handoff.events import ConversationEvents
from bot.handoff.rasa_client import RasaClient
from bot.handoff.sessions import ConsoleSessions
from bot.providers.repository import SqlProviderRepository
from bot.web import handoff_api, staff_pages, views, widget
from bot.web.console_socket import ConsoleHub
from bot.web.keys import (
    AGENTS,
    CONSOLE_SESSIONS,
    ENGINE,
    EVENTS,
    GAZETTEER,
    HUB,
    LOGIN_THROTTLE,
    PROVIDER_EDITS,
    PROVIDERS,
    QUEUE,
    RASA,
    SETTINGS,
)
from bot.web.metrics import setup_metrics
from bot.web.throttle import LoginThrottle

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under ``/api/`` every error is JSON (``{"error", "message"}``), aiohttp's own too."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.content_type == "application/json":
            raise
        if error.status < 400:
            raise
        code = (error.reason or "error").lower().replace(" ", "_")
        return web.json_response(
            {"error": code, "message": error.text or error.reason},
            status=error.status,
            headers={k: v for k, v in error.headers.items() if k in ("Allow", "Retry-After")},
        )


def setup_routes(app: web.Application) -> None:
    """Every route of the web service."""
    app.router.add_get("/health", views.health)
    app.router.add_get("/api/v1/providers/search", views.search_providers)
    app.router.add_get("/widget/{name}", widget.widget_asset)
    app.router.add_get("/demo/{language}", widget.demo_page)
    app.router.add_get("/", widget.demo_index)
    handoff_api.add_routes(app)
    staff_pages.add_routes(app)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    app[ENGINE] = engine
    app[PROVIDERS] = SqlProviderRepository(sessions)
    app[PROVIDER_EDITS] = asyncio.Lock()
    app[AGENTS] = Agents(sessions)
    app[QUEUE] = HandoffQueue(
        sessions, expire_after=dt.timedelta(minutes=settings.handoff_expire_minutes)
    )
    app[CONSOLE_SESSIONS] = ConsoleSessions(
        sessions, dt.timedelta(hours=settings.console_session_hours)
    )
    app[EVENTS] = ConversationEvents(sessions)
    yield
    engine.dispose()


async def _rasa(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session to the Rasa server for the whole process."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        app[RASA] = RasaClient(settings.rasa_url, settings.rasa_token, session)
        yield


async def _console_hub(app: web.Application) -> AsyncIterator[None]:
    """The task that feeds the consoles' live sockets."""
    hub = ConsoleHub(
        queue=app[QUEUE],
        agents=app[AGENTS],
        events=app[EVENTS],
        gazetteer=app[GAZETTEER],
        rasa=app[RASA],
        trust_proxy=app[SETTINGS].trust_proxy,
    )
    app[HUB] = hub
    task = asyncio.create_task(hub.run(), name="console-hub")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_sockets(app: web.Application) -> None:
    """Open console sockets would hold the shutdown until their heartbeat timed out."""
    await app[HUB].close_all()


def init_app(settings: Settings | None = None) -> web.Application:
    """Build the web application; resources open on start-up and close on clean-up."""
    settings = settings or load_settings()
    app = web.Application(client_max_size=64 * 1024, middlewares=[api_errors_as_json])
    app[SETTINGS] = settings
    app[GAZETTEER] = Gazetteer.from_dir(settings.gazetteer_dir)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_rasa)
    app.cleanup_ctx.append(_console_hub)
    app.on_shutdown.append(_close_sockets)  # type: ignore[arg-type]
    app[LOGIN_THROTTLE] = LoginThrottle()
    setup_routes(app)
    setup_metrics(app)
    return app
