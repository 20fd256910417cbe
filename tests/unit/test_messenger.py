"""The Messenger channel's pure parts: webhook parsing and signatures, message shaping, settings.

``connectors.messenger_webhook`` reads what the platform (or anyone on the internet) posts to
the webhook, so beside concrete deliveries it is fuzzed with arbitrary bytes, arbitrary JSON
and documents built to look like deliveries: it must return a :class:`Delivery` or raise
:class:`DeliveryError`, nothing else. ``connectors.messenger_messages`` must keep every
message within the Send API's limits; ``connectors.messenger`` is covered only for
:class:`SeenMessages` and how the channel takes its credentials.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, load_settings
from connectors import messenger
from connectors.messenger import MessengerInput, SeenMessages
from connectors.messenger_messages import (
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_ELEMENT_TITLE,
    MAX_ELEMENTS,
    MAX_PAYLOAD,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_TITLE,
    MAX_SUBTITLE,
    generic_template,
    messages_for,
    phone_number,
    plain_text_of,
    quick_replies,
    shorten,
    split_text,
    web_url,
)
from connectors.messenger_webhook import (
    MAX_TEXT,
    Delivery,
    DeliveryError,
    Incoming,
    parse_delivery,
    read_delivery,
    sign,
    signature_valid,
    verification_challenge,
)

PAGE = "1000000000001"
USER = "2000000000002"
OTHER_USER = "3000000000003"
SECRET = "an app secret"
KINDS = {"text", "quick_reply", "postback", "attachment"}

# --------------------------------------------------------------------------- helpers


def text_event(
    text: Any = "hei", mid: Any = "m.1", timestamp: Any = 1, sender: Any = USER
) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }


def quick_reply_event(
    payload: Any = "/affirm", text: Any = "Kyllä", mid: Any = "m.1", timestamp: Any = 1
) -> dict[str, Any]:
    event = text_event(text, mid, timestamp)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def postback_event(
    payload: Any = "/greet", title: Any = "Hello", mid: Any = None, timestamp: Any = 1
) -> dict[str, Any]:
    postback: dict[str, Any] = {"payload": payload, "title": title}
    if mid is not None:
        postback["mid"] = mid
    return {
        "sender": {"id": USER},
        "recipient": {"id": PAGE},
        "timestamp": timestamp,
        "postback": postback,
    }


def receipt_event(kind: str) -> dict[str, Any]:
    return {
        "sender": {"id": USER},
        "recipient": {"id": PAGE},
        "timestamp": 5,
        kind: {"watermark": 4, "mids": ["m.0"]},
    }


def page_delivery(*events: Any) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": list(events)}]}


def body_of(document: Any) -> bytes:
    return json.dumps(document).encode()


def no_space(text: str) -> str:
    return "".join(text.split())


def assert_well_formed(delivery: Delivery) -> None:
    """What the channel relies on in every parsed delivery, however odd the body was."""
    assert isinstance(delivery, Delivery)
    assert isinstance(delivery.ignored, int) and delivery.ignored >= 0
    assert all(isinstance(problem, str) for problem in delivery.problems)
    for message in delivery.messages:
        assert isinstance(message, Incoming)
        for platform_id in (message.sender_id, message.page_id):
            assert isinstance(platform_id, str) and platform_id.isascii()
            assert platform_id.isdigit()
        assert message.kind in KINDS
        assert isinstance(message.text, str) and 0 < len(message.text) <= MAX_TEXT
        message.text.encode("utf-8")  # no lone surrogates reach the bot
        assert isinstance(message.message_id, str) and message.message_id
        assert isinstance(message.timestamp, int) and not isinstance(message.timestamp, bool)
        assert message.timestamp >= 0
    times = [message.timestamp for message in delivery.messages]
    assert times == sorted(times)


def parsed_or_refused(body: bytes) -> Delivery | None:
    """The delivery, or ``None`` for a refusal; any other exception fails the test."""
    try:
        delivery = read_delivery(body)
    except DeliveryError:
        return None
    assert_well_formed(delivery)
    return delivery


def events_in(document: dict[str, Any]) -> int:
    """How many things a Page delivery holds: every event, and every entry without events."""
    return sum(
        len(entry["messaging"])
        if isinstance(entry, dict) and isinstance(entry.get("messaging"), list)
        else 1
        for entry in document["entry"]
    )


# --------------------------------------------------------------------------- strategies

# Any character, lone surrogates included (valid in JSON, invalid as text).
any_char = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(categories=["Cs"]),
    st.sampled_from([" ", "\n", "\t", "\u3000", "\x00", "/"]),
)
any_text = st.text(any_char, max_size=30)
long_texts = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", " ", "é ", "\ud800", "😀", "/x", "\n"]),
    st.integers(0, 2300),
)
finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), finite_or_not, st.text(any_char, max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(any_char, max_size=8), inner, max_size=4),
    ),
    max_leaves=25,
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
digit_ids = st.text(st.sampled_from("0123456789"), min_size=1, max_size=40)
platform_ids = st.one_of(
    digit_ids,
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=10**100, max_value=10**300),
    st.booleans(),
    st.text(st.sampled_from("0123456789"), min_size=41, max_size=60),
    st.sampled_from(["", " 12", "12a", "-5", "١٢٣", "1.5", "0x10"]),
    junk,
)
timestamps = st.one_of(
    st.integers(min_value=0, max_value=2**45),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    finite_or_not,
    junk,
)
mids = st.one_of(
    st.text(any_char, min_size=1, max_size=20),
    st.sampled_from(["", "m" * 300, "m" * 301]),
    junk,
)
texts = st.one_of(
    any_text, long_texts, st.sampled_from(["/greet", "/inform{}", "GET_STARTED", "  ", ""]), junk
)
participants = st.one_of(st.fixed_dictionaries({"id": platform_ids}), junk)
messages = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "mid": mids,
            "text": texts,
            "is_echo": st.one_of(st.booleans(), junk),
            "quick_reply": st.one_of(st.fixed_dictionaries({}, optional={"payload": texts}), junk),
            "attachments": st.lists(junk, max_size=2),
            "app_id": junk,
        },
    ),
    junk,
)
postbacks = st.one_of(
    st.fixed_dictionaries({}, optional={"mid": mids, "payload": texts, "title": texts}), junk
)
odd_events = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "sender": participants,
            "recipient": participants,
            "timestamp": timestamps,
            "message": messages,
            "postback": postbacks,
            "delivery": junk,
            "read": junk,
            "reaction": junk,
            "referral": junk,
        },
    ),
    junk,
)
good_events = st.one_of(
    st.builds(
        text_event,
        text=st.one_of(st.text(any_char, min_size=1, max_size=30), long_texts),
        mid=st.text(min_size=1, max_size=20),
        timestamp=st.integers(0, 2**45),
        sender=digit_ids,
    ),
    st.builds(
        quick_reply_event,
        payload=texts,
        text=st.text(min_size=1, max_size=10),
        mid=st.text(min_size=1, max_size=20),
        timestamp=st.integers(0, 2**45),
    ),
    st.builds(
        postback_event,
        payload=texts,
        title=texts,
        mid=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
        timestamp=st.integers(0, 2**45),
    ),
    st.sampled_from([receipt_event("delivery"), receipt_event("read")]),
)
# Where a well-formed event can go wrong, and the values that can go there.
SPOILABLE = [
    ("sender",),
    ("sender", "id"),
    ("sender", "id"),
    ("recipient",),
    ("recipient", "id"),
    ("recipient", "id"),
    ("timestamp",),
    ("message",),
    ("message", "mid"),
    ("message", "text"),
    ("message", "is_echo"),
    ("message", "quick_reply"),
    ("message", "quick_reply", "payload"),
    ("postback",),
    ("postback", "mid"),
    ("postback", "payload"),
    ("postback", "title"),
    ("delivery",),
    ("read",),
]
wrong_ids = st.one_of(
    st.sampled_from(["", " 12", "12a", "-5", "١٢٣", "1.5", "0x10", "1" * 41, "²"]),
    st.booleans(),
    st.integers(max_value=-1),
    st.floats(),
)
odd_values = st.one_of(wrong_ids, junk, texts, mids, timestamps)
SPOIL_VALUES = {
    "id": wrong_ids,
    "timestamp": timestamps,
    "mid": mids,
    "text": texts,
    "payload": texts,
    "title": texts,
}


@st.composite
def spoiled_events(draw: st.DrawFn) -> Any:
    """A well-formed event with one or two of its fields replaced by junk or removed."""
    event = copy.deepcopy(draw(good_events))  # the receipts are shared examples
    for path in draw(st.lists(st.sampled_from(SPOILABLE), min_size=1, max_size=2)):
        parent = event
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        if draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            likely = SPOIL_VALUES.get(path[-1], junk)
            parent[path[-1]] = draw(st.one_of(likely, odd_values))
    return event


# Half the events are well-formed ones with a flaw: those reach deepest into the parser.
events = st.sampled_from(["good", "spoiled", "spoiled", "odd"]).flatmap(
    {"good": good_events, "spoiled": spoiled_events(), "odd": odd_events}.__getitem__
)
entries_with_events = st.fixed_dictionaries(
    {"id": platform_ids, "messaging": st.lists(events, min_size=1, max_size=6)},
    optional={"time": timestamps},
)
odd_entries = st.one_of(
    st.fixed_dictionaries(
        {"id": platform_ids}, optional={"time": timestamps, "messaging": junk, "standby": junk}
    ),
    junk,
)
entries = st.one_of(entries_with_events, odd_entries)
page_deliveries = st.fixed_dictionaries(
    {"object": st.just("page"), "entry": st.lists(entries, min_size=1, max_size=4)}
)
delivery_like = st.fixed_dictionaries(
    {
        "object": st.one_of(st.just("page"), junk),
        "entry": st.one_of(st.lists(entries, max_size=4), junk),
    },
    optional={"extra": junk},
)


# --------------------------------------------------------------------------- webhook: fuzz


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400))
def test_no_bytes_make_the_parser_raise_anything_but_a_delivery_error(body: bytes) -> None:
    parsed_or_refused(body)


@settings(max_examples=200, deadline=None)
@given(document=json_values)
def test_no_json_document_makes_the_parser_raise_anything_but_a_delivery_error(
    document: Any,
) -> None:
    parsed_or_refused(body_of(document))


@settings(max_examples=300, deadline=None)
@given(document=delivery_like)
def test_no_delivery_lookalike_makes_the_parser_raise_anything_but_a_delivery_error(
    document: dict[str, Any],
) -> None:
    parsed_or_refused(body_of(document))


@settings(max_examples=300, deadline=None)
@given(document=page_deliveries)
def test_every_event_of_a_page_delivery_is_a_message_ignored_or_a_problem(
    document: dict[str, Any],
) -> None:
    delivery = parsed_or_refused(body_of(document))
    assert delivery is not None  # a Page delivery with a list of entries is never refused
    accounted = len(delivery.messages) + delivery.ignored + len(delivery.problems)
    assert accounted == events_in(document)


@settings(max_examples=60, deadline=None)
@given(document=page_deliveries, cut=st.integers(min_value=0), junk_bytes=st.binary(max_size=8))
def test_a_truncated_or_spliced_delivery_is_refused_or_parsed_never_crashes(
    document: dict[str, Any], cut: int, junk_bytes: bytes
) -> None:
    body = body_of(document)
    cut %= len(body) + 1
    parsed_or_refused(body[:cut])
    parsed_or_refused(body[:cut] + junk_bytes + body[cut:])


@settings(max_examples=100, deadline=None)
@given(bad_id=wrong_ids, field=st.sampled_from(["sender", "recipient"]))
def test_an_event_whose_ids_are_not_digits_is_a_problem_never_a_message(
    bad_id: Any, field: str
) -> None:
    event = text_event()
    event[field] = {"id": bad_id}
    delivery = read_delivery(body_of(page_delivery(event)))
    assert delivery.messages == []
    assert len(delivery.problems) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 100_000,
        b'{"object": "page", "entry": ' + b"[" * 100_000,
        b'{"object": "page", "entry": [' + b"[" * 5_000 + b"]" * 5_000 + b"]}",
        b'{"object": "page", "entry": [{"messaging": [' + b'{"x":' * 50_000,
    ],
    ids=["lists", "objects", "inside-entry", "closed-deep-lists", "inside-events"],
)
def test_deeply_nested_json_is_refused_as_no_delivery(body: bytes) -> None:
    with pytest.raises(DeliveryError):
        read_delivery(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b'{"object": "page", "entry": [' + b"1" * 5_000 + b"]}",  # over int's digit limit
        b"null",
        b"[]",
        b'"page"',
        b'{"object": "user", "entry": []}',
        b'{"object": "page"}',
        b'{"object": "page", "entry": {}}',
        b'{"entry": []}',
    ],
)
def test_a_body_that_is_no_page_delivery_is_a_delivery_error(body: bytes) -> None:
    with pytest.raises(DeliveryError):
        read_delivery(body)


def test_nan_and_huge_numbers_in_a_delivery_are_problems_not_crashes() -> None:
    body = (
        b'{"object": "page", "entry": [{"id": NaN, "messaging": [{"sender": {"id": Infinity},'
        b' "recipient": {"id": ' + b"9" * 4000 + b'}, "timestamp": -Infinity,'
        b' "message": {"mid": "m.1", "text": "hei"}}]}]}'
    )
    delivery = parsed_or_refused(body)
    assert delivery is not None
    assert delivery.messages == []
    assert len(delivery.problems) == 1


# --------------------------------------------------------------------------- webhook: semantics


def test_a_text_message_is_read_with_its_sender_page_id_and_time() -> None:
    delivery = read_delivery(body_of(page_delivery(text_event("  Hei, tarvitsen apua  "))))
    assert delivery.messages == [Incoming(USER, PAGE, "text", "Hei, tarvitsen apua", "m.1", 1)]
    assert delivery.ignored == 0
    assert delivery.problems == []


def test_numeric_ids_are_taken_as_their_digits() -> None:
    event = text_event()
    event["sender"]["id"] = 2000000000002
    event["recipient"]["id"] = 1000000000001
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert (message.sender_id, message.page_id) == (USER, PAGE)


def test_a_quick_reply_gives_its_payload_not_its_title() -> None:
    event = quick_reply_event(payload="/affirm", text="Kyllä")
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert message.kind == "quick_reply"
    assert message.text == "/affirm"


def test_a_quick_reply_without_a_usable_payload_is_read_as_its_text() -> None:
    event = quick_reply_event(payload="   ", text="Kyllä")
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert (message.kind, message.text) == ("text", "Kyllä")


def test_a_postback_with_an_intent_payload_gives_the_payload() -> None:
    event = postback_event(payload="/choose_topic", title="Sähköposti", mid="pb.1")
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert (message.kind, message.text, message.message_id) == ("postback", "/choose_topic", "pb.1")


def test_a_postback_with_another_payload_gives_its_title() -> None:
    event = postback_event(payload="MENU_OPENING_HOURS", title="Aukioloajat")
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert (message.kind, message.text) == ("postback", "Aukioloajat")


def test_a_postback_without_a_title_falls_back_to_its_payload() -> None:
    event = postback_event(payload="MENU_OPENING_HOURS", title=None)
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert message.text == "MENU_OPENING_HOURS"


@pytest.mark.parametrize("title", ["Aloita", "Get Started", None])
def test_the_get_started_button_starts_with_a_greeting_whatever_its_title(
    title: str | None,
) -> None:
    event = postback_event(payload="GET_STARTED", title=title)
    (message,) = read_delivery(body_of(page_delivery(event))).messages
    assert (message.kind, message.text) == ("postback", "/greet")


def test_the_get_started_payload_can_be_another() -> None:
    body = body_of(
        page_delivery(
            postback_event(payload="ALOITA_DIGITUKI", title="Aloita", timestamp=1),
            postback_event(payload="GET_STARTED", title="Aloita", timestamp=2),
        )
    )
    ours, other = read_delivery(body, get_started_payload="ALOITA_DIGITUKI").messages
    assert ours.text == "/greet"
    assert other.text == "Aloita"  # now just another button of the Page


def test_a_postback_with_neither_payload_nor_title_is_a_problem() -> None:
    delivery = read_delivery(body_of(page_delivery(postback_event(payload=None, title=""))))
    assert delivery.messages == []
    assert len(delivery.problems) == 1


def test_a_postback_without_mid_gets_the_same_synthetic_id_on_redelivery() -> None:
    body = body_of(page_delivery(postback_event(payload="MENU_HELP", title="Aloita")))
    first = read_delivery(body).messages[0].message_id
    again = read_delivery(body).messages[0].message_id
    assert first == again
    assert first.startswith(f"postback:{USER}:1:")
    other = read_delivery(body_of(page_delivery(postback_event(payload="/x", title="Aloita"))))
    assert other.messages[0].message_id != first  # a different button is a different message


@pytest.mark.parametrize(
    "event",
    [
        receipt_event("delivery"),
        receipt_event("read"),
        receipt_event("reaction"),
        {**text_event("our own reply"), "message": {"mid": "m.9", "text": "x", "is_echo": True}},
        {**text_event(), "message": {"mid": "m.3", "sticker_id": 369239263222822}},
        text_event("   \n\t "),
    ],
    ids=["delivery", "read", "reaction", "echo", "sticker-id-only", "blank-text"],
)
def test_events_the_bot_does_not_answer_are_counted_as_ignored(event: dict[str, Any]) -> None:
    delivery = read_delivery(body_of(page_delivery(event)))
    assert delivery.messages == []
    assert delivery.ignored == 1
    assert delivery.problems == []


@pytest.mark.parametrize(
    ("attachments", "label"),
    [
        ([{"type": "image", "payload": {}}], "image"),
        ([{"type": "<b>"}], "file"),
        (["junk"], "file"),
    ],
)
def test_a_photo_or_sticker_comes_through_as_an_attachment_of_its_type(
    attachments: list[Any], label: str
) -> None:
    event = {**text_event(), "message": {"mid": "m.2", "attachments": attachments}}
    [message] = read_delivery(body_of(page_delivery(event))).messages
    assert (message.kind, message.text, message.message_id) == ("attachment", label, "m.2")


def test_an_echo_is_ignored_even_without_ids() -> None:
    event = {"message": {"is_echo": True, "text": "from the inbox"}}
    delivery = read_delivery(body_of(page_delivery(event)))
    assert (delivery.ignored, delivery.problems) == (1, [])


def test_entries_of_other_products_are_ignored() -> None:
    document = {"object": "page", "entry": [{"id": PAGE, "standby": []}, "junk", {"changes": []}]}
    delivery = read_delivery(body_of(document))
    assert (delivery.messages, delivery.ignored, delivery.problems) == ([], 3, [])


@pytest.mark.parametrize(
    "event",
    [
        "not an object",
        None,
        text_event(sender="12a"),
        text_event(sender=True),
        text_event(sender=-5),
        text_event(sender="1" * 41),
        {**text_event(), "recipient": "1000"},
        text_event(mid=""),
        text_event(mid=12),
        text_event(mid="m" * 301),
        {**postback_event(), "sender": {}},
    ],
)
def test_a_malformed_event_is_a_problem_and_the_others_still_arrive(event: Any) -> None:
    document = page_delivery(
        text_event("before", mid="m.a", timestamp=1),
        event,
        text_event("after", mid="m.b", timestamp=2),
    )
    delivery = read_delivery(body_of(document))
    assert [message.text for message in delivery.messages] == ["before", "after"]
    assert len(delivery.problems) == 1
    assert delivery.problems[0].startswith("entry 0 event 1: ")


def test_messages_are_put_in_timestamp_order_and_equal_times_keep_delivery_order() -> None:
    document = {
        "object": "page",
        "entry": [
            {"messaging": [text_event("c", "m.c", 30), text_event("a1", "m.a1", 10)]},
            {"messaging": [text_event("b", "m.b", 20), text_event("a2", "m.a2", 10)]},
            {"messaging": [text_event("a3", "m.a3", 10, sender=OTHER_USER)]},
        ],
    }
    delivery = read_delivery(body_of(document))
    assert [message.text for message in delivery.messages] == ["a1", "a2", "a3", "b", "c"]


def test_a_missing_or_odd_timestamp_counts_as_zero() -> None:
    document = page_delivery(
        text_event("later", "m.1", 5), text_event("bool", "m.2", True), text_event("none", "m.3")
    )
    del document["entry"][0]["messaging"][2]["timestamp"]
    delivery = read_delivery(body_of(document))
    assert [(m.text, m.timestamp) for m in delivery.messages] == [
        ("bool", 0),
        ("none", 0),
        ("later", 5),
    ]


def test_a_long_text_is_cut_at_the_platform_limit() -> None:
    delivery = read_delivery(body_of(page_delivery(text_event("a" * 5000))))
    assert delivery.messages[0].text == "a" * MAX_TEXT


def test_lone_surrogates_in_text_are_replaced_not_passed_on() -> None:
    delivery = read_delivery(
        b'{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},'
        b'"recipient":{"id":"2"},"message":{"mid":"m","text":"a\\ud800b"}}]}]}'
    )
    assert delivery.messages[0].text == "a?b"


def test_parse_delivery_refuses_a_document_for_another_object() -> None:
    with pytest.raises(DeliveryError):
        parse_delivery({"object": "instagram", "entry": []})


# --------------------------------------------------------------------------- signatures


def test_the_platforms_signature_is_accepted() -> None:
    body = body_of(page_delivery(text_event()))
    assert signature_valid(body, sign(body, SECRET), SECRET)


def test_a_signature_in_uppercase_hex_or_with_spaces_is_accepted() -> None:
    body = b'{"object": "page"}'
    digest = sign(body, SECRET).removeprefix("sha256=")
    assert signature_valid(body, "sha256=" + digest.upper(), SECRET)
    assert signature_valid(body, f"  SHA256={digest}  ", SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (b"another body", sign(b"the body", SECRET), SECRET),
        (b"the body", sign(b"the body", "another secret"), SECRET),
        (b"the body", None, SECRET),
        (b"the body", "", SECRET),
        (b"the body", sign(b"the body", ""), ""),
        (b"the body", sign(b"the body", SECRET).replace("sha256", "sha1"), SECRET),
        (b"the body", sign(b"the body", SECRET).removeprefix("sha256="), SECRET),
        (b"the body", sign(b"the body", SECRET)[:-1], SECRET),
        (b"the body", sign(b"the body", SECRET) + "0", SECRET),
        (b"the body", "sha256=" + "é" * 64, SECRET),
        (b"the body", "sha256=\ud800\udfff", SECRET),
        (b"the body", "sha256=", SECRET),
    ],
    ids=[
        "other-body",
        "other-secret",
        "missing",
        "empty",
        "empty-secret",
        "sha1",
        "no-scheme",
        "short",
        "long",
        "non-ascii",
        "surrogates",
        "no-digest",
    ],
)
def test_a_wrong_or_missing_signature_is_refused(
    body: bytes, header: str | None, secret: str
) -> None:
    assert signature_valid(body, header, secret) is False


@settings(max_examples=150, deadline=None)
@given(
    header=st.one_of(
        st.text(any_char),
        st.text(any_char).map(lambda rest: "sha256=" + rest),
        st.text(st.sampled_from("0123456789abcdefABCDEF"), min_size=64, max_size=64).map(
            lambda digest: "sha256=" + digest
        ),
    ),
    body=st.binary(max_size=64),
)
def test_no_header_raises_and_only_the_right_digest_is_accepted(header: str, body: bytes) -> None:
    accepted = signature_valid(body, header, SECRET)
    assert accepted is (header.strip().lower() == sign(body, SECRET))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=30))
def test_every_body_signed_with_the_secret_is_accepted_and_with_another_refused(
    body: bytes, secret: str
) -> None:
    assert signature_valid(body, sign(body, secret), secret)
    assert not signature_valid(body, sign(body, secret + "x"), secret)


# --------------------------------------------------------------------------- verification


def subscription(**params: str) -> dict[str, str]:
    return {
        "hub.mode": "subscribe",
        "hub.verify_token": "our token",
        "hub.challenge": "1158201444",
        **{key.replace("hub_", "hub."): value for key, value in params.items()},
    }


def test_the_subscription_check_with_our_token_gets_the_challenge() -> None:
    assert verification_challenge(subscription(), "our token") == "1158201444"


@pytest.mark.parametrize(
    ("params", "verify_token"),
    [
        (subscription(hub_verify_token="not our token"), "our token"),
        (subscription(hub_verify_token=""), "our token"),
        (subscription(hub_verify_token="ourtoken"), "our token"),
        (subscription(hub_mode="unsubscribe"), "our token"),
        (subscription(hub_mode=""), "our token"),
        ({"hub.verify_token": "our token", "hub.challenge": "1"}, "our token"),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, "our token"),
        (subscription(hub_verify_token=""), ""),
        (subscription(), ""),
        ({}, "our token"),
        (subscription(hub_challenge="<script>alert(1)</script>"), "our token"),
        (subscription(hub_challenge="12 34"), "our token"),
        (subscription(hub_challenge="١٢٣"), "our token"),
        (subscription(hub_challenge="1" * 65), "our token"),
        (subscription(hub_challenge=""), "our token"),
        (subscription(hub_verify_token="our token\ud800"), "our token"),
    ],
)
def test_a_wrong_or_incomplete_subscription_check_gets_no_challenge(
    params: dict[str, str], verify_token: str
) -> None:
    assert verification_challenge(params, verify_token) is None


@settings(max_examples=100, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "other"]),
        st.one_of(st.text(any_char, max_size=70), st.sampled_from(["subscribe", "our token"])),
    )
)
def test_a_challenge_is_echoed_only_as_ascii_digits_and_only_for_our_token(
    params: dict[str, str],
) -> None:
    challenge = verification_challenge(params, "our token")
    if challenge is not None:
        assert params["hub.verify_token"] == "our token"
        assert params["hub.mode"] == "subscribe"
        assert challenge == params["hub.challenge"]
        assert re.fullmatch(r"[0-9]{1,64}", challenge)


# --------------------------------------------------------------------------- split_text, shorten

separators = st.sampled_from([" ", "  ", "\n", "\n\n", " \n \n ", ". ", "! ", "? ", "\t", ".\n"])
words = st.one_of(
    st.text(st.sampled_from("abcåäöé.,!?-"), min_size=1, max_size=12),
    st.text(st.sampled_from("xyz"), min_size=20, max_size=300),  # longer than small limits
)
prose = st.builds(
    lambda pairs: "".join(word + separator for word, separator in pairs),
    st.lists(st.tuples(words, separators), max_size=80),
)
split_inputs = st.one_of(prose, st.text(any_char.filter(lambda c: not 0xD800 <= ord(c) <= 0xDFFF)))


@settings(max_examples=300, deadline=None)
@given(text=split_inputs, limit=st.integers(min_value=20, max_value=200))
def test_split_parts_fit_the_limit_are_never_empty_and_lose_only_whitespace(
    text: str, limit: int
) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert all(part == part.strip() for part in parts)
    assert no_space("".join(parts)) == no_space(text)


@settings(max_examples=100, deadline=None)
@given(text=split_inputs)
def test_split_parts_fit_the_platform_limit(text: str) -> None:
    parts = split_text(text * 40)
    assert all(0 < len(part) <= MAX_TEXT for part in parts)
    assert no_space("".join(parts)) == no_space(text * 40)


@settings(max_examples=100, deadline=None)
@given(text=split_inputs, limit=st.integers(min_value=1, max_value=300))
def test_a_text_within_the_limit_stays_one_part_stripped(text: str, limit: int) -> None:
    if len(text.strip()) <= limit:
        assert split_text(text, limit) == ([text.strip()] if text.strip() else [])


def test_a_text_of_exactly_the_limit_is_one_part_and_one_more_character_makes_two() -> None:
    assert split_text("a" * MAX_TEXT) == ["a" * MAX_TEXT]
    assert split_text("a" * (MAX_TEXT + 1)) == ["a" * MAX_TEXT, "a"]
    assert split_text("  \n ") == []


def test_a_paragraph_break_is_preferred_over_a_later_sentence_break() -> None:
    first = "a" * 40 + ". " + "b" * 20 + "."
    second = "c" * 20 + ". " + "d" * 60 + "."
    parts = split_text(f"{first}\n\n{second}", 100)
    assert parts == [first, second]


def test_a_line_break_is_preferred_over_a_later_sentence_break() -> None:
    first = "a" * 50
    second = "b" * 20 + ". " + "c" * 60
    assert split_text(f"{first}\n{second}", 100) == [first, second]


def test_a_sentence_break_is_preferred_over_a_later_word_break() -> None:
    first = "Ensimmäinen lause on tässä."
    text = first + " " + "sana " * 30
    assert split_text(text, 60)[0] == first


def test_a_break_too_early_in_the_window_is_passed_over_for_a_later_one() -> None:
    text = "a.\n\n" + "b" * 40 + " " + "c" * 80
    parts = split_text(text, 100)
    assert parts[0] == "a.\n\n" + "b" * 40


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_a_text_of_very_many_parts_is_split_without_running_out_of_stack() -> None:
    parts = split_text("word " * 5000, 20)
    assert len(parts) == 1250


@settings(max_examples=100, deadline=None)
@given(text=st.text(any_char), limit=st.integers(min_value=1, max_value=100))
def test_shorten_keeps_within_the_limit_and_marks_a_cut(text: str, limit: int) -> None:
    short = shorten(text, limit)
    normalized = " ".join(text.split())
    assert len(short) <= limit
    if len(normalized) <= limit:
        assert short == normalized
    else:
        assert short.endswith("…")
        assert no_space(short[:-1]) in no_space(normalized)


def test_shorten_cuts_at_a_word_and_drops_trailing_punctuation() -> None:
    assert shorten("Mielenterveysneuvonta, Helsinki", 20) == "Mielenterveysneuvon…"
    assert shorten("Soita meille, kun tarvitset apua", 20) == "Soita meille, kun…"
    assert shorten("Soita meille, kun tarvitset apua", 14) == "Soita meille…"
    assert shorten("  lyhyt \n teksti ", 20) == "lyhyt teksti"


# --------------------------------------------------------------------------- quick replies


def test_at_most_thirteen_quick_replies_are_made() -> None:
    buttons = [{"title": f"Vaihtoehto {n}", "payload": f"/choose{{{n}}}"} for n in range(20)]
    replies = quick_replies(buttons)
    assert len(replies) == MAX_QUICK_REPLIES
    assert [reply["payload"] for reply in replies] == [b["payload"] for b in buttons[:13]]


def test_a_long_title_is_shortened_but_the_payload_kept_whole() -> None:
    (reply,) = quick_replies([{"title": "Mielenterveys ja päihteet", "payload": "/mental"}])
    assert reply == {"content_type": "text", "title": "Mielenterveys ja…", "payload": "/mental"}


def test_a_button_without_payload_sends_its_full_title() -> None:
    title = "Mielenterveys ja päihteet"
    (reply,) = quick_replies([{"title": title}])
    assert reply["payload"] == title
    assert len(reply["title"]) <= MAX_QUICK_REPLY_TITLE


def test_unusable_buttons_are_left_out() -> None:
    buttons: list[Any] = [
        "not a dict",
        None,
        {"title": "Too long", "payload": "/x" + "y" * MAX_PAYLOAD},
        {"title": "", "payload": "/no_title"},
        {"title": "   ", "payload": "/blank_title"},
        {},
        {"title": "Kyllä", "payload": "/affirm"},
        {"title": "Fits", "payload": "/" + "y" * (MAX_PAYLOAD - 1)},
    ]
    replies = quick_replies(buttons)
    assert [reply["title"] for reply in replies] == ["Kyllä", "Fits"]


@settings(max_examples=100, deadline=None)
@given(
    buttons=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "title": st.one_of(st.text(any_char, max_size=40), junk),
                    "payload": st.one_of(
                        st.text(any_char, max_size=40), st.text(min_size=990, max_size=1010), junk
                    ),
                },
            ),
            junk,
        ),
        max_size=20,
    )
)
def test_quick_replies_always_fit_the_platforms_limits(buttons: list[Any]) -> None:
    replies = quick_replies(buttons)
    assert len(replies) <= MAX_QUICK_REPLIES
    for reply in replies:
        assert reply["content_type"] == "text"
        assert 0 < len(reply["title"]) <= MAX_QUICK_REPLY_TITLE
        assert 0 < len(reply["payload"]) <= MAX_PAYLOAD


# --------------------------------------------------------------------------- phone, web


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("09 123 4567", "+35891234567"),
        ("+358 40 123 4567", "+358401234567"),
        ("00358401234567", "+358401234567"),
        ("358401234567", "+358401234567"),
        ("040-123 4567", "+358401234567"),
        ("(09) 310 12345", "+358931012345"),
        ("+46 8 123 456 78", "+46812345678"),
        ("112", None),
        ("abc", None),
        ("", None),
        ("   ", None),
        ("0123", None),
        ("+358 40 123 4567 8901 23", None),
        ("0" + "1" * 20, None),
        ("12345678", None),
    ],
)
def test_phone_numbers_take_the_international_form_or_none(raw: str, expected: str | None) -> None:
    assert phone_number(raw) == expected


@settings(max_examples=100, deadline=None)
@given(raw=st.text(st.sampled_from("0123456789 +-()abc"), max_size=30))
def test_a_recognised_phone_number_is_a_plus_and_eight_to_fifteen_digits(raw: str) -> None:
    number = phone_number(raw)
    assert number is None or re.fullmatch(r"\+[0-9]{8,15}", number)


@pytest.mark.parametrize("raw", ["+358 ４０ 123 4567", "0⁴⁰ 123 4567", "+٣٥٨٤٠١٢٣٤٥٦٧"])
def test_a_number_with_non_ascii_digits_is_not_passed_to_the_call_button(raw: str) -> None:
    number = phone_number(raw)
    assert number is None or re.fullmatch(r"\+[0-9]{8,15}", number)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.org", "https://example.org"),
        ("  www.mieli.fi/apua ", "https://www.mieli.fi/apua"),
        ("http://example.org/a?b=c", "http://example.org/a?b=c"),
        ("https://example.org", "https://example.org"),
        ("ftp://x", None),
        ("javascript://alert(1)", None),
        ("https://", None),
        ("", None),
        ("   ", None),
        pytest.param("https://example.org/" + "a" * 2000, None, id="too-long"),
    ],
)
def test_web_buttons_open_only_http_addresses_with_a_host(raw: str, expected: str | None) -> None:
    assert web_url(raw) == expected


@pytest.mark.parametrize("raw", ["javascript:alert(1)", "tel:+358401234567", "mailto:a@b.fi"])
def test_an_address_with_another_scheme_but_no_slashes_opens_no_web_button(raw: str) -> None:
    assert web_url(raw) is None


@settings(max_examples=100, deadline=None)
@given(raw=st.text(any_char, max_size=40))
def test_a_web_url_is_none_or_an_http_address(raw: str) -> None:
    url = web_url(raw)
    assert url is None or (url.startswith(("http://", "https://")) and len(url) <= 2000)


# --------------------------------------------------------------------------- provider cards


def card(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Mieli ry:n kriisipuhelin",
        "address": "Maistraatinportti 4 A, Helsinki",
        "distance_text": "2 km",
        "helps_with": ["kriisit", "mielenterveys"],
        "phone": "09 2525 0111",
        "website": "mieli.fi",
        "map_url": "https://maps.example/?q=mieli",
        **fields,
    }


def elements_of(custom: dict[str, Any]) -> list[dict[str, Any]]:
    template = generic_template(custom)
    assert template is not None
    payload = template["attachment"]["payload"]
    assert template["attachment"]["type"] == "template"
    assert payload["template_type"] == "generic"
    elements: list[dict[str, Any]] = payload["elements"]
    return elements


def assert_element_fits(element: dict[str, Any]) -> None:
    assert 0 < len(element["title"]) <= MAX_ELEMENT_TITLE
    assert len(element["subtitle"]) <= MAX_SUBTITLE
    buttons = element.get("buttons", [])
    assert len(buttons) <= MAX_BUTTONS
    for button in buttons:
        assert len(button["title"]) <= MAX_BUTTON_TITLE
        if button["type"] == "phone_number":
            assert re.fullmatch(r"\+[0-9]{8,15}", button["payload"])
        else:
            assert button["type"] == "web_url"
            assert button["url"].startswith(("http://", "https://"))


def test_a_provider_card_has_call_web_and_map_buttons() -> None:
    (element,) = elements_of({"type": "provider_cards", "cards": [card()]})
    assert element["title"] == "Mieli ry:n kriisipuhelin"
    assert element["subtitle"] == "Maistraatinportti 4 A, Helsinki – 2 km · kriisit, mielenterveys"
    assert element["buttons"] == [
        {"type": "phone_number", "title": "Call", "payload": "+358925250111"},
        {"type": "web_url", "title": "Web page", "url": "https://mieli.fi"},
        {"type": "web_url", "title": "Map", "url": "https://maps.example/?q=mieli"},
    ]


def test_more_than_ten_cards_make_exactly_ten_elements() -> None:
    cards = [card(name=f"Palvelu {n}") for n in range(14)]
    elements = elements_of({"type": "provider_cards", "cards": cards})
    assert len(elements) == MAX_ELEMENTS
    assert [e["title"] for e in elements] == [f"Palvelu {n}" for n in range(10)]


def test_a_demo_card_says_so_in_its_title_in_the_given_language() -> None:
    custom = {
        "type": "provider_cards",
        "cards": [card(demo=True)],
        "labels": {"demo": "Esimerkkitieto (demo)"},
    }
    (element,) = elements_of(custom)
    assert element["title"] == "Mieli ry:n kriisipuhelin – Esimerkkitieto (demo)"


def test_a_demo_card_with_a_long_name_still_says_it_is_demo_data() -> None:
    name = "Helsingin kaupungin sosiaali- ja terveyspalvelujen neuvonta ja ohjaus, Kallio"
    (element,) = elements_of({"type": "provider_cards", "cards": [card(name=name, demo=True)]})
    assert element["title"].endswith(" – Demo data")


def test_a_card_with_an_unusable_number_keeps_it_in_the_subtitle_without_a_call_button() -> None:
    (element,) = elements_of({"type": "provider_cards", "cards": [card(phone="116 123")]})
    assert element["subtitle"].startswith("116 123 · ")
    assert all(button["type"] != "phone_number" for button in element["buttons"])


def test_a_card_with_nothing_usable_has_a_placeholder_title_and_no_buttons() -> None:
    (element,) = elements_of({"type": "provider_cards", "cards": [{"website": "ftp://x"}]})
    assert element == {"title": "–", "subtitle": ""}


def test_missing_labels_fall_back_to_english() -> None:
    custom = {"type": "provider_cards", "cards": [card(demo=True)], "labels": {"call": "Soita"}}
    (element,) = elements_of(custom)
    assert [b["title"] for b in element["buttons"]] == ["Soita", "Web page", "Map"]
    assert element["title"].endswith(" – Demo data")


def test_long_labels_are_shortened_to_button_titles() -> None:
    labels = {"web": "Palveluntarjoajan verkkosivut"}
    custom = {"type": "provider_cards", "cards": [card()], "labels": labels}
    (element,) = elements_of(custom)
    assert element["buttons"][1]["title"] == "Palveluntarjoajan…"


@pytest.mark.parametrize(
    "raw", ["[", "https://example.org]", "http://[::1", "https://[www.example.fi/palvelut"]
)
def test_an_address_with_an_unbalanced_bracket_makes_no_button_and_raises_nothing(
    raw: str,
) -> None:
    assert web_url(raw) is None
    (element,) = elements_of({"type": "provider_cards", "cards": [card(website=raw)]})
    assert [b["type"] for b in element["buttons"]] == ["phone_number", "web_url"]  # call, map


@pytest.mark.parametrize(
    "custom",
    [
        {"type": "something_else", "cards": [{"name": "x"}]},
        {"cards": [{"name": "x"}]},
        {"type": "provider_cards"},
        {"type": "provider_cards", "cards": "not a list"},
        {"type": "provider_cards", "cards": []},
        {"type": "provider_cards", "cards": ["x", None, 3]},
    ],
)
def test_anything_but_provider_cards_makes_no_template(custom: dict[str, Any]) -> None:
    assert generic_template(custom) is None


cards_strategy = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(st.text(any_char, max_size=120), junk),
                "demo": st.booleans(),
                "address": st.text(any_char, max_size=100),
                "distance_text": st.text(max_size=10),
                "helps_with": st.lists(st.text(max_size=30), max_size=6),
                "phone": st.one_of(
                    st.text(st.sampled_from("0123456789 +-"), max_size=25),
                    st.integers(),
                    st.none(),
                ),
                "website": st.one_of(st.text(any_char, max_size=40), st.just("example.org")),
                "map_url": st.one_of(
                    st.text(any_char, max_size=40), st.just("https://maps.example/x")
                ),
            },
        ),
        junk,
    ),
    max_size=14,
)


@settings(max_examples=100, deadline=None)
@given(
    cards=cards_strategy,
    labels=st.dictionaries(
        st.sampled_from(["call", "web", "map", "demo"]), st.text(min_size=1, max_size=40)
    ),
)
def test_every_template_element_fits_the_platforms_limits(
    cards: list[Any], labels: dict[str, str]
) -> None:
    template = generic_template({"type": "provider_cards", "cards": cards, "labels": labels})
    dict_cards = [c for c in cards[:MAX_ELEMENTS] if isinstance(c, dict)]
    if not dict_cards:
        assert template is None
        return
    elements = template["attachment"]["payload"]["elements"] if template else []
    assert len(elements) == len(dict_cards)
    for element in elements:
        assert_element_fits(element)


# --------------------------------------------------------------------------- messages_for


def test_text_with_buttons_puts_the_quick_replies_on_the_last_part_only() -> None:
    text = ("Tässä on pitkä kappale. " * 90).strip() + "\n\n" + "Valitse aihe."
    response = {"text": text, "buttons": [{"title": "Kyllä", "payload": "/affirm"}]}
    parts = messages_for(response)
    assert len(parts) == 2
    assert "quick_replies" not in parts[0]
    assert parts[-1]["quick_replies"] == [
        {"content_type": "text", "title": "Kyllä", "payload": "/affirm"}
    ]
    assert all(len(part["text"]) <= MAX_TEXT for part in parts)
    assert no_space("".join(part["text"] for part in parts)) == no_space(text)


def test_cards_go_as_a_template_without_their_plain_text() -> None:
    response = {
        "text": "1. Mieli ry:n kriisipuhelin, 09 2525 0111",
        "custom": {"type": "provider_cards", "cards": [card()]},
    }
    (message,) = messages_for(response)
    assert set(message) == {"attachment"}
    assert message["attachment"]["payload"]["elements"][0]["title"] == "Mieli ry:n kriisipuhelin"


def test_cards_with_buttons_carry_the_quick_replies_on_the_template() -> None:
    response = {
        "json_message": {"type": "provider_cards", "cards": [card()]},
        "buttons": [{"title": "Lisää", "payload": "/more"}],
    }
    (message,) = messages_for(response)
    assert "attachment" in message
    assert message["quick_replies"][0]["payload"] == "/more"


def test_custom_json_that_is_no_cards_falls_back_to_the_text() -> None:
    response = {"text": "Hei", "custom": {"type": "something_else"}}
    assert messages_for(response) == [{"text": "Hei"}]


def test_buttons_without_text_come_with_an_ellipsis_to_show_them() -> None:
    response = {"quick_replies": [{"title": "Kyllä", "payload": "/affirm"}]}
    assert messages_for(response) == [
        {
            "text": "…",
            "quick_replies": [{"content_type": "text", "title": "Kyllä", "payload": "/affirm"}],
        }
    ]


@pytest.mark.parametrize(
    "response",
    [{}, {"text": ""}, {"text": None}, {"text": "  \n "}, {"buttons": []}, {"buttons": ["x"]}],
)
def test_an_empty_response_sends_nothing(response: dict[str, Any]) -> None:
    assert messages_for(response) == []


def test_the_plain_text_fallback_has_the_text_in_parts_without_cards() -> None:
    response = {"text": "x" * 2500, "custom": {"type": "provider_cards", "cards": [card()]}}
    assert plain_text_of(response) == [{"text": "x" * MAX_TEXT}, {"text": "x" * 500}]
    assert plain_text_of({"custom": {"type": "provider_cards", "cards": [card()]}}) == []


# --------------------------------------------------------------------------- SeenMessages


def test_a_redelivered_message_is_taken_once() -> None:
    seen = SeenMessages()
    assert seen.first_time("m.1") is True
    assert seen.first_time("m.1") is False
    assert seen.first_time("m.2") is True
    assert seen.first_time("m.1") is False


def test_seen_messages_forget_the_oldest_beyond_their_size() -> None:
    seen = SeenMessages(size=2)
    for mid in ("a", "b", "c"):
        assert seen.first_time(mid)
    assert seen.first_time("c") is False
    assert seen.first_time("b") is False
    assert seen.first_time("a") is True  # evicted, so taken again


class _Clock:
    """A stand-in for the ``time`` module whose monotonic clock moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_seen_messages_forget_ids_older_than_their_time_to_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(messenger, "time", clock)
    seen = SeenMessages(ttl_s=60)
    assert seen.first_time("old")
    clock.now += 30
    assert seen.first_time("newer")
    assert seen.first_time("old") is False
    clock.now += 31  # "old" is 61 s old, "newer" 31 s
    assert seen.first_time("old") is True
    assert seen.first_time("newer") is False


