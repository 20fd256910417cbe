"""``make run`` and ``make run-prod``: train if needed, start every process of a profile.

The embedded profile (``make run``) is one Rasa server, one action server and the
web service on SQLite. The production profile (``--profile production``, ``make
run-prod``) is PostgreSQL, Redis and RabbitMQ, with several Rasa replicas and action
servers behind HAProxy (``deploy/haproxy/haproxy.cfg``), the events worker and the web
service (:func:`production_services`). Deployments run the same processes as containers
(``deploy/compose.yaml``, ``deploy/kubernetes/``): nothing there uses this starter. The processes run as children; Ctrl-C (or one of
them stopping) stops them all.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from bot.ops.haproxy import (
    Upstream,
    haproxy_command,
    haproxy_env,
    haproxy_executable,
    write_local_config,
)
from bot.training import ensure_model

READY_TIMEOUT_S = 240.0
DEMO_PROVIDERS = PROJECT_ROOT / "data" / "providers" / "demo.csv"


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    """Variables of this process only (its metrics port, its name in the logs)."""
    process: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True)
class ProductionLayout:
    """Ports of the production profile's processes (all on ``host``)."""

    rasa_port: int = 5005
    """HAProxy's entry for the Rasa replicas: widget, Messenger, REST, HTTP API."""
    action_port: int = 5055
    """HAProxy's entry for the action servers (the Rasa replicas call it)."""
    admin_port: int = 8404
    """HAProxy's own /health, /ready and /metrics."""
    rasa_replicas: tuple[int, ...] = (5101, 5102)
    action_replicas: tuple[int, ...] = (5151, 5152)
    side_ports: tuple[int, ...] = (9101, 9102, 9103, 9104, 9105)
    """/health, /ready and /metrics of the action servers, the Rasa replicas and the
    events worker, in that order."""
    host: str = "127.0.0.1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], settings: Settings) -> ProductionLayout:
        """Replica counts from ``DIGITUKI_RASA_REPLICAS`` / ``DIGITUKI_ACTION_REPLICAS``."""
        counts = {}
        for name in ("DIGITUKI_RASA_REPLICAS", "DIGITUKI_ACTION_REPLICAS"):
            raw = environ.get(name, "2").strip() or "2"
            if not raw.isdigit() or not 1 <= int(raw) <= 16:
                raise ConfigError(f"{name}={raw!r}: expected a number from 1 to 16")
            counts[name] = int(raw)
        rasa, actions = counts["DIGITUKI_RASA_REPLICAS"], counts["DIGITUKI_ACTION_REPLICAS"]
        return cls(
            rasa_port=_port(settings.rasa_url),
            action_port=_port(settings.action_server_url),
            rasa_replicas=tuple(5101 + i for i in range(rasa)),
            action_replicas=tuple(5151 + i for i in range(actions)),
            side_ports=tuple(9101 + i for i in range(rasa + actions + 1)),
        )


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise ConfigError(f"{url!r} needs an explicit port")
    return port


def rasa_command(model: Path, port: str, endpoints: str) -> list[str]:
    """A Rasa server with our model and endpoints (``connectors.rasa_server``).

    Its API token, interface and channels' file come from the environment
    (``DIGITUKI_RASA_TOKEN``, ``DIGITUKI_RASA_HOST``, ``DIGITUKI_RASA_CREDENTIALS``), so no
    secret is on a command line that ``ps`` shows.
    """
    return [
        sys.executable, "-m", "connectors.rasa_server", "--model", str(model), "--port", port,
        "--endpoints", endpoints,
    ]  # fmt: skip


def action_server_command(port: str, *extra: str) -> list[str]:
    """An action server (``actions.server``): ``DIGITUKI_ACTION_TOKEN`` from the environment."""
    return [sys.executable, "-m", "actions.server", "--port", port, *extra]


def services(settings: Settings, model: Path) -> list[Service]:
    """The processes of the embedded profile."""
    rasa_port = settings.rasa_url.rsplit(":", 1)[-1].strip("/")
    action_port = settings.action_server_url.split(":")[-1].split("/")[0]
    web = f"http://{settings.web_host}:{settings.web_port}"
    return [
        Service(
            "action server",
            action_server_command(action_port),
            f"http://127.0.0.1:{action_port}/health",
        ),
        Service(
            "rasa server",
            rasa_command(model, rasa_port, "endpoints.yml"),
            f"{settings.rasa_url.rstrip('/')}/",
        ),
        Service("web service", [sys.executable, "-m", "bot.web"], f"{web}/health"),
    ]


PRODUCTION_ENDPOINTS = "endpoints.production.yml"
LOCK_LIFETIME_S = 30
"""How long a dead replica's hold on a conversation lasts (Rasa's ``TICKET_LOCK_LIFETIME``)."""


