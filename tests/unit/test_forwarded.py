"""The client's address behind proxies: the entry the outermost trusted proxy appended."""

from __future__ import annotations

import pytest

from bot.web.forwarded import forwarded_client


@pytest.mark.parametrize(
    ("headers", "hops", "client"),
    [
        (["203.0.113.9"], 1, "203.0.113.9"),  # one proxy appended the client's address
        (["1.2.3.4, 203.0.113.9"], 1, "203.0.113.9"),  # the client wrote 1.2.3.4 itself
        (["1.2.3.4, 203.0.113.9, 10.0.0.2"], 2, "203.0.113.9"),  # TLS proxy, then HAProxy
        (["1.2.3.4", "203.0.113.9"], 1, "203.0.113.9"),  # two headers are one list
        (["1.2.3.4,, 203.0.113.9 "], 1, "203.0.113.9"),
        (["203.0.113.9"], 2, None),  # fewer entries than proxies: the peer counts
        ([], 1, None),
        (["1.2.3.4, 203.0.113.9"], 0, None),  # not trusted: the peer counts
    ],
)
def test_the_outermost_trusted_proxys_entry_is_the_client(
    headers: list[str], hops: int, client: str | None
) -> None:
    assert forwarded_client(headers, hops) == client
