"""The events worker's settings (:mod:`bot.conversations.worker`), from the environment.

The database URL and the log level are the application's (``DIGITUKI_DATABASE_URL``,
``DIGITUKI_LOG_LEVEL``, :mod:`bot.config`); the rest are the worker's own
(:data:`_ENV`): RabbitMQ, the queue and exchange, how much it takes at a time, how it
retries, and how it recovers events from the tracker store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError, load_settings
from bot.conversations.encoding import DEFAULT_EXCHANGE, DEFAULT_QUEUE

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker connects to and how much it takes at a time."""

    database_url: str = "sqlite:///digituki.db"
    rabbitmq_url: str = DEFAULT_RABBITMQ_URL
    queue: str = DEFAULT_QUEUE
    exchange: str = DEFAULT_EXCHANGE
    prefetch: int = 100
    """Messages RabbitMQ hands over before the first of them is acknowledged."""
    retry_seconds: float = 30.0
    """The longest pause between attempts while the database or RabbitMQ is away."""
    recover_seconds: float = 30.0
    """How often events missing from the stream are looked for in the tracker store
    (:mod:`bot.conversations.recovery`); 0 turns that off."""
    recover_grace_seconds: float = 120.0
    """How far behind the present the tracker store is read (the stream is given this long)."""
    log_level: str = "INFO"


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected a whole number of 1 or more")
    return value


def _not_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError("expected a number of 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a number above 0")
    return value


# name of the environment variable -> (field, parser); the database URL and the log
# level come from the application's settings (DIGITUKI_DATABASE_URL, DIGITUKI_LOG_LEVEL).
_ENV: dict[str, tuple[str, Any]] = {
    "DIGITUKI_RABBITMQ_URL": ("rabbitmq_url", str),
    "DIGITUKI_EVENTS_QUEUE": ("queue", str),
    "DIGITUKI_EVENTS_EXCHANGE": ("exchange", str),
    "DIGITUKI_EVENTS_PREFETCH": ("prefetch", positive_int),
    "DIGITUKI_EVENTS_RETRY_SECONDS": ("retry_seconds", _positive_float),
    "DIGITUKI_EVENTS_RECOVER_SECONDS": ("recover_seconds", _not_negative_float),
    "DIGITUKI_EVENTS_RECOVER_GRACE_SECONDS": ("recover_grace_seconds", _not_negative_float),
}


def load_worker_settings(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    """The worker's settings from environment variables; unset or empty ones keep defaults."""
    env = os.environ if environ is None else environ
    base = load_settings(env)
    values: dict[str, Any] = {"database_url": base.database_url, "log_level": base.log_level}
    for name, (field, parse) in _ENV.items():
        raw = env.get(name, "").strip()
        if raw:
            try:
                values[field] = parse(raw)
            except ValueError as exc:
                shown = raw if field != "rabbitmq_url" else "…"
                raise ConfigError(f"{name}={shown!r}: {exc}") from None
    return WorkerSettings(**values)
