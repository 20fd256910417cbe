"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.config import Settings, load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.geo import Gazetteer
from bot.providers.repository import SqlProviderRepository
from bot.web import views, widget
from bot.web.keys import ENGINE, GAZETTEER, PROVIDERS, SETTINGS


def setup_routes(app: web.Application) -> None:
    """Every route of the web service."""
    app.router.add_get("/health", views.health)
    app.router.add_get("/api/v1/providers/search", views.search_providers)
    app.router.add_get("/widget/{name}", widget.widget_asset)
    app.router.add_get("/demo/{language}", widget.demo_page)
    app.router.add_get("/", widget.demo_index)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = make_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[PROVIDERS] = SqlProviderRepository(make_session_factory(engine))
    yield
    engine.dispose()


def init_app(settings: Settings | None = None) -> web.Application:
    """Build the web application; resources open on start-up and close on clean-up."""
    settings = settings or load_settings()
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[GAZETTEER] = Gazetteer.from_dir(settings.gazetteer_dir)
    app.cleanup_ctx.append(_database)
    setup_routes(app)
    return app
