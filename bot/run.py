"""``make run``: train if needed, start the Rasa server, the action server and the web service.

The three run as child processes; Ctrl-C (or one of them stopping) stops them all.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.config import PROJECT_ROOT, Settings, load_settings
from bot.training import ensure_model

READY_TIMEOUT_S = 240.0


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    process: subprocess.Popen[bytes] | None = None


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def services(settings: Settings, model: Path, token: str) -> list[Service]:
    """The processes of the embedded profile."""
    rasa_port = settings.rasa_url.rsplit(":", 1)[-1].strip("/")
    action_port = settings.action_server_url.split(":")[-1].split("/")[0]
    web = f"http://{settings.web_host}:{settings.web_port}"
    return [
        Service(
            "action server",
            [_bin("rasa"), "run", "actions", "--actions", "actions", "--port", action_port],
            f"http://127.0.0.1:{action_port}/health",
        ),
        Service(
            "rasa server",
            [
                _bin("rasa"),
                "run",
                "--model",
                str(model),
                "--port",
                rasa_port,
                "--enable-api",
                "--auth-token",
                token,
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],  # fmt: skip
            f"{settings.rasa_url.rstrip('/')}/",
        ),
        Service("web service", [sys.executable, "-m", "bot.web"], f"{web}/health"),
    ]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-train", action="store_true", help="fail instead of training a model")
    args = parser.parse_args(argv)
    settings = load_settings()
    model = ensure_model() if not args.no_train else Path(os.environ["DIGITUKI_MODEL"])
    token = os.environ.get("DIGITUKI_RASA_TOKEN") or secrets.token_urlsafe(18)
    env = {
        **os.environ,
        "DIGITUKI_ACTION_SERVER_URL": settings.action_server_url,
        "DIGITUKI_DATABASE_URL": settings.database_url,
        "DIGITUKI_RASA_TOKEN": token,  # the web service writes workers' messages to Rasa
    }
    running = services(settings, model, token)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for service in running:
            service.process = subprocess.Popen(service.command, cwd=PROJECT_ROOT, env=env)
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = list(running)
        while waiting and not stopping:
            waiting = [s for s in waiting if not _ready(s.health_url)]
            dead = [s for s in running if s.process and s.process.poll() is not None]
            if dead or time.monotonic() > deadline:
                names = ", ".join(s.name for s in dead) or ", ".join(s.name for s in waiting)
                print(f"digituki: {names} did not start; stopping", file=sys.stderr)
                return 1
            time.sleep(0.5)
        web = f"http://{settings.web_host}:{settings.web_port}"
        print(
            "\nDigituki is running (Ctrl+C stops it):\n"
            f"  widget demo      {web}/demo/fi   ({web}/demo/sv, {web}/demo/en)\n"
            f"  workers' console {web}/console   (accounts: digituki agents add NAME)\n"
            f"  chat (REST)      {settings.rasa_url}/webhooks/rest/webhook  (make chat)\n"
            f"  Rasa HTTP API    {settings.rasa_url}  token: {token}\n"
            f"  action server    {settings.action_server_url}\n"
            f"  web service      {web}/health\n"
            f"  provider search  {web}/api/v1/providers/search?municipality=Lieksa&topic=smartphone\n"
            f"  database         {settings.database_url}\n"
            f"  model            {model.name}\n",
            flush=True,
        )
        while not stopping:
            dead = [s for s in running if s.process and s.process.poll() is not None]
            if dead:
                print(f"digituki: {dead[0].name} stopped; stopping the rest", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        for service in running:
            if service.process and service.process.poll() is None:
                service.process.terminate()
        for service in running:
            if service.process:
                try:
                    service.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    service.process.kill()


if __name__ == "__main__":
    sys.exit(main())