# --------------------------------------------------------------------------- credentials

ENV_NAMES = {
    "page_access_token": "DIGITUKI_MESSENGER_PAGE_TOKEN",
    "app_secret": "DIGITUKI_MESSENGER_APP_SECRET",
    "verify_token": "DIGITUKI_MESSENGER_VERIFY_TOKEN",
}
ENV_VALUES = {
    "DIGITUKI_MESSENGER_PAGE_TOKEN": "page-token-from-env",
    "DIGITUKI_MESSENGER_APP_SECRET": "secret-from-env",
    "DIGITUKI_MESSENGER_VERIFY_TOKEN": "verify-from-env",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No ``DIGITUKI_*`` setting from the machine running the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("DIGITUKI_"):
            monkeypatch.delenv(name)
    yield monkeypatch


def test_without_any_secret_the_channel_is_off(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DIGITUKI_GRAPH_API_URL", "https://graph.example")
    channel = MessengerInput.from_credentials(None)
    assert channel.config is None
    assert channel.graph is None
    assert MessengerInput.from_credentials({"page_access_token": ""}).config is None


@pytest.mark.parametrize(
    "present",
    [
        ["DIGITUKI_MESSENGER_PAGE_TOKEN"],
        ["DIGITUKI_MESSENGER_APP_SECRET"],
        ["DIGITUKI_MESSENGER_VERIFY_TOKEN"],
        ["DIGITUKI_MESSENGER_PAGE_TOKEN", "DIGITUKI_MESSENGER_APP_SECRET"],
        ["DIGITUKI_MESSENGER_APP_SECRET", "DIGITUKI_MESSENGER_VERIFY_TOKEN"],
    ],
)
def test_some_secrets_without_the_others_is_a_config_error_naming_the_missing(
    clean_env: pytest.MonkeyPatch, present: list[str]
) -> None:
    for name in present:
        clean_env.setenv(name, ENV_VALUES[name])
    with pytest.raises(ConfigError) as error:
        MessengerInput.from_credentials(None)
    for name in ENV_VALUES:
        assert (name in str(error.value)) is (name not in present)


def test_all_secrets_from_the_environment_turn_the_channel_on(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV_VALUES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DIGITUKI_GRAPH_API_URL", "http://127.0.0.1:9999")
    clean_env.setenv("DIGITUKI_GRAPH_API_VERSION", "v25.0")
    channel = MessengerInput.from_credentials(None)
    assert channel.config is not None
    assert channel.config.page_access_token == "page-token-from-env"
    assert channel.config.app_secret == "secret-from-env"
    assert channel.config.verify_token == "verify-from-env"
    assert channel.config.graph_api_url == "http://127.0.0.1:9999"
    assert channel.config.graph_api_version == "v25.0"
    assert channel.graph is not None


def test_the_graph_api_defaults_to_facebook(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV_VALUES.items():
        clean_env.setenv(name, value)
    config = MessengerInput.from_credentials({}).config
    assert config is not None
    assert (config.graph_api_url, config.graph_api_version) == (
        "https://graph.facebook.com",
        "v24.0",
    )


@pytest.mark.parametrize(
    "url", ["ftp://graph.example", "graph.facebook.com", "https://", "javascript:alert(1)"]
)
def test_a_graph_api_url_that_is_not_http_is_a_config_error(
    clean_env: pytest.MonkeyPatch, url: str
) -> None:
    for name, value in ENV_VALUES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DIGITUKI_GRAPH_API_URL", url)
    with pytest.raises(ConfigError, match="graph_api_url"):
        MessengerInput.from_credentials(None)
    clean_env.delenv("DIGITUKI_GRAPH_API_URL")
    with pytest.raises(ConfigError, match="graph_api_url"):
        MessengerInput.from_credentials({"graph_api_url": url})


def test_credentials_override_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV_VALUES.items():
        clean_env.setenv(name, value)
    credentials = {
        "page_access_token": "page-token-from-yml",
        "app_secret": "",  # empty: the environment's stays
        "verify_token": 12345,
        "graph_api_url": "https://graph.example",
        "unrelated": "ignored",
    }
    config = MessengerInput.from_credentials(credentials).config
    assert config is not None
    assert config.page_access_token == "page-token-from-yml"
    assert config.app_secret == "secret-from-env"
    assert config.verify_token == "12345"
    assert config.graph_api_url == "https://graph.example"


def test_credentials_alone_turn_the_channel_on(clean_env: pytest.MonkeyPatch) -> None:
    credentials = {key: f"{key}-from-yml" for key in ENV_NAMES}
    config = MessengerInput.from_credentials(credentials).config
    assert config is not None
    assert config.verify_token == "verify_token-from-yml"


def test_credentials_can_complete_secrets_missing_from_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("DIGITUKI_MESSENGER_PAGE_TOKEN", "page-token-from-env")
    with pytest.raises(ConfigError, match="DIGITUKI_MESSENGER_VERIFY_TOKEN"):
        MessengerInput.from_credentials({"app_secret": "secret-from-yml"})
    config = MessengerInput.from_credentials(
        {"app_secret": "secret-from-yml", "verify_token": "verify-from-yml"}
    ).config
    assert config is not None
    assert (config.page_access_token, config.app_secret) == (
        "page-token-from-env",
        "secret-from-yml",
    )


def test_the_get_started_payload_comes_from_the_environment_or_the_credentials(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV_VALUES.items():
        clean_env.setenv(name, value)
    config = MessengerInput.from_credentials(None).config
    assert config is not None and config.get_started_payload == "GET_STARTED"
    clean_env.setenv("DIGITUKI_MESSENGER_GET_STARTED_PAYLOAD", " ALOITA ")
    config = MessengerInput.from_credentials(None).config
    assert config is not None and config.get_started_payload == "ALOITA"
    config = MessengerInput.from_credentials({"get_started_payload": "START"}).config
    assert config is not None and config.get_started_payload == "START"
    with pytest.raises(ConfigError, match="get_started_payload"):
        MessengerInput.from_credentials({"get_started_payload": "x" * (MAX_PAYLOAD + 1)})


@pytest.mark.parametrize("version", ["24", "24.0", "v24", "V24.0", "v24.0.1", "latest"])
def test_a_graph_api_version_not_like_v24_0_is_a_config_error(version: str) -> None:
    with pytest.raises(ConfigError, match="DIGITUKI_GRAPH_API_VERSION"):
        load_settings({"DIGITUKI_GRAPH_API_VERSION": version})


@pytest.mark.parametrize("version", ["v24.0", "v3.10", " v25.0 "])
def test_a_graph_api_version_like_v24_0_is_accepted(version: str) -> None:
    assert load_settings({"DIGITUKI_GRAPH_API_VERSION": version}).graph_api_version == (
        version.strip()
    )
