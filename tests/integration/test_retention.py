"""Retention on SQLite and PostgreSQL: old conversations deleted whole, old requests anonymised."""

from __future__ import annotations

import datetime as dt

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select, text

from bot.conversations.retention import anonymous_id, apply_retention
from bot.db.engine import make_session_factory
from bot.db.models import HandoffRequestRow, HeldContactRow
from bot.handoff import HandoffRequests
from bot.handoff.events import ConversationEvents
from connectors.tracker_store import DatabaseTrackerStore

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
DAY = 24 * 3600


async def _tracker(url: str, conversation: str, timestamps: list[float]) -> None:
    tracker = DialogueStateTracker(conversation, slots=[])
    for moment in timestamps:
        tracker.update(ActionExecuted("action_listen", timestamp=moment))
        tracker.update(UserUttered("hei", {"name": "greet", "confidence": 1.0}, timestamp=moment))
    await DatabaseTrackerStore(host=url).save(tracker)


async def test_old_conversations_go_and_old_requests_keep_only_what_reports_count(database):
    sessions = make_session_factory(database.engine)
    events, requests = ConversationEvents(sessions), HandoffRequests(sessions)
    now = NOW.timestamp()
    for conversation, ages in (("old", [60, 40]), ("ongoing", [60, 2]), ("new", [1])):
        for age in ages:
            events.append(conversation, "user", "hei", now - age * DAY)
        await _tracker(database.url, conversation, [now - age * DAY for age in ages])
    for conversation, age, state in (
        ("old", 40, "closed"),
        ("ongoing", 45, "waiting"),
        ("new", 1, "closed"),
    ):
        request = requests.record(
            conversation_id=conversation, channel="messenger", language="fi", topics=["kela"],
            kind="callback", summary="en pääse kelaan", contact=("phone", "040 123 4567"),
        )  # fmt: skip
        with sessions.begin() as session:
            row = session.get(HandoffRequestRow, request.id)
            row.created_at, row.state, row.notes = NOW - dt.timedelta(days=age), state, "soitettu"
    requests.hold_contact("gone-quiet", "phone", "050 000 0000")
    with sessions.begin() as session:
        session.get(HeldContactRow, "gone-quiet").held_at = NOW - dt.timedelta(days=3)

    preview = apply_retention(database.engine, sessions, 30, now=NOW, dry_run=True)
    assert (preview.conversations, preview.messages, preview.tracker_events) == (1, 2, 4)
    assert preview.requests_anonymised == 1
    with database.engine.connect() as connection:
        assert connection.scalar(text("select count(*) from conversation_events")) == 5

    done = apply_retention(database.engine, sessions, 30, now=NOW)
    assert (done.conversations, done.messages, done.tracker_events) == (1, 2, 4)
    assert (done.requests_anonymised, done.held_contacts) == (1, 1)
    with database.engine.connect() as connection:
        left = {
            r[0]
            for r in connection.execute(text("select conversation_id from conversation_events"))
        }
        senders = {r[0] for r in connection.execute(text("select sender_id from events"))}
    assert left == senders == {"ongoing", "new"}  # a conversation still going on is kept whole
    with sessions() as session:
        rows = {r.conversation_id: r for r in session.scalars(select(HandoffRequestRow))}
    old = rows[anonymous_id("old")]
    assert (old.summary, old.notes, old.contact_value) == (None, None, None)
    assert (old.language, old.topics, old.channel, old.kind, old.state) == (
        "fi", "kela", "messenger", "callback", "closed",
    )  # fmt: skip
    assert rows["ongoing"].contact_value == "040 123 4567"  # still waiting: untouched
    assert rows["new"].summary == "en pääse kelaan"

    again = apply_retention(database.engine, sessions, 30, now=NOW)
    assert (again.conversations, again.requests_anonymised, again.held_contacts) == (0, 0, 0)


def test_the_cli_counts_first_and_refuses_nonsense(database, cli):
    events = ConversationEvents(make_session_factory(database.engine))
    events.append("long-ago", "user", "hei", NOW.timestamp() - 400 * DAY)
    code, out, _ = cli(database.url, "retention", "apply", "--days", "365", "--dry-run")
    assert code == 0 and "1 conversations would be deleted (1 messages" in out
    code, out, _ = cli(database.url, "retention", "apply", "--days", "365")
    assert code == 0 and "1 conversations were deleted" in out
    code, _, err = cli(database.url, "retention", "apply", "--days", "0")
    assert code == 1 and "--days must be at least 1" in err
