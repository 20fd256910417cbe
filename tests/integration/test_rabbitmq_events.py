"""Rasa's events through RabbitMQ into the database: masked, none lost, each stored once.

Runs against the RabbitMQ server at DIGITUKI_TEST_RABBITMQ_URL (default: guest on
127.0.0.1:5672) and the databases of ``tests/conftest.py``; skipped when RabbitMQ does
not answer, unless DIGITUKI_REQUIRE_RABBITMQ=1. Every test has its own queue and
exchange. Connection losses are made with ``rabbitmqctl close_connection`` on the
test's own connection only; the server is never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from yarl import URL

from bot.conversations.encoding import encode_event, event_identity
from bot.conversations.facts import facts_of
from bot.conversations.worker import EventsWorker, WorkerSettings
from bot.db.engine import make_session_factory
from bot.db.models import AnalyticsEventRow, ConversationEventRow
from connectors.rabbitmq_broker import MaskedPikaEventBroker
from tests.conftest import ROOT, Database

RABBITMQ_URL = os.environ.get("DIGITUKI_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
SAID = "soita 040 123 4567 tai maija.meikalainen@example.fi"
FOLLOW_UP = "Testikirjasto on osoitteessa Kirkkokatu 1, 90100 Oulu. Puhelin: 040 123 4567."


def _rabbitmq_unavailable() -> str | None:
    """None when an AMQP server answers the protocol header, else the reason."""
    url = URL(RABBITMQ_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5672), 3) as sock:
            sock.settimeout(3)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            frame = sock.recv(7)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if frame[:1] != b"\x01":  # a method frame: Connection.Start
        return "the server there does not speak AMQP 0-9-1"
    return None


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    reason = _rabbitmq_unavailable()
    if reason:
        message = f"RabbitMQ not reachable at {URL(RABBITMQ_URL).with_password(None)} ({reason})"
        if os.environ.get("DIGITUKI_REQUIRE_RABBITMQ") == "1":
            pytest.fail(message + " and DIGITUKI_REQUIRE_RABBITMQ=1")
        pytest.skip(message)
    return RABBITMQ_URL


@dataclass(frozen=True)
class Amqp:
    """The test's own queue and exchange, and URLs naming its connections."""

    url: str
    queue: str
    exchange: str

    def named(self, who: str) -> str:
        """The URL of a connection named ``<queue>-<who>``, reconnecting after a second."""
        return str(URL(self.url).update_query(name=f"{self.queue}-{who}", reconnect_interval="1"))

    def broker(self, who: str = "broker", **kwargs: Any) -> MaskedPikaEventBroker:
        return MaskedPikaEventBroker(
            self.named(who), queues=[self.queue], exchange_name=self.exchange, **kwargs
        )

    def worker(self, sessions: sessionmaker, who: str = "worker", **settings: Any) -> EventsWorker:
        settings = WorkerSettings(
            rabbitmq_url=self.named(who),
            queue=self.queue,
            exchange=self.exchange,
            prefetch=10,
            retry_seconds=0.2,
            **settings,
        )
        return EventsWorker(settings, sessions)


@pytest.fixture
async def amqp(rabbitmq_url: str) -> AsyncIterator[Amqp]:
    queue = f"digituki_test_{uuid.uuid4().hex[:10]}"
    names = Amqp(rabbitmq_url, queue, f"{queue}_exchange")
    yield names
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(names.queue)
        await channel.exchange_delete(names.exchange)


