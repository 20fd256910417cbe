"""Forwarding one pool's requests and WebSockets to its upstreams.

HTTP: a request that never reached an upstream (the connection failed) goes to the
next healthy one, whatever its method. One that failed after it was sent is retried
only when its method is idempotent; otherwise the client gets 502, because a POST
may already have been acted on. No healthy upstream: 503 with ``Retry-After: 1``.
Upstream too slow: 504.

WebSocket: the gateway makes the upstream handshake first (with the client's
``Origin`` and cookies), so an upstream that refuses (403 for a foreign origin) is
answered with its own status and no socket is opened. Then frames are pumped both
ways, one at a time in each direction, so none is lost or reordered. When the
upstream goes, the client is closed with 1012 (service restart): the widget
reconnects and lands on a healthy replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from bot.gateway.headers import client_response_headers, upstream_request_headers
from bot.gateway.metrics import GatewayMetrics, method_label, status_class
from bot.gateway.settings import GatewaySettings
from bot.gateway.upstreams import Upstream, UpstreamGroup

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Errors that mean the request never reached the upstream. Our client timeout sets no
# socket read timeout, so a ServerTimeoutError can only be the connect timeout.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ServerTimeoutError)
BUSY_CONNECT_ATTEMPTS = 3
"""Connects per request to a replica too busy to take them, when no other is left."""


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The gateway's own small JSON answer."""
    return web.json_response({"error": message}, status=status, headers=headers)


def wants_websocket(request: web.Request) -> bool:
    """A WebSocket handshake (any other ``Upgrade`` is dropped and the request proxied)."""
    return request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"


