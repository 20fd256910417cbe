"""HAProxy with our configuration (``deploy/haproxy/haproxy.cfg``) in front of fake replicas.

What the production profile relies on, on real sockets: requests take turns, a stopped
replica is skipped at once and leaves rotation, a busy one (late health checks) stays,
a request a replica received is never sent twice, WebSockets pass both ways and close
when their replica goes (the widget then reconnects to another), oversize bodies are
refused, and the metrics need the token. The times are the configuration's own
(checks every 2 s, 3 failures to leave rotation), so some tests wait several seconds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from bench.stack import free_port
from bot.config import ConfigError
from bot.ops.haproxy import (
    Upstream,
    haproxy_command,
    haproxy_env,
    haproxy_executable,
    write_local_config,
)

ORIGIN = "https://www.example.fi"
WIDGET_SOCKET = "/webhooks/widget/websocket"
METRICS_TOKEN = "haproxy-test-metrics-token"


def require_haproxy() -> None:
    try:
        haproxy_executable()
        return
    except ConfigError:
        message = "HAProxy is not installed (apt-get install haproxy): its tests cannot run"
    if os.environ.get("DIGITUKI_REQUIRE_HAPROXY") == "1":
        pytest.fail(message)
    pytest.skip(message)


class FakeReplica:
    """A replica: says its name, echoes requests, dies or dawdles on demand, has a WebSocket."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.ready_status = 200
        self.ready_delay = 0.0
        self.drop_upgrades = False
        self.hits: Counter[str] = Counter()
        self.origins: list[str | None] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listens, on the same port as before after a :meth:`stop`."""
        app = web.Application()
        app.router.add_get("/", self._ready)  # Rasa's root: the model is loaded
        app.router.add_get("/health", self._ready)  # the action server's
        app.router.add_route("*", "/whoami", self._whoami)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_post("/die", self._die)
        app.router.add_get(WIDGET_SOCKET, self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _ready(self, _: web.Request) -> web.Response:
        await asyncio.sleep(self.ready_delay)
        return web.Response(text="ready", status=self.ready_status)

    async def _whoami(self, request: web.Request) -> web.Response:
        self.hits["/whoami"] += 1
        return web.Response(text=self.name)

    async def _echo(self, request: web.Request) -> web.Response:
        self.hits["/echo"] += 1
        body = await request.read()
        return web.json_response(
            {
                "forwarded_for": request.headers.getall("X-Forwarded-For", []),
                "body": body.decode(),
                "name": self.name,
            }
        )

    async def _die(self, request: web.Request) -> web.Response:
        self.hits["/die"] += 1
        assert request.transport is not None
        request.transport.abort()  # gone before answering
        return web.Response(text=self.name)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        self.origins.append(origin)
        if self.drop_upgrades:  # killed between accepting and answering
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if origin != ORIGIN:
            return web.json_response({"error": "origin not allowed"}, status=403)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "die":
                assert request.transport is not None
                request.transport.abort()
                break
            if message.type == WSMsgType.TEXT:
                await ws.send_str(f"{self.name}:{message.data}")
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws


class Proxy:
    """HAProxy running our configuration, and a client session to talk to it."""

    def __init__(self, entry: int, admin: int, client: aiohttp.ClientSession) -> None:
        self.entry = entry
        self.admin = admin
        self.client = client

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.entry}{path}"

    async def whoami(self, times: int) -> list[str]:
        answers = []
        for _ in range(times):
            async with self.client.get(self.url("/whoami")) as response:
                assert response.status == 200, await response.text()
                answers.append(await response.text())
        return answers

    async def metrics(self) -> str:
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with self.client.get(self.admin_url("/metrics"), headers=headers) as response:
            assert response.status == 200
            return await response.text()

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin}{path}"

    async def in_rotation(self, replica: FakeReplica) -> bool:
        """HAProxy counts the replica as UP (its Prometheus ``haproxy_server_status``)."""
        line = f'haproxy_server_status{{proxy="rasa",server="{replica.name}",state="UP"}} 1'
        return line in await self.metrics()


Replicas = tuple[FakeReplica, FakeReplica]


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    a, b = FakeReplica("rasa-1"), FakeReplica("rasa-2")
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()


@pytest.fixture
def haproxy_process(replicas: Replicas, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """HAProxy with both pools on the fake replicas; (entry port, admin port)."""
    require_haproxy()
    entry, actions, admin = free_port(), free_port(), free_port()
    config = write_local_config(
        tmp_path / "haproxy.cfg",
        {
            "rasa": [Upstream(r.name, f"127.0.0.1:{r.port}") for r in replicas],
            "actions": [Upstream(f"actions-{n}", f"127.0.0.1:{r.port}") for n, r in enumerate(replicas, 1)],
        },
    )  # fmt: skip
    env = {
        **os.environ,
        **haproxy_env(f"127.0.0.1:{entry}", f"127.0.0.1:{actions}", f"127.0.0.1:{admin}"),
        "DIGITUKI_METRICS_TOKEN": METRICS_TOKEN,
    }
    log = (tmp_path / "haproxy.log").open("wb")
    process = subprocess.Popen(haproxy_command(config), env=env, stdout=log, stderr=log)
    try:
        yield entry, admin
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
async def proxy(haproxy_process: tuple[int, int]) -> AsyncIterator[Proxy]:
    entry, admin = haproxy_process
    async with aiohttp.ClientSession() as client:
        running = Proxy(entry, admin, client)

        async def ready() -> bool:
            try:
                async with client.get(running.admin_url("/ready")) as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False

        await eventually(ready, timeout=15)
        yield running


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0) -> None:
    """Waits until ``check()`` is true; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not true within {timeout} s: {check}")
        await asyncio.sleep(0.1)


