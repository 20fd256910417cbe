"""The lock store the Rasa replicas share, against the real Redis."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from rasa.utils.endpoints import EndpointConfig

from connectors.lock_store import RedisUrlLockStore, redis_settings


def make_store(redis_url: str) -> RedisUrlLockStore:
    """A replica's lock store (each its own Redis connections)."""
    return RedisUrlLockStore(EndpointConfig(url=redis_url, key_prefix="digitukitest"))


def test_the_url_gives_every_setting_and_bad_ones_are_named() -> None:
    assert redis_settings("rediss://:s%40lt@cache.example:6380/2") == {
        "host": "cache.example", "port": 6380, "db": 2, "username": None,
        "password": "s@lt", "use_ssl": True,
    }  # fmt: skip
    assert redis_settings("redis://127.0.0.1")["port"] == 6379
    for bad in ("http://127.0.0.1:6379", "redis:///0", "redis://127.0.0.1/x"):
        with pytest.raises(ValueError, match="lock store"):
            redis_settings(bad)


def test_replicas_asking_at_the_same_moment_get_different_tickets(redis_url: str) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    stores = [make_store(redis_url) for _ in range(8)]
    tickets: list[int] = []
    start = threading.Barrier(len(stores) * 5)

    def ask(store: RedisUrlLockStore) -> None:
        start.wait()
        tickets.append(store.issue_ticket(conversation, 30))

    threads = [threading.Thread(target=ask, args=(s,)) for s in stores for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(40))  # no ticket twice, none skipped
    stores[0].delete_lock(conversation)


async def test_one_conversation_is_handled_by_one_replica_at_a_time(redis_url: str) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    stores = [make_store(redis_url) for _ in range(2)]
    inside = 0
    most = 0
    handled = []

    async def handle(number: int) -> None:
        nonlocal inside, most
        async with stores[number % 2].lock(conversation, 30, wait_time_in_seconds=0.01):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            handled.append(number)
            inside -= 1

    await asyncio.gather(*(handle(n) for n in range(12)))
    assert most == 1 and sorted(handled) == list(range(12))
    assert stores[0].get_lock(conversation) is None  # nobody waits: the lock is gone
