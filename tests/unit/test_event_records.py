"""One Rasa event in, the console's message and the reports' facts out, once (SQLite).

Also what the RabbitMQ broker sends: masked events whose facts are those of the
events as they were, and the worker's reading of messages and settings. And what is
masked on both ways: everything but the bot's own messages.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.config import PROJECT_ROOT, ConfigError
from bot.conversations import store as event_store
from bot.conversations.encoding import decode_event, encode_event, event_identity, masked_event
from bot.conversations.facts import facts_of
from bot.conversations.messages import (
    PERSONAL_PLACEHOLDERS,
    PERSONAL_RESPONSES,
    is_public_bot_message,
    message_from_rasa_event,
)
from bot.conversations.settings import load_worker_settings
from bot.conversations.store import forget_receipts, record_event
from bot.conversations.worker import main, schema_problem
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade_schema
from bot.db.models import AnalyticsEventRow, ConversationEventRow, EventReceiptRow
from connectors.event_store import DatabaseEventBroker

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc).timestamp()
MESSENGER_ID = "4111111111111111"  # 16 digits passing the Luhn check, like a card number
SAID = "soita 040 123 4567 tai maija.meikalainen@example.fi"


def user(text: str, conversation: str = "c1", at: float = T0, **fields: Any) -> dict[str, Any]:
    return {"event": "user", "sender_id": conversation, "timestamp": at, "text": text, **fields}


def slot(name: str, value: Any, conversation: str = "c1", at: float = T0) -> dict[str, Any]:
    return {
        "event": "slot",
        "sender_id": conversation,
        "timestamp": at,
        "name": name,
        "value": value,
    }


# Events as Rasa publishes them, with personal data where people put it.
CONVERSATION = [
    {"event": "action", "sender_id": MESSENGER_ID, "timestamp": T0, "name": "action_listen"},
    user(SAID, MESSENGER_ID, T0 + 1, message_id="4f2a9c0e", input_channel="messenger",
         parse_data={"text": SAID, "intent": {"name": "ask_help", "confidence": 0.9},
                     "entities": [{"entity": "phone", "value": "040 123 4567"}]}),
    slot("language", "fi", MESSENGER_ID, T0 + 2),
    slot("topic", ["email", "banking"], MESSENGER_ID, T0 + 3),
    slot("search_outcome", {"topics": ["email"], "municipality": "422", "region": "12",
                            "language": "fi", "form": "in_person", "results": 2,
                            "nearest_km": 12.5, "language_relaxed": False}, MESSENGER_ID, T0 + 4),
    {"event": "bot", "sender_id": MESSENGER_ID, "timestamp": T0 + 5,
     "text": "Soitan numeroon 040 123 4567", "metadata": {"agent": "Maija"}},
    user('/feedback{"rating": "up"}', MESSENGER_ID, T0 + 6,
         parse_data={"intent": {"name": "feedback"}, "entities": [{"entity": "rating", "value": "up"}]}),
    slot("feedback_comment", "hyvä, soittakaa 050 987 6543", MESSENGER_ID, T0 + 7),
]  # fmt: skip


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker]:
    engine = make_engine(f"sqlite:///{tmp_path / 'events.db'}")
    upgrade_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


def stored(sessions: sessionmaker) -> tuple[list[tuple[str, str, str]], int, int]:
    """The messages (conversation, sender, text), the number of facts and of receipts."""
    with sessions() as session:
        messages = session.execute(
            select(
                ConversationEventRow.conversation_id,
                ConversationEventRow.sender,
                ConversationEventRow.text,
            ).order_by(ConversationEventRow.id)
        ).all()
        facts = session.scalar(select(func.count()).select_from(AnalyticsEventRow))
        receipts = session.scalar(select(func.count()).select_from(EventReceiptRow))
    return [tuple(m) for m in messages], int(facts or 0), int(receipts or 0)


def test_a_message_is_stored_masked_with_its_facts(sessions):
    assert record_event(sessions, CONVERSATION[1]) is True
    messages, facts, receipts = stored(sessions)
    assert messages == [(MESSENGER_ID, "user", "soita [phone] tai [email]")]
    assert (facts, receipts) == (1, 0)  # "someone wrote"; no receipt asked for


def test_an_event_with_a_receipt_is_stored_once(sessions):
    event = CONVERSATION[1]
    assert record_event(sessions, event, receipt="a" * 64) is True
    assert record_event(sessions, event, receipt="a" * 64) is False  # delivered again
    assert record_event(sessions, event, receipt="b" * 64) is True  # another event
    messages, facts, receipts = stored(sessions)
    assert len(messages) == 2 and facts == 2 and receipts == 2


def test_an_event_holding_nothing_writes_nothing(sessions):
    assert record_event(sessions, CONVERSATION[0], receipt="listen") is True
    assert record_event(sessions, CONVERSATION[0], receipt="listen") is True
    assert stored(sessions) == ([], 0, 0)


def test_a_failing_write_leaves_nothing_behind_not_even_the_receipt(sessions, monkeypatch):
    def broken_facts(event: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**fact, "no_such_column": 1} for fact in facts_of(event)]

    monkeypatch.setattr(event_store, "facts_of", broken_facts)
    with pytest.raises(TypeError):
        record_event(sessions, CONVERSATION[1], receipt="r1")
    assert stored(sessions) == ([], 0, 0)
    monkeypatch.undo()
    assert record_event(sessions, CONVERSATION[1], receipt="r1") is True  # the retry stores it
    assert stored(sessions)[1:] == (1, 1)


def test_a_receipt_has_at_most_64_characters(sessions):
    with pytest.raises(ValueError):
        record_event(sessions, CONVERSATION[1], receipt="x" * 65)


def test_nul_characters_are_not_stored(sessions):
    record_event(sessions, user("hei\x00 kuka siellä"))
    assert stored(sessions)[0] == [("c1", "user", "hei kuka siellä")]


def test_receipts_older_than_a_week_are_forgotten(sessions):
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
    with sessions.begin() as session:
        for key, age in (("old", 8), ("week", 7), ("new", 1)):
            session.add(
                EventReceiptRow(key=key, received_at=now - dt.timedelta(days=age, minutes=1))
            )
    assert forget_receipts(sessions, now=now) == 2
    with sessions() as session:
        assert list(session.scalars(select(EventReceiptRow.key))) == ["new"]


def test_the_database_broker_stores_the_conversation_and_survives_a_broken_database(
    tmp_path, caplog
):
    broker = DatabaseEventBroker(f"sqlite:///{tmp_path / 'no-schema.db'}")
    broker.publish(CONVERSATION[1])  # no tables: logged, not raised
    assert "could not store an event (user)" in caplog.text
    assert "040 123 4567" not in caplog.text


# --- what the RabbitMQ broker sends -----------------------------------------------------


def test_a_masked_event_has_the_facts_and_message_of_the_event_as_it_was():
    for event in CONVERSATION:
        masked = masked_event(event)
        assert facts_of(masked) == facts_of(event)
        original, sent = message_from_rasa_event(event), message_from_rasa_event(masked)
        if original is None:
            assert sent is None
        else:
            assert sent == {**original, "text": sent["text"]}
    assert masked_event(CONVERSATION[1])["sender_id"] == MESSENGER_ID  # not "[card]"


def test_the_message_body_has_no_personal_data_and_its_id_is_the_events_identity():
    bodies = [encode_event(event) for event in CONVERSATION]
    sent = b"".join(body for body, _ in bodies).decode()
    for secret in ("040 123 4567", "050 987 6543", "maija.meikalainen@example.fi"):
        assert secret not in sent
    body, message_id = bodies[1]
    assert message_id == event_identity(json.loads(body)) == event_identity(CONVERSATION[1])
    assert len({message_id for _, message_id in bodies}) == len(CONVERSATION)
    # Not one of Rasa's (no timestamp): known by its whole body.
    odd = {"event": "user", "text": "hei"}
    assert encode_event(odd)[1] == hashlib.sha256(encode_event(odd)[0]).hexdigest()
    assert encode_event(dict(reversed(CONVERSATION[1].items()))) == bodies[1]  # canonical
    assert json.loads(body)["parse_data"]["entities"][0]["value"] == "[phone]"


def test_the_worker_reads_rasa_events_and_nothing_else():
    assert decode_event(encode_event(CONVERSATION[1])[0]) == masked_event(CONVERSATION[1])
    for body in (b"not json", b"\xff\xfe", b"[1, 2]", b'{"text": "no kind"}', b'{"event": 3}'):
        assert decode_event(body) is None


def test_worker_settings_come_from_the_environment():
    settings = load_worker_settings({"DIGITUKI_DATABASE_URL": "postgresql://db/digituki"})
    assert (settings.database_url, settings.queue, settings.prefetch) == (
        "postgresql://db/digituki",
        "digituki_events",
        100,
    )
    assert settings.rabbitmq_url == "amqp://guest:guest@127.0.0.1:5672/"
    custom = load_worker_settings(
        {
            "DIGITUKI_RABBITMQ_URL": "amqp://u:p@mq:5672/",
            "DIGITUKI_EVENTS_QUEUE": "q",
            "DIGITUKI_EVENTS_PREFETCH": "5",
        }
    )
    assert (custom.rabbitmq_url, custom.queue, custom.prefetch) == ("amqp://u:p@mq:5672/", "q", 5)
    with pytest.raises(ConfigError, match="DIGITUKI_EVENTS_PREFETCH"):
        load_worker_settings({"DIGITUKI_EVENTS_PREFETCH": "0"})
    assert (settings.recover_seconds, settings.recover_grace_seconds) == (30.0, 120.0)
    off = load_worker_settings(
        {"DIGITUKI_EVENTS_RECOVER_SECONDS": "0", "DIGITUKI_EVENTS_RECOVER_GRACE_SECONDS": "15"}
    )
    assert (off.recover_seconds, off.recover_grace_seconds) == (0.0, 15.0)
    for wrong in ("-1", "nan", "inf", "soon"):
        with pytest.raises(ConfigError, match="DIGITUKI_EVENTS_RECOVER_SECONDS"):
            load_worker_settings({"DIGITUKI_EVENTS_RECOVER_SECONDS": wrong})


def test_the_worker_will_not_start_on_a_database_without_its_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert "run `digituki db upgrade`" in (schema_problem(engine) or "")
    upgrade_schema(engine)
    assert schema_problem(engine) is None
    engine.dispose()


def test_the_worker_command_lists_its_settings(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for name in ("DIGITUKI_DATABASE_URL", "DIGITUKI_RABBITMQ_URL", "DIGITUKI_EVENTS_QUEUE"):
        assert name in shown


def test_an_event_has_one_identity_in_rabbitmq_and_in_the_tracker_store():
    """What the broker publishes and what the tracker store keeps (masked, through JSON)
    have the same identity, so an event recovered from the store is not stored twice."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    from connectors.tracker_store import masked

    said = "soita 040 123 4567 tai maija.meikalainen@example.fi"
    events = [
        UserUttered(said, {"name": "ask_help"}, [{"entity": "phone", "value": "040 123 4567"}],
                    message_id="m1", input_channel="widget", metadata={"locale": "fi_FI"}),
        ActionExecuted("action_listen"),
        SlotSet("callback_phone", "040 123 4567"),
        SlotSet("topic", "email"),
        BotUttered("Soitan numeroon 040 123 4567", {"buttons": [{"title": "Kyllä", "payload": "/affirm"}]},
                   metadata={"agent": "Maija"}),
    ]  # fmt: skip
    sent, kept = [], []
    for event in events:
        _, message_id = encode_event({"sender_id": MESSENGER_ID, **event.as_dict()})
        stored = json.loads(json.dumps(masked(event).as_dict()))  # the `data` column
        sent.append(message_id)
        kept.append(event_identity({"sender_id": MESSENGER_ID, **stored}))
    assert sent == kept
    assert len(set(sent)) == len(events)
    other = encode_event({"sender_id": "someone else", **events[0].as_dict()})[1]
    assert other not in sent


