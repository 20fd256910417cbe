"""The gateway in front of fake replicas, everything on real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import free_port
from bot.gateway import Address, Gateway, GatewaySettings, Pool

ALLOWED_ORIGIN = "https://www.example.fi"
WIDGET_SOCKET = "/webhooks/widget/websocket"


class FakeReplica:
    """A replica: says its name, echoes requests, dies or dawdles on demand, has a WebSocket."""

    def __init__(self, name: str, *, dies: bool = False) -> None:
        self.name = name
        self.dies = dies
        self.port = 0
        self.health_status = 200
        self.health_delay = 0.0
        self.hits: Counter[str] = Counter()
        self.origins: list[str | None] = []
        self.socket_closed = asyncio.Event()
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._health)
        app.router.add_route("*", "/whoami", self._whoami)
        app.router.add_route("*", "/echo/{tail:.*}", self._echo)
        app.router.add_route("*", "/die", self._die)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/truncated", self._truncated)
        app.router.add_get(WIDGET_SOCKET, self._socket)
        return app

    async def start(self) -> None:
        """Listens, on the same port as before after a :meth:`stop`."""
        self.stopping.clear()
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.stopping.set()  # slow answers end now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _: web.Request) -> web.Response:
        await asyncio.sleep(self.health_delay)
        return web.Response(text="Hello from Rasa", status=self.health_status)

    async def _whoami(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        return web.Response(text=self.name)

    async def _echo(self, request: web.Request) -> web.Response:
        self.hits["/echo"] += 1
        response = web.json_response(
            {
                "method": request.method,
                "path": request.rel_url.raw_path,
                "query": request.rel_url.raw_query_string,
                "body": (await request.read()).decode(),
                "headers": list(request.headers.items()),
            },
            status=201,
        )
        response.headers["X-Upstream"] = self.name
        response.headers["Keep-Alive"] = "timeout=99"
        response.headers.add("Set-Cookie", "one=1")
        response.headers.add("Set-Cookie", "two=2")
        return response

    async def _die(self, request: web.Request) -> web.Response:
        self.hits["/die"] += 1
        if self.dies and request.transport is not None:
            request.transport.abort()  # gone before answering
        return web.Response(text=self.name)

    async def _slow(self, _: web.Request) -> web.Response:
        await self.stopping.wait()
        return web.Response(text=self.name)

    async def _truncated(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"x" * 10)
        assert request.transport is not None
        request.transport.abort()  # dies 990 bytes short
        return response

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        self.origins.append(origin)
        if origin != ALLOWED_ORIGIN:
            return web.json_response({"error": "origin not allowed"}, status=403)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "close-me":
                await ws.send_str("bye")
                await ws.close()
            elif message.type == WSMsgType.TEXT and message.data == "die":
                assert request.transport is not None
                request.transport.abort()
                break
            elif message.type == WSMsgType.TEXT:
                await ws.send_str(f"{self.name}:{message.data}")
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        self.socket_closed.set()
        return ws


class Running:
    """A started gateway with one pool, ``rasa``, and a client session to talk to it."""

    def __init__(self, gateway: Gateway, client: aiohttp.ClientSession) -> None:
        self.gateway = gateway
        self.client = client

    def url(self, path: str) -> str:
        return f"http://{self.gateway.address('rasa')}{path}"

    def admin(self, path: str) -> str:
        return f"http://{self.gateway.admin_address}{path}"

    def sample(self, name: str, **labels: str) -> float:
        value = self.gateway.metrics.registry.get_sample_value(name, {"pool": "rasa", **labels})
        return value or 0.0

    def up(self, replica: FakeReplica) -> float:
        return self.sample("digituki_gateway_upstream_up", upstream=replica.url)

    async def whoami(self, times: int) -> list[str]:
        answers = []
        for _ in range(times):
            async with self.client.get(self.url("/whoami")) as response:
                assert response.status == 200
                answers.append(await response.text())
        return answers


Replicas = tuple[FakeReplica, FakeReplica]


@asynccontextmanager
async def gateway_for(*replicas: FakeReplica, **settings: Any) -> AsyncIterator[Running]:
    pool = Pool("rasa", Address("127.0.0.1", 0), tuple(r.url for r in replicas))
    config: dict[str, Any] = {"health_interval": 0.1, "health_timeout": 0.5, **settings}
    gateway = Gateway(GatewaySettings(pools=(pool,), admin=Address("127.0.0.1", 0), **config))
    async with gateway, aiohttp.ClientSession() as client:
        yield Running(gateway, client)


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 3.0) -> None:
    """Waits until ``check()`` is true; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not true within {timeout} s: {check}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    a, b = FakeReplica("a"), FakeReplica("b")
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()


