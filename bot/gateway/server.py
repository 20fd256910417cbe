"""Starting and stopping the gateway: a site per pool and the admin site, in one event loop.

Resources live exactly as long as a :class:`Gateway` is started: one
``ClientSession`` for proxying HTTP (its connection pool shared by every pool),
one for upstream WebSockets, the health checker (with a session of its own) and
the sites. Stopping stops accepting
first, closes WebSockets with 1001, lets requests in flight finish (up to
``shutdown_timeout``), then closes the sessions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from types import TracebackType

import aiohttp
from aiohttp import web

from bot.gateway.admin import build_admin_app
from bot.gateway.metrics import GatewayMetrics
from bot.gateway.proxy import PoolProxy
from bot.gateway.settings import Address, GatewaySettings
from bot.gateway.upstreams import HealthChecker, UpstreamGroup

log = logging.getLogger(__name__)

PROXY = web.AppKey("gateway_proxy", PoolProxy)

# Idle upstream connections are dropped before the upstream drops them (Sanic, under
# Rasa and the action server, closes them after 5 s): reusing one the upstream has
# just closed would fail a POST that then cannot be retried.
UPSTREAM_KEEPALIVE_S = 3.0
# The client library adds these when they are missing; a proxy must not.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


def make_upstream_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The session every pool proxies through.

    No cookie jar (cookies of one user must never reach another's request), no
    decompression (bodies pass through as the upstream encoded them) and no total
    timeout by default: HTTP requests set theirs, WebSockets live as long as they live.
    """
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections,
        limit_per_host=0,
        keepalive_timeout=UPSTREAM_KEEPALIVE_S,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=_NO_AUTO_HEADERS,
    )


def make_websocket_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The session upstream WebSockets are opened with.

    Apart from the HTTP one because an open WebSocket holds its connection for as long
    as the widget stays open: in one pool, a few hundred widgets would take every
    slot and HTTP requests would wait. Each socket is one connection, so no limit here.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_NO_AUTO_HEADERS,
    )


def build_pool_app(proxy: PoolProxy, settings: GatewaySettings) -> web.Application:
    """A pool's site: every method and path goes to ``proxy``."""
    # aiohttp refuses a body as long as client_max_size; ours may be exactly the limit.
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    app[PROXY] = proxy
    app.router.add_route("*", "/{path:.*}", proxy.handle)
    app.on_shutdown.append(proxy.close_websockets)  # type: ignore[arg-type]  # aiohttp's stub
    return app


class Gateway:
    """The running gateway. ``async with Gateway(settings) as gateway: ...`` or start/stop."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or GatewayMetrics.create()
        self.groups = {pool.name: UpstreamGroup(pool, self.metrics) for pool in settings.pools}
        self._http_session: aiohttp.ClientSession | None = None
        self._websocket_session: aiohttp.ClientSession | None = None
        self._checker: HealthChecker | None = None
        self._runners: dict[str, web.AppRunner] = {}
        self._admin: web.AppRunner | None = None

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Checks the upstreams once, then listens; on any failure, undoes what it did."""
        settings = self.settings
        try:
            self._http_session = make_upstream_session(settings)
            self._websocket_session = make_websocket_session(settings)
            self._checker = HealthChecker(
                list(self.groups.values()),
                interval=settings.health_interval,
                timeout=settings.health_timeout,
                fails=settings.health_fails,
            )
            await self._checker.start()
            for pool in settings.pools:
                proxy = PoolProxy(
                    self.groups[pool.name],
                    settings,
                    self.metrics,
                    http=self._http_session,
                    websockets=self._websocket_session,
                )
                app = build_pool_app(proxy, settings)
                self._runners[pool.name] = await self._listen(app, pool.listen)
            if settings.admin is not None:
                app = build_admin_app(
                    tuple(self.groups.values()), self.metrics, settings.metrics_token
                )
                self._admin = await self._listen(app, settings.admin)
        except BaseException:
            await self.stop()
            raise
        for pool in settings.pools:
            log.info(
                "pool %s listens on %s for %s",
                pool.name,
                self.address(pool.name),
                ", ".join(pool.upstreams),
            )

    async def _listen(self, app: web.Application, address: Address) -> web.AppRunner:
        # No access log: aiohttp's would write query strings, which may hold tokens.
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=self.settings.shutdown_timeout
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, address.host, address.port, backlog=1024).start()
        except OSError as error:
            await runner.cleanup()
            why = os.strerror(error.errno) if error.errno else str(error)
            raise OSError(error.errno, f"cannot listen on {address}: {why}") from error
        return runner

    def address(self, pool: str) -> Address:
        """Where the pool's site listens (the real port when 0 was asked for)."""
        return _bound(self._runners[pool])

    @property
    def admin_address(self) -> Address | None:
        return _bound(self._admin) if self._admin is not None else None

    async def stop(self) -> None:
        """Stops accepting, closes WebSockets with 1001, lets requests finish, closes sessions."""
        runners, self._runners = list(self._runners.values()), {}
        await asyncio.gather(*(runner.cleanup() for runner in runners))
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None
        if self._checker is not None:
            await self._checker.stop()
            self._checker = None
        for session in (self._http_session, self._websocket_session):
            if session is not None:
                await session.close()
        self._http_session = self._websocket_session = None


def _bound(runner: web.AppRunner) -> Address:
    host, port = runner.addresses[0][:2]
    return Address(str(host), int(port))


async def serve(settings: GatewaySettings, stop: asyncio.Event | None = None) -> None:
    """Runs the gateway until SIGTERM or SIGINT, or until ``stop`` is set."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Gateway(settings):
            await stop.wait()
            log.info("stopping: no new connections, WebSockets closed, requests finishing")
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def run(settings: GatewaySettings) -> None:
    """Runs the gateway in this thread until SIGTERM or SIGINT."""
    asyncio.run(serve(settings))
