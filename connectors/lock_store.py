"""Rasa's Redis lock store, configured with one URL (``DIGITUKI_REDIS_URL``).

With several Rasa replicas, the lock store makes sure one conversation's messages
are handled one at a time and in order, whichever replica gets them. Rasa's own
``type: redis`` wants host, port and database as separate settings; this takes
``redis://[:password@]host[:port][/db]`` (``rediss://`` for TLS), like every other
Redis setting of ours.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig


def redis_settings(url: str) -> dict[str, Any]:
    """``RedisLockStore`` arguments from a Redis URL; a clear error for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"lock store: {url!r} is not a redis:// URL")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"lock store: the database in {url!r} must be a number")
    return {
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


class RedisUrlLockStore(RedisLockStore):
    """``endpoints.yml``: ``lock_store: {type: connectors.lock_store.RedisUrlLockStore, url: ...}``."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        if not endpoint_config.url:
            raise ValueError("the lock store needs `url` (DIGITUKI_REDIS_URL)")
        options = {k: v for k, v in endpoint_config.kwargs.items() if k in ("key_prefix",)}
        super().__init__(**redis_settings(str(endpoint_config.url)), **options)
