"""The parts of the Graph API the Messenger channel calls: the Send API and user profiles.

Errors the platform marks as temporary (rate limits, "temporary send message
failure", server errors, timeouts) are retried with exponential backoff and jitter,
honouring ``Retry-After``; others are raised at once as :class:`GraphApiError`, so
the caller decides who has to know.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v24.0"

# Error codes the Messenger Platform documents as passing: unknown/unexpected error,
# service unavailable, the application's and the page's rate limits, temporary send failure.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 1200})


class GraphApiError(Exception):
    """The Graph API refused a call (after retries, if the error was temporary)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
        subcode: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.transient = transient

    def __str__(self) -> str:
        return f"{super().__str__()} (HTTP {self.status}, code {self.code}, subcode {self.subcode})"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        base = self.first_delay_s * 2 ** (attempt - 1)
        return min(base * random.uniform(0.8, 1.2), self.max_delay_s)


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


async def _error_of(response: aiohttp.ClientResponse) -> GraphApiError:
    try:
        body = await response.json(content_type=None)
        error = body.get("error") if isinstance(body, dict) else None
    except (ValueError, aiohttp.ClientError):
        error = None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    transient = (
        bool(error.get("is_transient"))
        or code in TRANSIENT_CODES
        or response.status >= 500
        or response.status == 429
    )
    return GraphApiError(
        str(error.get("message") or response.reason or "Graph API error")[:300],
        status=response.status,
        code=code,
        subcode=subcode,
        transient=transient,
    )


class ProfileCache:
    """Locales of the people we talk with, kept a day (a locale seldom changes)."""

    def __init__(self, size: int = 10_000, ttl_s: float = 24 * 3600) -> None:
        self._size = size
        self._ttl_s = ttl_s
        self._items: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    def get(self, psid: str) -> tuple[bool, str | None]:
        item = self._items.get(psid)
        if item is None or time.monotonic() - item[0] > self._ttl_s:
            return False, None
        self._items.move_to_end(psid)
        return True, item[1]

    def put(self, psid: str, locale: str | None) -> None:
        self._items[psid] = (time.monotonic(), locale)
        self._items.move_to_end(psid)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class GraphApi:
    """Send API and user profile calls for one Page, on one shared HTTP session."""

    def __init__(
        self,
        page_token: str,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._token = page_token
        self._base = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self.retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.profiles = ProfileCache()
        self.sent = 0
        self.failed = 0

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the server's event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, body: dict[str, Any]) -> str:
        """Posts one Send API request, retrying temporary failures; the message id."""
        url = f"{self._base}/me/messages"
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                async with self._client().post(
                    url, json=body, params={"access_token": self._token}
                ) as response:
                    if response.status < 300:
                        answer = await response.json(content_type=None)
                        self.sent += 1
                        return str((answer or {}).get("message_id") or "")
                    error = await _error_of(response)
                    retry_after = _retry_after(response.headers)
            except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
                error = GraphApiError(str(failure) or type(failure).__name__, transient=True)
            if not error.transient or attempt >= self.retry.attempts:
                self.failed += 1
                raise error
            delay = self.retry.delay(attempt, retry_after)
            log.warning(
                "Send API attempt %d failed (%s); retrying in %.1f s", attempt, error, delay
            )
            await asyncio.sleep(delay)

    async def locale(self, psid: str) -> str | None:
        """The person's locale (``sv_SE``) from their profile, cached; ``None`` if not given."""
        known, locale = self.profiles.get(psid)
        if known:
            return locale
        url = f"{self._base}/{quote(psid, safe='')}"
        try:
            async with self._client().get(
                url, params={"fields": "locale", "access_token": self._token}
            ) as response:
                if response.status >= 300:
                    log.info("no profile for a Messenger user: %s", await _error_of(response))
                    locale = None
                else:
                    body = await response.json(content_type=None)
                    value = body.get("locale") if isinstance(body, dict) else None
                    locale = value if isinstance(value, str) and len(value) <= 10 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as failure:
            log.warning("profile lookup failed: %s", failure or type(failure).__name__)
            return None  # not cached: the next message asks again
        self.profiles.put(psid, locale)
        return locale
