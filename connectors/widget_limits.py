"""What widgets may do: frame and text sizes, messages per conversation, new
conversations per client address (behind proxies we trust), counted in memory.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.web.forwarded import forwarded_client


@dataclass(frozen=True)
class Limits:
    """What widgets may send, and how much this process remembers to count it.

    The counts are in this process's memory: each Rasa replica counts its own.
    """

    max_frame_bytes: int = 8 * 1024
    max_text: int = 1000
    messages_per_window: int = 10
    """Messages one conversation may send per ``window_s``, over all its connections (0: no limit)."""
    window_s: float = 10.0
    new_sessions_per_address: int = 10
    """New conversations one client address may start per ``new_sessions_window_s`` (0: no limit)."""
    new_sessions_window_s: float = 60.0
    tracked_conversations: int = 10_000
    tracked_addresses: int = 10_000
    """At most this many conversations and addresses are counted at once: those with nothing
    in their window go first, then the least recently counted (memory stays bounded)."""
    outbox_size: int = 200
    """Unacknowledged messages kept per conversation; the oldest go first beyond this."""
    outbox_ttl_s: float = 24 * 3600
    claim_lease_s: float = 10.0
    """A message being handled is the handler's for this long, renewed while it works:
    if its replica dies, a copy the widget sends again is handled elsewhere after this."""


class SlidingWindow:
    """At most ``limit`` events per key in any ``window_s`` seconds, counted in memory.

    At most ``max_keys`` keys are kept: keys with nothing left in the window go first,
    then the least recently counted, so a flood of new keys cannot grow memory without
    end (a key dropped that way starts counting again).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max(1, max_keys)
        self._clock = clock
        # key -> (time, event id) of its counted events, oldest first; the keys are in the
        # order of their latest event, so the front is the first to run out of its window.
        self._events: OrderedDict[str, list[tuple[float, str | None]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def allow(self, key: str, event_id: str | None = None) -> bool:
        """Counts an event of ``key`` if that stays within the limit; ``False`` (not counted) if not.

        An event with the id of one counted in the window is allowed again without being
        counted: the widget sends a message again, with its id, after a reconnect.
        """
        if self.limit <= 0:
            return True
        now = self._clock()
        since = now - self.window_s
        while self._events:
            oldest_key, oldest = next(iter(self._events.items()))
            if oldest[-1][0] > since:
                break
            del self._events[oldest_key]
        events = [event for event in self._events.get(key, ()) if event[0] > since]
        if event_id is not None and any(counted == event_id for _, counted in events):
            return True
        if len(events) >= self.limit:
            self._events[key] = events  # keeps its place: its latest event is unchanged
            return False
        events.append((now, event_id))
        self._events[key] = events
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return True


def address_key(address: str) -> str | None:
    """The client an address stands for: an IPv4 address, or an IPv6 one's /64 network.

    One household or library gets a whole /64, so its addresses count together.
    ``None`` for what is not an address (``host:port`` and ``[v6]:port`` are read too).
    """
    text = address.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class TrustedProxies:
    """Whose ``X-Forwarded-For`` to believe: ``hops`` proxies of ours in front (0: none).

    Each proxy appends the address that connected to it, so the entry the outermost of
    ours appended, ``hops`` from the right, is the client's; entries left of it are
    whatever the client wrote and are never used.
    """

    hops: int = 0
    """``DIGITUKI_PROXY_HOPS`` when ``DIGITUKI_TRUST_PROXY`` is on, else 0."""

    def client_address(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address (as counted, see :func:`address_key`)."""
        entry = forwarded_client(forwarded_for, self.hops)
        key = address_key(entry) if entry is not None else None
        return key or address_key(peer) or peer or "unknown"


def widget_limits(credentials: Mapping[str, Any]) -> Limits:
    """``max_text``, ``messages_per_window`` and ``new_sessions_per_address`` from ``credentials.yml``.

    A load test, or a site whose visitors all come through one address, raises the cap
    on new conversations (0 turns a limit off).
    """
    values: dict[str, int] = {}
    for key in ("max_text", "messages_per_window", "new_sessions_per_address"):
        value = credentials.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError(f"widget {key} {value!r}: expected a whole number, 0 or more")
        values[key] = int(text)
    if values.get("max_text") == 0:
        raise ValueError("widget max_text: expected 1 or more")
    return Limits(**values)