# --- what is masked: everything but the bot's own messages --------------------------

FOLLOW_UP = (  # actions/followup.py: the address and the phone of a place shown
    "Testikirjasto Oulu on osoitteessa Kirkkokatu 1, 90100 Oulu. "
    "Kartta: https://www.openstreetmap.org/?mlat=65.01000&mlon=25.47000\n"
    "Testikirjasto Oulu: puhelinnumero on 040 123 4567."
)
CARDS_TEXT = "Testikirjasto Oulu\nKirkkokatu 1, 90100 Oulu\nPuhelin: 040 123 4567"


def bot(
    text: str, at: float, metadata: dict[str, Any] | None = None, **data: Any
) -> dict[str, Any]:
    """A bot event as Rasa publishes it (``data`` as ``create_bot_utterance`` makes it)."""
    return {"event": "bot", "sender_id": MESSENGER_ID, "timestamp": at, "text": text,
            "data": {"buttons": None, "custom": None, **data}, "metadata": metadata or {}}  # fmt: skip


THE_BOTS_OWN = [
    bot(FOLLOW_UP, T0 + 10),  # an action's free text: no response named
    bot(CARDS_TEXT, T0 + 11, custom={"type": "provider_cards", "cards": [{"phone": "040 123 4567"}]}),
    bot("Kela neuvoo itse omissa asioissaan: OmaKela https://www.kela.fi/asiointi", T0 + 12,
        {"utter_action": "utter_authority_first", "website": "https://www.kela.fi/asiointi"}),
]  # fmt: skip
MASKED = [
    (bot("Saako digitukija ottaa sinuun yhteyttä: 040 765 4321, tässä asiassa?", T0 + 13,
         {"utter_action": "utter_ask_callback_consent"},
         buttons=[{"title": "Kyllä", "payload": "/affirm"}]),
     "Saako digitukija ottaa sinuun yhteyttä: [phone], tässä asiassa?"),
    (user("soita 040 765 4321", MESSENGER_ID, T0 + 14), "soita [phone]"),
    (bot("Kirjoititte numeron 040 765 4321.", T0 + 15, {"agent": "Maija"}),
     "Kirjoititte numeron [phone]."),
]  # fmt: skip


