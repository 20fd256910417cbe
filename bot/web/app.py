"""The aiohttp application factory."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.config import Settings, load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.geo import Gazetteer
from bot.handoff import Agents, HandoffQueue
from bot.handoff.rasa_client import RasaClient
from bot.handoff.sessions import ConsoleSessions
from bot.providers.repository import SqlProviderRepository
from bot.web import handoff_api, views, widget
from bot.web.keys import (
    AGENTS,
    CONSOLE_SESSIONS,
    ENGINE,
    GAZETTEER,
    PROVIDERS,
    QUEUE,
    RASA,
    SETTINGS,
)


def setup_routes(app: web.Application) -> None:
    """Every route of the web service."""
    app.router.add_get("/health", views.health)
    app.router.add_get("/api/v1/providers/search", views.search_providers)
    app.router.add_get("/widget/{name}", widget.widget_asset)
    app.router.add_get("/demo/{language}", widget.demo_page)
    app.router.add_get("/", widget.demo_index)
    handoff_api.add_routes(app)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    app[ENGINE] = engine
    app[PROVIDERS] = SqlProviderRepository(sessions)
    app[AGENTS] = Agents(sessions)
    app[QUEUE] = HandoffQueue(
        sessions, expire_after=dt.timedelta(minutes=settings.handoff_expire_minutes)
    )
    app[CONSOLE_SESSIONS] = ConsoleSessions(
        sessions, dt.timedelta(hours=settings.console_session_hours)
    )
    yield
    engine.dispose()


async def _rasa(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session to the Rasa server for the whole process."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        app[RASA] = RasaClient(settings.rasa_url, settings.rasa_token, session)
        yield


def init_app(settings: Settings | None = None) -> web.Application:
    """Build the web application; resources open on start-up and close on clean-up."""
    settings = settings or load_settings()
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[GAZETTEER] = Gazetteer.from_dir(settings.gazetteer_dir)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_rasa)
    setup_routes(app)
    return app
