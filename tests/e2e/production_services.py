"""Whether PostgreSQL, Redis and RabbitMQ answer, for the production profile's tests."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from bench.production import POSTGRES_URL, RABBITMQ_URL, REDIS_URL

REQUIRED = ("DIGITUKI_REQUIRE_POSTGRES", "DIGITUKI_REQUIRE_REDIS", "DIGITUKI_REQUIRE_RABBITMQ")


def _answers(url: str, default_port: int) -> str | None:
    parts = urlsplit(url.replace("postgresql+psycopg2", "postgresql"))
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 3
        ):
            return None
    except OSError as error:
        return f"{url.split('@')[-1]}: {error}"


def require_production_services() -> None:
    """Skips (or, with any DIGITUKI_REQUIRE_* set, fails) when a service is not there."""
    missing = [
        reason
        for reason in (
            _answers(POSTGRES_URL, 5432),
            _answers(REDIS_URL, 6379),
            _answers(RABBITMQ_URL, 5672),
        )
        if reason
    ]
    if missing:
        message = "the production profile needs " + "; ".join(missing)
        if any(os.environ.get(name) == "1" for name in REQUIRED):
            pytest.fail(message)
        pytest.skip(message)
