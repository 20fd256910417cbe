"""Whole conversations through the REST channel, one per language, ending in the right provider."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bot.db.engine import make_engine, make_session_factory
from bot.handoff import HandoffRequests

pytestmark = pytest.mark.e2e


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def cards(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        c
        for r in replies
        if isinstance(r.get("custom"), dict)
        for c in r["custom"].get("cards", [])
    ]


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def test_finnish_conversation_asks_what_is_missing_and_recommends(stack):
    me = new_sender()
    assert "Digituki-avustaja" in texts(stack.say(me, "hei"))
    assert "Missä kunnassa asut?" in texts(stack.say(me, "mä en osaa käyttää sähköpostia"))
    assert "Millaista apua haluat?" in texts(stack.say(me, "asun Kempeleessä"))
    replies = stack.say(me, "paikan päällä")
    found = cards(replies)
    assert found and found[0]["id"] == "oulu-library"  # basics covers email; the nearest
    assert "Tässä sinulle sopivaa tukea" in texts(replies)


def test_swedish_conversation_stays_in_swedish(stack):
    me = new_sender()
    replies = stack.say(me, "jag behöver hjälp med smarttelefonen i Närpes")
    assert "Hur vill du få hjälp?" in texts(replies)
    replies = stack.say(me, "på plats")
    assert cards(replies)[0]["id"] == "narpes-sv"
    assert "Här är stöd som passar dig" in texts(replies)
    # A short word never switches the language back.
    assert "Varsågod" in texts(stack.say(me, "ok tack"))


def test_english_conversation_with_an_authority_topic(stack):
    me = new_sender()
    replies = stack.say(me, "I need help with my kela application in Oulu")
    assert "How would you like to get help?" in texts(replies)
    replies = stack.say(me, "in person please")
    said = texts(replies)
    assert (
        "gives advice on its own services" in said
        and "Kela" in said
        and "https://www.kela.fi" in said
    )
    assert cards(replies)[0]["id"] == "oulu-library"


def test_language_switch_on_request(stack):
    me = new_sender()
    stack.say(me, "hei")
    replies = stack.say(me, "can we speak english please")
    assert "Let us continue in English" in texts(replies)
    assert "You are welcome" in texts(stack.say(me, "kiitos"))  # one word keeps English


def test_the_channel_opens_the_session_with_a_greeting_in_the_page_language(stack):
    me = new_sender()
    replies = stack.say(me, "/session_start", {"page_language": "sv-FI"})
    assert texts(replies).startswith("Hej! Jag är Digituki-assistenten")
    assert "Hur vill du få hjälp?" in texts(stack.say(me, "hjälp med e-post i Vasa"))


def test_asking_for_a_person_with_no_one_free_leaves_a_call_back_for_the_queue(stack):
    me = new_sender()
    stack.say(me, "mä tarviin apua kelan asioissa Lieksassa")
    answer = texts(stack.say(me, "haluun puhua ihmisen kanssa"))
    assert "Juuri nyt yksikään digitukija ei ole vapaana" in answer  # no console is open
    assert "Mihin puhelinnumeroon tai sähköpostiosoitteeseen" in answer
    assert "040 123 4567" in texts(stack.say(me, "numero on 040 123 4567"))
    assert "Pyyntösi on jonossa" in texts(stack.say(me, "/affirm"))
    engine = make_engine(stack.database_url)
    try:
        waiting = HandoffRequests(make_session_factory(engine)).waiting()
    finally:
        engine.dispose()
    mine = [r for r in waiting if r.conversation_id == me]
    assert len(mine) == 1
    assert (mine[0].channel, mine[0].language, mine[0].topics) == ("rest", "fi", ("kela",))
    assert mine[0].municipality_code == "422"  # Lieksa
    assert (mine[0].kind, mine[0].contact_method, mine[0].contact_value) == (
        "callback",
        "phone",
        "040 123 4567",
    )
