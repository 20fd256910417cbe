"""The web service process, started for real: set up a database, start, ask over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main as digituki
from bot.config import DEFAULT_DATA_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def running_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'digituki.db'}"
    monkeypatch.setenv("DIGITUKI_DATABASE_URL", url)
    assert digituki(["db", "upgrade"]) == 0
    assert digituki(["providers", "import", str(DEFAULT_DATA_DIR / "providers" / "demo.csv")]) == 0
    port = free_port()
    env = {**os.environ, "DIGITUKI_DATABASE_URL": url, "DIGITUKI_WEB_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(
                    f"the service did not start:\n{process.stdout.read() if process.stdout else ''}"
                )
            time.sleep(0.2)
    yield base, process
    process.terminate()
    process.wait(timeout=10)


def test_service_answers_a_search_over_http(running_service) -> None:
    base, process = running_service
    query = "municipality=Lieksa&topic=smartphone&form=in_person"
    with urllib.request.urlopen(f"{base}/api/v1/providers/search?{query}", timeout=5) as response:
        body = json.load(response)
    assert body["query"]["municipality"] == "Lieksa"
    assert body["results"], "the demo data has help for smartphones near Lieksa"
    first = body["results"][0]
    assert first["kind"] == "in_person" and first["name"].endswith("(demo)")
    distances = [r["distance_km"] for r in body["results"]]
    assert distances == sorted(distances)
