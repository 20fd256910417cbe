"""Rasa's Redis lock store, made safe for replicas, configured with one URL.

With several Rasa replicas, the lock store makes sure one conversation's messages
are handled one at a time and in order, whichever replica gets them. Rasa's own
``RedisLockStore`` changes a conversation's lock by reading it, changing it and
writing it back, with nothing in between to stop another replica doing the same:
two messages of one conversation arriving at two replicas at once could both get
the first ticket and be handled together, and one of them was then missing from
the conversation (seen in ``tests/e2e/test_production.py``). Here every such change
holds a short Redis mutex of the conversation.

Rasa's ``type: redis`` also wants host, port and database as separate settings;
this takes ``redis://[:password@]host[:port][/db]`` (``rediss://`` for TLS), like
every other Redis setting of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
MUTEX_TIMEOUT_S = 10
"""Longest a replica may hold a conversation's mutex (it needs milliseconds)."""


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

    def _exclusively(self, conversation_id: str, change: Callable[[], T]) -> T:
        """Runs ``change`` while no other replica changes this conversation's lock."""
        mutex = self.red.lock(
            f"{self.key_prefix}mutex:{conversation_id}",
            timeout=MUTEX_TIMEOUT_S,
            blocking_timeout=MUTEX_TIMEOUT_S,
            sleep=0.005,
        )
        with mutex:
            return change()

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._exclusively(
            conversation_id, lambda: super(RedisUrlLockStore, self).issue_ticket(
                conversation_id, lock_lifetime
            ),
        )  # fmt: skip

    def update_lock(self, conversation_id: str) -> None:
        self._exclusively(
            conversation_id, lambda: super(RedisUrlLockStore, self).update_lock(conversation_id)
        )

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing and deleting together: a ticket issued in between is not deleted.
        self._exclusively(
            conversation_id,
            lambda: super(RedisUrlLockStore, self).cleanup(conversation_id, ticket_number),
        )