# --- HTTP ------------------------------------------------------------------------


async def test_requests_take_turns_and_carry_the_clients_address(
    proxy: Proxy, replicas: Replicas
) -> None:
    answers = await proxy.whoami(6)
    assert Counter(answers) == {"rasa-1": 3, "rasa-2": 3}
    response = await proxy.client.post(
        proxy.url("/echo"), data=b"hello", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    echo = await response.json()
    # HAProxy adds the address it saw as one more header, after the client's own
    # (bot/web/forwarded.py reads them all in order): DIGITUKI_PROXY_HOPS counts one hop.
    assert echo["forwarded_for"] == ["203.0.113.9", "127.0.0.1"]
    assert echo["body"] == "hello"


async def test_a_stopped_replica_is_skipped_at_once_and_leaves_rotation(
    proxy: Proxy, replicas: Replicas
) -> None:
    a, b = replicas
    await a.stop()
    # No error for anyone: a refused connection is retried on the other replica.
    assert await proxy.whoami(10) == ["rasa-2"] * 10
    await eventually(lambda: _not(proxy.in_rotation(a)))
    assert await proxy.in_rotation(b)
    await a.start()
    await eventually(lambda: proxy.in_rotation(a))
    assert set(await proxy.whoami(6)) == {"rasa-1", "rasa-2"}


async def test_a_replica_not_ready_leaves_rotation_and_none_ready_is_a_503(
    proxy: Proxy, replicas: Replicas
) -> None:
    a, b = replicas
    a.ready_status = 503  # a replica answering, but with errors
    await eventually(lambda: _not(proxy.in_rotation(a)))
    assert await proxy.whoami(4) == ["rasa-2"] * 4
    b.ready_status = 503
    await eventually(lambda: _not(proxy.in_rotation(b)))
    response = await proxy.client.get(proxy.url("/whoami"))
    assert response.status == 503
    assert (await proxy.client.get(proxy.admin_url("/ready"))).status == 503
    a.ready_status = 200
    await eventually(lambda: proxy.in_rotation(a))
    assert (await proxy.client.get(proxy.admin_url("/ready"))).status == 200


async def test_a_busy_replica_answering_its_checks_late_stays_in_rotation(
    proxy: Proxy, replicas: Replicas
) -> None:
    a, _ = replicas
    a.ready_delay = 4.0  # a replica working through a burst of messages
    await asyncio.sleep(14)  # several checks, each answered after 4 s
    assert await proxy.in_rotation(a)
    assert "rasa-1" in await proxy.whoami(6)


async def test_a_post_whose_replica_dies_gets_an_error_and_is_not_sent_again(
    proxy: Proxy, replicas: Replicas
) -> None:
    response = await proxy.client.post(proxy.url("/die"), json={"text": "hei"})
    assert response.status in (502, 503)
    assert sum(r.hits["/die"] for r in replicas) == 1


async def test_a_declared_body_over_4_mb_is_refused_before_any_replica(
    proxy: Proxy, replicas: Replicas
) -> None:
    limit = 4 * 1024 * 1024
    refused = await proxy.client.post(proxy.url("/echo"), data=b"x" * (limit + 1))
    fits = await proxy.client.post(proxy.url("/echo"), data=b"x" * 1000)
    assert (refused.status, fits.status) == (413, 200)
    assert sum(r.hits["/echo"] for r in replicas) == 1


async def test_the_metrics_need_the_token_and_health_does_not(proxy: Proxy) -> None:
    refused = await proxy.client.get(proxy.admin_url("/metrics"))
    assert refused.status == 401 and "haproxy_" not in await refused.text()
    wrong = await proxy.client.get(
        proxy.admin_url("/metrics"), headers={"Authorization": "Bearer guess"}
    )
    assert wrong.status == 401
    assert "haproxy_backend_http_requests_total" in await proxy.metrics()
    assert (await proxy.client.get(proxy.admin_url("/health"))).status == 200


# --- WebSocket -------------------------------------------------------------------


async def test_websocket_frames_pass_both_ways_in_order(proxy: Proxy, replicas: Replicas) -> None:
    ws = await proxy.client.ws_connect(proxy.url(WIDGET_SOCKET), origin=ORIGIN)
    for i in range(300):
        if i % 2:
            await ws.send_bytes(i.to_bytes(2, "big"))
        else:
            await ws.send_str(str(i))
    received = []
    for _ in range(300):
        message = await asyncio.wait_for(ws.receive(), 5)
        received.append(
            message.data.split(":")[1]
            if message.type == WSMsgType.TEXT
            else int.from_bytes(message.data, "big")
        )
    await ws.close()
    assert received == [str(i) if i % 2 == 0 else i for i in range(300)]
    assert ORIGIN in replicas[0].origins + replicas[1].origins


async def test_a_websocket_the_replica_refuses_gets_its_status(
    proxy: Proxy, replicas: Replicas
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await proxy.client.ws_connect(proxy.url(WIDGET_SOCKET), origin="https://evil.example")
    assert refused.value.status == 403


async def test_when_its_replica_goes_the_socket_closes_and_a_new_one_reaches_the_other(
    proxy: Proxy, replicas: Replicas
) -> None:
    ws = await proxy.client.ws_connect(proxy.url(WIDGET_SOCKET), origin=ORIGIN)
    await ws.send_str("first")
    first = await asyncio.wait_for(ws.receive(), 5)
    name = first.data.split(":")[0]
    gone = next(r for r in replicas if r.name == name)
    await gone.stop()  # the replica's process ends
    message = await asyncio.wait_for(ws.receive(), 10)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
    # The widget reconnects: the new socket reaches the replica that is left.
    again = await proxy.client.ws_connect(proxy.url(WIDGET_SOCKET), origin=ORIGIN)
    await again.send_str("again")
    answer = await asyncio.wait_for(again.receive(), 5)
    await again.close()
    assert answer.data.split(":")[0] != name


async def test_an_upgrade_whose_replica_dies_before_answering_reaches_the_other(
    proxy: Proxy, replicas: Replicas
) -> None:
    dying, other = replicas
    dying.drop_upgrades = True  # killed while HAProxy still has it in rotation
    for n in range(4):
        ws = await proxy.client.ws_connect(proxy.url(WIDGET_SOCKET), origin=ORIGIN)
        await ws.send_str(f"hello {n}")
        answer = await asyncio.wait_for(ws.receive(), 5)
        await ws.close()
        assert answer.data == f"{other.name}:hello {n}"
    assert dying.origins  # HAProxy did try it, and sent the upgrade again elsewhere


async def _not(check: Awaitable[bool]) -> bool:
    return not await check
