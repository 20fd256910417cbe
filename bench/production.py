"""The production profile on free ports, for the end-to-end tests and the benchmarks.

Every process of :func:`bot.ops.run.production_services` against the real PostgreSQL
(a database of its own, dropped afterwards), Redis and RabbitMQ (an events queue
of its own), with the given numbers of Rasa replicas and action servers.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.stack import Processes, StackError, free_port, stack_env
from bot.config import load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.geo import Gazetteer
from bot.ops.run import ProductionLayout, Service, production_services
from bot.providers.repository import SqlProviderRepository

POSTGRES_URL = os.environ.get(
    "DIGITUKI_TEST_POSTGRES_URL", "postgresql+psycopg2://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DIGITUKI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("DIGITUKI_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TOKEN = "production-test-token"
METRICS_TOKEN = "production-test-metrics-token"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
ORIGIN = "http://widget.example"


STREAM_ONLY = {"DIGITUKI_EVENTS_RECOVER_SECONDS": "0"}
"""Events reach the database through RabbitMQ only (nothing recovered from the tracker store)."""
QUICK_RECOVERY = {
    "DIGITUKI_EVENTS_RECOVER_SECONDS": "2",
    "DIGITUKI_EVENTS_RECOVER_GRACE_SECONDS": "20",
}
"""Events RabbitMQ has not brought within 20 s (not 2 minutes) are stored from the tracker
store: what a killed replica never published is whole soon after the load."""


@dataclass
class ProductionStack:
    """The running profile: its entry points and its processes."""

    layout: ProductionLayout
    database_url: str
    web_url: str
    services: list[Service]
    processes: Processes

    @property
    def rasa_url(self) -> str:
        return f"http://{self.layout.host}:{self.layout.rasa_port}"

    @property
    def widget_url(self) -> str:
        """The widget's WebSocket, through HAProxy."""
        return f"{self.rasa_url}/webhooks/widget/websocket"

    def replica_url(self, number: int) -> str:
        """A Rasa replica's own address (1-based), bypassing HAProxy."""
        return f"http://{self.layout.host}:{self.layout.rasa_replicas[number - 1]}"

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def recovered_events(self) -> int:
        """Events the events worker stored from the tracker store
        (``bot.conversations.recovery``) because RabbitMQ had not brought them in time."""
        import urllib.request

        metrics = self.service("events worker").health_url.replace("/ready", "/metrics")
        request = urllib.request.Request(metrics, headers=METRICS_HEADERS)
        with urllib.request.urlopen(request, timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("digituki_events_recovered_total "):
                    return int(float(line.split()[1]))
        return 0

    def halt(self, name: str) -> None:
        """Kills the process ``name`` (e.g. "rasa replica 1") without warning."""
        self.processes.halt(process_name(name))

    def again(self, name: str) -> None:
        self.processes.again(process_name(name))


def process_name(service: str) -> str:
    """The name of a service's process and log file: "rasa replica 1" -> "rasa-replica-1"."""
    return service.replace(" ", "-")


def _admin_url(url: str) -> str:
    return str(make_url(url).set(database="postgres"))


@contextmanager
def fresh_postgres_database(base_url: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards."""
    name = f"digituki_e2e_{uuid.uuid4().hex[:10]}"
    # No pool: the tests restart PostgreSQL, and a pooled connection would be dead.
    admin = create_engine(_admin_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    try:
        yield str(make_url(base_url).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = :name"
                ),
                {"name": name},
            )
            connection.execute(text(f'drop database if exists "{name}"'))
        admin.dispose()


@contextmanager
def production_stack(
    model: Path,
    folder: Path,
    gazetteer: Gazetteer,
    providers_file: Path,
    *,
    rasa_replicas: int = 2,
    action_replicas: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ProductionStack]:
    """Starts the profile; stops it and drops its database and queue afterwards."""
    from tests.helpers import load_providers

    folder.mkdir(parents=True, exist_ok=True)
    with fresh_postgres_database() as database_url:
        engine = make_engine(database_url)
        upgrade_schema(engine)
        load_gazetteer(engine, gazetteer)
        SqlProviderRepository(make_session_factory(engine)).upsert(
            load_providers(providers_file, gazetteer)
        )
        engine.dispose()
        layout = ProductionLayout(
            rasa_port=free_port(),
            action_port=free_port(),
            admin_port=free_port(),
            rasa_replicas=tuple(free_port() for _ in range(rasa_replicas)),
            action_replicas=tuple(free_port() for _ in range(action_replicas)),
            side_ports=tuple(free_port() for _ in range(rasa_replicas + action_replicas + 1)),
        )
        web_port = free_port()
        queue = f"digituki_events_{uuid.uuid4().hex[:8]}"
        processes = Processes(folder)
        processes.env.update(
            DIGITUKI_DATABASE_URL=database_url,
            DIGITUKI_REDIS_URL=REDIS_URL,
            DIGITUKI_RABBITMQ_URL=RABBITMQ_URL,
            DIGITUKI_EVENTS_QUEUE=queue,
            DIGITUKI_EVENTS_EXCHANGE=queue,
            DIGITUKI_RASA_URL=f"http://127.0.0.1:{layout.rasa_port}",
            DIGITUKI_ACTION_SERVER_URL=f"http://127.0.0.1:{layout.action_port}/webhook",
            DIGITUKI_WEB_PORT=str(web_port),
            DIGITUKI_RASA_TOKEN=TOKEN,
            DIGITUKI_METRICS_TOKEN=METRICS_TOKEN,
            DIGITUKI_WIDGET_ORIGINS=ORIGIN,
            DIGITUKI_HANDOFF_HOURS="24/7",
            DIGITUKI_LOG_FORMAT="json",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            **stack_env(),
            **(extra_env or {}),
        )
        settings = load_settings(processes.env)
        services = production_services(settings, model, layout)
        try:
            for service in services:
                processes.start(process_name(service.name), service.command, env=service.env)
            for service in services:
                processes.wait_for(service.health_url, 300)
            yield ProductionStack(
                layout, database_url, f"http://127.0.0.1:{web_port}", services, processes
            )
        finally:
            processes.stop()
            _delete_queue(queue)


def _delete_queue(queue: str) -> None:
    """Removes the test's events queue and exchange (nothing else uses them)."""
    import asyncio

    import aio_pika

    async def delete() -> None:
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=10)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.exchange_delete(queue)

    with contextlib.suppress(Exception):  # already gone, or RabbitMQ is away: nothing to clean
        asyncio.run(delete())


__all__ = [
    "METRICS_HEADERS",
    "ORIGIN",
    "QUICK_RECOVERY",
    "STREAM_ONLY",
    "TOKEN",
    "ProductionStack",
    "StackError",
    "production_stack",
]


WORKER_PASSWORD = "tuki-2026-marraskuu"


class Worker:
    """A support worker at the console: logged in, available, the live socket open.

    The socket is opened again whenever it drops (the web service restarted), as the
    console page does; while it is open, the worker counts as present.
    """

    def __init__(self, stack: ProductionStack, username: str) -> None:
        self.stack = stack
        self.username = username
        self.http: Any = None
        self.headers: dict[str, str] = {}
        self._task: Any = None
        self.reconnects = 0

    async def __aenter__(self) -> Worker:
        import asyncio

        import aiohttp

        from bot.handoff import Agents

        engine = make_engine(self.stack.database_url)
        try:
            Agents(make_session_factory(engine)).add(
                self.username, WORKER_PASSWORD, display_name="Anna", languages=["fi", "sv", "en"]
            )
        finally:
            engine.dispose()
        # unsafe=True: the cookie jar keeps cookies of an IP address host (127.0.0.1).
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        login = await self.http.post(
            f"{self.stack.web_url}/api/v1/auth/login",
            json={"username": self.username, "password": WORKER_PASSWORD},
        )
        if login.status != 200:
            raise StackError(f"worker login: {login.status} {await login.text()}")
        self.headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        await self.http.put(
            f"{self.stack.web_url}/api/v1/me/availability",
            json={"available": True},
            headers=self.headers,
        )
        self._task = asyncio.ensure_future(self._console())
        return self

    async def _console(self) -> None:
        import asyncio

        while True:
            try:
                socket = await self.http.ws_connect(
                    f"{self.stack.web_url}/api/v1/console/socket",
                    headers={"Origin": self.stack.web_url},
                )
                async for _ in socket:
                    pass  # the queue and messages; the worker only needs to be there
            except Exception:
                pass
            self.reconnects += 1
            await asyncio.sleep(0.5)

    async def send(self, conversation_id: str, text: str) -> int:
        """Takes the conversation's request and writes to the person; the HTTP status."""
        requests = await self.http.get(
            f"{self.stack.web_url}/api/v1/handoff/queue", headers=self.headers
        )
        found = [
            r for r in (await requests.json())["waiting"] if r["conversation_id"] == conversation_id
        ]
        if not found:
            return 404
        base = f"{self.stack.web_url}/api/v1/handoff/requests/{found[0]['id']}"
        claim = await self.http.post(f"{base}/claim", headers=self.headers)
        if claim.status != 200:
            return int(claim.status)
        sent = await self.http.post(f"{base}/messages", json={"text": text}, headers=self.headers)
        return int(sent.status)

    async def __aexit__(self, *_: object) -> None:
        import asyncio

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.http.put(
                f"{self.stack.web_url}/api/v1/me/availability",
                json={"available": False},
                headers=self.headers,
            )
        await self.http.close()
