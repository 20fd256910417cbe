"""The events worker: Rasa's events from RabbitMQ into the database, each stored once.

In the production profile the Rasa servers publish their events, masked, to RabbitMQ
(``connectors.rabbitmq_broker``, :func:`bot.conversations.encoding.encode_event`); one
or more of these workers store what the handoff console and the reports need
(:func:`bot.conversations.store.record_event`)::

    python -m bot.conversations.worker

An event is acknowledged only after its transaction is committed, with the message
id as its receipt, so a redelivered event is stored once. While the database does
not answer, the worker holds the event it has, retries it with a growing pause and
takes nothing new: RabbitMQ keeps the rest, and delivers the held ones again if the
worker stops. RabbitMQ itself may go away: the connection comes back on its own.
Messages that are not Rasa events, and events the database refuses as they are
(a value it cannot store), are logged without their content and set aside (rejected
without requeueing: dropped, or dead-lettered where the queue has a policy for it).
SIGTERM stops the worker after the event it is storing.

Events a Rasa replica never published (it was killed holding them) are recovered
from the tracker store, ``recover_grace_seconds`` behind the stream
(:mod:`bot.conversations.recovery`), under the same receipts.

With one worker, events are stored in the order they were published; with several,
two events of one conversation published close together may be stored in either
order (each keeps its timestamp).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

import aio_pika
import aio_pika.abc
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.config import ConfigError
from bot.conversations.encoding import DEFAULT_EXCHANGE, DEFAULT_QUEUE, decode_event, event_identity
from bot.conversations.recovery import Reconciler
from bot.conversations.settings import (
    DEFAULT_RABBITMQ_URL,
    WorkerSettings,
    load_worker_settings,
    positive_int,
)
from bot.conversations.store import EVENT_ERRORS, forget_receipts, record_event
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import current_revision, head_revision
from bot.logs import configure_logging
from bot.observability import start_process_observability

log = logging.getLogger(__name__)

PROBE_SECONDS = 10.0
"""An idle worker asks the database this often whether it answers."""
FRESH_SECONDS = 30.0
"""The database counts as answering this long after it last did."""
HOUSEKEEPING_SECONDS = 3600.0
"""Old receipts are deleted this often."""


def receipt_of(event: dict[str, Any], message: aio_pika.abc.AbstractIncomingMessage) -> str:
    """The event's identity (:func:`~bot.conversations.encoding.event_identity`), whatever
    message id it came with: the tracker store's copy of the event has the same."""
    return event_identity(event, message.body)


