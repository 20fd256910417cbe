"""The action server as a stranger meets it: ``python -m actions.server`` on a real socket.

The action calls are the ones Rasa 3.6 sends (built by its own ``RemoteAction``
from a tracker and our domain), against a migrated SQLite database.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import select

from bench.stack import Processes, StackError, free_port
from bot.config import PROJECT_ROOT
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.db.models import HandoffRequestRow, HeldContactRow
from bot.geo import Gazetteer
from bot.handoff import HandoffRequests
from bot.logs import write_logging_config
from tests.e2e.listening import listeners

TOKEN = "action-server-test-token"
MARKER = "MARKER-5d1e0c"
"""Put into request bodies; must never come back in an answer."""
START_TIMEOUT_S = 90
SERVER = [sys.executable, "-m", "actions.server"]
ONE_MB = 1024 * 1024


# --- the server and its database ---------------------------------------------------


def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one request on a new connection."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


@dataclass
class Server:
    url: str
    host: str
    port: int
    metrics_port: int
    database_url: str
    pid: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of one request on a new connection."""
        return http_request(host or self.host, self.port, method, path, body, headers)

    def call(
        self,
        action_call: Mapping[str, Any] | bytes,
        *,
        token: str | None = TOKEN,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """POSTs an action call to /webhook (as JSON unless bytes), with ``token`` if any."""
        body = action_call if isinstance(action_call, bytes) else json.dumps(action_call).encode()
        sent = {"Content-Type": "application/json"}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        status, _, answer = self.request("POST", "/webhook", body, sent)
        return status, answer

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the server's /metrics (its side server), 0 if absent."""
        connection = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        for family in text_string_to_metric_families(text):
            for found in family.samples:
                if found.name == name and found.labels == labels:
                    return float(found.value)
        return 0.0


def _clean_env(processes: Processes) -> None:
    for name in ("DIGITUKI_ACTION_HOST", "DIGITUKI_METRICS_TOKEN", "SANIC_HOST", "SANIC_WORKERS"):
        processes.env.pop(name, None)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer) -> str:
    """A migrated SQLite database with the gazetteer, shared by the server and the tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('actions-db') / 'digituki.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    load_gazetteer(engine, gazetteer)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Server]:
    """The action server as the launcher starts it: a port, a logging file, the token."""
    folder = tmp_path_factory.mktemp("action-server")
    port, metrics_port = free_port(), free_port()
    config = write_logging_config(folder / "logging.yml", "actions-test", fmt="json")
    processes = Processes(folder)
    _clean_env(processes)
    processes.env.update(
        DIGITUKI_DATABASE_URL=database_url,
        DIGITUKI_ACTION_TOKEN=TOKEN,
        DIGITUKI_METRICS_PORT=str(metrics_port),
    )
    pid = processes.start(
        "actions", [*SERVER, "--port", str(port), "--logging-config-file", str(config)]
    )
    try:
        processes.wait_for(f"http://127.0.0.1:{port}/health", START_TIMEOUT_S)
        yield Server(
            f"http://127.0.0.1:{port}",
            "127.0.0.1",
            port,
            metrics_port,
            database_url,
            pid,
            folder / "actions.log",
        )
    except StackError as error:
        pytest.fail(str(error))
    finally:
        processes.stop()


# --- action calls as Rasa 3.6 sends them ---------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(PROJECT_ROOT / "domain")


def _user(text: str, intent: str) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 1.0},
        parse_data={"intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": text},
        input_channel="rest",
    )


def _tracker(sender: str, domain: Domain, events: Sequence[Event]) -> DialogueStateTracker:
    opening = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(sender, [*opening, *events], slots=domain.slots)


def action_call(
    action: str, sender: str, domain: Domain, events: Sequence[Event]
) -> dict[str, Any]:
    """The body Rasa's ``RemoteAction`` posts: next_action, sender_id, tracker, domain, version."""
    return RemoteAction(action, None)._action_call_format(_tracker(sender, domain, events), domain)


CONTACT = "040 123 4567"


