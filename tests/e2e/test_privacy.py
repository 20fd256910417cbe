"""Personal data a person types leaves no trace in the database or the logs.

A conversation through the running stack (REST channel) with an identity code, an
IBAN, a card number, a password, an e-mail address, a street address and a phone number
given for a call-back that the person then declines. Afterwards every table of the
database and every process log is searched for each of them.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, text

from bot.db.engine import make_engine

pytestmark = pytest.mark.e2e

SENDER = "privacy-e2e-1"
IDENTITY_CODE = "131052-308T"
IBAN = "FI21 1234 5600 0007 85"
CARD = "4111 1111 1111 1111"
PASSWORD = "Kissa2026"
EMAIL = "maija.esimerkki@example.fi"
STREET = "Kauppakatu 14 B 7"
PHONE = "044 913 2207"
WARNING = "Älä kirjoita tänne henkilötunnusta"


def _forms(value: str) -> list[str]:
    """The value as written and without spaces or dashes (how it may be stored)."""
    return sorted({value, re.sub(r"[\s-]", "", value)})


def test_typed_personal_data_is_masked_everywhere_and_the_person_is_warned(stack):
    said = [
        m.get("text", "") for m in stack.say(SENDER, f"hei, henkilötunnukseni on {IDENTITY_CODE}")
    ]
    assert any(WARNING in t for t in said), said
    said = [m.get("text", "") for m in stack.say(SENDER, f"tilinumero {IBAN} ja kortti {CARD}")]
    assert any(WARNING in t for t in said), said
    said = [m.get("text", "") for m in stack.say(SENDER, f"pankin salasana: {PASSWORD} ei toimi")]
    assert any(WARNING in t for t in said), said
    # Phone numbers, e-mail and street addresses are masked without a warning.
    said = [
        m.get("text", "")
        for m in stack.say(SENDER, f"asun osoitteessa {STREET}, Lieksa. s-posti {EMAIL}")
    ]
    assert not any(WARNING in t for t in said), said

    # No one is at the console: the bot asks for a contact, the person gives one, then declines.
    said = [m.get("text", "") for m in stack.say(SENDER, "haluan puhua ihmisen kanssa")]
    assert any("puhelinnumeroon tai sähköpostiosoitteeseen" in t for t in said), said
    said = [m.get("text", "") for m in stack.say(SENDER, f"soita numeroon {PHONE}")]
    assert any(PHONE in t for t in said), said  # the consent question repeats it to the person
    said = [m.get("text", "") for m in stack.say(SENDER, "ei kiitos")]
    assert said

    tracker = stack.tracker(SENDER)  # read back from the store
    written = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert "hei, henkilötunnukseni on [identity_code]" in written, written

    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            assert {"events", "conversation_events", "handoff_requests", "held_contacts"} <= set(
                tables
            )
            dump = "\n".join(
                repr(tuple(row))
                for table in tables
                for row in connection.execute(text(f'select * from "{table}"'))
            )
    finally:
        engine.dispose()
    assert "[identity_code]" in dump and "[iban]" in dump and "[phone]" in dump
    logs = "\n".join(p.read_text(errors="replace") for p in stack.processes.folder.glob("*.log"))
    assert logs
    for value in (IDENTITY_CODE, IBAN, CARD, PASSWORD, EMAIL, STREET, PHONE):
        for form in _forms(value):
            assert form not in dump, f"{form!r} is stored"
            assert form not in logs, f"{form!r} is in a log"
