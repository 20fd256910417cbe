"""Typed keys of the resources the web application holds."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.geo import Gazetteer
from bot.providers.repository import SqlProviderRepository

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
GAZETTEER = web.AppKey("gazetteer", Gazetteer)
PROVIDERS = web.AppKey("providers", SqlProviderRepository)
