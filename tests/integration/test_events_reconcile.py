"""Events a Rasa replica never published are recovered from the tracker store, once
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text

from bot.conversations.encoding import encode_event
from bot.conversations.recovery import CURSOR, FIRST_RUN_DAYS, Reconciler
from bot.conversations.store import record_event
from bot.db.engine import make_session_factory
from bot.db.models import AnalyticsEventRow, ConversationEventRow, EventCursorRow
from connectors.tracker_store import DatabaseTrackerStore
from tests.conftest import Database

HOUR = 3600.0


class Published(EventBroker):
    """What the replica handed to its broker (the stream), in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def turn(number: int, at: float) -> list[Any]:
    """One turn of a conversation at ``at``: the person writes, a slot, the bot answers."""
    return [
        UserUttered(f"viesti {number}: soita 040 123 4567", {"name": "inform", "confidence": 1.0},
                    message_id=f"m{number}", timestamp=at),
        SlotSet("language", "fi", timestamp=at + 0.1),
        ActionExecuted("utter_x", timestamp=at + 0.2),
        BotUttered(f"vastaus {number}", timestamp=at + 0.3),
        ActionExecuted("action_listen", timestamp=at + 0.4),
    ]  # fmt: skip


async def converse(database: Database, conversation: str, *turns_at: float) -> list[dict]:
    """Saves the turns through the tracker store (one save each, as Rasa does); what the
    broker was given."""
    broker = Published()
    domain = Domain.from_dict({"slots": {"language": {"type": "text", "mappings": []}}})
    store = DatabaseTrackerStore(host=database.url, domain=domain, event_broker=broker)
    tracker = DialogueStateTracker(conversation, slots=[TextSlot("language", mappings=[])])
    for number, at in enumerate(turns_at, start=1):
        tracker.update_with_events(turn(number, at), domain=None, override_timestamp=False)
        await store.save(tracker)
    store.engine.dispose()
    return broker.events


def stream(database: Database, events: list[dict]) -> list[bool]:
    """What the events worker does with each message of the stream."""
    sessions = make_session_factory(database.engine)
    results = []
    for event in events:
        body, message_id = encode_event(event)
        results.append(record_event(sessions, json.loads(body), message_id))
    return results


def messages(database: Database, conversation: str) -> list[str]:
    with database.engine.connect() as connection:
        return list(
            connection.scalars(
                select(ConversationEventRow.text)
                .where(ConversationEventRow.conversation_id == conversation)
                .order_by(ConversationEventRow.id)
            )
        )


def count(database: Database, row: Any) -> int:
    with database.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(row)) or 0)


def reconciler(database: Database, grace_s: float = 120.0, batch: int = 500) -> Reconciler:
    sessions = make_session_factory(database.engine)
    return Reconciler(sessions, grace_s=grace_s, batch=batch)


async def test_events_the_stream_never_brought_are_stored_once_and_in_order(
    database: Database,
) -> None:
    now = time.time()
    published = await converse(database, "c-killed", now - 3 * HOUR, now - 2 * HOUR, now - HOUR)
    # The replica was killed after publishing the first turn: the rest never left it.
    first_turn = published[:5]
    assert stream(database, first_turn) == [True] * 5
    assert messages(database, "c-killed") == ["viesti 1: soita [phone]", "vastaus 1"]
    facts_from_the_stream = count(database, AnalyticsEventRow)

    recovering = reconciler(database, batch=4)  # several batches
    assert recovering.run_once(now) == 6  # turns 2 and 3: user, slot (a fact), bot each
    assert messages(database, "c-killed") == [
        "viesti 1: soita [phone]", "vastaus 1",
        "viesti 2: soita [phone]", "vastaus 2",
        "viesti 3: soita [phone]", "vastaus 3",
    ]  # fmt: skip
    assert recovering.read == 15
    assert count(database, AnalyticsEventRow) == 3 * facts_from_the_stream

    # The stream brings them after all (the replica's broker was only slow): stored once.
    # (False: stored before; the actions hold nothing to store.)
    assert stream(database, published[5:]) == [False, False, True, False, True] * 2
    assert len(messages(database, "c-killed")) == 6
    # A second run, and a restarted worker (a new reconciler), read nothing again.
    assert recovering.run_once(now) == 0
    again = reconciler(database)
    assert again.run_once(now) == 0 and again.read == 0


async def test_a_recovered_bot_message_shows_what_the_bot_said(database: Database) -> None:
    """The tracker store masks as the stream does: the person's number, not the bot's."""
    now = time.time()
    broker = Published()
    store = DatabaseTrackerStore(host=database.url, domain=Domain.empty(), event_broker=broker)
    tracker = DialogueStateTracker("c-cards", slots=[])
    reply = "Lieksan kirjasto, Pielisentie 22, puh. 040 104 4180"
    tracker.update_with_events(
        [
            UserUttered("soita mulle 040 123 4567", {"name": "inform", "confidence": 1.0},
                        message_id="m1", timestamp=now - HOUR),
            BotUttered(reply, metadata={"utter_action": "utter_providers"},
                       timestamp=now - HOUR + 0.1),
            BotUttered("olet jonossa, soitamme numeroon 040 123 4567",
                       metadata={"utter_action": "utter_ask_callback_consent"},
                       timestamp=now - HOUR + 0.2),
        ],
        domain=None,
        override_timestamp=False,
    )  # fmt: skip
    await store.save(tracker)
    store.engine.dispose()
    assert reconciler(database).run_once(now) == 3  # the stream brought none of them
    person, bot, echo = messages(database, "c-cards")
    assert person == "soita mulle [phone]"
    assert bot == reply
    assert "040 123 4567" not in echo  # a response that repeats the person's own number


async def test_events_newer_than_the_grace_are_left_to_the_stream(database: Database) -> None:
    now = time.time()
    published = await converse(database, "c-live", now - HOUR, now - 30)
    recovering = reconciler(database, grace_s=120)
    assert recovering.run_once(now) == 3  # the first turn, an hour old: user, slot, bot
    assert recovering.read == 5  # it stopped at the turn 30 s old ...
    assert stream(database, published[5:]) == [True, True, True, True, True]  # ... which came
    assert messages(database, "c-live") == [
        "viesti 1: soita [phone]", "vastaus 1", "viesti 2: soita [phone]", "vastaus 2",
    ]  # fmt: skip
    # Later, that turn is old enough and read, and already stored.
    assert recovering.run_once(now + 200) == 0 and recovering.read == 10


async def test_the_first_run_starts_at_the_events_receipts_still_cover(database: Database) -> None:
    now = time.time()
    await converse(database, "c-old", now - (FIRST_RUN_DAYS + 1) * 24 * HOUR)
    await converse(database, "c-recent", now - HOUR)
    assert reconciler(database).run_once(now) == 3
    assert messages(database, "c-old") == []  # stored long ago, its receipts gone: left alone
    assert len(messages(database, "c-recent")) == 2
    with database.engine.connect() as connection:
        cursor = connection.scalar(
            select(EventCursorRow.last_id).where(EventCursorRow.name == CURSOR)
        )
        assert cursor == connection.scalar(text("select max(id) from events"))


def test_without_the_tracker_store_table_there_is_nothing_to_do(database: Database) -> None:
    recovering = reconciler(database)
    assert recovering.run_once() == 0 and recovering.read == 0
    assert count(database, EventCursorRow) == 0
