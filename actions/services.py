"""The services actions use, created once on first use (never at import time).

Tests replace them with ``use_services(...)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.authorities import Authority, load_authorities
from bot.config import Settings, load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.geo import Gazetteer
from bot.handoff import Agents, HandoffQueue, HandoffRequests
from bot.handoff.hours import ServiceHours, parse_service_hours
from bot.providers.repository import ProviderRepository, SqlProviderRepository

LANGS = ("fi", "sv", "en")


@dataclass
class Services:
    """Everything the actions need from ``bot``."""

    settings: Settings
    gazetteer: Gazetteer
    providers: ProviderRepository
    authorities: dict[str, Authority]
    labels: dict[str, dict[str, list[str]]]
    handoffs: HandoffRequests
    queue: HandoffQueue
    agents: Agents
    service_hours: ServiceHours
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.timezone.utc))

    def label(self, group: str, key: str, language: str) -> str:
        """A display name in ``language`` (fi, sv or en), the key itself if unknown."""
        names = self.labels.get(group, {}).get(key)
        if not names:
            return key
        return names[LANGS.index(language) if language in LANGS else 0]


_services: Services | None = None


def build_services(settings: Settings | None = None, **overrides: Any) -> Services:
    """Services from the settings (the database of ``DIGITUKI_DATABASE_URL``, the data folder)."""
    settings = settings or load_settings()
    data: Path = settings.data_dir
    values: dict[str, Any] = {
        "settings": settings,
        "gazetteer": Gazetteer.from_dir(settings.gazetteer_dir),
        "authorities": load_authorities(settings.authorities_file),
        "labels": yaml.safe_load((data / "labels.yml").read_text(encoding="utf-8")),
        "service_hours": parse_service_hours(
            settings.handoff_hours, settings.handoff_exceptions, settings.timezone
        ),
    }
    values.update(overrides)
    if not {"providers", "handoffs", "queue", "agents"} <= values.keys():
        session_factory = make_session_factory(make_engine(settings.database_url))
        values.setdefault("providers", SqlProviderRepository(session_factory))
        values.setdefault("handoffs", HandoffRequests(session_factory))
        values.setdefault(
            "queue",
            HandoffQueue(
                session_factory,
                expire_after=dt.timedelta(minutes=settings.handoff_expire_minutes),
            ),
        )
        values.setdefault("agents", Agents(session_factory))
    return Services(**values)


def services() -> Services:
    """The shared services, built on first use."""
    global _services
    if _services is None:
        _services = build_services()
    return _services


def use_services(replacement: Services | None) -> None:
    """Use other services (tests), or ``None`` to build the real ones again."""
    global _services
    _services = replacement
