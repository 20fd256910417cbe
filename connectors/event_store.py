"""Rasa event broker of the single-server profile: each event into our database as published.

Configured in ``endpoints.yml``::

    event_broker:
      type: connectors.event_store.DatabaseEventBroker
      url: ${DIGITUKI_DATABASE_URL}

The Rasa server writes each event's message (for the handoff console) and report
facts as it publishes the event (:func:`bot.conversations.store.record_event`); a
failing write is logged and never breaks the conversation. The production profile
sends the events to RabbitMQ instead (:mod:`connectors.rabbitmq_broker`), and the
events worker (:mod:`bot.conversations.worker`) stores them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.exc import SQLAlchemyError

from bot.conversations.store import record_event
from bot.db.engine import make_engine, make_session_factory

log = logging.getLogger(__name__)


class DatabaseEventBroker(EventBroker):
    """Writes each event's messages and report facts to the database as Rasa publishes it."""

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._sessions = make_session_factory(self._engine)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig | None,
        event_loop: asyncio.AbstractEventLoop | None = None,
    ) -> DatabaseEventBroker | None:
        if broker_config is None or not broker_config.url:
            raise ValueError("the database event broker needs `url` (DIGITUKI_DATABASE_URL)")
        return cls(str(broker_config.url))

    def publish(self, event: dict[str, Any]) -> None:
        try:
            record_event(self._sessions, event)
        except SQLAlchemyError:
            log.exception("could not store an event (%s)", event.get("event"))

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        self._engine.dispose()
