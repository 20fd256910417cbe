"""Rasa event broker of the production profile: every event to RabbitMQ, masked, none lost.

Configured in ``endpoints.yml`` of each Rasa server::

    event_broker:
      type: connectors.rabbitmq_broker.MaskedPikaEventBroker
      url: ${DIGITUKI_RABBITMQ_URL}   # amqp://user:password@host:5672/
      queues:
        - digituki_events

The events worker (``python -m bot.conversations.worker``) stores them in the database.
What this broker adds to Rasa's ``PikaEventBroker``:

- Each event is sent as :func:`bot.conversations.encoding.encode_event` makes it:
  personal data masked before it leaves the process (the conversation id and the
  bot's own messages as they are), with its
  :func:`~bot.conversations.encoding.event_identity` as the message id, so an event
  published twice (after a publish whose confirmation was lost), or recovered from
  the tracker store as well (:mod:`bot.conversations.recovery`), is stored once.
- Nothing is dropped silently. Events published before the first connection, while
  RabbitMQ is away or when a publish fails are kept in memory, up to
  ``max_pending_events`` (100 000; beyond that new events are dropped, and logged),
  and published once the connection is back. Rasa's class drops the events that
  come before it is connected.
- One sender publishes the events in the order Rasa published them, a window of
  confirmed publishes at a time, and resends from the first unconfirmed one, so
  each conversation's events arrive in order. A publish waits at most
  ``publish_timeout`` seconds; on a lost connection it fails at once.
- The Rasa server starts even when RabbitMQ is not up yet: the broker connects in
  the background (Rasa's waits, then stops the server after ``connection_attempts``).
- ``is_ready()`` is true only while the connection is up (a robust connection
  never reports itself closed, so Rasa's stays true during an outage).

Events still kept when the server stops are lost (their number is logged); on a
clean stop the broker first waits up to ``close_timeout`` seconds for them to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

import aio_pika
import aio_pika.abc
from rasa.core.brokers.pika import PikaEventBroker, _create_rabbitmq_ssl_options
from rasa.utils.endpoints import EndpointConfig
from yarl import URL

from bot.conversations.encoding import DEFAULT_EXCHANGE, DEFAULT_QUEUE, encode_event

log = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 100_000
PUBLISH_WINDOW = 100
"""Publishes awaiting their confirmation at a time."""
RETRY_SECONDS = 1.0
"""How often a sender without a connection looks again (a reconnection wakes it at once)."""


@dataclass(frozen=True, slots=True)
class _Outgoing:
    body: bytes
    message_id: str
    headers: aio_pika.abc.HeadersType | None


class MaskedPikaEventBroker(PikaEventBroker):
    """Publishes every event, masked, to a durable fanout exchange and its queues."""

    def __init__(
        self,
        host: str,
        username: str | None = None,
        password: str | None = None,
        port: int | str = 5672,
        queues: list[str] | tuple[str, ...] | str | None = None,
        *,
        exchange_name: str = DEFAULT_EXCHANGE,
        max_pending_events: int | str = MAX_PENDING_EVENTS,
        publish_timeout: float | str = 10.0,
        close_timeout: float | str = 5.0,
        connection_attempts: int | str = 20,
        retry_delay_in_seconds: float | str = 5.0,
        event_loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            host,
            username or "",
            password or "",
            port=port,
            queues=queues or [DEFAULT_QUEUE],
            exchange_name=exchange_name,
            # Values of endpoints.yml may come from environment variables, as text.
            connection_attempts=int(connection_attempts),
            retry_delay_in_seconds=float(retry_delay_in_seconds),
            event_loop=event_loop,
            **kwargs,
        )
        self.max_pending_events = int(max_pending_events)
        self.publish_timeout = float(publish_timeout)
        self.close_timeout = float(close_timeout)
        self.published = 0
        """Events RabbitMQ confirmed."""
        self.dropped = 0
        """Events dropped because too many were waiting (or one could not be encoded)."""
        self.connections_lost = 0
        """Times the connection went away (not counting :meth:`close`)."""
        self.pending_at_last_loss = 0
        """Events waiting to be sent (or confirmed) when the connection last went away."""
        self._pending: deque[_Outgoing] = deque()
        self._wake = asyncio.Event()
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._sender: asyncio.Task | None = None
        self._connector: asyncio.Task | None = None
        self._closing = False
        self._failing = False

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig | None,
        event_loop: asyncio.AbstractEventLoop | None = None,
    ) -> MaskedPikaEventBroker | None:
        """The broker of ``endpoints.yml``, connecting in the background."""
        if broker_config is None:
            return None
        if not broker_config.url:
            raise ValueError("the RabbitMQ event broker needs `url` (DIGITUKI_RABBITMQ_URL)")
        broker = cls(str(broker_config.url), **broker_config.kwargs, event_loop=event_loop)
        broker.start()
        return broker

    @property
    def pending(self) -> int:
        """Events waiting to be published."""
        return len(self._pending)

    def start(self) -> None:
        """Connects in the background (retrying until it succeeds) and starts publishing."""
        self._start_sender()
        if self._connector is None and self._connection is None:
            self._connector = self._loop.create_task(self._connect_until_connected())

    async def connect(self) -> None:
        """Connects now (Rasa's ``connection_attempts``, then the last error) and starts publishing."""
        self._start_sender()
        connection = await self._connect()
        try:
            channel = await connection.channel(on_return_raises=True)
            exchange = await self._set_up_exchange(channel)
        except BaseException:
            await connection.close()
            raise
        connection.reconnect_callbacks.add(self._on_reconnected)
        connection.close_callbacks.add(self._on_connection_lost)
        self._connection, self._channel, self._exchange = connection, channel, exchange
        log.info("connected to RabbitMQ; %d events waiting", len(self._pending))
        self._wake.set()

    async def _connect_until_connected(self) -> None:
        while not self._closing:
            try:
                await self.connect()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(
                    "RabbitMQ is not reachable (%s: %s); %d events kept, trying again",
                    type(exc).__name__,
                    exc,
                    len(self._pending),
                )
                await asyncio.sleep(self._retry_delay_in_seconds)

    async def _connect(self) -> aio_pika.abc.AbstractRobustConnection:
        """Rasa's connection attempts, without its logging of the URL (it has the password)."""
        ssl_options = _create_rabbitmq_ssl_options(self.host)
        attempts = max(1, self._connection_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return await aio_pika.connect_robust(
                    url=self._configure_url(),
                    host=self.host,
                    port=self.port,
                    login=self.username or "guest",  # aio-pika's defaults
                    password=self.password or "guest",
                    loop=self._loop,
                    ssl=ssl_options is not None,
                    ssl_options=ssl_options,
                )
            except Exception as exc:
                if attempt == attempts:
                    raise
                log.debug("connecting to RabbitMQ failed (%s), attempt %d", exc, attempt)
                await asyncio.sleep(self._retry_delay_in_seconds)
        raise AssertionError("unreachable")

    def _configure_url(self) -> str | None:
        """The AMQP URL with the configured user and port, unless the URL has its own."""
        if not self.host.startswith("amqp"):
            return None  # a host name: connect_robust gets host, port, login and password
        url = URL(self.host)
        if self.username and not url.user:
            url = url.with_user(self.username).with_password(self.password or None)
        if url.explicit_port is None:
            url = url.with_port(self.port)
        return str(url)

    async def _set_up_exchange(
        self, channel: aio_pika.abc.AbstractChannel
    ) -> aio_pika.abc.AbstractExchange:
        # Durable: the exchange and its bindings outlive a RabbitMQ restart.
        exchange = await channel.declare_exchange(
            self.exchange_name, type=aio_pika.ExchangeType.FANOUT, durable=True
        )
        for name in self.queues:
            queue = await channel.declare_queue(name, durable=True)
            await queue.bind(exchange, "")
        return exchange

    def _on_reconnected(self, *_: Any) -> None:
        log.info("RabbitMQ connection is back; %d events waiting", len(self._pending))
        self._wake.set()

    def _on_connection_lost(self, _sender: Any, reason: BaseException | None = None) -> None:
        if not self._closing:
            self.connections_lost += 1
            self.pending_at_last_loss = len(self._pending)
            log.warning("RabbitMQ connection lost (%s); keeping events until it is back", reason)

    def is_ready(self) -> bool:
        """Whether the connection to RabbitMQ is up now."""
        connection, channel = self._connection, self._channel
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and channel is not None
            and not channel.is_closed
            and self._exchange is not None
        )

    def publish(
        self, event: dict[str, Any], headers: aio_pika.abc.HeadersType | None = None
    ) -> None:
        """Queues ``event``, masked, for publishing; returns at once."""
        try:
            body, message_id = encode_event(event)
        except (TypeError, ValueError) as exc:
            self.dropped += 1
            log.error("an event could not be encoded and was dropped (%s)", type(exc).__name__)
            return
        if len(self._pending) >= self.max_pending_events:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "%d events wait for RabbitMQ, the most kept: %d events dropped so far",
                    len(self._pending),
                    self.dropped,
                )
            return
        self._pending.append(_Outgoing(body, message_id, headers))
        self._wake.set()

    def _start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = self._loop.create_task(self._send_pending())

    async def _send_pending(self) -> None:
        while True:
            if not self._pending or not self.is_ready():
                await self._sleep(RETRY_SECONDS if self._pending else None)
                continue
            batch = list(islice(self._pending, PUBLISH_WINDOW))
            results = await asyncio.gather(
                *(self._send(item) for item in batch), return_exceptions=True
            )
            # RabbitMQ receives a channel's messages in order: after a failure, the
            # later ones are sent again (a duplicate is stored once by its id).
            sent = next(
                (i for i, result in enumerate(results) if isinstance(result, BaseException)),
                len(batch),
            )
            for _ in range(sent):
                self._pending.popleft()
            self.published += sent
            if sent < len(batch):
                if not self._failing:
                    log.warning(
                        "publishing to RabbitMQ failed (%s); %d events kept",
                        type(results[sent]).__name__,
                        len(self._pending),
                    )
                self._failing = True
                await self._sleep(RETRY_SECONDS)
            elif self._failing:
                self._failing = False
                log.info("publishing to RabbitMQ again; %d events waiting", len(self._pending))

    async def _send(self, item: _Outgoing) -> None:
        exchange = self._exchange
        if exchange is None:
            raise ConnectionError("not connected to RabbitMQ")
        message = aio_pika.Message(
            item.body,
            headers=item.headers,
            content_type="application/json",
            message_id=item.message_id,
            app_id=self.rasa_environment,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        # The library's own timeout does not cover every wait of a publish.
        await asyncio.wait_for(exchange.publish(message, ""), self.publish_timeout)

    async def _sleep(self, timeout: float | None) -> None:
        """Until :meth:`publish` or a reconnection wakes the sender, or ``timeout``."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def close(self) -> None:
        """Publishes what waits (for up to ``close_timeout`` seconds), then disconnects."""
        self._closing = True
        if self._connector is not None:
            self._connector.cancel()
        deadline = self._loop.time() + self.close_timeout
        while self._pending and self.is_ready() and self._loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self._pending:
            log.error("closing with %d events not published to RabbitMQ", len(self._pending))
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
