"""The conversation store keeps only masked text, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from connectors.tracker_store import DatabaseTrackerStore

SAID = "hetu 131052-308T, tili FI21 1234 5600 0007 85 ja numero 040 123 4567"


async def test_stored_events_are_masked_and_the_conversation_goes_on_from_them(database):
    store = DatabaseTrackerStore(host=database.url)
    tracker = DialogueStateTracker("c-masked", slots=[])
    tracker.update_with_events(
        [
            ActionExecuted("action_listen"),
            UserUttered(SAID, {"name": "inform", "confidence": 0.9}, [], message_id="m1"),
            SlotSet("callback_contact", "040 123 4567"),
            # The response that repeats the person's number (bot.conversations.messages).
            BotUttered(
                "Soitammeko numeroon 040 123 4567?",
                metadata={"utter_action": "utter_ask_callback_consent"},
            ),
            # The bot's own facts stay as they are, as in the event stream.
            BotUttered("Kirjasto, puh. 040 104 4180", metadata={"utter_action": "utter_x"}),
        ],
        domain=None,
    )
    await store.save(tracker)
    assert tracker.events[1].text == SAID  # the live conversation is not changed

    with database.engine.connect() as connection:
        rows = [json.loads(r[0]) for r in connection.execute(text("select data from events"))]
    stored = json.dumps(rows, ensure_ascii=False)
    for secret in ("131052-308T", "FI21 1234", "040 123 4567"):
        assert secret not in stored
    assert rows[1]["text"] == "hetu [identity_code], tili [iban] ja numero [phone]"
    assert rows[1]["parse_data"]["intent"]["name"] == "inform"
    assert rows[2]["value"] == "[phone]" and rows[3]["text"] == "Soitammeko numeroon [phone]?"
    assert rows[4]["text"] == "Kirjasto, puh. 040 104 4180"

    # A restarted server reads the masked copy, and new events are added after it once.
    again = await DatabaseTrackerStore(host=database.url).retrieve("c-masked")
    assert again is not None and [e.type_name for e in again.events] == [
        "action", "user", "slot", "bot", "bot",
    ]  # fmt: skip
    again.update(UserUttered("kiitos", {"name": "thank", "confidence": 1.0}))
    await store.save(again)
    with database.engine.connect() as connection:
        assert connection.scalar(text("select count(*) from events")) == 6


class Unanswering:
    """A session factory whose first ``failures`` sessions fail as a database that is away."""

    def __init__(self, sessions, failures: int) -> None:
        self.sessions = sessions
        self.failures = failures

    def __call__(self):
        from sqlalchemy.exc import OperationalError

        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("select 1", {}, ConnectionRefusedError("restarting"))
        return self.sessions()


async def test_a_database_away_for_a_moment_is_waited_for_not_forgotten(database):
    """During a PostgreSQL restart Rasa would start the conversation over (a failed read)
    or keep it in one replica's memory (a failed save)."""
    store = DatabaseTrackerStore(host=database.url)
    tracker = DialogueStateTracker("c-restart", slots=[])
    tracker.update(UserUttered("hei", {"name": "greet", "confidence": 1.0}))
    store.sessionmaker = Unanswering(store.sessionmaker, failures=3)
    await store.save(tracker)
    assert store.sessionmaker.failures == 0
    store.sessionmaker.failures = 2
    again = await store.retrieve("c-restart")
    assert again is not None and again.latest_message.text == "hei"

    store.retry_seconds = 0.5  # away for longer: the error goes to Rasa
    store.sessionmaker.failures = 1000
    with pytest.raises(OperationalError):
        await store.retrieve("c-restart")