@pytest.mark.parametrize(
    "through", [lambda event: event, masked_event], ids=["database broker", "through rabbitmq"]
)
def test_the_bots_own_messages_are_stored_as_they_are_and_the_rest_masked(sessions, through):
    for event in [*THE_BOTS_OWN, *(event for event, _ in MASKED)]:
        record_event(sessions, through(event))
    messages, _, _ = stored(sessions)
    assert [text for _, _, text in messages] == [
        *(event["text"] for event in THE_BOTS_OWN),
        *(text for _, text in MASKED),
    ]


def test_rabbitmq_gets_the_bots_own_messages_as_they_are_and_the_rest_masked():
    for event in THE_BOTS_OWN:
        sent = json.loads(encode_event(event)[0])
        assert (sent["text"], sent["data"]) == (event["text"], event["data"])
    # Only the text and data: what an action adds to the metadata is masked as ever.
    assert masked_event(bot("x", T0, {"note": "040 123 4567"}))["metadata"] == {"note": "[phone]"}
    sent = b"".join(encode_event(event)[0] for event, _ in MASKED).decode()
    assert "040 765 4321" not in sent


BOTS_OWN_PLACEHOLDERS = {
    "authority", "service", "website",  # the authorities' data (bot/authorities.py)
    "municipality",  # a name from the gazetteer, what the person wrote or not
    "km", "queue_position", "queue_wait", "service_hours",  # the bot's numbers and settings
    "worker_name",  # the support worker's own display name
}  # fmt: skip


