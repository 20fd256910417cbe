"""The running stack for end-to-end tests: a trained model, the action server, the Rasa server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import PROJECT_ROOT
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.geo import Gazetteer
from bot.providers.repository import SqlProviderRepository
from bot.training import ensure_model
from tests.conftest import FIXTURES
from tests.helpers import load_providers

START_TIMEOUT_S = 240
TOKEN = "e2e-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model of the current data (trained here once if it is missing: a few minutes)."""
    return ensure_model()


@dataclass
class Stack:
    rasa_url: str

    def say(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send a message through the REST channel; the bot's replies."""
        message: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            message["metadata"] = metadata
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json.dumps(message).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker, every event, from the HTTP API."""
        url = f"{self.rasa_url}/conversations/{sender}/tracker?include_events=ALL&token={TOKEN}"
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.load(response)


def _wait(url: str, processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if any(p.poll() is not None for p in processes):
                break
            time.sleep(1)
    tails = "\n".join(log.read_text(errors="replace")[-3000:] for log in logs)
    pytest.fail(f"the stack did not start ({url}):\n{tails}")


@pytest.fixture(scope="session")
def stack(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer
) -> Iterator[Stack]:
    """Action server and Rasa server on free ports, with the search fixture providers."""
    folder = tmp_path_factory.mktemp("stack")
    database_url = f"sqlite:///{folder / 'digituki.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    load_gazetteer(engine, gazetteer)
    SqlProviderRepository(make_session_factory(engine)).upsert(
        load_providers(FIXTURES / "search_providers.yml", gazetteer)
    )
    engine.dispose()
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "DIGITUKI_DATABASE_URL": database_url,
        "DIGITUKI_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
    }
    rasa = str(Path(sys.executable).parent / "rasa")
    logs = [folder / "actions.log", folder / "rasa.log"]
    commands = [
        [rasa, "run", "actions", "--actions", "actions", "--port", str(action_port)],
        [
            rasa, "run", "--model", str(trained_model), "--port", str(rasa_port),
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
            "--enable-api", "--auth-token", TOKEN,
        ],
    ]  # fmt: skip
    processes = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        for command, log in zip(commands, logs, strict=True)
    ]
    try:
        _wait(f"http://127.0.0.1:{action_port}/health", processes, logs)
        _wait(f"http://127.0.0.1:{rasa_port}/status?token={TOKEN}", processes, logs)
        yield Stack(f"http://127.0.0.1:{rasa_port}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