def callback_calls(sender: str, domain: Domain) -> list[dict[str, Any]]:
    """A call-back request: the form takes the number, then the request is recorded."""
    asked = [
        _user("haluan puhua ihmiselle", "talk_to_person"),
        ActionExecuted("action_talk_to_person"),
        SlotSet("handoff_reason", "asked"),
        ActionExecuted("callback_form"),
        ActiveLoop("callback_form"),
        SlotSet("requested_slot", "callback_contact"),
        BotUttered("Mihin numeroon?", metadata={"utter_action": "utter_ask_callback_contact"}),
        ActionExecuted("action_listen"),
        _user(f"soita {CONTACT}", "inform"),
    ]
    validate = action_call(
        "validate_callback_form",
        sender,
        domain,
        [*asked, ActionExecuted("callback_form"), SlotSet("callback_contact", f"soita {CONTACT}")],
    )
    consented = [
        *asked,
        ActionExecuted("callback_form"),
        SlotSet("callback_contact", CONTACT),
        SlotSet("requested_slot", "callback_consent"),
        ActionExecuted("action_listen"),
        _user("kyllä", "affirm"),
        ActionExecuted("callback_form"),
        SlotSet("callback_consent", True),
        ActiveLoop(None),
        SlotSet("requested_slot", None),
    ]
    record = action_call("action_request_callback", sender, domain, consented)
    return [validate, record]


def leave_call(sender: str, domain: Domain) -> dict[str, Any]:
    """ "I don't want to wait any more": cancels the conversation's waiting request."""
    return action_call(
        "action_leave_queue", sender, domain, [_user("en jaksa odottaa", "leave_queue")]
    )


def _requests(database_url: str) -> list[tuple[str, str, str]]:
    """(conversation, kind, state) of every handoff request, and the held contacts."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(HandoffRequestRow)).all()
            held = session.scalars(select(HeldContactRow)).all()
            return sorted(
                [(r.conversation_id, r.kind or "chat", r.state) for r in rows]
                + [(h.conversation_id, "held contact", h.method) for h in held]
            )
    finally:
        engine.dispose()


def _waiting_request(database_url: str, sender: str) -> None:
    engine = make_engine(database_url)
    try:
        HandoffRequests(make_session_factory(engine)).record(
            conversation_id=sender, channel="rest", language="fi"
        )
    finally:
        engine.dispose()


# --- who may ask ---------------------------------------------------------------------

STRANGERS = {
    "no header": None,
    "wrong token": "Bearer not-the-token",
    "token prefix": f"Bearer {TOKEN[:-1]}",
    "token plus more": f"Bearer {TOKEN}x",
    "other scheme": f"Basic {TOKEN}",
    "bare token": TOKEN,
    "empty bearer": "Bearer ",
}


def test_strangers_are_refused_before_anything_is_written(server: Server, domain: Domain) -> None:
    victim, attacker = "victim-conversation", "attacker-conversation"
    _waiting_request(server.database_url, victim)
    before = _requests(server.database_url)
    assert before == [(victim, "chat", "waiting")]
    attack = [*callback_calls(attacker, domain), leave_call(victim, domain)]

    for case, authorization in STRANGERS.items():
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        for body in attack:
            status, answer_headers, answer = server.request(
                "POST", "/webhook", json.dumps(body).encode(), headers
            )
            assert status == 401, case
            assert json.loads(answer) == {"error": "unauthorized"}, case
            assert answer_headers["www-authenticate"] == "Bearer"
        # The list of actions, unknown routes and the token in the query are refused too.
        assert server.request("GET", "/actions", headers=headers)[0] == 401, case
        assert server.request("GET", "/nothing-here", headers=headers)[0] == 401, case
    assert server.request("GET", f"/actions?token={TOKEN}")[0] == 401
    assert _requests(server.database_url) == before

    # The same calls with the token: the call-back is recorded, the victim's request cancelled.
    for body in attack:
        status, answer = server.call(body)
        assert status == 200, answer
    assert _requests(server.database_url) == [
        (attacker, "callback", "waiting"),
        (victim, "chat", "cancelled"),
    ]
    status, _, listed = server.request(
        "GET", "/actions", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 200
    assert {"name": "action_leave_queue"} in json.loads(listed)


def test_health_is_open_and_says_nothing_more(server: Server) -> None:
    status, _, body = server.request("GET", "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    # Only GET /health: a POST there needs the token like everything else.
    assert server.request("POST", "/health", b"{}")[0] == 401


def test_a_header_that_is_not_text_is_refused(server: Server) -> None:
    """Bytes that are not UTF-8 in the header: refused, not a crash of the comparison."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe"
            + TOKEN.encode()
            + b"\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 ")


