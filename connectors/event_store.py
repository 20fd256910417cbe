"""Rasa event broker that keeps every conversation's messages in our database.

Configured in ``endpoints.yml`` (``type: connectors.event_store.DatabaseEventBroker``).
The Rasa server publishes each new tracker event here; user and bot messages
(workers' messages included) are stored redacted in ``conversation_events``, from
where the handoff console reads them live; what the reports count (languages,
needs, searches: ``bot.analytics.facts_of``) goes to ``analytics_events``. Anything
else is ignored. A failing write is logged and never breaks the conversation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics import facts_of, record_facts
from bot.db.engine import make_engine, make_session_factory
from bot.handoff.events import ConversationEvents, message_from_rasa_event
from bot.privacy import redact_pii

log = logging.getLogger(__name__)


class DatabaseEventBroker(EventBroker):
    """Writes messages to ``conversation_events`` as Rasa publishes them."""

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._sessions = make_session_factory(self._engine)
        self.events = ConversationEvents(self._sessions)

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
            record_facts(self._sessions, facts_of(event))
        except SQLAlchemyError:
            log.exception("could not store a report fact")
        message = message_from_rasa_event(event)
        if message is None:
            return
        try:
            self.events.append(
                message["conversation_id"],
                message["sender"],
                redact_pii(message["text"]),
                message["timestamp"],
                agent=message["agent"],
                message_id=message["message_id"],
            )
        except SQLAlchemyError:
            log.exception("could not store a conversation event")

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        self._engine.dispose()
