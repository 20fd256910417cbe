"""Health, readiness and Prometheus metrics for processes whose HTTP server is not ours.

The Rasa server, the action server and the events worker get a small side server on
its own port (``DIGITUKI_METRICS_PORT``), served from a daemon thread so it answers
whatever their event loop is doing:

* ``GET /health``: 200 while the process runs.
* ``GET /ready``: 200 when every readiness check passes within its time, else 503
  naming the failing ones, so a load balancer sends no one to a replica that cannot
  serve.
* ``GET /metrics``: the process' Prometheus registry in the text format (the
  counters below, CPU, memory, open files); with ``DIGITUKI_METRICS_TOKEN`` set it
  needs ``Authorization: Bearer <token>``.

Metrics are per process: run each Rasa or action server with one Sanic worker
(the default) and scale by processes, each with its own port.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import urlsplit

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.config import ConfigError, load_settings
from bot.db.engine import make_engine
from bot.logs import service_name

__all__ = [
    "ACTION_RUNS",
    "ACTION_SECONDS",
    "LOG_ERRORS",
    "MESSAGES",
    "MESSAGE_ERRORS",
    "MESSAGE_SECONDS",
    "Check",
    "ErrorCountingHandler",
    "SideServer",
    "count_log_errors",
    "database_check",
    "redis_check",
    "start_process_observability",
    "start_side_server",
    "tcp_check",
]

log = logging.getLogger(__name__)

Check = Callable[[], bool]
"""A readiness check: True when ready; False, an exception or no answer in time: not."""

CHECK_TIMEOUT_S = 2.0

# --- metrics shared by the processes ------------------------------------------
# Labels are bounded sets (channels, directions, action names, logger prefixes):
# never a sender, a text or a path.

MESSAGES = Counter(
    "digituki_messages", "Messages by channel and direction (in, out)", ["channel", "direction"]
)
MESSAGE_SECONDS = Histogram(
    "digituki_message_handling_seconds",
    "Time from a person's message to the bot's last answer, by channel",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60),
)
MESSAGE_ERRORS = Counter(
    "digituki_message_errors", "Messages whose handling failed, by channel", ["channel"]
)
ACTION_RUNS = Counter(
    "digituki_action_runs",
    "Custom action runs by action (unknown: not registered) and outcome (ok, rejected, error)",
    ["action", "outcome"],
)
ACTION_SECONDS = Histogram(
    "digituki_action_seconds",
    "Time a custom action takes, by action",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LOG_ERRORS = Counter(
    "digituki_log_errors",
    "Log records at ERROR or above, by the first two parts of the logger's name",
    ["logger"],
)


class ErrorCountingHandler(logging.Handler):
    """Counts ERROR and CRITICAL records in :data:`LOG_ERRORS`; prints nothing."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        LOG_ERRORS.labels(".".join(record.name.split(".")[:2])).inc()


def count_log_errors() -> None:
    """Puts an :class:`ErrorCountingHandler` on the root logger (once).

    Loggers that do not propagate (Sanic's) are not counted.
    """
    root = logging.getLogger()
    if not any(isinstance(h, ErrorCountingHandler) for h in root.handlers):
        root.addHandler(ErrorCountingHandler())


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <token>`` (compared in constant time).

    The scheme is required (a bare token is refused) and an empty ``token`` matches
    nothing; header bytes that are not text are compared as they came, never raised on.
    """
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )


# --- readiness checks ---------------------------------------------------------


def database_check(url: str) -> Check:
    """``SELECT 1`` on the database at ``url``; the engine is made on the first check."""
    engine: Engine | None = None
    lock = threading.Lock()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if make_url(url).get_backend_name() == "postgresql":
        kwargs.update(pool_size=1, max_overflow=0, connect_args={"connect_timeout": 2})

    def check() -> bool:
        nonlocal engine
        with lock:
            if engine is None:
                engine = make_engine(url, **kwargs)
        with engine.connect() as connection:
            return connection.execute(text("select 1")).scalar_one() == 1

    return check


def redis_check(url: str) -> Check:
    """``PING`` to the Redis at ``url``, one-second timeouts; one client reused."""
    client: Any = None

    def check() -> bool:
        nonlocal client
        if client is None:
            import redis  # the Rasa server's lock store client; only needed here

            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        return bool(client.ping())

    return check


def tcp_check(host: str, port: int, timeout_s: float = 1.0) -> Check:
    """Something accepts connections at ``host:port`` (RabbitMQ, HAProxy)."""

    def check() -> bool:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True

    return check


@dataclass
class _Run:
    """One run of a check in its own thread; ``problem`` says why it did not pass."""

    done: threading.Event = field(default_factory=threading.Event)
    problem: str | None = "no answer yet"


class _Readiness:
    """Runs the checks side by side, each in a daemon thread, with one deadline.

    A check still running from an earlier request is waited for, not started again,
    so a hung database costs one thread, not one per probe. Daemon threads, so a
    hung check never holds the process at exit.
    """

    def __init__(self, checks: Mapping[str, Check], timeout_s: float) -> None:
        self.checks = dict(checks)
        self.timeout_s = timeout_s
        self._running: dict[str, _Run] = {}
        self._failing: set[str] = set()
        self._lock = threading.Lock()

    def failing(self) -> list[str]:
        """Names of the checks that did not pass, in their order."""
        with self._lock:
            runs = {name: self._run(name) for name in self.checks}
        deadline = time.monotonic() + self.timeout_s
        problems = {}
        for name, run in runs.items():
            if not run.done.wait(max(0.0, deadline - time.monotonic())):
                problems[name] = f"no answer in {self.timeout_s:g} s"
            elif run.problem is not None:
                problems[name] = run.problem
        self._note_changes(problems)
        return list(problems)

    def _run(self, name: str) -> _Run:
        run = self._running.get(name)
        if run is not None and not run.done.is_set():
            return run
        run = self._running[name] = _Run()
        check = self.checks[name]

        def target() -> None:
            try:
                run.problem = None if check() is True else "answered not ready"
            except Exception as error:  # any failure of a dependency means "not ready"
                run.problem = f"{type(error).__name__}: {error}"
            finally:
                run.done.set()

        threading.Thread(target=target, name=f"ready-{name}", daemon=True).start()
        return run

    def _note_changes(self, problems: Mapping[str, str]) -> None:
        """Logs when a check starts or stops failing, not at every probe."""
        with self._lock:
            started = {n: p for n, p in problems.items() if n not in self._failing}
            stopped = self._failing - set(problems)
            self._failing = set(problems)
        for name, problem in started.items():
            log.warning("not ready: %s: %s", name, problem)
        for name in sorted(stopped):
            log.info("ready again: %s", name)


# --- the side server ------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Serves each request in a daemon thread (so a hung check never blocks exit)."""

    def __init__(
        self, address: tuple[str, int], service: str, readiness: _Readiness, token: str
    ) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.readiness = readiness
        self.token = token