class EventsWorker:
    """Consumes the events queue into the database until told to stop.

    ``consumed``, ``duplicates``, ``failed``, ``malformed`` and ``set_aside`` count
    what happened, for metrics; :meth:`ready` says whether the worker can work now.
    """

    def __init__(self, settings: WorkerSettings, sessions: sessionmaker) -> None:
        self.settings = settings
        self._sessions = sessions
        self.consumed = 0
        """Events stored (or found stored before) and acknowledged."""
        self.duplicates = 0
        """Of those, events that had been stored before (a redelivery)."""
        self.failed = 0
        """Attempts to store an event that failed because of the database (each is retried)."""
        self.malformed = 0
        """Messages that were not Rasa events, set aside."""
        self.set_aside = 0
        """Events the database refused as they are, set aside."""
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._database_answered_at: float | None = None
        self._database_trouble = False
        self._closing = False
        self.reconciler = Reconciler(sessions, grace_s=settings.recover_grace_seconds)

    # --- state ------------------------------------------------------------------------

    def rabbitmq_ready(self) -> bool:
        """Whether the connection to RabbitMQ is up and the queue consumed."""
        connection, channel = self._connection, self._channel
        return (
            connection is not None
            and not connection.is_closed
            and channel is not None
            and not channel.is_closed
        )

    def database_ready(self) -> bool:
        """Whether the database answered in the last :data:`FRESH_SECONDS`."""
        answered = self._database_answered_at
        return answered is not None and time.monotonic() - answered < FRESH_SECONDS

    def ready(self) -> bool:
        """Connected to RabbitMQ, and the database answered recently."""
        return self.rabbitmq_ready() and self.database_ready()

    # --- running ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set; the event being stored is finished first.

        Each connection to RabbitMQ gets its own channel, consumer and inbox. When the
        connection is lost, all of it is dropped and made again from the start: what
        was handed over and not acknowledged is delivered again by RabbitMQ (and
        stored once, by its receipt). Restoring a consumer in place (aio-pika's robust
        connection) left a worker holding a full prefetch window it never processed
        after a RabbitMQ restart.
        """
        recovering = (
            asyncio.create_task(self._recover(stop)) if self.settings.recover_seconds > 0 else None
        )
        try:
            await self._run_connections(stop)
        finally:
            if recovering is not None:
                recovering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovering
        log.info(
            "stopped: %d events consumed, %d duplicates, %d failed attempts, %d recovered",
            self.consumed,
            self.duplicates,
            self.failed,
            self.reconciler.recovered,
        )

    async def _run_connections(self, stop: asyncio.Event) -> None:
        delay = min(1.0, self.settings.retry_seconds)
        while not stop.is_set():
            connection = await self._connect(stop)
            if connection is None:
                return
            lost = asyncio.Event()
            connection.close_callbacks.add(lambda *_, lost=lost: lost.set())
            try:
                await self._consume(connection, stop, lost)
                delay = min(1.0, self.settings.retry_seconds)
            except Exception as exc:  # RabbitMQ went away while the channel was set up
                log.warning("RabbitMQ: %s; connecting again", type(exc).__name__)
            finally:
                self._channel = None
                self._closing = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 5)
                self._closing = False
            if not stop.is_set():
                log.warning("RabbitMQ connection lost; connecting again")
                if await _stopped_within(stop, delay):
                    break
                delay = min(delay * 2, self.settings.retry_seconds)

    async def _recover(self, stop: asyncio.Event) -> None:
        """Every ``recover_seconds``, stores what the stream never brought (see
        :mod:`bot.conversations.recovery`); independent of RabbitMQ, so it goes on while
        RabbitMQ is away."""
        while not await _stopped_within(stop, self.settings.recover_seconds):
            try:
                await asyncio.to_thread(self.reconciler.run_once)
            except Exception as exc:
                log.warning(
                    "could not read the tracker store for missing events (%s); trying again",
                    type(exc).__name__,
                )

    async def _consume(
        self, connection: aio_pika.abc.AbstractConnection, stop: asyncio.Event, lost: asyncio.Event
    ) -> None:
        """Stores what one connection delivers until ``stop`` or the connection is ``lost``."""
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.settings.prefetch)
        exchange = await channel.declare_exchange(
            self.settings.exchange, aio_pika.ExchangeType.FANOUT, durable=True
        )
        queue = await channel.declare_queue(self.settings.queue, durable=True)
        await queue.bind(exchange, "")
        self._channel = channel
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        tasks = [
            asyncio.create_task(self._watch_database(stop)),
            asyncio.create_task(self._forget_old_receipts(stop)),
        ]
        processing = asyncio.create_task(self._process_inbox(stop, inbox, lost))
        stopping = asyncio.create_task(stop.wait())
        losing = asyncio.create_task(lost.wait())
        try:
            tag = await queue.consume(inbox.put)
            log.info("storing the events of queue %s", self.settings.queue)
            await asyncio.wait({processing, stopping, losing}, return_when=asyncio.FIRST_COMPLETED)
            if not lost.is_set():
                # Take nothing new; what was handed over and not acknowledged goes back
                # to the queue when the connection closes.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(queue.cancel(tag), 5)
            await processing  # the event being stored is finished (or the error raised)
        finally:
            for task in (*tasks, processing, stopping, losing):
                task.cancel()
            await asyncio.gather(*tasks, processing, stopping, losing, return_exceptions=True)

    async def _connect(self, stop: asyncio.Event) -> aio_pika.abc.AbstractConnection | None:
        delay = min(1.0, self.settings.retry_seconds)
        while not stop.is_set():
            try:
                connection = await aio_pika.connect(self.settings.rabbitmq_url, timeout=10)
            except Exception as exc:
                log.warning("RabbitMQ is not reachable (%s); trying again", type(exc).__name__)
                if await _stopped_within(stop, delay):
                    return None
                delay = min(delay * 2, self.settings.retry_seconds)
                continue
            self._connection = connection
            log.info("connected to RabbitMQ")
            return connection
        return None

    async def _process_inbox(
        self,
        stop: asyncio.Event,
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage],
        lost: asyncio.Event,
    ) -> None:
        """Stores the inbox's messages one by one until ``stop`` or ``lost``."""
        ending = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())}
        try:
            while not stop.is_set() and not lost.is_set():
                getting = asyncio.ensure_future(inbox.get())
                await asyncio.wait({getting, *ending}, return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()  # nothing was taken from the inbox
                    return
                await self._process(getting.result(), stop)
        finally:
            for waiting in ending:
                waiting.cancel()

    async def _process(
        self, message: aio_pika.abc.AbstractIncomingMessage, stop: asyncio.Event
    ) -> None:
        """Stores one message's event and acknowledges it, or leaves it to RabbitMQ."""
        if message.channel.is_closed:
            return  # handed over on a connection since lost: RabbitMQ delivers it again
        event = decode_event(message.body)
        if event is None:
            self.malformed += 1
            log.warning(
                "set aside a message that is not a Rasa event (%d bytes, message id %s)",
                len(message.body),
                message.message_id,
            )
            await _settle(message.reject(requeue=False))
            return
        receipt = receipt_of(event, message)
        delay = min(1.0, self.settings.retry_seconds)
        while True:
            try:
                stored = await asyncio.to_thread(record_event, self._sessions, event, receipt)
                break
            except EVENT_ERRORS as exc:
                self.set_aside += 1
                log.error(
                    "set aside an event the database refused (%s, message id %s)",
                    type(exc).__name__,
                    receipt,
                )
                await _settle(message.reject(requeue=False))
                return
            except Exception as exc:
                self.failed += 1
                self._database_failed(exc)
                if await _stopped_within(stop, delay) or message.channel.is_closed:
                    return  # not acknowledged: RabbitMQ delivers it again
                delay = min(delay * 2, self.settings.retry_seconds)
        self._database_answered()
        if await _settle(message.ack()):
            self.consumed += 1
            if not stored:
                self.duplicates += 1

    async def _watch_database(self, stop: asyncio.Event) -> None:
        """Asks the database whether it answers, when no stored event has shown it lately."""
        while True:
            answered = self._database_answered_at
            if answered is None or time.monotonic() - answered >= PROBE_SECONDS:
                try:
                    await asyncio.to_thread(self._ask_database)
                except Exception as exc:
                    self._database_failed(exc)
                else:
                    self._database_answered()
            if await _stopped_within(stop, PROBE_SECONDS):
                return

    def _ask_database(self) -> None:
        with self._sessions() as session:
            session.execute(text("select 1"))

    def _database_answered(self) -> None:
        self._database_answered_at = time.monotonic()
        if self._database_trouble:
            self._database_trouble = False
            log.info("the database answers again")

    def _database_failed(self, error: Exception) -> None:
        self._database_answered_at = None
        if not self._database_trouble:
            self._database_trouble = True
            log.warning(
                "the database fails (%s); events wait in RabbitMQ until it works again",
                type(error).__name__,
            )

    async def _forget_old_receipts(self, stop: asyncio.Event) -> None:
        while True:
            try:
                forgotten = await asyncio.to_thread(forget_receipts, self._sessions)
            except Exception as exc:
                log.warning("could not delete old receipts (%s)", type(exc).__name__)
            else:
                if forgotten:
                    log.info("deleted %d receipts older than a week", forgotten)
            if await _stopped_within(stop, HOUSEKEEPING_SECONDS):
                return


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Waits ``seconds`` or until ``stop`` is set; whether it is set."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _settle(acknowledgement: Awaitable[Any]) -> bool:
    """Sends an ack or reject; ``False`` when the connection it came on is gone."""
    try:
        await acknowledgement
    except Exception as exc:
        log.info(
            "could not settle a message (%s); RabbitMQ delivers it again, stored once",
            type(exc).__name__,
        )
        return False
    return True


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot take events yet (its schema is not the code's); ``None`` if it can."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        return f"the database schema is at {current or 'nothing'}, the code at {head}: run `digituki db upgrade`"
    return None


async def serve(settings: WorkerSettings, stop: asyncio.Event | None = None) -> int:
    """Runs a worker until SIGTERM or SIGINT (or ``stop``); the process's exit status."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = make_engine(settings.database_url, pool_pre_ping=True)
    try:
        delay = 1.0
        while True:
            try:
                problem = await asyncio.to_thread(schema_problem, engine)
                break
            except Exception as exc:
                log.warning("the database does not answer (%s); trying again", type(exc).__name__)
                if await _stopped_within(stop, delay):
                    return 0
                delay = min(delay * 2, settings.retry_seconds)
        if problem:
            log.error(problem)
            return 2
        worker = EventsWorker(settings, make_session_factory(engine))
        start_process_observability(
            "events", {"rabbitmq": worker.rabbitmq_ready, "database": worker.database_ready}
        )
        await worker.run(stop)
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.conversations.worker",
        description="Store the Rasa servers' events from RabbitMQ in the database "
        "(conversation_events for the handoff console, analytics_events for the reports).",
        epilog="Settings come from the environment: DIGITUKI_DATABASE_URL, "
        f"DIGITUKI_RABBITMQ_URL (default {DEFAULT_RABBITMQ_URL}), DIGITUKI_EVENTS_QUEUE "
        f"(default {DEFAULT_QUEUE}), DIGITUKI_EVENTS_EXCHANGE (default {DEFAULT_EXCHANGE}), "
        "DIGITUKI_EVENTS_PREFETCH (default 100), DIGITUKI_EVENTS_RETRY_SECONDS (default 30), "
        "DIGITUKI_EVENTS_RECOVER_SECONDS (how often events missing from the stream are looked "
        "for in the tracker store; default 30, 0 is off), DIGITUKI_EVENTS_RECOVER_GRACE_SECONDS "
        "(how far behind the present; default 120), DIGITUKI_LOG_LEVEL. SIGTERM stops the worker after the event it is storing.",
    )
    parser.add_argument("--queue", help="the queue to consume (overrides DIGITUKI_EVENTS_QUEUE)")
    parser.add_argument(
        "--prefetch",
        type=positive_int,
        help="messages taken before the first is acknowledged (DIGITUKI_EVENTS_PREFETCH)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_worker_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("queue", args.queue), ("prefetch", args.prefetch)) if v}
    settings = replace(settings, **overrides)
    configure_logging("events", settings.log_level)
    try:
        return asyncio.run(serve(settings))
    except ConfigError as exc:  # DIGITUKI_METRICS_PORT
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
