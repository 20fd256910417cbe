"""The side server (/health, /ready, /metrics), its readiness checks against real
services, and a real action server started the way production starts it."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import rasa
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rasa_sdk import ActionExecutionRejection
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionNotFoundException

import bot.observability as observability
from actions.metrics import count_action_runs
from bench.stack import Processes, free_port
from bot.config import ConfigError
from bot.logs import write_logging_config
from bot.observability import (
    MESSAGES,
    Check,
    ErrorCountingHandler,
    SideServer,
    count_log_errors,
    database_check,
    redis_check,
    start_process_observability,
    start_side_server,
    tcp_check,
)
from bot.ops.run import action_server_command

REDIS_URL = "redis://127.0.0.1:6379/0"


def fetch(
    url: str, *, data: Any = None, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """Status and body of a GET (or a JSON POST with ``data``), errors included."""
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def side_server() -> Iterator[Callable[..., SideServer]]:
    """Factory: a side server on a free port with the given checks; stopped afterwards."""
    started: list[SideServer] = []

    def start(checks: Mapping[str, Check], **kwargs: Any) -> SideServer:
        started.append(start_side_server("127.0.0.1", 0, "rasa-1", checks, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def fails(message: str) -> Check:
    def check() -> bool:
        raise ConnectionError(message)

    return check


# --- the side server ------------------------------------------------------------


def test_health_answers_with_the_service_name(side_server: Callable[..., SideServer]) -> None:
    server = side_server({})

    status, body = fetch(f"{server.url}/health")

    assert status == 200
    assert json.loads(body) == {"status": "ok", "service": "rasa-1"}


def test_ready_names_every_check_that_fails_or_raises(
    side_server: Callable[..., SideServer],
) -> None:
    server = side_server(
        {"database": lambda: True, "redis": lambda: False, "broker": fails("refused")}
    )

    status, body = fetch(f"{server.url}/ready")

    assert status == 503
    assert json.loads(body) == {
        "status": "not ready",
        "service": "rasa-1",
        "failing": ["redis", "broker"],
    }


def test_a_failing_check_is_logged_once_with_its_reason_and_its_recovery(
    side_server: Callable[..., SideServer], caplog: pytest.LogCaptureFixture
) -> None:
    broker_up = False

    def broker() -> bool:
        if not broker_up:
            raise ConnectionRefusedError("[Errno 111] Connection refused")
        return True

    server = side_server({"broker": broker})
    with caplog.at_level(logging.INFO, logger="bot.observability"):
        fetch(f"{server.url}/ready")
        fetch(f"{server.url}/ready")
        broker_up = True
        fetch(f"{server.url}/ready")

    assert [r.getMessage() for r in caplog.records if r.name == "bot.observability"] == [
        "not ready: broker: ConnectionRefusedError: [Errno 111] Connection refused",
        "ready again: broker",
    ]


def test_ready_when_every_check_passes(side_server: Callable[..., SideServer]) -> None:
    server = side_server({"database": lambda: True, "redis": lambda: True})

    status, body = fetch(f"{server.url}/ready")

    assert (status, json.loads(body)["status"]) == (200, "ready")


def test_a_hung_check_is_not_ready_in_time_and_not_started_again(
    side_server: Callable[..., SideServer],
) -> None:
    release = threading.Event()
    calls: list[float] = []

    def hangs() -> bool:
        calls.append(time.monotonic())
        return release.wait(30)

    server = side_server({"database": hangs, "redis": lambda: True}, check_timeout_s=0.5)
    try:
        started = time.monotonic()
        first = fetch(f"{server.url}/ready")
        second = fetch(f"{server.url}/ready")
        elapsed = time.monotonic() - started
    finally:
        release.set()

    for status, body in (first, second):
        assert status == 503
        assert json.loads(body)["failing"] == ["database"]
    assert elapsed < 3
    assert len(calls) == 1  # the second probe waited for the first run


def test_metrics_give_ours_and_the_process(side_server: Callable[..., SideServer]) -> None:
    server = side_server({})
    MESSAGES.labels("widget", "in").inc()

    status, body = fetch(f"{server.url}/metrics")

    assert status == 200
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {"digituki_messages", "digituki_message_handling_seconds"} <= names
    assert {"digituki_action_runs", "digituki_log_errors"} <= names
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds"} <= names


def test_metrics_need_the_token_when_one_is_set(side_server: Callable[..., SideServer]) -> None:
    server = side_server({}, metrics_token="s3cret-token")

    assert fetch(f"{server.url}/metrics")[0] == 401
    assert fetch(f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
    status, body = fetch(f"{server.url}/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert status == 200 and b"process_open_fds" in body
    assert fetch(f"{server.url}/health")[0] == 200  # probes need no token


def test_other_paths_are_not_found(side_server: Callable[..., SideServer]) -> None:
    server = side_server({})

    assert fetch(f"{server.url}/")[0] == 404
    assert fetch(f"{server.url}/metrics/../admin")[0] == 404


# --- error log lines are counted ------------------------------------------------------


def test_error_log_lines_are_counted_by_logger_prefix() -> None:
    count_log_errors()
    count_log_errors()
    root = logging.getLogger()
    try:
        assert sum(isinstance(h, ErrorCountingHandler) for h in root.handlers) == 1
        before = sample("digituki_log_errors_total", logger="rasa.core")

        logging.getLogger("rasa.core.processor").error("could not run action_x")
        logging.getLogger("rasa.core.actions.action").critical("gave up")
        logging.getLogger("rasa.core.processor").warning("slow")

        assert sample("digituki_log_errors_total", logger="rasa.core") == before + 2
    finally:
        for handler in [h for h in root.handlers if isinstance(h, ErrorCountingHandler)]:
            root.removeHandler(handler)


# --- readiness checks against real services ------------------------------------------


def test_database_check_on_sqlite(tmp_path: Path, side_server: Callable[..., SideServer]) -> None:
    good = database_check(f"sqlite:///{tmp_path / 'digituki.db'}")
    missing_folder = database_check(f"sqlite:///{tmp_path / 'nowhere' / 'digituki.db'}")

    assert good() is True
    assert good() is True  # the same engine, again
    server = side_server({"database": good, "old_database": missing_folder})
    status, body = fetch(f"{server.url}/ready")
    assert (status, json.loads(body)["failing"]) == (503, ["old_database"])


@pytest.mark.postgres
def test_database_check_on_postgresql(postgres_schema_url: str) -> None:
    assert database_check(postgres_schema_url)() is True


def test_database_check_on_a_postgresql_that_is_not_there(
    side_server: Callable[..., SideServer],
) -> None:
    check = database_check(f"postgresql+psycopg2://root@127.0.0.1:{free_port()}/test")
    server = side_server({"database": check})

    status, body = fetch(f"{server.url}/ready")

    assert (status, json.loads(body)["failing"]) == (503, ["database"])


def test_redis_check_on_the_real_redis() -> None:
    check = redis_check(REDIS_URL)
    try:
        ok = check()
    except Exception as error:  # the server is not part of every set-up
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(error).__name__}: {error})")
    assert ok is True


def test_redis_check_on_a_closed_port_is_not_ready(
    side_server: Callable[..., SideServer],
) -> None:
    server = side_server({"redis": redis_check(f"redis://127.0.0.1:{free_port()}/0")})

    status, body = fetch(f"{server.url}/ready")

    assert (status, json.loads(body)["failing"]) == (503, ["redis"])


def test_tcp_check(side_server: Callable[..., SideServer]) -> None:
    listening = side_server({})
    server = side_server(
        {
            "proxy": tcp_check("127.0.0.1", listening.port),
            "broker": tcp_check("127.0.0.1", free_port()),
        }
    )

    status, body = fetch(f"{server.url}/ready")

    assert (status, json.loads(body)["failing"]) == (503, ["broker"])


# --- the process' own side server ------------------------------------------------------


def test_process_observability_starts_only_when_a_port_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(observability, "_process_server", None)
    monkeypatch.delenv("DIGITUKI_METRICS_PORT", raising=False)
    assert start_process_observability("events", {}) is None

    monkeypatch.setenv("DIGITUKI_METRICS_PORT", "http")
    with pytest.raises(ConfigError, match="DIGITUKI_METRICS_PORT"):
        start_process_observability("events", {})

    monkeypatch.setenv("DIGITUKI_METRICS_PORT", str(free_port()))
    monkeypatch.setenv("DIGITUKI_SERVICE_NAME", "events-2")
    root = logging.getLogger()
    counting = root.handlers[:]
    server = start_process_observability("events", {"broker": lambda: True})
    try:
        assert server is not None
        assert start_process_observability("events", {}) is server
        assert json.loads(fetch(f"{server.url}/health")[1])["service"] == "events-2"
        assert fetch(f"{server.url}/ready")[0] == 200
        assert any(isinstance(h, ErrorCountingHandler) for h in root.handlers)
    finally:
        if server is not None:
            server.stop()
        root.handlers[:] = counting


# --- action runs ------------------------------------------------------------------------


async def test_action_runs_are_counted_by_action_and_outcome() -> None:
    count_action_runs()
    count_action_runs()  # wrapped once
    executor = ActionExecutor()

    def answers(dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        return []

    def declines(dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        raise ActionExecutionRejection("test_declines")

    def breaks(dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        raise RuntimeError("database gone")

    for name, function in (
        ("test_answers", answers),
        ("test_declines", declines),
        ("test_breaks", breaks),
    ):
        executor.register_function(name, function)
    runs = {
        (action, outcome): sample("digituki_action_runs_total", action=action, outcome=outcome)
        for action, outcome in (
            ("test_answers", "ok"),
            ("test_declines", "rejected"),
            ("test_breaks", "error"),
            ("unknown", "error"),
        )
    }

    def call(name: str) -> dict[str, Any]:
        return {"next_action": name, "tracker": {"sender_id": "t"}, "domain": {}}

    assert await executor.run(call("test_answers")) == {"events": [], "responses": []}
    with pytest.raises(ActionExecutionRejection):
        await executor.run(call("test_declines"))
    with pytest.raises(RuntimeError):
        await executor.run(call("test_breaks"))
    with pytest.raises(ActionNotFoundException):
        await executor.run(call("action_call_040_123_4567"))

    for (action, outcome), before in runs.items():
        assert sample("digituki_action_runs_total", action=action, outcome=outcome) == before + 1
    assert sample("digituki_action_seconds_count", action="test_answers") >= 1
    assert sample("digituki_action_runs_total", action="action_call_040_123_4567") == 0


# --- a real action server -----------------------------------------------------------------


def test_the_action_server_serves_health_readiness_metrics_and_json_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action server as production starts it: the side server, counted runs, JSON logs."""
    port, metrics_port = free_port(), free_port()
    monkeypatch.setenv("DIGITUKI_LOG_FORMAT", "json")
    config = write_logging_config(tmp_path / "logging.yml", "actions-1")
    processes = Processes(tmp_path)
    processes.env.update(
        DIGITUKI_LOG_FORMAT="json",
        DIGITUKI_SERVICE_NAME="actions-1",
        DIGITUKI_METRICS_PORT=str(metrics_port),
        DIGITUKI_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        DIGITUKI_ACTION_TOKEN="observability-test-action-token",
    )
    processes.env.pop("DIGITUKI_METRICS_TOKEN", None)
    command = action_server_command(str(port), "--logging-config-file", str(config))
    processes.start("actions", command)
    try:
        processes.wait_for(f"http://127.0.0.1:{port}/health", timeout_s=60)
        webhook = f"http://127.0.0.1:{port}/webhook"
        tracker = {"sender_id": "t-1", "slots": {}, "latest_message": {}, "events": []}

        def call(action: str) -> tuple[int, bytes]:
            data = {"next_action": action, "tracker": tracker, "version": rasa.__version__}
            return fetch(
                webhook,
                data=data,
                headers={"Authorization": "Bearer observability-test-action-token"},
            )

        status, body = call("action_fallback")
        assert status == 200
        assert json.loads(body)["responses"][0]["response"] == "utter_ask_rephrase"
        assert call("soita 040 123 4567")[0] == 404

        metrics = f"http://127.0.0.1:{metrics_port}"
        assert json.loads(fetch(f"{metrics}/health")[1]) == {
            "status": "ok",
            "service": "actions-1",
        }
        assert fetch(f"{metrics}/ready")[0] == 200
        text = fetch(f"{metrics}/metrics")[1].decode()
    finally:
        processes.stop()

    assert 'digituki_action_runs_total{action="action_fallback",outcome="ok"} 1.0' in text
    assert 'digituki_action_runs_total{action="unknown",outcome="error"} 1.0' in text
    assert "process_resident_memory_bytes" in text
    assert "040 123 4567" not in text

    log = (tmp_path / "actions.log").read_text()
    assert "040 123 4567" not in log
    lines = log.splitlines()
    # Only Python's warnings of deprecated imports come first, printed by Rasa's own
    # handler before rasa_sdk applies the file (see bot/logs.py).
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    entries = [json.loads(line) for line in lines[first:] if line.strip()]
    assert {e["service"] for e in entries} == {"actions-1"}
    assert entries[0]["message"] == "Starting action endpoint server..."
    assert {
        "level": "ERROR",
        "logger": "rasa_sdk.endpoint",
        "message": "No registered action found for name 'soita [phone]'.",
    }.items() <= next(e for e in entries if e["level"] == "ERROR").items()