def placeholders(value: Any) -> set[str]:
    """The placeholders Rasa fills in any string of a response (``rasa.core.nlg.interpolator``)."""
    if isinstance(value, str):
        # An intent's entities in a button's payload (/inform{"x": "y"}) are not one.
        return {name for name in re.findall(r"{([^\n{}]+?)}", value) if '"' not in name}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return set().union(*(placeholders(item) for item in items))


def test_every_response_that_repeats_the_persons_data_stays_masked():
    """The responses with a personal placeholder (``{callback_contact}``) are the ones the
    rule masks, and every placeholder of the domain has been judged personal or not."""
    responses: dict[str, Any] = {}
    for path in (PROJECT_ROOT / "domain").glob("*.yml"):
        responses |= yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
    used = {name: placeholders(variations) for name, variations in responses.items()}
    unjudged = set().union(*used.values()) - PERSONAL_PLACEHOLDERS - BOTS_OWN_PLACEHOLDERS
    assert (
        not unjudged
    ), f"personal? add {unjudged} to bot.conversations.messages.PERSONAL_PLACEHOLDERS"
    personal = {name for name, found in used.items() if found & PERSONAL_PLACEHOLDERS}
    assert personal == PERSONAL_RESPONSES
    for name in responses:
        event = bot("Saako digitukija soittaa numeroon 040 765 4321?", T0, {"utter_action": name})
        assert is_public_bot_message(event) is (name not in personal), name


def test_no_action_writes_free_text_but_the_reviewed_ones():
    """An action's ``utter_message(text=...)`` is stored as it is: a new one must be
    checked to hold nothing the person wrote (answers from providers' data do not)."""
    reviewed = {("followup.py", "answer_follow_up"), ("providers.py", "show")}
    found = set()
    for path in (PROJECT_ROOT / "actions").glob("*.py"):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "utter_message"
                    and any(keyword.arg == "text" for keyword in call.keywords)
                ):
                    found.add((path.name, function.name))
    assert found == reviewed