async def queued(amqp: Amqp) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """The messages in the test's queue, taken out of it."""
    connection = await aio_pika.connect(amqp.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(amqp.queue, durable=True)
        messages = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            messages.append(message)
        return messages


async def consumed_bodies(amqp: Amqp, count: int) -> list[dict[str, Any]]:
    """At least ``count`` events from the test's queue (and whatever follows within a second)."""
    connection = await aio_pika.connect(amqp.url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        queue = await channel.declare_queue(amqp.queue, durable=True)
        bodies: list[dict[str, Any]] = []
        with contextlib.suppress(asyncio.TimeoutError):
            async with queue.iterator(no_ack=True) as messages:
                while True:
                    message = await asyncio.wait_for(
                        messages.__anext__(), 1 if len(bodies) >= count else 10
                    )
                    bodies.append(json.loads(message.body))
        return bodies


async def queue_length(amqp: Amqp) -> int:
    connection = await aio_pika.connect(amqp.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(amqp.queue, durable=True)
        return queue.declaration_result.message_count or 0


async def publish_raw(amqp: Amqp, *messages: tuple[bytes, str | None]) -> None:
    """Messages (body, message id) straight to the test's exchange, as a broker would."""
    connection = await aio_pika.connect(amqp.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            amqp.exchange, aio_pika.ExchangeType.FANOUT, durable=True
        )
        queue = await channel.declare_queue(amqp.queue, durable=True)
        await queue.bind(exchange, "")
        for body, message_id in messages:
            await exchange.publish(aio_pika.Message(body, message_id=message_id), "")


def drop_connection(name: str) -> None:
    """Closes the server's side of the connection named ``name`` (the server keeps running)."""
    close_connections(connection_pids(name))


def connection_pids(name: str) -> list[str]:
    """The server's ids of the connections named ``name``."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed here")
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "--no-table-headers", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if listed.returncode != 0:
        pytest.skip(f"rabbitmqctl cannot list connections: {listed.stderr.strip()[:200]}")
    pids = [
        line.split("\t")[0]
        for line in listed.stdout.splitlines()
        if f'{{"connection_name","{name}"}}' in line
    ]
    assert pids, f"no connection named {name}"
    return pids


def close_connections(pids: list[str]) -> None:
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: connection loss"],
            check=True,
            capture_output=True,
            timeout=30,
        )


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> None:
    """Waits until ``check()`` is true (awaiting it when it is a coroutine)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def said(i: int, conversation: str = "c1") -> dict[str, Any]:
    return {"event": "user", "sender_id": conversation, "timestamp": 1_795_000_000.0 + i,
            "text": f"viesti {i}", "message_id": f"m{i}"}  # fmt: skip


def messages(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(
            connection.scalars(select(ConversationEventRow.text).order_by(ConversationEventRow.id))
        )


@pytest.fixture
async def start_worker() -> AsyncIterator[Callable[[EventsWorker], asyncio.Event]]:
    """Runs workers in the background; each is stopped (SIGTERM's way) after the test."""
    running: list[tuple[asyncio.Event, asyncio.Task]] = []

    def start(worker: EventsWorker) -> asyncio.Event:
        stop = asyncio.Event()
        running.append((stop, asyncio.get_running_loop().create_task(worker.run(stop))))
        return stop

    yield start
    for stop, _ in running:
        stop.set()
    await asyncio.gather(*(task for _, task in running))


# --- the broker -------------------------------------------------------------------------


async def test_the_broker_publishes_events_masked_with_their_hash_as_id(amqp):
    broker = amqp.broker()
    await broker.connect()
    event = {"event": "user", "sender_id": "4111111111111111", "timestamp": 1.0, "text": SAID,
             "parse_data": {"text": SAID, "intent": {"name": "ask_help"}}}  # fmt: skip
    broker.publish(event)
    await eventually(lambda: broker.published == 1)
    await broker.close()

    [message] = await queued(amqp)
    assert b"040 123 4567" not in message.body and b"example.fi" not in message.body
    sent = json.loads(message.body)
    assert sent["text"] == sent["parse_data"]["text"] == "soita [phone] tai [email]"
    assert sent["sender_id"] == "4111111111111111"
    assert facts_of(sent) == facts_of(event)
    assert message.message_id == event_identity(sent) == event_identity(event)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


async def test_events_published_before_the_broker_connected_are_not_lost(amqp):
    broker = amqp.broker()
    for i in range(3):
        broker.publish(said(i))
    assert not broker.is_ready() and broker.pending == 3
    await broker.connect()
    await eventually(lambda: broker.pending == 0)
    await broker.close()
    assert [json.loads(m.body)["text"] for m in await queued(amqp)] == [
        "viesti 0", "viesti 1", "viesti 2",
    ]  # fmt: skip


async def test_the_broker_of_endpoints_yml_connects_in_the_background(amqp):
    # The url without the user, the user and password apart, as endpoints.yml may give them.
    parts = URL(amqp.url)
    config = EndpointConfig(
        url=str(parts.with_user(None)),
        type="connectors.rabbitmq_broker.MaskedPikaEventBroker",
        username=parts.user,
        password=parts.password,
        queues=[amqp.queue],
        exchange_name=amqp.exchange,
        max_pending_events="1000",
    )
    broker = await MaskedPikaEventBroker.from_endpoint_config(config)
    assert broker is not None and broker.max_pending_events == 1000
    broker.publish(said(0))  # right away, before the connection is up
    await eventually(broker.is_ready)
    await eventually(lambda: broker.published == 1)
    await broker.close()
    assert [json.loads(m.body)["text"] for m in await queued(amqp)] == ["viesti 0"]


async def test_the_rasa_server_starts_while_rabbitmq_is_away(caplog):
    config = EndpointConfig(
        url="amqp://guest:guest@127.0.0.1:1/",  # nothing listens there
        type="connectors.rabbitmq_broker.MaskedPikaEventBroker",
        connection_attempts=1,
        retry_delay_in_seconds=0.1,
        close_timeout=0.1,
    )
    broker = await MaskedPikaEventBroker.from_endpoint_config(config)
    assert broker is not None
    broker.publish(said(0))
    await asyncio.sleep(0.3)
    assert not broker.is_ready() and broker.pending == 1
    assert "RabbitMQ is not reachable" in caplog.text and "guest:guest" not in caplog.text
    await broker.close()
    assert "closing with 1 events not published" in caplog.text


async def test_the_broker_keeps_events_while_the_connection_is_lost_and_sends_them_after(amqp):
    broker = amqp.broker()
    await broker.connect()
    broker.publish(said(0))
    await eventually(lambda: broker.published == 1)

    await asyncio.to_thread(drop_connection, f"{amqp.queue}-broker")
    await eventually(lambda: not broker.is_ready())
    for i in range(1, 21):
        broker.publish(said(i))
    await asyncio.sleep(0.2)
    assert not broker.is_ready() and await queue_length(amqp) == 1  # kept, not lost

    await eventually(broker.is_ready)
    await eventually(lambda: broker.pending == 0)
    assert broker.published == 21 and broker.dropped == 0
    await broker.close()
    assert [json.loads(m.body)["text"] for m in await queued(amqp)] == [
        f"viesti {i}" for i in range(21)
    ]


async def test_events_in_flight_when_the_connection_drops_are_sent_again_in_order(amqp):
    broker = amqp.broker()
    await broker.connect()
    pids = await asyncio.to_thread(connection_pids, f"{amqp.queue}-broker")
    count = 0

    def publish(events: int) -> None:
        nonlocal count
        for _ in range(events):
            broker.publish(said(count))
            count += 1

    publish(1000)
    await eventually(lambda: broker.published >= 500)
    # The stream keeps flowing (faster than it is sent) until the server cuts the connection.
    closing = asyncio.ensure_future(asyncio.to_thread(close_connections, pids))
    while broker.connections_lost == 0 and count < 50_000:
        publish(200)
        await asyncio.sleep(0.01)
    await closing
    assert broker.connections_lost == 1
    assert broker.pending_at_last_loss > 0  # the connection dropped in the middle of the stream
    publish(500)  # and more after it
    await eventually(lambda: broker.pending == 0, timeout=90)
    await broker.close()

    bodies = await consumed_bodies(amqp, count)
    # A message whose confirmation was lost is sent again; the worker stores it once.
    firsts = list(dict.fromkeys(body["text"] for body in bodies))
    assert firsts == [f"viesti {i}" for i in range(count)]
    assert len(bodies) - count < 200


async def test_the_broker_keeps_at_most_its_limit_of_events(amqp, caplog):
    broker = amqp.broker(max_pending_events=5)
    for i in range(8):
        broker.publish(said(i))
    assert (broker.pending, broker.dropped) == (5, 3)
    assert "events dropped so far" in caplog.text
    await broker.connect()
    await eventually(lambda: broker.pending == 0)
    await broker.close()
    assert len(await queued(amqp)) == 5


# --- the worker -------------------------------------------------------------------------


async def test_the_worker_stores_messages_and_report_facts(amqp, database, start_worker):
    events = [
        {"event": "action", "sender_id": "c1", "timestamp": 10.0, "name": "action_listen"},
        {"event": "user", "sender_id": "c1", "timestamp": 11.0, "text": SAID, "message_id": "m1",
         "parse_data": {"intent": {"name": "ask_help"}, "entities": []}},
        {"event": "slot", "sender_id": "c1", "timestamp": 12.0, "name": "language", "value": "fi"},
        {"event": "slot", "sender_id": "c1", "timestamp": 13.0, "name": "topic", "value": ["email"]},
        {"event": "bot", "sender_id": "c1", "timestamp": 14.0, "text": "Autan mielelläni.",
         "metadata": {"agent": "Maija"}},
        {"event": "bot", "sender_id": "c1", "timestamp": 15.0, "text": FOLLOW_UP, "metadata": {}},
        {"event": "bot", "sender_id": "c1", "timestamp": 16.0, "text": "Saako digitukija soittaa "
         "numeroon 040 765 4321?", "metadata": {"utter_action": "utter_ask_callback_consent"}},
    ]  # fmt: skip
    broker = amqp.broker()
    await broker.connect()
    for event in events:
        broker.publish(event)
    await eventually(lambda: broker.pending == 0)
    await broker.close()

    worker = amqp.worker(make_session_factory(database.engine))
    start_worker(worker)
    await eventually(lambda: worker.consumed == len(events))
    await eventually(worker.ready)

    with database.engine.connect() as connection:
        rows = connection.execute(
            select(
                ConversationEventRow.conversation_id,
                ConversationEventRow.sender,
                ConversationEventRow.text,
                ConversationEventRow.agent,
                ConversationEventRow.message_id,
            ).order_by(ConversationEventRow.id)
        ).all()
        facts = connection.execute(
            select(
                AnalyticsEventRow.kind, AnalyticsEventRow.language, AnalyticsEventRow.topic
            ).order_by(AnalyticsEventRow.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("c1", "user", "soita [phone] tai [email]", None, "m1"),
        ("c1", "worker", "Autan mielelläni.", "Maija", None),
        ("c1", "bot", FOLLOW_UP, None, None),  # the bot's own: as it is
        ("c1", "bot", "Saako digitukija soittaa numeroon [phone]?", None, None),
    ]
    assert [tuple(f) for f in facts] == [
        ("message", None, None), ("language", "fi", None), ("need", None, "email"),
    ]  # fmt: skip
    assert worker.duplicates == 0 and await queue_length(amqp) == 0


async def test_a_message_delivered_twice_is_stored_once(amqp, database, start_worker):
    body, message_id = encode_event(said(1))
    await publish_raw(amqp, (body, message_id), (body, message_id), encode_event(said(2)))
    worker = amqp.worker(make_session_factory(database.engine))
    start_worker(worker)
    await eventually(lambda: worker.consumed == 3)
    assert worker.duplicates == 1
    assert messages(database) == ["viesti 1", "viesti 2"]


async def test_messages_that_are_not_events_are_set_aside_without_blocking(
    amqp, database, start_worker, caplog
):
    await publish_raw(
        amqp, (b"not json: 040 123 4567", "x1"), (b"[1, 2]", None), encode_event(said(1))
    )
    worker = amqp.worker(make_session_factory(database.engine))
    start_worker(worker)
    await eventually(lambda: worker.consumed == 1)
    assert worker.malformed == 2 and messages(database) == ["viesti 1"]
    assert await queue_length(amqp) == 0
    assert "040 123 4567" not in caplog.text


class FailingSessions:
    """A session factory whose transactions fail while ``failing`` (the database is away)."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self.failing = False

    def begin(self) -> Any:
        if self.failing:
            raise OperationalError("begin", {}, ConnectionRefusedError("the database is away"))
        return self.sessions.begin()

    def __call__(self) -> Any:
        if self.failing:
            raise OperationalError("select 1", {}, ConnectionRefusedError("the database is away"))
        return self.sessions()


async def test_a_database_failure_holds_the_event_until_the_database_answers(
    amqp, database, start_worker
):
    await publish_raw(amqp, encode_event(said(1)), encode_event(said(2)))
    sessions = FailingSessions(make_session_factory(database.engine))
    sessions.failing = True
    worker = amqp.worker(sessions)  # type: ignore[arg-type]
    start_worker(worker)
    await eventually(lambda: worker.failed >= 3)
    assert worker.consumed == 0 and not worker.ready() and await queue_length(amqp) == 0
    sessions.failing = False  # the database is back
    await eventually(lambda: worker.consumed == 2)
    assert worker.duplicates == 0 and messages(database) == ["viesti 1", "viesti 2"]
    await eventually(worker.ready)


async def test_what_a_killed_replica_never_published_is_recovered_from_the_tracker_store(
    amqp, database, start_worker
):
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from connectors.tracker_store import DatabaseTrackerStore

    published: list[dict[str, Any]] = []

    class Stream(EventBroker):
        def publish(self, event: dict[str, Any]) -> None:
            published.append(event)

    store = DatabaseTrackerStore(host=database.url, event_broker=Stream())
    tracker = DialogueStateTracker("c-killed", slots=[])
    for number in (1, 2, 3):
        tracker.update_with_events(
            [UserUttered(f"viesti {number}", message_id=f"m{number}"), BotUttered(f"vastaus {number}")],
            domain=None,
        )  # fmt: skip
        await store.save(tracker)
    store.engine.dispose()
    # Only the first turn reached RabbitMQ before the replica was killed.
    await publish_raw(amqp, *(encode_event(event) for event in published[:2]))

    worker = amqp.worker(
        make_session_factory(database.engine), recover_seconds=0.2, recover_grace_seconds=0
    )
    start_worker(worker)
    expected = [f"{who} {n}" for n in (1, 2, 3) for who in ("viesti", "vastaus")]
    await eventually(lambda: messages(database) == expected)
    await eventually(lambda: worker.consumed == 2)
    await asyncio.sleep(0.5)  # more runs of the recovery: nothing twice
    assert messages(database) == expected
    assert worker.reconciler.recovered + worker.consumed - worker.duplicates == 6
    assert worker.reconciler.recovered >= 4


async def test_an_event_held_by_a_stopped_worker_is_stored_by_the_next(
    amqp, database, start_worker
):
    await publish_raw(amqp, encode_event(said(1)), encode_event(said(2)))
    away = FailingSessions(make_session_factory(database.engine))
    away.failing = True
    first = amqp.worker(away, "first")  # type: ignore[arg-type]
    stop_first = start_worker(first)
    await eventually(lambda: first.failed >= 2)
    assert not first.database_ready() and not first.ready()
    stop_first.set()  # the event it holds goes back to the queue
    await eventually(lambda: not first.rabbitmq_ready())

    second = amqp.worker(make_session_factory(database.engine), "second")
    start_worker(second)
    await eventually(lambda: second.consumed == 2)
    assert messages(database) == ["viesti 1", "viesti 2"] and first.consumed == 0


async def test_a_table_gone_missing_holds_events_until_it_is_back(amqp, database, start_worker):
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE event_receipts RENAME TO event_receipts_away"))
    await publish_raw(amqp, encode_event(said(1)))
    worker = amqp.worker(make_session_factory(database.engine))
    start_worker(worker)
    await eventually(lambda: worker.failed >= 2)
    assert worker.consumed == 0 and messages(database) == []
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE event_receipts_away RENAME TO event_receipts"))
    await eventually(lambda: worker.consumed == 1)
    assert messages(database) == ["viesti 1"]


async def test_the_worker_goes_on_after_losing_its_rabbitmq_connection(
    amqp, database, start_worker
):
    worker = amqp.worker(make_session_factory(database.engine))
    start_worker(worker)
    await eventually(worker.ready)
    await publish_raw(amqp, encode_event(said(1)))
    await eventually(lambda: worker.consumed == 1)

    await asyncio.to_thread(drop_connection, f"{amqp.queue}-worker")
    await eventually(lambda: not worker.rabbitmq_ready())
    await publish_raw(amqp, encode_event(said(2)), encode_event(said(3)))
    await eventually(worker.ready)
    await eventually(lambda: worker.consumed == 3)
    assert messages(database) == ["viesti 1", "viesti 2", "viesti 3"]


def _start_worker_process(amqp: Amqp, database: Database, **more: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DIGITUKI_DATABASE_URL": database.url,
        "DIGITUKI_RABBITMQ_URL": amqp.url,
        "DIGITUKI_EVENTS_QUEUE": amqp.queue,
        "DIGITUKI_EVENTS_EXCHANGE": amqp.exchange,
        "DIGITUKI_EVENTS_PREFETCH": "20",
        "DIGITUKI_LOG_LEVEL": "WARNING",
        **more,
    }
    return subprocess.Popen([sys.executable, "-m", "bot.conversations.worker"], cwd=ROOT, env=env)


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


async def test_a_killed_worker_restarted_stores_every_event_exactly_once(amqp, database):
    count = 400
    broker = amqp.broker()
    await broker.connect()
    for i in range(count):
        broker.publish(said(i, conversation=f"c{i % 7}"))
    await eventually(lambda: broker.pending == 0)
    await broker.close()

    first = _start_worker_process(amqp, database)
    try:
        await eventually(lambda: len(messages(database)) >= 50, timeout=60)
    finally:
        first.kill()  # SIGKILL, in the middle of the stream
        first.wait(10)
    assert len(messages(database)) < count

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    second = _start_worker_process(amqp, database, DIGITUKI_METRICS_PORT=str(port))
    try:
        await eventually(lambda: len(messages(database)) >= count, timeout=60)
        await asyncio.sleep(0.5)  # anything more would show up now
        ready = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/ready")
        assert ready["status"] == "ready"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0  # a graceful stop
    assert messages(database) == [f"viesti {i}" for i in range(count)]
    assert await queue_length(amqp) == 0