# --- HTTP ------------------------------------------------------------------------


async def test_requests_take_turns_between_the_upstreams(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        answers = await running.whoami(6)
    assert answers == ["a", "b"] * 3


async def test_method_path_query_body_and_headers_reach_the_upstream(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        response = await running.client.put(
            running.url("/echo/conversations/x%2Fy?q=1&token=abc"),
            data=b"hello",
            headers={
                "Content-Type": "text/plain",
                "X-Request-Id": "r-1",
                "X-Forwarded-For": "203.0.113.9",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "only-to-the-gateway",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic Zm9vOmJhcg==",
                "TE": "trailers",
            },
        )
        echo = await response.json()
        gateway_host = str(running.gateway.address("rasa"))
    seen = {name.lower(): value for name, value in echo["headers"]}
    assert response.status == 201
    assert (echo["method"], echo["path"], echo["query"], echo["body"]) == (
        "PUT",
        "/echo/conversations/x%2Fy",
        "q=1&token=abc",
        "hello",
    )
    assert seen["x-request-id"] == "r-1" and seen["content-type"] == "text/plain"
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == gateway_host
    assert seen["host"] == f"127.0.0.1:{replicas[0].port}"  # Host rewritten
    for hop_by_hop in ("x-hop", "keep-alive", "proxy-authorization", "te"):
        assert hop_by_hop not in seen
    assert "x-hop" not in seen.get("connection", "").lower()
    assert response.headers["X-Upstream"] == "a"
    assert response.headers.getall("Set-Cookie") == ["one=1", "two=2"]
    assert "Keep-Alive" not in response.headers


async def test_head_answers_keep_their_length_and_have_no_body(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        async with running.client.head(running.url("/whoami")) as response:
            assert (response.status, response.headers["Content-Length"]) == (200, "1")
            assert await response.read() == b""
        assert await running.whoami(1) == ["b"]  # the connection still works


async def test_an_answer_the_upstream_cuts_short_is_cut_short_for_the_client(
    replicas: Replicas,
) -> None:
    async with gateway_for(*replicas) as running:
        async with running.client.get(running.url("/truncated"), timeout=5) as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        failures = running.sample(
            "digituki_gateway_upstream_failures_total", upstream=replicas[0].url, kind="reset"
        )
        assert failures == 1


async def test_hundreds_of_concurrent_requests_are_all_answered(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        connector = aiohttp.TCPConnector(limit=0)  # the test client must not be the bottleneck
        async with aiohttp.ClientSession(connector=connector) as client:

            async def one(i: int) -> tuple[int, str]:
                async with client.post(running.url(f"/echo/{i}"), data=str(i)) as response:
                    return response.status, (await response.json())["body"]

            answers = await asyncio.gather(*(one(i) for i in range(400)))
    assert answers == [(201, str(i)) for i in range(400)]
    assert [r.hits["/echo"] for r in replicas] == [200, 200]


async def test_a_stopped_upstream_is_skipped_at_once_without_an_error(replicas: Replicas) -> None:
    a, b = replicas
    # Health checks only at start: what takes ``a`` out of rotation here is the failed connection.
    async with gateway_for(a, b, health_interval=60) as running:
        assert await running.whoami(2) == ["a", "b"]
        await a.stop()
        assert await running.whoami(4) == ["b"] * 4
        assert running.up(a) == 0 and running.up(b) == 1
        assert running.sample("digituki_gateway_retries_total") == 1
        failures = sum(
            running.sample("digituki_gateway_upstream_failures_total", upstream=a.url, kind=kind)
            for kind in ("connect", "reset")
        )
        assert failures == 1


async def test_a_restarted_upstream_comes_back_into_rotation(replicas: Replicas) -> None:
    a, b = replicas
    async with gateway_for(a, b) as running:
        await a.stop()
        await eventually(lambda: running.up(a) == 0)
        assert await running.whoami(3) == ["b"] * 3
        await a.start()
        await eventually(lambda: running.up(a) == 1)
        assert sorted(await running.whoami(4)) == ["a", "a", "b", "b"]


async def test_an_upstream_whose_health_check_answers_5xx_leaves_rotation(
    replicas: Replicas,
) -> None:
    a, b = replicas
    async with gateway_for(a, b) as running:
        a.health_status = 503  # e.g. Rasa still loading its model
        await eventually(lambda: running.up(a) == 0)
        assert await running.whoami(3) == ["b"] * 3
        a.health_status = 404  # answers, so it is up: only 5xx counts as down
        await eventually(lambda: running.up(a) == 1)
        assert sorted(await running.whoami(2)) == ["a", "b"]


async def test_a_late_health_check_or_two_keep_a_busy_upstream_in_rotation(
    replicas: Replicas,
) -> None:
    a, b = replicas
    async with gateway_for(a, b, health_timeout=0.2, health_fails=100) as running:
        a.health_delay = 0.5  # a replica working through a burst of messages
        upstream_a = running.gateway.groups["rasa"].upstreams[0]
        await eventually(lambda: upstream_a.failed_checks >= 3)
        assert running.up(a) == 1
        assert sorted(await running.whoami(4)) == ["a", "a", "b", "b"]
        a.health_delay = 0.0
        await eventually(lambda: upstream_a.failed_checks == 0)


async def test_when_only_busy_upstreams_are_left_they_get_the_requests_not_a_503(
    replicas: Replicas,
) -> None:
    a, b = replicas
    async with gateway_for(a, b, health_timeout=0.2, health_fails=2) as running:
        a.health_delay = 0.5
        await eventually(lambda: running.up(a) == 0)
        assert await running.whoami(3) == ["b"] * 3  # busy: out of rotation while b serves
        await b.stop()
        await eventually(lambda: running.up(b) == 0)
        assert await running.whoami(3) == ["a"] * 3  # late answers, not 503
        assert running.sample("digituki_gateway_busy_picks_total") == 3
        ready = await running.client.get(running.admin("/ready"))
        assert ready.status == 200
        assert (await ready.json())["pools"]["rasa"] == {"healthy": 0, "busy": 1, "upstreams": 2}
        a.health_delay = 0.0
        await eventually(lambda: running.up(a) == 1)
        await b.start()
        await eventually(lambda: running.up(b) == 1)
        assert sorted(await running.whoami(2)) == ["a", "b"]


async def test_a_post_whose_upstream_dies_gets_502_and_is_not_sent_again() -> None:
    a, b = FakeReplica("a", dies=True), FakeReplica("b", dies=True)
    await a.start()
    await b.start()
    try:
        async with gateway_for(a, b) as running:
            response = await running.client.post(running.url("/die"), json={"text": "hei"})
            body = await response.json()
    finally:
        await a.stop()
        await b.stop()
    assert response.status == 502
    assert "upstream failed" in body["error"]
    assert a.hits["/die"] + b.hits["/die"] == 1


async def test_a_get_whose_upstream_dies_is_retried_on_the_next() -> None:
    a, b = FakeReplica("a", dies=True), FakeReplica("b")
    await a.start()
    await b.start()
    try:
        async with gateway_for(a, b) as running:
            response = await running.client.get(running.url("/die"))
            assert (response.status, await response.text()) == (200, "b")
            assert running.sample("digituki_gateway_retries_total") == 1
    finally:
        await a.stop()
        await b.stop()
    assert a.hits["/die"] == 1 and b.hits["/die"] == 1


async def test_without_healthy_upstreams_503_and_not_ready_until_one_returns(
    replicas: Replicas,
) -> None:
    a, b = replicas
    async with gateway_for(a, b) as running:
        ready = await running.client.get(running.admin("/ready"))
        assert ready.status == 200
        await a.stop()
        await b.stop()
        response = await running.client.get(running.url("/whoami"))
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert "error" in await response.json()
        ready = await running.client.get(running.admin("/ready"))
        assert ready.status == 503
        assert (await ready.json())["pools_without_upstream"] == ["rasa"]

        await b.start()

        async def is_ready() -> bool:
            return (await running.client.get(running.admin("/ready"))).status == 200

        await eventually(is_ready)
        assert await running.whoami(2) == ["b", "b"]
        health = await running.client.get(running.admin("/health"))
        assert (health.status, await health.json()) == (200, {"status": "ok"})


async def test_a_slow_upstream_gets_504_and_stays_in_rotation(replicas: Replicas) -> None:
    async with gateway_for(*replicas, upstream_timeout=0.3) as running:
        response = await running.client.get(running.url("/slow"))
        assert response.status == 504
        assert "error" in await response.json()
        assert running.up(replicas[0]) == 1
        timeouts = running.sample(
            "digituki_gateway_upstream_failures_total", upstream=replicas[0].url, kind="timeout"
        )
        assert timeouts == 1


async def test_an_oversize_body_gets_413_and_never_reaches_an_upstream(replicas: Replicas) -> None:
    limit = 64 * 1024

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * (limit // 4)

    async with gateway_for(*replicas, max_body_bytes=limit) as running:
        declared = await running.client.post(running.url("/echo/"), data=b"x" * (limit + 1))
        streamed = await running.client.post(running.url("/echo/"), data=chunks())
        fits = await running.client.post(running.url("/echo/"), data=b"x" * limit)
        assert (declared.status, streamed.status, fits.status) == (413, 413, 201)
        assert len((await fits.json())["body"]) == limit
    assert sum(r.hits["/echo"] for r in replicas) == 1


# --- WebSocket -------------------------------------------------------------------


async def test_websocket_frames_pass_both_ways_in_order(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        ws = await running.client.ws_connect(running.url(WIDGET_SOCKET), origin=ALLOWED_ORIGIN)
        assert running.sample("digituki_gateway_websockets_open") == 1
        for i in range(500):
            if i % 2:
                await ws.send_bytes(i.to_bytes(2, "big"))
            else:
                await ws.send_str(str(i))
        received = []
        for _ in range(500):
            message = await asyncio.wait_for(ws.receive(), 5)
            received.append(
                message.data
                if message.type == WSMsgType.TEXT
                else int.from_bytes(message.data, "big")
            )
        assert received == [f"a:{i}" if i % 2 == 0 else i for i in range(500)]
        assert replicas[0].origins == [ALLOWED_ORIGIN]

        await ws.close()
        await asyncio.wait_for(replicas[0].socket_closed.wait(), 3)
        await eventually(lambda: running.sample("digituki_gateway_websockets_open") == 0)


async def test_open_websockets_do_not_take_the_connections_http_needs(
    replicas: Replicas,
) -> None:
    async with gateway_for(*replicas, max_connections=2) as running:
        sockets = [
            await running.client.ws_connect(running.url(WIDGET_SOCKET), origin=ALLOWED_ORIGIN)
            for _ in range(4)
        ]
        answers = await asyncio.wait_for(running.whoami(4), 3)
        for ws in sockets:
            await ws.close()
    assert sorted(answers) == ["a", "a", "b", "b"]


async def test_a_websocket_the_upstream_refuses_gets_its_status(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await running.client.ws_connect(
                running.url(WIDGET_SOCKET), origin="https://evil.example"
            )
    assert refused.value.status == 403
    assert replicas[0].origins == ["https://evil.example"]


@pytest.mark.parametrize("how", ["close-me", "die"])
async def test_when_the_upstream_socket_goes_the_client_gets_1012(
    replicas: Replicas, how: str
) -> None:
    async with gateway_for(*replicas) as running:
        ws = await running.client.ws_connect(running.url(WIDGET_SOCKET), origin=ALLOWED_ORIGIN)
        await ws.send_str("first")
        assert (await asyncio.wait_for(ws.receive(), 3)).data == "a:first"
        await ws.send_str(how)
        messages = []
        while (message := await asyncio.wait_for(ws.receive(), 3)).type == WSMsgType.TEXT:
            messages.append(message.data)
        assert message.type == WSMsgType.CLOSE
        assert ws.close_code == 1012
        assert messages == (["bye"] if how == "close-me" else [])


async def test_stopping_the_gateway_closes_websockets_with_1001(replicas: Replicas) -> None:
    async with gateway_for(*replicas) as running:
        ws = await running.client.ws_connect(running.url(WIDGET_SOCKET), origin=ALLOWED_ORIGIN)
        stopping = asyncio.create_task(running.gateway.stop())
        message = await asyncio.wait_for(ws.receive(), 5)
        await asyncio.wait_for(stopping, 5)
    assert message.type == WSMsgType.CLOSE and ws.close_code == 1001
    await asyncio.wait_for(replicas[0].socket_closed.wait(), 3)


# --- metrics, logs, command line -----------------------------------------------------


async def scrape(running: Running) -> tuple[str, Callable[..., float | None]]:
    """``/metrics`` as text, and a look-up of one sample of pool ``rasa`` in it."""
    response = await running.client.get(running.admin("/metrics"))
    assert response.status == 200 and response.content_type == "text/plain"
    text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted({"pool": "rasa", **labels}.items()))))

    return text, value


async def test_metrics_count_requests_without_paths_or_queries(
    replicas: Replicas, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a, b = replicas
    async with gateway_for(a, b, health_interval=60) as running:
        await running.whoami(2)
        await running.client.get(running.url("/no/such/page?token=secret-token-123"))
        await running.client.post(
            running.url("/echo/x?token=secret-token-123"), json={"text": "my-secret-body"}
        )
        await a.stop()
        await running.whoami(1)
        ws = await running.client.ws_connect(running.url(WIDGET_SOCKET), origin=ALLOWED_ORIGIN)
        text, value = await scrape(running)
        assert value("digituki_gateway_websockets_open") == 1
        await ws.close()
        await eventually(lambda: running.sample("digituki_gateway_websockets_open") == 0)
        text, value = await scrape(running)
    requests = "digituki_gateway_requests_total"
    assert value(requests, method="GET", status_class="2xx") == 3
    assert value(requests, method="GET", status_class="4xx") == 1
    assert value(requests, method="POST", status_class="2xx") == 1
    assert value(requests, method="GET", status_class="1xx") == 1  # the WebSocket
    assert value("digituki_gateway_request_seconds_count") == 5  # HTTP only
    assert value("digituki_gateway_upstream_up", upstream=a.url) == 0
    assert value("digituki_gateway_upstream_up", upstream=b.url) == 1
    assert value("digituki_gateway_retries_total") == 1
    failures = "digituki_gateway_upstream_failures_total"
    assert sum(value(failures, upstream=a.url, kind=k) or 0 for k in ("connect", "reset")) == 1
    assert value("digituki_gateway_websockets_open") == 0
    assert "secret-token" not in text and "/no/such" not in text
    assert "secret-token" not in caplog.text and "my-secret-body" not in caplog.text
    assert f"upstream {a.url} is down" in caplog.text


async def test_with_a_token_the_metrics_need_it_and_health_does_not(replicas: Replicas) -> None:
    async with gateway_for(*replicas, metrics_token="metrics-secret") as running:
        refused = await running.client.get(running.admin("/metrics"))
        assert refused.status == 401 and "digituki" not in await refused.text()
        wrong = await running.client.get(
            running.admin("/metrics"), headers={"Authorization": "Bearer guess"}
        )
        assert wrong.status == 401
        given = await running.client.get(
            running.admin("/metrics"), headers={"Authorization": "Bearer metrics-secret"}
        )
        assert given.status == 200 and "digituki_gateway_requests" in await given.text()
        assert (await running.client.get(running.admin("/ready"))).status == 200
        assert "metrics-secret" not in repr(running.gateway.settings)


async def test_the_command_line_serves_and_stops_on_sigterm(replicas: Replicas) -> None:
    port, admin = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.gateway",
        "--pool",
        f"rasa=127.0.0.1:{port}",
        f"{replicas[0].url},{replicas[1].url}",
        "--health-path",
        "rasa=/",
        "--admin",
        f"127.0.0.1:{admin}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        async with aiohttp.ClientSession() as client:

            async def is_ready() -> bool:
                try:
                    return (await client.get(f"http://127.0.0.1:{admin}/ready")).status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await eventually(is_ready, timeout=15)
            answers = [
                await (await client.get(f"http://127.0.0.1:{port}/whoami")).text() for _ in range(2)
            ]
        assert sorted(answers) == ["a", "b"]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stdout is not None
    log = (await process.stdout.read()).decode()
    assert "pool rasa listens on" in log and "stopping" in log