# --- what a body may be ----------------------------------------------------------------


def _bomb(encoding: str, inflated: int = 16 * ONE_MB + 1) -> bytes:
    """An action call of ``inflated`` bytes, compressed to about 16 KB."""
    content = b'{"next_action": "action_leave_queue", "pad": "' + b" " * inflated + b'"}'
    if encoding == "gzip":
        return gzip.compress(content, 9)
    return zlib.compress(content, 9)


@pytest.mark.parametrize("encoding", ["deflate", "gzip"])
def test_a_compression_bomb_is_refused_quickly(server: Server, encoding: str) -> None:
    bomb = _bomb(encoding)
    assert len(bomb) < 20_000
    started = time.monotonic()
    status, answer = server.call(bomb, headers={"Content-Encoding": encoding})
    assert status == 413
    assert json.loads(answer) == {"error": "request body too large"}
    assert time.monotonic() - started < 5
    # Without the token it is not even read.
    assert server.call(bomb, token=None, headers={"Content-Encoding": encoding})[0] == 401
    # The server carries on.
    assert server.request("GET", "/health")[0] == 200
    assert server.call({"next_action": "action_fallback", "tracker": {"sender_id": "x"}})[0] == 200


@pytest.mark.parametrize("encoding", ["deflate", "gzip"])
def test_a_compressed_call_within_the_limits_runs(
    server: Server, domain: Domain, encoding: str
) -> None:
    content = json.dumps(action_call("action_fallback", "compressed", domain, [])).encode()
    body = gzip.compress(content) if encoding == "gzip" else zlib.compress(content)
    status, answer = server.call(body, headers={"Content-Encoding": encoding})
    assert status == 200
    assert json.loads(answer)["responses"][0]["response"] == "utter_ask_rephrase"


def test_a_body_over_the_limit_is_refused(server: Server) -> None:
    big = b'{"next_action": "action_fallback", "pad": "' + b" " * ONE_MB + b'"}'
    assert server.call(big)[0] == 413
    assert server.call(big, token=None)[0] == 401  # the token is asked for first
    # Sent in chunks, as aiohttp sends a compressed call: the same limit.
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
        connection.request(
            "POST",
            "/webhook",
            body=chunks,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
            encode_chunked=True,
        )
        assert connection.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close before the whole body is sent: refused either way
    finally:
        connection.close()
    assert server.request("GET", "/health")[0] == 200


def _answers_without_the_marker(status: int, answer: bytes, expected: int) -> dict[str, Any]:
    assert status == expected, answer
    assert MARKER.encode() not in answer
    assert b"Traceback" not in answer
    parsed: dict[str, Any] = json.loads(answer)
    return parsed


