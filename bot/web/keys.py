"""Typed keys of the resources the web application holds."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.geo import Gazetteer
from bot.handoff import Agents, HandoffQueue
from bot.handoff.events import ConversationEvents
from bot.handoff.rasa_client import RasaClient
from bot.handoff.sessions import ConsoleSessions
from bot.providers.repository import SqlProviderRepository
from bot.web.console_socket import ConsoleHub
from bot.web.throttle import LoginThrottle

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
GAZETTEER = web.AppKey("gazetteer", Gazetteer)
PROVIDERS = web.AppKey("providers", SqlProviderRepository)
AGENTS = web.AppKey("agents", Agents)
QUEUE = web.AppKey("queue", HandoffQueue)
CONSOLE_SESSIONS = web.AppKey("console_sessions", ConsoleSessions)
RASA = web.AppKey("rasa", RasaClient)
EVENTS = web.AppKey("events", ConversationEvents)
HUB = web.AppKey("console_hub", ConsoleHub)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
PROVIDER_EDITS = web.AppKey("provider_edits", asyncio.Lock)
"""Held while a provider edit compares versions and saves: two edits never interleave."""