class _Handler(BaseHTTPRequestHandler):
    server_version = "digituki-observability"

    def do_GET(self) -> None:
        server = cast(_Server, self.server)
        path = urlsplit(self.path).path
        if path == "/health":
            self._json(200, {"status": "ok", "service": server.service})
        elif path == "/ready":
            failing = server.readiness.failing()
            if failing:
                body = {"status": "not ready", "service": server.service, "failing": failing}
                self._json(503, body)
            else:
                self._json(200, {"status": "ready", "service": server.service})
        elif path == "/metrics":
            if server.token and not self._authorized(server.token):
                self._json(401, {"error": "unauthorized"})
            else:
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        else:
            self._json(404, {"error": "not found"})

    def _authorized(self, token: str) -> bool:
        return bearer_matches(self.headers.get("Authorization", ""), token)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionResetError, BrokenPipeError):
            # HAProxy's health checks hang up as soon as they have read the status.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # Probes come every few seconds: not worth a line each (the default prints to stderr).
        log.debug("%s " + format, self.address_string(), *args)


@dataclass
class SideServer:
    """A running side server; :meth:`stop` ends it."""

    service: str
    host: str
    port: int
    _server: _Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def start_side_server(
    host: str,
    port: int,
    service: str,
    checks: Mapping[str, Check],
    *,
    metrics_token: str = "",
    check_timeout_s: float = CHECK_TIMEOUT_S,
) -> SideServer:
    """Serves ``/health``, ``/ready`` and ``/metrics`` at ``host:port`` (0: any free port)."""
    server = _Server((host, port), service, _Readiness(checks, check_timeout_s), metrics_token)
    thread = threading.Thread(
        target=server.serve_forever, name=f"observability-{service}", daemon=True
    )
    thread.start()
    actual_port = int(server.server_address[1])
    log.info("health, readiness and metrics of %s on http://%s:%d", service, host, actual_port)
    return SideServer(service, host, actual_port, server, thread)


_process_server: SideServer | None = None
_process_lock = threading.Lock()


def start_process_observability(service: str, checks: Mapping[str, Check]) -> SideServer | None:
    """The side server of this process, if ``DIGITUKI_METRICS_PORT`` asks for one.

    Listens on ``DIGITUKI_METRICS_HOST`` (default 127.0.0.1; 0.0.0.0 in a container
    probed from outside) and counts error log lines. ``service`` is the process kind
    (``rasa``, ``actions``, ``events``), ``DIGITUKI_SERVICE_NAME`` overriding it. Without
    the port it does nothing and returns None; started once per process, later calls
    return the running server.
    """
    global _process_server
    raw_port = os.environ.get("DIGITUKI_METRICS_PORT", "").strip()
    if not raw_port:
        return None
    try:
        port = int(raw_port)
    except ValueError:
        raise ConfigError(f"DIGITUKI_METRICS_PORT={raw_port!r}: expected a port number") from None
    host = os.environ.get("DIGITUKI_METRICS_HOST", "").strip() or "127.0.0.1"
    with _process_lock:
        if _process_server is None:
            count_log_errors()
            _process_server = start_side_server(
                host,
                port,
                service_name(service),
                checks,
                metrics_token=load_settings().metrics_token,
            )
        return _process_server