def production_services(settings: Settings, model: Path, layout: ProductionLayout) -> list[Service]:
    """The processes of the production profile, in starting order.

    Action servers and Rasa replicas on their own ports, HAProxy in front of each
    group (the one entry point), the events worker (RabbitMQ to the database) and the
    web service, which reaches the Rasa replicas through HAProxy.
    """
    if len(layout.side_ports) < len(layout.rasa_replicas) + len(layout.action_replicas) + 1:
        raise ConfigError("the production layout needs a side port per replica and the worker")
    host = layout.host
    entry = f"http://{host}:{layout.rasa_port}"
    actions_entry = f"http://{host}:{layout.action_port}/webhook"
    side = iter(layout.side_ports)
    replica_hops = 1 + (settings.proxy_hops if settings.trust_proxy else 0)
    found: list[Service] = []
    for number, port in enumerate(layout.action_replicas, 1):
        metrics = next(side)
        log_config = _logging_config(f"actions-{number}", settings.log_level, settings.log_format)
        found.append(
            Service(
                f"action server {number}",
                action_server_command(str(port), "--logging-config-file", str(log_config)),
                f"http://{host}:{port}/health",
                {
                    "DIGITUKI_SERVICE_NAME": f"actions-{number}",
                    "DIGITUKI_METRICS_PORT": str(metrics),
                },
            )
        )
    for number, port in enumerate(layout.rasa_replicas, 1):
        metrics = next(side)
        found.append(
            Service(
                f"rasa replica {number}",
                rasa_command(model, str(port), PRODUCTION_ENDPOINTS),
                f"http://{host}:{metrics}/ready",
                {
                    "DIGITUKI_SERVICE_NAME": f"rasa-{number}",
                    "DIGITUKI_METRICS_PORT": str(metrics),
                    "DIGITUKI_ACTION_SERVER_URL": actions_entry,
                    "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_S),
                    # Every widget reaches a replica through HAProxy, which appends the
                    # address it saw to X-Forwarded-For: one hop more than the web service has.
                    "DIGITUKI_TRUST_PROXY": "true",
                    "DIGITUKI_PROXY_HOPS": str(replica_hops),
                    # Rasa's queue of new connections (Sanic's backlog, 100 by default):
                    # a burst of widgets reconnecting to a saturated replica overflowed it.
                    "SANIC_BACKLOG": os.environ.get("SANIC_BACKLOG", "1024"),
                },
            )
        )
    found.append(
        Service(
            "haproxy",
            haproxy_command(_haproxy_config(layout)),
            f"http://{host}:{layout.admin_port}/ready",
            haproxy_env(
                f"{host}:{layout.rasa_port}",
                f"{host}:{layout.action_port}",
                f"{host}:{layout.admin_port}",
            ),
        )
    )
    metrics = next(side)
    found.append(
        Service(
            "events worker",
            [sys.executable, "-m", "bot.conversations.worker"],
            f"http://{host}:{metrics}/ready",
            {"DIGITUKI_SERVICE_NAME": "events", "DIGITUKI_METRICS_PORT": str(metrics)},
        )
    )
    found.append(
        Service(
            "web service",
            [sys.executable, "-m", "bot.web"],
            f"http://{settings.web_host}:{settings.web_port}/ready",
            {"DIGITUKI_SERVICE_NAME": "web", "DIGITUKI_RASA_URL": entry},
        )
    )
    return found


def _logging_config(service: str, level: str, fmt: str) -> Path:
    """The action server's ``--logging-config-file`` (it sets up its logging from it)."""
    from bot.logs import write_logging_config

    path = Path(tempfile.gettempdir()) / f"digituki-logging-{service}-{fmt}-{level.lower()}.yml"
    return write_logging_config(path, service, level, fmt)


def _haproxy_config(layout: ProductionLayout) -> Path:
    """The shared HAProxy configuration with this layout's replicas (:mod:`bot.ops.haproxy`).

    Each replica is checked on its own port (``deploy/haproxy/haproxy.cfg`` says why).
    """
    host = layout.host
    return write_local_config(
        Path(tempfile.gettempdir()) / f"digituki-haproxy-{layout.rasa_port}.cfg",
        {
            "rasa": [
                Upstream(f"rasa-{n}", f"{host}:{port}")
                for n, port in enumerate(layout.rasa_replicas, 1)
            ],
            "actions": [
                Upstream(f"actions-{n}", f"{host}:{port}")
                for n, port in enumerate(layout.action_replicas, 1)
            ],
        },
    )


