"""Login throttling: too many failed attempts for a name or from an address wait a while.

Kept in the web service's memory: it slows down password guessing against one
process; replicas behind one entry point each count their own attempts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Counts failed logins per key in a sliding window."""

    def __init__(
        self,
        *,
        per_name: int = 5,
        per_address: int = 20,
        window_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_name = per_name
        self.per_address = per_address
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = self._clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, name: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        waits = []
        for key, limit in (
            (f"name:{name.strip().lower()}", self.per_name),
            (f"addr:{address}", self.per_address),
        ):
            failures = self._recent(key)
            if len(failures) >= limit:
                waits.append(failures[0] + self.window - self._clock())
        return max(1, round(max(waits))) if waits else 0

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        for key in (f"name:{name.strip().lower()}", f"addr:{address}"):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 50_000:  # a flood of names must not grow memory without end
            for key in list(self._failures)[:10_000]:
                del self._failures[key]

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name.strip().lower()}", None)
