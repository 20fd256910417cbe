"""The support form read from a whole message, and how the pipeline uses that reading."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.components import ANSWER_ROLE, SupportFormReader
from bot.nlu.forms import FormReader, FormReading

ASKED = {
    "phone": ["could someone ring me", "please ring me tomorrow", "ring me back please"],
    "chat": ["can i just write here", "i would rather write to you", "write here instead"],
    "in_person": ["i want to come over myself", "can i come over to you", "come over tuesday"],
}
NOTHING = [
    "a man rang me from the bank",
    "my bank app does not open",
    "my email does not send anything",
    "the bank rang me twice today",
    "how do i open the app",
    "my grandson wrote me on whatsapp",
]


@pytest.fixture(scope="module")
def reader() -> FormReader:
    texts = [t for ts in ASKED.values() for t in ts] + NOTHING + ["ring me or write here"]
    forms = [[f] for f, ts in ASKED.items() for _ in ts] + [[] for _ in NOTHING]
    return FormReader().fit(texts, [*forms, ["phone", "chat"]])


def test_the_form_a_message_asks_for_is_read_from_the_whole_message(reader: FormReader) -> None:
    assert reader.read("could you ring me please").value == "phone"
    assert reader.read("may i write to you").value == "chat"
    assert reader.read("my bank app does not open today").value is None


def test_the_cue_is_the_word_that_says_the_form(reader: FormReader) -> None:
    text = "hello, could you ring me please"
    start, end = reader.cue(text, "phone")
    assert text[start:end] == "ring"
    # A word already read as another entity does not carry the form.
    start, end = reader.cue(text, "phone", [(17, 21)]) or (0, 0)
    assert text[start:end] != "ring" and end > start
    assert reader.cue("ring", "phone", [(0, 4)]) is None


class StubReader:
    """A reader that gives one fixed reading, with the cue on a fixed word."""

    def __init__(self, value: str | None, probability: float, cue: str = "") -> None:
        self.reading = FormReading(value, probability)
        self.cue_word = cue

    def read(self, text: str) -> FormReading:
        return self.reading

    def cue(self, text: str, value: str, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
        start = text.index(self.cue_word)
        end = start + len(self.cue_word)
        return None if any(s < end and start < e for s, e in taken) else (start, end)


def _process(reader: StubReader, text: str, entities: list[dict[str, Any]]) -> list[dict]:
    component = SupportFormReader({}, None, None, reader)  # type: ignore[arg-type]
    message = Message({TEXT: text, ENTITIES: entities})
    component.process([message])
    return message.get(ENTITIES)


def _form(start: int, end: int, value: str, **more: Any) -> dict[str, Any]:
    return {"entity": "support_form", "start": start, "end": end, "value": value, **more}


def test_a_sure_reading_adds_a_form_nothing_else_found() -> None:
    [added] = _process(StubReader("chat", 0.8, "write"), "can i write to you", [])
    assert (added["value"], added["start"], added["end"], added.get("role")) == (
        "chat",
        6,
        11,
        None,
    )


def test_an_unsure_reading_adds_nothing_and_a_found_form_is_kept() -> None:
    assert _process(StubReader("chat", 0.6, "write"), "can i write to you", []) == []
    found = [_form(6, 11, "phone")]
    assert _process(StubReader("chat", 0.99, "write"), "can i write to you", found) == found


def test_a_form_is_not_added_over_another_entity() -> None:
    topic = {"entity": "topic", "start": 6, "end": 11, "value": "email"}
    assert _process(StubReader("chat", 0.95, "email"), "about email", [topic]) == [topic]


def test_a_form_in_a_message_surely_asking_for_none_is_only_an_answer() -> None:
    text = "a man rang me from the bank"
    [form] = _process(StubReader(None, 0.95), text, [_form(6, 10, "phone")])
    assert form["role"] == ANSWER_ROLE and form["value"] == "phone"
    [kept] = _process(StubReader(None, 0.8), text, [_form(6, 10, "phone")])
    assert "role" not in kept


def test_an_answer_the_whole_message_asks_for_is_a_plain_form() -> None:
    text = "thanks, phone is fine"
    answer = _form(8, 13, "phone", role=ANSWER_ROLE)
    [form] = _process(StubReader("phone", 0.8), text, [answer])
    assert "role" not in form and form["value"] == "phone"
    assert _process(StubReader("phone", 0.6), text, [answer]) == [answer]
    assert _process(StubReader("chat", 0.9), text, [answer]) == [answer]