class PoolProxy:
    """The request handler of one pool's site."""

    def __init__(
        self,
        group: UpstreamGroup,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
        *,
        http: aiohttp.ClientSession,
        websockets: aiohttp.ClientSession,
    ) -> None:
        self.group = group
        self._http_session = http
        self._websocket_session = websockets
        self._settings = settings
        self._metrics = metrics
        self._request_timeout = aiohttp.ClientTimeout(
            total=settings.upstream_timeout, sock_connect=settings.connect_timeout
        )
        self.websockets: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Every request of the pool's site: counted, timed and forwarded."""
        started = time.perf_counter()
        websocket = wants_websocket(request)
        status = 500
        try:
            response = await (
                self._forward_websocket(request) if websocket else self._forward_http(request)
            )
            status = response.status
            return response
        finally:
            pool = self.group.name
            self._metrics.requests.labels(
                pool, method_label(request.method), status_class(status)
            ).inc()
            if not websocket:
                self._metrics.latency.labels(pool).observe(time.perf_counter() - started)

    async def close_websockets(self, _: web.Application | None = None) -> None:
        """Closes every client socket with 1001 (going away); the upstreams are closed after."""
        await asyncio.gather(
            *(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway shutting down")
                for ws in list(self.websockets)
            ),
            return_exceptions=True,
        )

    # --- HTTP ---------------------------------------------------------------------

    async def _forward_http(self, request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > self._settings.max_body_bytes:
            return error_response(413, "request body too large")
        try:
            # Read whole (it is small, and capped) so it can be sent again on a retry.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, "request body too large")
        headers = upstream_request_headers(
            request.headers, remote=request.remote, scheme=request.scheme, host=request.host
        )
        tried: list[Upstream] = []
        attempts: dict[str, int] = {}
        failed_after_sending = False
        while (upstream := self.group.pick(exclude=tried)) is not None:
            if tried:
                self._metrics.retries.labels(self.group.name).inc()
            tried.append(upstream)
            try:
                answer = await self._http_session.request(
                    request.method,
                    upstream.url_for(request.rel_url),
                    headers=headers,
                    data=body if body or request.body_exists else None,
                    allow_redirects=False,
                    timeout=self._request_timeout,
                )
            except _NOT_SENT as error:
                self._failed(upstream, "connect", error)
                if self._wait_for_busy(upstream, error, tried, attempts):
                    tried.remove(upstream)
                continue
            except asyncio.TimeoutError as error:
                self._failed(upstream, "timeout", error, request.method)
                return error_response(504, "the upstream did not answer in time")
            except aiohttp.ClientError as error:
                self._failed(upstream, "reset", error, request.method)
                failed_after_sending = True
                if request.method in IDEMPOTENT_METHODS:
                    continue
                return error_response(502, "the upstream failed while handling the request")
            return await self._relay(request, upstream, answer)
        if failed_after_sending:
            return error_response(502, "every upstream failed while handling the request")
        return error_response(503, "no healthy upstream", headers={"Retry-After": "1"})

    async def _relay(
        self, request: web.Request, upstream: Upstream, answer: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        async with answer:
            response = web.StreamResponse(
                status=answer.status,
                reason=answer.reason,
                headers=client_response_headers(answer.headers),
            )
            await response.prepare(request)
            try:
                async for chunk in answer.content.iter_any():
                    await response.write(chunk)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                # The status line is out already: cutting the connection is the only way to
                # tell the client its answer is incomplete.
                self._failed(upstream, "reset", error, request.method)
                if request.transport is not None:
                    request.transport.close()
                return response
            await response.write_eof()
            return response

    def _wait_for_busy(
        self,
        upstream: Upstream,
        error: BaseException,
        tried: list[Upstream],
        attempts: dict[str, int],
    ) -> bool:
        """After a connect timeout: whether to try ``upstream`` again, as no other is left.

        A saturated replica is slow to take a connection, not gone: waiting for it a while
        longer beats refusing the person with a 503. At most :data:`BUSY_CONNECT_ATTEMPTS`
        connects per upstream and request (each bounded by the connect timeout).
        """
        if not isinstance(error, aiohttp.ServerTimeoutError):
            return False
        attempts[upstream.base] = attempts.get(upstream.base, 0) + 1
        if attempts[upstream.base] >= BUSY_CONNECT_ATTEMPTS:
            return False
        return not self.group.usable(exclude=tried)

    def _failed(
        self, upstream: Upstream, kind: str, error: BaseException, method: str = ""
    ) -> None:
        """Counts a failure; a failed connection takes the upstream out of rotation.

        With ``method`` the failed request is logged too (a connect failure is not: the
        request went elsewhere). Neither path nor query string is logged: they may hold
        ids and tokens.
        """
        self._metrics.upstream_failures.labels(self.group.name, upstream.base, kind).inc()
        reason = f"{kind}: {type(error).__name__}"
        if kind in ("connect", "reset") and isinstance(error, aiohttp.ClientConnectionError):
            # A connect that timed out reached a replica whose queue of new connections is
            # full (it is saturated): busy, not gone. Refused or reset: down at once.
            busy = isinstance(error, aiohttp.ServerTimeoutError)
            self.group.mark(upstream, False, reason, busy=busy)
        if method:
            log.warning(
                "pool %s: %s request failed at upstream %s (%s)",
                self.group.name,
                method,
                upstream.base,
                reason,
            )

    # --- WebSocket ----------------------------------------------------------------

    async def _forward_websocket(self, request: web.Request) -> web.StreamResponse:
        headers = upstream_request_headers(
            request.headers,
            remote=request.remote,
            scheme=request.scheme,
            host=request.host,
            websocket=True,
        )
        protocols = [
            p.strip()
            for value in request.headers.getall("Sec-WebSocket-Protocol", ())
            for p in value.split(",")
            if p.strip()
        ]
        tried: list[Upstream] = []
        attempts: dict[str, int] = {}
        while (upstream := self.group.pick(exclude=tried)) is not None:
            if tried:
                self._metrics.retries.labels(self.group.name).inc()
            tried.append(upstream)
            try:
                upstream_ws = await asyncio.wait_for(
                    self._websocket_session.ws_connect(
                        upstream.url_for(request.rel_url),
                        headers=headers,
                        protocols=protocols,
                        autoping=True,
                        heartbeat=self._settings.websocket_heartbeat,
                        max_msg_size=self._settings.max_body_bytes,
                    ),
                    self._settings.upstream_timeout,
                )
            except aiohttp.WSServerHandshakeError as refusal:
                # The upstream answered without upgrading: the client gets the same status.
                if refusal.status >= 400:
                    if refusal.status >= 500:
                        log.warning(
                            "pool %s: upstream %s refused a WebSocket with %d",
                            self.group.name,
                            upstream.base,
                            refusal.status,
                        )
                    return error_response(refusal.status, "the upstream refused the WebSocket")
                self._failed(upstream, "handshake", refusal, "WebSocket")
                return error_response(502, "the upstream's WebSocket handshake was invalid")
            except _NOT_SENT as error:
                self._failed(upstream, "connect", error)
                if self._wait_for_busy(upstream, error, tried, attempts):
                    tried.remove(upstream)
                continue
            except asyncio.TimeoutError as error:
                self._failed(upstream, "timeout", error, "WebSocket")
                return error_response(504, "the upstream did not answer in time")
            except aiohttp.ClientError as error:
                self._failed(upstream, "reset", error, "WebSocket")
                continue  # an upgrade is a GET: safe to try elsewhere
            return await self._pump(request, upstream_ws)
        return error_response(503, "no healthy upstream", headers={"Retry-After": "1"})

    async def _pump(
        self, request: web.Request, upstream_ws: aiohttp.ClientWebSocketResponse
    ) -> web.StreamResponse:
        client_ws = web.WebSocketResponse(
            protocols=(upstream_ws.protocol,) if upstream_ws.protocol else (),
            autoping=True,
            heartbeat=self._settings.websocket_heartbeat,
            max_msg_size=self._settings.max_body_bytes,
            timeout=5.0,  # for the client's answer to our close frame
        )
        gauge = self._metrics.websockets_open.labels(self.group.name)
        try:
            await client_ws.prepare(request)
        except BaseException:
            await upstream_ws.close()
            raise
        self.websockets.add(client_ws)
        gauge.inc()
        to_upstream = asyncio.create_task(_copy_frames(client_ws, upstream_ws))
        to_client = asyncio.create_task(_copy_frames(upstream_ws, client_ws))
        try:
            await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
            if to_client.done() and not client_ws.closed:
                # The upstream closed or died; every frame it sent before is delivered.
                await client_ws.close(
                    code=WSCloseCode.SERVICE_RESTART, message=b"upstream went away"
                )
            await upstream_ws.close()
            await asyncio.wait({to_upstream, to_client}, timeout=5.0)
        finally:
            for task in (to_upstream, to_client):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if not upstream_ws.closed:
                await upstream_ws.close()
            self.websockets.discard(client_ws)
            gauge.dec()
        return client_ws


async def _copy_frames(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Sends ``source``'s data frames to ``target`` in order until ``source`` closes."""
    try:
        async for message in source:
            if message.type == WSMsgType.TEXT:
                await target.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await target.send_bytes(message.data)
            elif message.type == WSMsgType.ERROR:
                return
    except (ConnectionError, aiohttp.ClientError):
        return  # the target is closing: the caller closes the rest