def test_errors_say_nothing_of_the_request(server: Server, domain: Domain) -> None:
    runs_before = server.metric(
        "digituki_action_runs_total", action="action_fallback", outcome="error"
    )
    errors_before = server.metric("digituki_log_errors_total", logger="actions.server")

    # Not JSON.
    status, answer = server.call(f'{{"next_action": "{MARKER}'.encode())
    assert _answers_without_the_marker(status, answer, 400) == {"error": "bad request"}
    # An action nobody registered (rasa_sdk names it in its answer).
    status, answer = server.call({"next_action": MARKER, "tracker": {"sender_id": MARKER}})
    assert _answers_without_the_marker(status, answer, 404) == {"error": "unknown action"}
    # Sanic routes /webhook/ to the same handler: the same checks there.
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    unknown = json.dumps({"next_action": MARKER, "tracker": {}}).encode()
    status, _, answer = server.request(
        "POST", "/webhook/", unknown, {**authorized, "Content-Type": "application/json"}
    )
    assert _answers_without_the_marker(status, answer, 404) == {"error": "unknown action"}
    status, _, answer = server.request(
        "POST", "/webhook/", unknown, {**authorized, "Content-Type": "text/plain"}
    )
    assert _answers_without_the_marker(status, answer, 415) == {"error": "unsupported media type"}
    # An action that raises (rasa_sdk answers with the error and the whole request body).
    raising = action_call("action_fallback", "raising", domain, [])
    raising["tracker"]["slots"]["fallbacks"] = MARKER
    status, answer = server.call(raising)
    assert _answers_without_the_marker(status, answer, 500) == {"error": "internal error"}
    # Not JSON by its type, compressed in a way we do not read, a broken compressed body.
    status, answer = server.call(
        json.dumps(raising).encode(), headers={"Content-Type": "text/plain"}
    )
    assert _answers_without_the_marker(status, answer, 415) == {"error": "unsupported media type"}
    status, answer = server.call(json.dumps(raising).encode(), headers={"Content-Encoding": "br"})
    assert _answers_without_the_marker(status, answer, 415) == {"error": "unsupported media type"}
    broken = zlib.compress(json.dumps(raising).encode())[:-10]
    status, answer = server.call(broken, headers={"Content-Encoding": "deflate"})
    assert _answers_without_the_marker(status, answer, 400) == {"error": "bad request"}
    # A method or path the server does not have.
    status, _, answer = server.request("PUT", "/webhook", MARKER.encode(), authorized)
    assert _answers_without_the_marker(status, answer, 405) == {"error": "method not allowed"}
    status, _, answer = server.request("GET", f"/{MARKER}", headers=authorized)
    assert _answers_without_the_marker(status, answer, 404) == {"error": "not found"}

    # The details are in the log; the failed run is counted, as is the error line.
    time.sleep(0.2)
    log = server.log.read_text()
    assert f"invalid literal for int() with base 10: '{MARKER}'" in log
    assert (
        server.metric("digituki_action_runs_total", action="action_fallback", outcome="error")
        == runs_before + 1
    )
    assert server.metric("digituki_log_errors_total", logger="actions.server") > errors_before


def test_it_logs_through_the_logging_file(server: Server) -> None:
    lines = server.log.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert entries[0]["message"] == "Starting action endpoint server..."
    assert {e["service"] for e in entries} == {"actions-test"}
    assert any(e["message"] == "Registered function for 'action_leave_queue'." for e in entries)


# --- the Rasa server's side ----------------------------------------------------------


@pytest.mark.parametrize("compress", ["false", "true"])
async def test_rasa_reaches_it_with_the_header_of_endpoints_yml(
    server: Server, domain: Domain, monkeypatch: pytest.MonkeyPatch, compress: str
) -> None:
    """Rasa's own RemoteAction, configured from endpoints.yml; compressed as Rasa compresses."""
    monkeypatch.setenv("DIGITUKI_ACTION_SERVER_URL", f"{server.url}/webhook")
    monkeypatch.setenv("DIGITUKI_DATABASE_URL", server.database_url)
    monkeypatch.setenv("COMPRESS_ACTION_SERVER_REQUEST", compress)
    tracker = _tracker("rasa-side", domain, [_user("asdfgh", "nlu_fallback")])
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)

    monkeypatch.setenv("DIGITUKI_ACTION_TOKEN", TOKEN)
    endpoint = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint is not None
    events = await RemoteAction("action_fallback", endpoint).run(
        CollectingOutputChannel(), nlg, tracker, domain
    )
    assert any(isinstance(e, BotUttered) for e in events)
    assert SlotSet("fallbacks", 1) in events

    monkeypatch.setenv("DIGITUKI_ACTION_TOKEN", "not-the-token")
    stranger = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "action_endpoint")
    assert stranger is not None
    with pytest.raises(RasaException):
        await RemoteAction("action_fallback", stranger).run(
            CollectingOutputChannel(), nlg, tracker, domain
        )


