"""What ``make run`` exposes, seen from outside: sockets, command lines, channels, secrets.

``python -m bot.ops.run`` (what ``make run`` starts after training) runs here on free
ports with no secret set, so it makes its own, as on a newcomer's machine. The web
service is configured onto another loopback address (127.0.0.2) to show that a
setting, and only a setting, moves a service off 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.stack import free_port
from bot.config import PROJECT_ROOT
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.geo import Gazetteer
from bot.providers.repository import SqlProviderRepository
from tests.conftest import FIXTURES
from tests.e2e.listening import command_lines, listeners, process_tree
from tests.helpers import load_providers

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 300
WEB_HOST = "127.0.0.2"


@dataclass
class Running:
    process: subprocess.Popen[str]
    banner: str
    ports: dict[str, int]

    def url(self, name: str) -> str:
        host = WEB_HOST if name == "web" else "127.0.0.1"
        return f"http://{host}:{self.ports[name]}"

    def environ_of(self, marker: str) -> dict[str, str]:
        """The environment of the child process whose command line holds ``marker``."""
        for process in process_tree([self.process.pid]):
            if marker in " ".join(process.cmdline()):
                return dict(process.environ())
        raise AssertionError(f"no process runs {marker}")


@pytest.fixture(scope="module")
def make_run(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer
) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("make-run")
    database_url = f"sqlite:///{folder / 'digituki.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    load_gazetteer(engine, gazetteer)
    SqlProviderRepository(make_session_factory(engine)).upsert(
        load_providers(FIXTURES / "search_providers.yml", gazetteer)
    )
    engine.dispose()
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DIGITUKI_") or key.startswith("DIGITUKI_REQUIRE")
    }
    env.update(
        DIGITUKI_MODEL=str(trained_model),
        DIGITUKI_DATABASE_URL=database_url,
        DIGITUKI_RASA_URL=f"http://127.0.0.1:{ports['rasa']}",
        DIGITUKI_ACTION_SERVER_URL=f"http://127.0.0.1:{ports['actions']}/webhook",
        DIGITUKI_WEB_HOST=WEB_HOST,
        DIGITUKI_WEB_PORT=str(ports["web"]),
    )
    log = (folder / "run.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.ops.run", "--no-train"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        banner = ""
        while "Digituki is running" not in banner:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"bot.ops.run did not start:\n{Path(log.name).read_text()[-4000:]}")
            time.sleep(1)
            banner = Path(log.name).read_text()
        time.sleep(1)  # the rest of the banner
        yield Running(process, Path(log.name).read_text(), ports)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_listening_socket_is_on_loopback_unless_configured(make_run: Running) -> None:
    found = listeners([make_run.process.pid])
    by_port = {(s.host, s.port) for s in found}
    assert by_port == {
        ("127.0.0.1", make_run.ports["rasa"]),
        ("127.0.0.1", make_run.ports["actions"]),
        (WEB_HOST, make_run.ports["web"]),  # DIGITUKI_WEB_HOST moved it, nothing else did
    }, found


def test_no_secret_is_on_a_command_line(make_run: Running) -> None:
    rasa_token = re.search(r"Rasa HTTP API .* token: (\S+)", make_run.banner)
    metrics_token = re.search(r"Authorization: Bearer (\S+?)\)", make_run.banner)
    assert rasa_token and metrics_token, make_run.banner
    action_token = make_run.environ_of("actions.server")["DIGITUKI_ACTION_TOKEN"]
    secrets = {rasa_token.group(1), metrics_token.group(1), action_token}
    assert all(len(secret) >= 24 for secret in secrets)  # made up for this run
    lines = command_lines([make_run.process.pid])
    assert len(lines) >= 4, lines  # bot.ops.run and its three services
    assert not [line for line in lines if any(secret in line for secret in secrets)]
    # The API still takes the token it was given through the environment.
    status, _ = _get(f"{make_run.url('rasa')}/status?token={rasa_token.group(1)}")
    assert status == 200
    assert _get(f"{make_run.url('rasa')}/status?token=wrong")[0] == 401


def test_the_action_server_answers_only_the_rasa_server(make_run: Running) -> None:
    call = {"next_action": "action_handoff", "sender_id": "stranger", "tracker": {}, "domain": {}}
    status, body = _post(f"{make_run.url('actions')}/webhook", call)
    assert status == 401, body
    token = make_run.environ_of("actions.server")["DIGITUKI_ACTION_TOKEN"]
    assert make_run.environ_of("connectors.rasa_server")["DIGITUKI_ACTION_TOKEN"] == token


def test_there_is_no_rest_channel_and_the_terminal_chat_goes_through_the_widget(
    make_run: Running,
) -> None:
    status, _ = _post(
        f"{make_run.url('rasa')}/webhooks/rest/webhook", {"sender": "x", "message": "hei"}
    )
    assert status == 404
    env = {
        **os.environ,
        "DIGITUKI_RASA_URL": make_run.url("rasa"),
        "DIGITUKI_WEB_HOST": WEB_HOST,
        "DIGITUKI_WEB_PORT": str(make_run.ports["web"]),
    }
    chat = subprocess.run(
        [sys.executable, "-m", "bot.ops.chat"],
        input="mä en osaa käyttää sähköpostia\nLieksa\n\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=180,
    )
    assert chat.returncode == 0, chat.stderr
    # An answer that took a custom action (the form asks the place), then the place's.
    assert "Missä kunnassa asut?" in chat.stdout, chat.stdout
    assert "Millaista apua haluat?" in chat.stdout, chat.stdout


def test_metrics_need_the_token_make_run_made(make_run: Running) -> None:
    token = re.search(r"Authorization: Bearer (\S+?)\)", make_run.banner)
    assert token
    assert _get(f"{make_run.url('web')}/metrics")[0] == 401
    status, body = _get(
        f"{make_run.url('web')}/metrics", {"Authorization": f"Bearer {token.group(1)}"}
    )
    assert status == 200 and "digituki_handoff_waiting" in body