SHARED_SECRETS = ("DIGITUKI_RASA_TOKEN", "DIGITUKI_ACTION_TOKEN", "DIGITUKI_METRICS_TOKEN")
"""The Rasa HTTP API's token (the web service writes workers' messages there), the
action server's (only the Rasa servers call it) and the one every ``/metrics`` needs."""


def shared_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Each of :data:`SHARED_SECRETS` from the environment, or a new random one for this run."""
    return {
        name: environ.get(name, "").strip() or secrets.token_urlsafe(24) for name in SHARED_SECRETS
    }


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def check_production(settings: Settings) -> None:
    """The production profile needs PostgreSQL, Redis and RabbitMQ: say which is missing."""
    problems = []
    if not settings.database_url.startswith("postgresql"):
        problems.append("DIGITUKI_DATABASE_URL must be a postgresql:// URL")
    if not settings.redis_url:
        problems.append("DIGITUKI_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    if not settings.rabbitmq_url:
        problems.append(
            "DIGITUKI_RABBITMQ_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672/)"
        )
    try:
        haproxy_executable()
    except ConfigError as error:
        problems.append(str(error))
    if problems:
        raise ConfigError("the production profile: " + "; ".join(problems))


def prepare_database(settings: Settings) -> None:
    """Creates the PostgreSQL database if missing, migrates it, imports the demo providers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bot.cli import main as cli

    url = make_url(settings.database_url)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(
                text("select 1 from pg_database where datname = :name"), {"name": url.database}
            )
            if not exists:
                print(f"digituki: creating the database {url.database}", flush=True)
                connection.execute(text(f'create database "{url.database}"'))
    finally:
        server.dispose()
    for command in (
        ["db", "upgrade"],
        ["providers", "import", "--quiet", "--source", "demo", str(DEMO_PROVIDERS)],
    ):
        if cli(command) != 0:
            raise ConfigError(f"digituki {' '.join(command)} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-train", action="store_true", help="fail instead of training a model")
    parser.add_argument(
        "--profile",
        choices=("embedded", "production"),
        default="embedded",
        help="embedded: SQLite, one of each (default); production: PostgreSQL, Redis, RabbitMQ, replicas",
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="production: create and migrate the database and import the demo providers first",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.profile == "production":
            check_production(settings)
            layout = ProductionLayout.from_env(os.environ, settings)
            if args.prepare:
                prepare_database(settings)
    except ConfigError as error:
        print(f"digituki: {error}", file=sys.stderr)
        return 2
    model = ensure_model() if not args.no_train else Path(os.environ["DIGITUKI_MODEL"])
    shared = shared_secrets(os.environ)
    token = shared["DIGITUKI_RASA_TOKEN"]
    env = {
        **os.environ,
        **shared,
        "DIGITUKI_ACTION_SERVER_URL": settings.action_server_url,
        "DIGITUKI_DATABASE_URL": settings.database_url,
        # Rasa's SQL store warns about SQLAlchemy 2.0 at every start, before any logging.
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    # endpoints.production.yml names them; the events worker has the same defaults.
    env.setdefault("DIGITUKI_EVENTS_QUEUE", "digituki_events")
    env.setdefault("DIGITUKI_EVENTS_EXCHANGE", "digituki-events")
    try:
        if args.profile == "production":
            running = production_services(settings, model, layout)
        else:
            running = services(settings, model)
    except ConfigError as error:
        print(f"digituki: {error}", file=sys.stderr)
        return 2
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for service in running:
            service.process = subprocess.Popen(
                service.command, cwd=PROJECT_ROOT, env={**env, **service.env}
            )
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
            f"\nDigituki is running, {args.profile} profile (Ctrl+C stops it):\n"
            f"  widget demo      {web}/demo/fi   ({web}/demo/sv, {web}/demo/en)\n"
            f"  workers' console {web}/console   (accounts: digituki agents add NAME)\n"
            f"  chat in the terminal: make chat\n"
            f"  Rasa HTTP API    {settings.rasa_url}  token: {token}\n"
            f"  action server    {settings.action_server_url}  (only for the Rasa server)\n"
            f"  web service      {web}/health\n"
            f"  metrics          {web}/metrics  (Authorization: Bearer "
            f"{shared['DIGITUKI_METRICS_TOKEN']})\n"
            f"  provider search  {web}/api/v1/providers/search?municipality=Lieksa&topic=smartphone\n"
            f"  database         {_without_password(settings.database_url)}\n"
            f"  model            {model.name}",
            flush=True,
        )
        if args.profile == "production":
            for service in running:
                print(f"  {service.name:<16} ready: {service.health_url}", flush=True)
        print(flush=True)
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


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


if __name__ == "__main__":
    sys.exit(main())
