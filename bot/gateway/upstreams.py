"""Which upstreams of a pool are healthy, and which one gets the next request.

Health is known two ways. Actively: every ``health_interval`` seconds each upstream
gets a GET of its pool's health path (any answer below 500 counts as up). Passively:
the proxy marks an upstream down the moment a connection to it fails, so requests
stop going there without waiting for the next check; the next successful check
brings it back.

A refused connection is certain: nothing listens there, the upstream is down at once.
A late or 5xx answer is not: a replica busy with a burst of messages answers its
health check late too. Such an upstream leaves rotation only after ``health_fails``
such checks in a row. One that answered late is then *busy*, not gone: when a pool
has no healthy upstream, requests go to its busy ones (a late answer) rather than
getting a 503 from the gateway (no answer at all). One that answers 5xx says itself
that it cannot serve, and gets nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

import aiohttp
from yarl import URL

from bot.gateway.metrics import GatewayMetrics
from bot.gateway.settings import Pool

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Upstream:
    """One replica. ``healthy`` is None until its first health check.

    ``busy``: out of rotation because its health checks timed out, though it accepts
    connections; it serves when no upstream of its pool is healthy.
    ``failed_checks``: health checks in a row that were late or answered 5xx.
    """

    base: str
    healthy: bool | None = None
    busy: bool = False
    failed_checks: int = 0

    def url_for(self, rel_url: URL) -> URL:
        """This upstream's URL for a request's path and query, both kept as they were sent."""
        return URL(self.base + (rel_url.raw_path or "/") + _query(rel_url), encoded=True)


def _query(rel_url: URL) -> str:
    return f"?{rel_url.raw_query_string}" if rel_url.raw_query_string else ""


class UpstreamGroup:
    """A pool's upstreams: their health and the round-robin choice among the healthy."""

    def __init__(self, pool: Pool, metrics: GatewayMetrics) -> None:
        self.pool = pool
        self.upstreams = [Upstream(url) for url in pool.upstreams]
        self._metrics = metrics
        self._next = 0
        metrics.add_pool(pool.name, pool.upstreams)

    @property
    def name(self) -> str:
        return self.pool.name

    def healthy(self) -> list[Upstream]:
        return [u for u in self.upstreams if u.healthy]

    def busy(self) -> list[Upstream]:
        return [u for u in self.upstreams if not u.healthy and u.busy]

    def usable(self, exclude: Collection[Upstream] = ()) -> bool:
        """Whether :meth:`pick` would find an upstream outside ``exclude`` (it picks nothing)."""
        return any((u.healthy or u.busy) and u not in exclude for u in self.upstreams)

    def pick(self, exclude: Collection[Upstream] = ()) -> Upstream | None:
        """The next healthy upstream in turn, skipping ``exclude``; when none is left, the
        next busy one; None when there is neither."""
        upstream = self._next_where(lambda u: bool(u.healthy), exclude)
        if upstream is None:
            upstream = self._next_where(lambda u: not u.healthy and u.busy, exclude)
            if upstream is not None:
                self._metrics.busy_picks.labels(self.name).inc()
        return upstream

    def _next_where(
        self, usable: Callable[[Upstream], bool], exclude: Collection[Upstream]
    ) -> Upstream | None:
        count = len(self.upstreams)
        for offset in range(count):
            index = (self._next + offset) % count
            upstream = self.upstreams[index]
            if usable(upstream) and upstream not in exclude:
                self._next = (index + 1) % count
                return upstream
        return None

    def mark(
        self, upstream: Upstream, healthy: bool, reason: str = "", *, busy: bool = False
    ) -> None:
        """Records a health observation; a change is logged and shown in the metrics.

        ``busy`` with ``healthy=False``: it accepted the connection but answered late or
        with 5xx (see the module's text).
        """
        upstream.busy = busy and not healthy
        if upstream.healthy is healthy:
            return
        upstream.healthy = healthy
        self._metrics.upstream_up.labels(self.name, upstream.base).set(1 if healthy else 0)
        if healthy:
            log.info("pool %s: upstream %s is up", self.name, upstream.base)
        else:
            log.warning("pool %s: upstream %s is down (%s)", self.name, upstream.base, reason)


class HealthChecker:
    """The active health checks of every pool, one task per upstream."""

    def __init__(
        self,
        groups: Collection[UpstreamGroup],
        *,
        interval: float,
        timeout: float,
        fails: int = 3,
    ) -> None:
        self._groups = groups
        self._interval = interval
        self._fails = fails
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Checks every upstream once (so the first requests find the truth), then keeps on."""
        # A session of its own: when the proxy's connection pool is full under load, health
        # checks must not queue behind requests and time out, marking busy replicas down.
        # A fresh connection per check, so a keep-alive connection the upstream just
        # closed cannot make a healthy upstream look down.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
        )
        pairs = [(group, upstream) for group in self._groups for upstream in group.upstreams]
        await asyncio.gather(*(self.check(group, upstream) for group, upstream in pairs))
        self._tasks = [
            asyncio.create_task(
                self._keep_checking(group, upstream), name=f"health {upstream.base}"
            )
            for group, upstream in pairs
        ]

    async def stop(self) -> None:
        """Ends the checks and closes their session."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, group: UpstreamGroup, upstream: Upstream) -> bool:
        """GETs the health path once and records the answer. True when up."""
        assert self._session is not None, "start() first"
        url = upstream.base + group.pool.health_path
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                healthy, reason = response.status < 500, f"health check answered {response.status}"
        except asyncio.TimeoutError:
            healthy, reason = False, "health check timed out"
        except (aiohttp.ClientError, OSError) as error:
            # Refused or cut: nothing (sound) listens there. Down at once.
            group.mark(upstream, False, f"health check failed: {type(error).__name__}: {error}")
            return False
        if healthy:
            upstream.failed_checks = 0
            group.mark(upstream, True)
            return True
        upstream.failed_checks += 1
        if upstream.healthy is None or upstream.failed_checks >= self._fails:
            # Never seen healthy (e.g. still starting), or failing again and again. Late
            # answers make it busy; a 5xx is the upstream saying it cannot serve.
            late = reason == "health check timed out"
            reason = f"{reason}, {upstream.failed_checks} time(s) in a row"
            group.mark(upstream, False, reason, busy=late)
        return False

    async def _keep_checking(self, group: UpstreamGroup, upstream: Upstream) -> None:
        loop = asyncio.get_running_loop()
        delay = self._interval
        while True:
            await asyncio.sleep(delay)
            started = loop.time()
            await self.check(group, upstream)
            delay = max(0.0, self._interval - (loop.time() - started))
