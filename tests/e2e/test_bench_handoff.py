"""The handoff delivery benchmark against the test stack: several chats at once, every
message delivered exactly once in both directions (and `make bench` does not rot)."""

from __future__ import annotations

import pytest

from bench.handoff import add_workers, measure_handoffs

pytestmark = pytest.mark.e2e


async def test_simultaneous_handoffs_deliver_every_message_once(stack):
    usernames = add_workers(stack.database_url, 3)
    result = await measure_handoffs(stack.rasa_url, stack.web_url, usernames, rounds=2)
    assert result.errors == [] and (result.lost, result.duplicated) == (0, 0)
    assert len(result.to_user) == len(result.to_worker) == 6
