"""Login throttling: a name or an address that tried too often waits a while.

Every attempt is recorded *before* its password is checked, in one step with the
check of the limits (nothing awaits in between, and a lock guards it against
threads), so parallel attempts cannot all slip past a limit: of 20 parallel wrong
passwords for one name at most ``per_name`` reach the password check, the others
are refused at once. The attempts let in for one name then take turns
(:meth:`LoginThrottle.turn`): one password check per name at a time. A right
password forgets its own attempt and the name's earlier failures.

Two limits in a sliding window of five minutes:

- **per name**, 5 attempts: stops guessing one account's password.
- **per address**, 100 attempts: stops one client trying password after password
  across many names. It is deliberately far above the per-name limit. Behind a
  proxy whose ``X-Forwarded-For`` the web service does not trust (no
  ``DIGITUKI_TRUST_PROXY``) every worker has the proxy's address, and a limit of a
  few attempts would let anyone lock the whole staff out with a handful of wrong
  passwords; a team's typos do not reach 100 in five minutes. Set
  ``DIGITUKI_TRUST_PROXY`` and ``DIGITUKI_PROXY_HOPS`` so that the address is the
  real client's.

Kept in the web service's memory: it slows down password guessing against one
process; replicas behind one entry point each count their own attempts, and a
restart forgets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

PER_NAME = 5
PER_ADDRESS = 100
WINDOW_SECONDS = 300.0
MAX_KEYS = 50_000
"""A flood of names must not grow memory without end."""


@dataclass(eq=False)  # compared by identity: two attempts in the same instant differ
class LoginAttempt:
    """One attempt, counted from before its password check."""

    name_key: str
    address_key: str
    at: float


class LoginThrottled(Exception):
    """Too many attempts; ``retry_after`` seconds until the next one is allowed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def _name_key(name: str) -> str:
    return f"name:{name.strip().lower()}"


def _address_key(address: str) -> str:
    return f"addr:{address}"


class LoginThrottle:
    """Counts login attempts per name and per address in a sliding window."""

    def __init__(
        self,
        *,
        per_name: int = PER_NAME,
        per_address: int = PER_ADDRESS,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.per_name = per_name
        self.per_address = per_address
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._attempts: dict[str, deque[LoginAttempt]] = {}
        self._lock = threading.Lock()
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}  # per name: lock, holders

    def begin(self, name: str, address: str) -> LoginAttempt:
        """Records an attempt before its password is checked.

        Raises :class:`LoginThrottled` (and records nothing) when the name or the
        address has reached its limit.
        """
        with self._lock:
            wait = self._wait(name, address)
            if wait:
                raise LoginThrottled(wait)
            attempt = LoginAttempt(_name_key(name), _address_key(address), self._clock())
            for key in (attempt.name_key, attempt.address_key):
                self._attempts.setdefault(key, deque()).append(attempt)
            if len(self._attempts) > self.max_keys:
                self._shrink()
            return attempt

    @contextlib.asynccontextmanager
    async def turn(self, attempt: LoginAttempt) -> AsyncIterator[None]:
        """Held while the attempt's password is checked: a name's checks take turns."""
        key = attempt.name_key
        lock, holders = self._turns.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._turns[key] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._turns[key]
            if holders > 1:
                self._turns[key] = (lock, holders - 1)
            else:
                del self._turns[key]

    def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: the attempt and the name's failures are forgotten."""
        with self._lock:
            self._attempts.pop(attempt.name_key, None)
            from_address = self._attempts.get(attempt.address_key)
            if from_address is not None and attempt in from_address:
                from_address.remove(attempt)
                if not from_address:
                    del self._attempts[attempt.address_key]

    def retry_after(self, name: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        with self._lock:
            return self._wait(name, address)

    def _wait(self, name: str, address: str) -> int:
        waits = []
        for key, limit in (
            (_name_key(name), self.per_name),
            (_address_key(address), self.per_address),
        ):
            attempts = self._recent(key)
            if len(attempts) >= limit:
                waits.append(attempts[-limit].at + self.window - self._clock())
        return max(1, round(max(waits))) if waits else 0

    def _recent(self, key: str) -> deque[LoginAttempt]:
        attempts = self._attempts.get(key)
        if attempts is None:
            return deque()
        cutoff = self._clock() - self.window
        while attempts and attempts[0].at <= cutoff:
            attempts.popleft()
        if not attempts:
            del self._attempts[key]
        return attempts

    def _shrink(self) -> None:
        """Drops what the window forgot; if still too many keys, the oldest fifth."""
        for key in list(self._attempts):
            self._recent(key)
        if len(self._attempts) > self.max_keys:
            for key in list(self._attempts)[: max(1, self.max_keys // 5)]:
                del self._attempts[key]
