"""The conversation benchmark's load driver against the test stack: `make bench` must not rot."""

from __future__ import annotations

import pytest

from bench.conversations import OUR_CONVERSATIONS, hold_conversations, percentile

pytestmark = pytest.mark.e2e


def test_percentile_interpolates():
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


async def test_load_driver_holds_whole_conversations(stack):
    result = await hold_conversations(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        OUR_CONVERSATIONS,
        conversations=3,
        concurrency=3,
    )
    assert result.errors == 0
    assert len(result.conversation_s) == 3 and len(result.message_s) == 12
    assert result.messages_per_s > 0 and max(result.message_s) <= max(result.conversation_s)
