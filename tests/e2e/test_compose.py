"""The Compose deployment (``deploy/compose.yaml``), brought up with podman-compose.

Runs when ``DIGITUKI_IMAGE`` names a built image and the four service images are there
(``deploy/ci/build-image.sh`` and, on a machine without a registry, the stand-ins of
``deploy/ci/service-images.sh``)::

    DIGITUKI_IMAGE=localhost/digituki:ci pytest tests/e2e/test_compose.py -s

Otherwise it skips; with ``DIGITUKI_REQUIRE_IMAGE=1`` that skip is a failure.

The repository's ``compose.yaml`` and ``haproxy.cfg`` are copied into a folder of the test's
own with a generated ``.env`` (random secrets; Messenger on, its Graph API a fake on this
host; free host ports), and the stack runs under a project name of its own. What is
checked is what a person, a support worker and an operator would notice: every service
healthy by its own health check, a widget conversation through HAProxy ending in
provider cards, a signed Messenger delivery answered, a worker's console message
reaching a widget whose socket is on the other Rasa replica, no message lost while a
Rasa replica is killed, and ``down -v`` leaving nothing behind. It takes several minutes:
two Rasa replicas load the model. Prints the time to healthy, the messages sent and
answered, and the time to recover after the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench.stack import free_port
from bench.widget_load import SCRIPTS
from connectors.messenger_webhook import SIGNATURE_HEADER, sign
from tests.fake_graph_api import PAGE_ID, FakeGraphApi

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
IMAGE = os.environ.get("DIGITUKI_IMAGE", "")
SERVICE_IMAGES = (
    "docker.io/library/postgres:15",
    "docker.io/library/redis:7",
    "docker.io/library/rabbitmq:3",
    "docker.io/library/haproxy:2.6",
)
LONG_RUNNING = (
    "postgres", "redis", "rabbitmq", "haproxy", "actions-1", "actions-2", "rasa-1", "rasa-2",
    "events", "web",
)  # fmt: skip
"""Services with a health check, in the order they are asked (the cheap ones first)."""
DIGITUKI_SERVICES = ("migrate", "rasa-1", "rasa-2", "actions-1", "actions-2", "events", "web")
ORIGIN = "http://widget.example"
PSID = "7301"
HEALTHY_TIMEOUT_S = 1200
"""Two Rasa replicas load the model side by side: minutes on a busy two-core machine."""
QUEUED = "jonossa"
"""In the Finnish ``utter_in_queue``: the person was put in the queue."""


# --- the stack -----------------------------------------------------------------------


@dataclass
class ComposeStack:
    """One project of ``compose.yaml`` and its generated settings."""

    project: str
    folder: Path
    settings: dict[str, str]
    graph: FakeGraphApi
    healthy_after_s: float = 0.0

    def container(self, service: str) -> str:
        """podman-compose's name for the service's (first) container."""
        return f"{self.project}_{service}_1"

    def port(self, name: str) -> int:
        return int(self.settings[f"DIGITUKI_PUBLISH_{name}_PORT"])

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.port('RASA')}"

    @property
    def widget_url(self) -> str:
        return f"ws://127.0.0.1:{self.port('RASA')}/webhooks/widget/websocket"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port('WEB')}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.port('ADMIN')}"

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        """``podman-compose -p PROJECT ARGS`` in the stack's folder (its ``.env`` is there).

        The environment is a bare one: podman-compose fills ``${...}`` from the process
        environment too, and nothing of the caller's should reach the stack.
        """
        done = subprocess.run(
            ["podman-compose", "-p", self.project, "-f", str(self.folder / "compose.yaml"), *args],
            cwd=self.folder,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.folder / "podman-compose.log").open("a") as log:
            log.write(f"$ podman-compose {' '.join(args)}\n{done.stdout}{done.stderr}\n")
        if check:
            assert done.returncode == 0, f"podman-compose {args}: {done.stderr[-2000:]}"
        return done.stdout

    def haproxy_sessions(self) -> dict[str, dict[str, float]]:
        """Per Rasa replica, HAProxy's ``current_sessions`` and ``sessions_total``."""
        request = urllib.request.Request(
            f"{self.admin_url}/metrics",
            headers={"Authorization": f"Bearer {self.settings['DIGITUKI_METRICS_TOKEN']}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        found: dict[str, dict[str, float]] = {"rasa-1": {}, "rasa-2": {}}
        pattern = re.compile(
            r'^haproxy_server_(current_sessions|sessions_total)\{proxy="rasa",server="(rasa-\d)"\} (\S+)$',
            re.M,
        )
        for metric, server, value in pattern.findall(text):
            found[server][metric] = float(value)
        return found

    def sql(self, query: str) -> str:
        """One query's rows (``psql -tA``) in the stack's PostgreSQL."""
        return podman(
            "exec", self.container("postgres"), "psql", "-U", "digituki", "-d", "digituki",
            "-tAc", query,
        ).strip()  # fmt: skip


def podman(*args: str, timeout: float = 120, input_text: str | None = None) -> str:
    done = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def podman_ok(*args: str, timeout: float = 60) -> bool:
    try:
        done = subprocess.run(["podman", *args], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def require_tools() -> None:
    """Skips (or, with ``DIGITUKI_REQUIRE_IMAGE=1``, fails) saying what is missing."""
    reason = ""
    if not IMAGE:
        reason = "no image to test: set DIGITUKI_IMAGE (deploy/ci/build-image.sh builds one)"
    elif shutil.which("podman") is None or shutil.which("podman-compose") is None:
        reason = "podman and podman-compose are needed (deploy/ci/podman-setup.sh installs them)"
    elif not podman_ok("image", "exists", IMAGE):
        reason = f"the image {IMAGE} does not exist (deploy/ci/build-image.sh builds it)"
    else:
        missing = [name for name in SERVICE_IMAGES if not podman_ok("image", "exists", name)]
        if missing:
            reason = (
                f"service images missing: {', '.join(missing)} (podman pull them, or on a "
                "machine without a registry deploy/ci/service-images.sh builds stand-ins)"
            )
    if reason:
        if os.environ.get("DIGITUKI_REQUIRE_IMAGE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def generated_settings(graph: FakeGraphApi, graph_port: int) -> dict[str, str]:
    """The ``.env`` of the test's project: random secrets, free ports, Messenger on."""
    return {
        "DIGITUKI_IMAGE": IMAGE,
        "DIGITUKI_RASA_TOKEN": secrets.token_urlsafe(24),
        "DIGITUKI_ACTION_TOKEN": secrets.token_urlsafe(24),
        "DIGITUKI_METRICS_TOKEN": secrets.token_urlsafe(24),
        "DIGITUKI_POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "DIGITUKI_REDIS_PASSWORD": secrets.token_urlsafe(24),
        "DIGITUKI_RABBITMQ_PASSWORD": secrets.token_urlsafe(24),
        "DIGITUKI_PUBLISH_ADDRESS": "127.0.0.1",
        "DIGITUKI_PUBLISH_RASA_PORT": str(free_port()),
        "DIGITUKI_PUBLISH_WEB_PORT": str(free_port()),
        "DIGITUKI_PUBLISH_ADMIN_PORT": str(free_port()),
        "DIGITUKI_WIDGET_ORIGINS": ORIGIN,
        # Live help whenever a worker is there: hours are tested without a clock.
        "DIGITUKI_HANDOFF_HOURS": "24/7",
        "DIGITUKI_MESSENGER_PAGE_TOKEN": graph.token,
        "DIGITUKI_MESSENGER_APP_SECRET": secrets.token_urlsafe(24),
        "DIGITUKI_MESSENGER_VERIFY_TOKEN": secrets.token_urlsafe(24),
        # Podman names the host this way inside the containers (the network's gateway).
        "DIGITUKI_GRAPH_API_URL": f"http://host.containers.internal:{graph_port}",
        "DIGITUKI_GRAPH_API_VERSION": graph.version,
    }


@contextlib.contextmanager
def graph_api_serving(graph: FakeGraphApi, host: str, port: int) -> Iterator[None]:
    """The fake Graph API on ``host:port`` (the containers' way to this host), in a thread."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(graph.app())
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, host, port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-graph-api", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"the fake Graph API did not start on {host}:{port}")
    graph.url = f"http://{host}:{port}"
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def project_network_gateway(stack: ComposeStack) -> str:
    inspected = json.loads(podman("network", "inspect", f"{stack.project}_default"))
    return str(inspected[0]["subnets"][0]["gateway"])


def wait_until_healthy(stack: ComposeStack, started: float) -> None:
    """Until every service's own health check passes and the migration job has finished.

    Podman runs health checks from systemd timers; without systemd (CI containers)
    ``podman healthcheck run`` runs each one here, exactly as the timer would.
    """
    pending = list(LONG_RUNNING)
    deadline = started + HEALTHY_TIMEOUT_S
    migrated = False
    down: dict[str, int] = {}  # polls in a row a service was seen stopped (restarts take a moment)
    while True:
        pending = [s for s in pending if not podman_ok("healthcheck", "run", stack.container(s))]
        state = container_state(stack.container("migrate"))
        if state.get("Status") == "exited" and state.get("ExitCode") == 0:
            migrated = True
        if not pending and migrated:
            return
        for service in LONG_RUNNING:
            stopped = container_state(stack.container(service)).get("Status") != "running"
            down[service] = down.get(service, 0) + 1 if stopped else 0
        stopped_for_good = [s for s, polls in down.items() if polls >= 3]
        if stopped_for_good or time.monotonic() > deadline:
            logs = {s: podman_logs(stack.container(s), 30) for s in {*pending, *stopped_for_good}}
            pytest.fail(
                f"not healthy after {time.monotonic() - started:.0f} s: waiting for {pending}, "
                f"stopped {stopped_for_good}, migrate {state.get('Status')} "
                f"(exit code {state.get('ExitCode')})\n"
                + "\n".join(f"--- {s}\n{text}" for s, text in logs.items())
            )
        time.sleep(5)


def container_state(name: str) -> dict[str, Any]:
    done = subprocess.run(
        ["podman", "inspect", name, "--format", "{{json .State}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return dict(json.loads(done.stdout)) if done.returncode == 0 else {}


def podman_logs(name: str, lines: int | None = None) -> str:
    tail = ["--tail", str(lines)] if lines else []
    done = subprocess.run(
        ["podman", "logs", *tail, name], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


def project_leftovers(project: str, volumes: set[str]) -> dict[str, list[str]]:
    """The project's containers, volumes (labelled, or among ``volumes``) and networks."""
    label = f"label=io.podman.compose.project={project}"
    containers = podman("ps", "-a", "--filter", label, "--format", "{{.Names}}").split()
    listed = podman("volume", "ls", "--format", "{{.Name}}").split()
    labelled = podman("volume", "ls", "--filter", label, "--format", "{{.Name}}").split()
    networks = podman("network", "ls", "--filter", label, "--format", "{{.Name}}").split()
    return {
        "containers": containers,
        "volumes": sorted(set(labelled) | (volumes & set(listed))),
        "networks": networks,
    }


def take_down(stack: ComposeStack) -> list[str]:
    """``down -v``, then what it left; removes that too, so no run leaves anything behind.

    Returns notes for the report. Raises AssertionError when a container or a volume of
    the project outlived ``down -v``.
    """
    logs = stack.folder / "logs"
    logs.mkdir(exist_ok=True)
    mounted: set[str] = set()
    for name in podman("ps", "-a", "--filter", f"label=io.podman.compose.project={stack.project}",
                       "--format", "{{.Names}}").split():  # fmt: skip
        (logs / f"{name}.log").write_text(podman_logs(name))
        for mount in json.loads(podman("inspect", name, "--format", "{{json .Mounts}}")) or []:
            if mount.get("Type") == "volume":
                mounted.add(mount["Name"])
    stack.compose("down", "-v", timeout=600, check=False)
    left = project_leftovers(stack.project, mounted)
    notes = []
    if left["networks"]:
        # podman-compose 1.0.x does not remove the project's network on `down`
        # (docs/deploy.md says to remove it); later versions and Docker Compose do.
        notes.append(f"podman-compose down left the network(s) {left['networks']}: removed")
    for name in left["containers"]:
        subprocess.run(["podman", "rm", "-f", "-v", name], capture_output=True, check=False)
    for name in left["volumes"]:
        subprocess.run(["podman", "volume", "rm", "-f", name], capture_output=True, check=False)
    for name in left["networks"]:
        subprocess.run(["podman", "network", "rm", "-f", name], capture_output=True, check=False)
    after = project_leftovers(stack.project, mounted)
    assert after == {"containers": [], "volumes": [], "networks": []}, after
    assert not left["containers"] and not left["volumes"], f"down -v left {left}"
    return notes


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[ComposeStack]:
    require_tools()
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(COMPOSE_FILE, folder / "compose.yaml")
    (folder / "haproxy").mkdir()
    shutil.copy(HAPROXY_CONFIG, folder / "haproxy" / "haproxy.cfg")
    graph = FakeGraphApi(token=secrets.token_urlsafe(16), profiles={PSID: {"locale": "fi_FI"}})
    graph_port = free_port()
    settings = generated_settings(graph, graph_port)
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    running = ComposeStack(f"digituki-e2e-{uuid.uuid4().hex[:8]}", folder, settings, graph)
    started = time.monotonic()
    notes: list[str] = []
    try:
        running.compose("up", "-d", timeout=900)
        with graph_api_serving(graph, project_network_gateway(running), graph_port):
            wait_until_healthy(running, started)
            running.healthy_after_s = time.monotonic() - started
            yield running
    finally:
        notes = take_down(running)
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        for note in notes:
            if reporter is not None:
                reporter.write_line(f"compose: {note}")


# --- a widget and a worker, as the browser pages do it -------------------------------


class Closed(Exception):
    """The widget's socket went away."""


@dataclass
class Answer:
    """One message the person sent, and what became of it."""

    text: str
    sent_at: float
    handled_at: float | None = None
    error: str | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)


class Widget:
    """What ``web/widget.js`` does (docs/widget-protocol.md): ``hello`` with the session id
    and the last ``seq`` shown after every (re)connect, messages with an ``id`` sent again
    until ``handled`` or ``error`` comes, each bot message shown once and acknowledged."""

    def __init__(self, http: aiohttp.ClientSession, url: str, language: str = "fi") -> None:
        self.http = http
        self.url = url
        self.language = language
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.session_id: str | None = None
        self.last_seq = 0
        self.shown: list[dict[str, Any]] = []
        self.reconnects = 0
        self.missing = 0
        """Bot messages skipped (a ``seq`` jumped): lost messages."""
        self.waiting: Answer | None = None
        """The message sent and not handled yet."""

    async def connect(self, timeout: float = 120) -> None:
        """Connects through HAProxy and says hello; tries again until ``timeout``."""
        deadline = time.monotonic() + timeout
        pause = 0.2
        while True:
            try:
                if self.ws is not None:
                    await self.ws.close()
                self.ws = await self.http.ws_connect(
                    self.url, headers={"Origin": ORIGIN}, heartbeat=None
                )
                await self.ws.send_json(
                    {
                        "type": "hello",
                        "session_id": self.session_id,
                        "last_seq": self.last_seq,
                        "language": self.language,
                        "page_url": f"{ORIGIN}/",
                    }
                )
                while True:
                    frame = await self._frame(deadline)
                    if frame.get("type") == "welcome":
                        if frame["session_id"] != self.session_id:
                            self.last_seq = 0  # a new conversation numbers from 1
                        self.session_id = frame["session_id"]
                        return
                    self._show(frame)
            except (Closed, aiohttp.ClientError, OSError, asyncio.TimeoutError):
                if time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _frame(self, deadline: float) -> dict[str, Any]:
        if self.ws is None or self.ws.closed:
            raise Closed()
        message = await self.ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
        if message.type != aiohttp.WSMsgType.TEXT:
            raise Closed()
        frame = json.loads(message.data)
        return frame if isinstance(frame, dict) else {}

    def _show(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """A bot message not shown yet: shown and acknowledged; else None."""
        seq = frame.get("seq")
        if frame.get("type") != "message" or not isinstance(seq, int) or seq <= self.last_seq:
            return None
        self.missing += seq - self.last_seq - 1
        self.last_seq = seq
        self.shown.append(frame)
        if self.ws is not None and not self.ws.closed:
            ack = asyncio.ensure_future(self.ws.send_json({"type": "ack", "seq": seq}))
            ack.add_done_callback(lambda task: task.cancelled() or task.exception())
        return frame

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is None or self.ws.closed:
            raise Closed()
        try:
            await self.ws.send_json(frame)
        except (ConnectionResetError, RuntimeError) as error:
            raise Closed() from error

    async def say(self, text: str, timeout: float = 180) -> Answer:
        """Sends ``text``; returns when ``handled`` or ``error`` came, or at ``timeout``."""
        message_id = uuid.uuid4().hex
        answer = self.waiting = Answer(text, time.monotonic())
        deadline = answer.sent_at + timeout
        sent = False
        while time.monotonic() < deadline:
            try:
                if not sent:
                    await self._send({"type": "message", "text": text, "id": message_id})
                    sent = True
                frame = await self._frame(deadline)
            except asyncio.TimeoutError:
                break
            except (Closed, aiohttp.ClientError, OSError):
                self.reconnects += 1
                try:
                    await self.connect(deadline - time.monotonic())
                except (Closed, aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    break
                sent = False  # not handled yet: it goes again, with the same id
                continue
            if frame.get("id") == message_id and frame.get("type") == "handled":
                answer.handled_at = time.monotonic()
                break
            if frame.get("id") == message_id and frame.get("type") == "error":
                answer.error = str(frame.get("code"))
                break
            shown = self._show(frame)
            if shown is not None:
                answer.replies.append(shown)
        self.waiting = None
        return answer

    async def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        """The first bot message (shown already, or to come) that ``wanted`` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((m for m in self.shown if wanted(m)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no such message; shown: {[m.get('text') for m in self.shown]}"
                )
            try:
                self._show(await self._frame(deadline))
            except asyncio.TimeoutError:
                continue
            except (Closed, aiohttp.ClientError, OSError):
                self.reconnects += 1
                await self.connect(max(deadline - time.monotonic(), 1.0))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


class ConsoleWorker:
    """A support worker logged into the console, available, its live socket open."""

    def __init__(self, http: aiohttp.ClientSession, web_url: str, username: str, password: str):
        self.http = http
        self.web_url = web_url
        self.username = username
        self.password = password
        self.headers: dict[str, str] = {}
        self._socket: asyncio.Future[None] | None = None
        self.request_url = ""

    async def log_in(self) -> None:
        login = await self.http.post(
            f"{self.web_url}/api/v1/auth/login",
            json={"username": self.username, "password": self.password},
        )
        assert login.status == 200, await login.text()
        self.headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        available = await self.http.put(
            f"{self.web_url}/api/v1/me/availability", json={"available": True}, headers=self.headers
        )
        assert available.status in (200, 204), await available.text()
        self._socket = asyncio.ensure_future(self._console())

    async def _console(self) -> None:
        """The console page's live socket: while it is open, the worker is present."""
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                socket = await self.http.ws_connect(
                    f"{self.web_url}/api/v1/console/socket", headers={"Origin": self.web_url}
                )
                async for _ in socket:
                    pass
            await asyncio.sleep(0.5)

    async def claim(self, conversation_id: str, timeout: float = 60) -> None:
        """Takes the conversation's waiting request from the queue."""
        deadline = time.monotonic() + timeout
        while True:
            queue = await self.http.get(
                f"{self.web_url}/api/v1/handoff/queue", headers=self.headers
            )
            waiting = [
                r
                for r in (await queue.json())["waiting"]
                if r["conversation_id"] == conversation_id
            ]
            if waiting:
                break
            assert time.monotonic() < deadline, "the request never reached the queue"
            await asyncio.sleep(1)
        self.request_url = f"{self.web_url}/api/v1/handoff/requests/{waiting[0]['id']}"
        claim = await self.http.post(f"{self.request_url}/claim", headers=self.headers)
        assert claim.status == 200, await claim.text()

    async def write(self, text: str) -> None:
        sent = await self.http.post(
            f"{self.request_url}/messages", json={"text": text}, headers=self.headers
        )
        assert sent.status in (200, 201, 204), await sent.text()

    async def leave(self) -> None:
        if self._socket is not None:
            self._socket.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._socket


def add_worker(stack: ComposeStack) -> tuple[str, str]:
    """A console account made with the image's CLI in the running web container."""
    username = f"anna-{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(18)
    added = podman(
        "exec", "-i", stack.container("web"), "digituki-role", "cli", "agents", "add", username,
        "--name", "Anna", "--languages", "fi,sv,en",
        input_text=f"{password}\n",
    )  # fmt: skip
    assert f"added worker {username}" in added, added
    return username, password


def saying(text: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a bot message says exactly ``text``."""
    return lambda message: message.get("text") == text


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10):
            return 200
    except urllib.error.HTTPError as error:
        return error.code


# --- the checks ----------------------------------------------------------------------


def test_every_service_is_healthy_hardened_and_published_on_loopback_only(
    stack: ComposeStack, capsys: pytest.CaptureFixture[str]
) -> None:
    restarts = {
        service: count
        for service in (*LONG_RUNNING, "migrate")
        if (
            count := int(
                podman("inspect", stack.container(service), "--format", "{{.RestartCount}}")
            )
        )
    }
    memory = {
        service: podman(
            "stats", "--no-stream", "--format", "{{.MemUsage}}", stack.container(service)
        )
        .split("/")[0]
        .strip()
        for service in DIGITUKI_SERVICES
        if service != "migrate"  # a job, done by now
    }
    with capsys.disabled():
        print(
            f"\n  compose: every service healthy {stack.healthy_after_s:.0f} s after `up` "
            f"(restarted while the others started: {restarts or 'none'})"
        )
        print("  compose: memory when ready: " + ", ".join(f"{k} {v}" for k, v in memory.items()))
    for service in DIGITUKI_SERVICES:
        inspected = json.loads(podman("inspect", stack.container(service)))[0]
        assert inspected["Config"]["User"] == "10001", service
        assert inspected["HostConfig"]["ReadonlyRootfs"] is True, service
        assert "/tmp" in (inspected["HostConfig"].get("Tmpfs") or {}), service
    published: dict[str, list[str]] = {}
    for service in (*LONG_RUNNING, "migrate"):
        bindings = json.loads(
            podman(
                "inspect", stack.container(service), "--format", "{{json .HostConfig.PortBindings}}"
            )
        )
        published[service] = sorted(
            f"{b['HostIp']}:{b['HostPort']}"
            for found in (bindings or {}).values()
            for b in found or []
        )
    ports = {name: stack.port(name) for name in ("RASA", "WEB", "ADMIN")}
    assert {s: p for s, p in published.items() if p} == {
        "haproxy": sorted([f"127.0.0.1:{ports['RASA']}", f"127.0.0.1:{ports['ADMIN']}"]),
        "web": [f"127.0.0.1:{ports['WEB']}"],
    }
    token = {"Authorization": f"Bearer {stack.settings['DIGITUKI_METRICS_TOKEN']}"}
    assert status_of(f"{stack.admin_url}/ready") == 200
    assert status_of(f"{stack.admin_url}/metrics") == 401
    assert status_of(f"{stack.admin_url}/metrics", token) == 200
    assert status_of(f"{stack.web_url}/metrics") == 401
    # The demo providers are in: the web service's search finds Lieksa's.
    with urllib.request.urlopen(
        f"{stack.web_url}/api/v1/providers/search?municipality=Lieksa&topic=smartphone", timeout=30
    ) as response:
        found = json.load(response)["results"]
    assert any(r["id"].startswith("demo-lieksa") for r in found), found


async def test_a_widget_conversation_through_haproxy_ends_in_provider_cards(
    stack: ComposeStack,
) -> None:
    async with aiohttp.ClientSession() as http:
        widget = Widget(http, stack.widget_url)
        await widget.connect()
        await widget.wait_for(lambda m: bool(m.get("text")))  # the greeting
        cards: list[dict[str, Any]] = []
        for text in ("tarvitsen apua älypuhelimen käytössä", "asun Lieksassa", "paikan päällä"):
            answer = await widget.say(text)
            assert answer.handled_at is not None, (text, answer)
            cards += [c for reply in answer.replies for c in reply.get("cards") or []]
            if cards:
                break
        await widget.close()
    assert cards, [m.get("text") for m in widget.shown]
    assert all(c["id"].startswith("demo-") for c in cards), cards
    assert any("Lieksa" in c["address"] or "lieksa" in c["id"] for c in cards), cards
    # RabbitMQ brought the conversation's events to the events worker, which stored them.
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and stored == 0:
        stored = int(
            stack.sql(
                "select count(*) from conversation_events "
                f"where conversation_id = '{widget.session_id}' and sender = 'bot'"
            )
        )
        await asyncio.sleep(2)
    assert stored > 0


async def test_a_signed_messenger_delivery_is_answered_and_a_forged_one_refused(
    stack: ComposeStack,
) -> None:
    webhook = f"{stack.rasa_url}/webhooks/messenger/webhook"
    secret = stack.settings["DIGITUKI_MESSENGER_APP_SECRET"]
    now = int(time.time() * 1000)
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": PSID},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": now,
                            "message": {
                                "mid": f"m-compose-{uuid.uuid4().hex}",
                                "text": "hei, tarvitsen apua älypuhelimen kanssa",
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    async with aiohttp.ClientSession() as http:
        challenge = await http.get(
            webhook,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": stack.settings["DIGITUKI_MESSENGER_VERIFY_TOKEN"],
                "hub.challenge": "1234567",
            },
        )
        assert challenge.status == 200 and await challenge.text() == "1234567"
        headers = {"Content-Type": "application/json"}
        forged = await http.post(
            webhook, data=body, headers={**headers, SIGNATURE_HEADER: "sha256=" + "0" * 64}
        )
        assert forged.status == 403
        signed = await http.post(
            webhook, data=body, headers={**headers, SIGNATURE_HEADER: sign(body, secret)}
        )
        assert signed.status == 200, await signed.text()
    # The bot's answer went to the (fake) Graph API, in Finnish, accepted by its checks.
    deadline = time.monotonic() + 180
    while not stack.graph.messages_to(PSID):
        assert time.monotonic() < deadline, "no answer reached the Graph API"
        await asyncio.sleep(1)
    assert stack.graph.refused == []
    assert int(stack.sql(f"select count(*) from events where sender_id = '{PSID}'")) > 0


async def test_a_workers_message_reaches_a_widget_on_the_other_replica(
    stack: ComposeStack,
) -> None:
    username, password = add_worker(stack)
    # unsafe: the cookie jar keeps the cookies of an IP address host (127.0.0.1).
    async with (
        aiohttp.ClientSession() as http,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as console,
    ):
        worker = ConsoleWorker(console, stack.web_url, username, password)
        await worker.log_in()
        widget = Widget(http, stack.widget_url)
        try:
            await widget.connect()
            asked = await widget.say("haluan puhua ihmisen kanssa")
            assert any(QUEUED in (m.get("text") or "") for m in asked.replies), asked
            # The widget's socket is the one open session of HAProxy's Rasa pool.
            sessions = stack.haproxy_sessions()
            holder = [s for s, m in sessions.items() if m.get("current_sessions") == 1]
            assert len(holder) == 1, sessions
            other = "rasa-2" if holder[0] == "rasa-1" else "rasa-1"
            await worker.claim(str(widget.session_id))
            # The web service writes through HAProxy, which sends each request to the
            # replica with fewer connections: the other one. Until a message has gone
            # that way alone, the worker writes again (at most three times).
            crossed = []
            for number in range(1, 4):
                before = stack.haproxy_sessions()
                text = f"Hei, olen Anna digituesta ({number})."
                await worker.write(text)
                await widget.wait_for(saying(text))
                after = stack.haproxy_sessions()
                carried = {
                    s for s in after if after[s]["sessions_total"] > before[s]["sessions_total"]
                }
                if carried == {other}:
                    crossed.append(text)
                    break
            assert crossed, f"no worker's message went through {other} alone"
        finally:
            await widget.close()
            await worker.leave()


async def test_killing_a_rasa_replica_during_a_stream_of_messages_loses_none(
    stack: ComposeStack, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.wait_for(kill_during_stream(stack, capsys), timeout=900)


async def kill_during_stream(stack: ComposeStack, capsys: pytest.CaptureFixture[str]) -> None:
    widgets_count = 6
    answers: list[list[Answer]] = [[] for _ in range(widgets_count)]
    stop = asyncio.Event()

    async def person(number: int, widget: Widget) -> None:
        script = SCRIPTS[number % 3]  # greeting, need, place, form: again and again
        rng = random.Random(number)
        turn = 0
        while not stop.is_set():
            answers[number].append(await widget.say(script[turn % len(script)]))
            turn += 1
            # A person reads and types: under the widget's 10 messages in 10 seconds.
            await asyncio.sleep(rng.uniform(1.0, 2.5))

    def open_sockets() -> dict[str, float]:
        return {s: m.get("current_sessions", 0.0) for s, m in stack.haproxy_sessions().items()}

    async with aiohttp.ClientSession() as http:
        widgets = [Widget(http, stack.widget_url) for _ in range(widgets_count)]
        # One at a time: HAProxy's count of open sessions says which replica took each.
        victims = []
        for number, widget in enumerate(widgets):
            before = open_sockets()
            await widget.connect()
            after = open_sockets()
            if after["rasa-1"] > before["rasa-1"] and after["rasa-2"] == before["rasa-2"]:
                victims.append(number)
        assert victims, "no widget is on rasa-1"
        people = [asyncio.ensure_future(person(n, w)) for n, w in enumerate(widgets)]
        try:
            # Every widget has had answers; then the replica goes, without warning, while
            # one of its widgets' messages is on its way (when that comes within a minute).
            warm = time.monotonic() + 300
            while any(sum(a.handled_at is not None for a in mine) < 3 for mine in answers):
                assert time.monotonic() < warm, [len(mine) for mine in answers]
                assert not any(p.done() for p in people), [p.exception() for p in people]
                await asyncio.sleep(1)
            busy = time.monotonic() + 60
            while time.monotonic() < busy:
                sent = [widgets[n].waiting for n in victims if widgets[n].waiting is not None]
                if any(time.monotonic() - a.sent_at > 0.2 for a in sent if a is not None):
                    break
                await asyncio.sleep(0.02)
            reconnects_before = [w.reconnects for w in widgets]
            killed_at = time.monotonic()
            podman("kill", stack.container("rasa-1"))
            # Longer than a dead replica's claims and locks last (10 s and 30 s).
            await asyncio.sleep(60)
            assert status_of(f"{stack.admin_url}/ready") == 200  # rasa-2 serves alone
        finally:
            stop.set()
            outcomes = await asyncio.gather(*people, return_exceptions=True)
            for widget in widgets:
                await widget.close()
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    every = [a for mine in answers for a in mine]
    handled = [a for a in every if a.handled_at is not None]
    refused = [a for a in every if a.error is not None]
    lost = [a for a in every if a.handled_at is None and a.error is None]

    def on_the_way(a: Answer) -> bool:
        return a.sent_at < killed_at < (a.handled_at or float("inf"))

    caught = [a for n in victims for a in answers[n] if on_the_way(a)]
    # A widget whose replica was killed lost its socket and connected again.
    moved = [n for n, w in enumerate(widgets) if w.reconnects > reconnects_before[n]]
    recovered = {
        n: min(a.handled_at for a in mine if a.handled_at and a.handled_at > killed_at) - killed_at
        for n, mine in enumerate(answers)
        if any(a.handled_at and a.handled_at > killed_at for a in mine)
    }
    slowest = max((recovered[n] for n in victims if n in recovered), default=float("nan"))
    waited = max(((a.handled_at or killed_at) - killed_at for a in caught), default=0.0)
    with capsys.disabled():
        print(
            f"\n  compose: {widgets_count} widgets, {len(victims)} of them on rasa-1, killed "
            f"with {len(caught)} of their messages on the way: {len(every)} messages sent, "
            f"{len(handled)} answered, {len(refused)} refused with a clear error, {len(lost)} "
            f"lost; {sum(w.reconnects for w in widgets)} reconnects; the widgets of rasa-1 "
            f"answered again through rasa-2 within {slowest:.1f} s of the kill (the message "
            f"caught on the way: {waited:.1f} s)"
        )
    assert lost == [], [(a.text, a.sent_at - killed_at) for a in lost]
    assert {a.error for a in refused} <= {"unavailable"}, [a.error for a in refused]
    assert sorted(recovered) == list(range(widgets_count)), "a widget got no answer after the kill"
    assert set(victims) <= set(moved), (victims, moved)
    assert sum(w.missing for w in widgets) == 0