# --- where it listens, and when it does not start ----------------------------------------


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_it_listens_on_the_loopback_address_only_by_default(server: Server) -> None:
    found = {(s.host, s.port) for s in listeners([server.pid])}
    assert ("127.0.0.1", server.port) in found
    assert {host for host, port in found if port == server.port} == {"127.0.0.1"}
    # All of 127/8 is this machine: a server on 0.0.0.0 would answer at 127.0.0.2.
    assert not _connects("127.0.0.2", server.port)


@contextmanager
def another_server(
    folder: Path, database_url: str, health_url: str, flags: Sequence[str] = (), **env: str
) -> Iterator[int]:
    """A server of its own (no side server), ``env`` on top of the token; yields its pid."""
    processes = Processes(folder)
    _clean_env(processes)
    processes.env.pop("DIGITUKI_METRICS_PORT", None)
    processes.env.update({"DIGITUKI_DATABASE_URL": database_url, "DIGITUKI_ACTION_TOKEN": TOKEN})
    processes.env.update(env)
    pid = processes.start("actions", [*SERVER, *flags])
    try:
        processes.wait_for(health_url, START_TIMEOUT_S)
        yield pid
    except StackError as error:
        pytest.fail(str(error))
    finally:
        processes.stop()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [([], "127.0.0.2"), (["--host", "127.0.0.3"], "127.0.0.3")],
    ids=["DIGITUKI_ACTION_HOST", "--host wins"],
)
def test_it_listens_where_it_is_told(
    tmp_path: Path, database_url: str, flags: list[str], expected: str
) -> None:
    """``DIGITUKI_ACTION_HOST`` (``--host`` wins); the port of ``DIGITUKI_ACTION_SERVER_URL``."""
    port = free_port()
    with another_server(
        tmp_path,
        database_url,
        f"http://{expected}:{port}/health",
        flags,
        DIGITUKI_ACTION_HOST="127.0.0.2",
        DIGITUKI_ACTION_SERVER_URL=f"http://127.0.0.1:{port}/webhook",
    ) as pid:
        assert {(s.host, s.port) for s in listeners([pid])} == {(expected, port)}
        assert not _connects("127.0.0.1", port)


def test_the_previous_token_is_accepted_while_it_is_rotated(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    with another_server(
        tmp_path,
        database_url,
        f"http://127.0.0.1:{port}/health",
        ["--port", str(port)],
        DIGITUKI_ACTION_TOKEN="the-new-token",
        DIGITUKI_ACTION_TOKEN_PREVIOUS=TOKEN,
    ):
        for token in ("the-new-token", TOKEN):
            headers = {"Authorization": f"Bearer {token}"}
            assert http_request("127.0.0.1", port, "GET", "/actions", None, headers)[0] == 200
        for token in ("the-old-token", "", "the-new-token" + TOKEN):
            headers = {"Authorization": f"Bearer {token}"}
            assert http_request("127.0.0.1", port, "GET", "/actions", None, headers)[0] == 401


@pytest.mark.parametrize("token", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_it_does_not_start_without_a_token(
    tmp_path: Path, database_url: str, token: str | None
) -> None:
    env = Processes(tmp_path).env
    env.pop("DIGITUKI_ACTION_TOKEN", None)
    env.pop("DIGITUKI_METRICS_PORT", None)
    env["DIGITUKI_DATABASE_URL"] = database_url
    if token is not None:
        env["DIGITUKI_ACTION_TOKEN"] = token
    port = free_port()
    finished = subprocess.run(
        [*SERVER, "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert finished.returncode == 2
    assert "DIGITUKI_ACTION_TOKEN is not set" in finished.stderr
    assert not _connects("127.0.0.1", port)


def test_nothing_happens_at_import(tmp_path: Path) -> None:
    """rasa_sdk imports every module of ``actions``: importing the server starts nothing."""
    probe = (
        "import threading, actions.server; from sanic import Sanic; "
        "print(len(Sanic._app_registry), threading.active_count())"
    )
    env = Processes(tmp_path).env
    env.pop("DIGITUKI_METRICS_PORT", None)
    env["DIGITUKI_ACTION_TOKEN"] = TOKEN
    finished = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["0", "1"]  # no app made, no thread started
