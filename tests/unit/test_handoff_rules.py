"""Service hours, the desk's rules, who sees which request, and the event stream's mapping.

The login throttle has its own file, ``test_login_throttle.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.conversations.messages import message_from_rasa_event
from bot.handoff import Agent, HandoffRequest
from bot.handoff.access import in_scope
from bot.handoff.desk import conversation_summary, seems_stuck
from bot.handoff.hours import ServiceHoursError, parse_service_hours
from bot.web.handoff_views import request_view

HELSINKI_NOON_FRIDAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)


def test_service_hours_follow_local_time_holidays_and_dated_exceptions():
    hours = parse_service_hours(
        "Mo-Fr 09:00-16:00; PH off",
        "2026-12-24..2026-12-26 off; 2026-12-31 09:00-12:00; 2026-11-28 10:00-14:00",
    )
    assert hours.is_open(HELSINKI_NOON_FRIDAY)
    assert not hours.is_open(dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.timezone.utc))  # 16:30
    assert hours.is_open(dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.timezone.utc))  # 9:00 local
    assert hours.is_open(
        dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc)
    )  # an open Saturday
    assert not hours.is_open(dt.datetime(2026, 12, 24, 10, 0, tzinfo=dt.timezone.utc))
    assert not hours.is_open(dt.datetime(2026, 12, 31, 10, 30, tzinfo=dt.timezone.utc))  # 12:30
    assert not hours.is_open(dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.timezone.utc))  # a Sunday
    assert not hours.is_open(dt.datetime(2027, 1, 6, 10, 0, tzinfo=dt.timezone.utc))  # Epiphany
    summer = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.timezone.utc)  # 9:00 in summer time
    assert hours.is_open(summer)


@pytest.mark.parametrize(
    ("weekly", "exceptions", "words"),
    [
        ("Mo-Fr 9-16", "", "weekly hours"),
        ("Mo-Fr 09:00-16:00", "24.12.2026 off", "expected 'YYYY-MM-DD"),
        ("Mo-Fr 09:00-16:00", "2026-12-26..2026-12-24 off", "forwards"),
        ("Mo-Fr 09:00-16:00", "2026-02-30 off", "2026-02-30"),
    ],
)
def test_service_hours_that_cannot_be_read_say_what_is_wrong(weekly, exceptions, words):
    with pytest.raises(ServiceHoursError, match=words):
        parse_service_hours(weekly, exceptions)
    with pytest.raises(ServiceHoursError, match="time zone"):
        parse_service_hours("24/7", "", "Europe/Nowhere")


def test_service_hours_in_words_name_the_coming_weeks_exceptions():
    hours = parse_service_hours("Mo-Fr 09:00-16:00; PH off", "2026-12-28..2026-12-30 10:00-14:00")
    monday = dt.datetime(2026, 12, 21, 8, 0, tzinfo=dt.timezone.utc)
    assert hours.describe("fi", monday) == (
        "ma–pe 9–16; to 24.12. suljettu (Jouluaatto); pe 25.12. suljettu (Joulupäivä)"
    )
    assert hours.describe("sv", monday + dt.timedelta(days=7)) == (
        "mån–fre 9–16; mån 28.12. 10–14; tis 29.12. 10–14; ons 30.12. 10–14; "
        "fre 1.1. stängt (Nyårsdagen)"
    )
    assert (
        hours.describe("en", dt.datetime(2027, 1, 11, 8, 0, tzinfo=dt.timezone.utc))
        == "Mon–Fri 9–16"
    )


def test_the_summary_is_the_last_messages_masked_and_short():
    texts = ["/session_start", "hei", "en pääse kelaan", "hetu 131052-308T", "x" * 400]
    summary = conversation_summary(texts)
    parts = summary.split(" / ")
    assert parts[:2] == ["en pääse kelaan", "hetu [identity_code]"]
    assert len(parts[2]) == 160 and parts[2].endswith("…")
    assert conversation_summary([]) == ""


def test_stuck_means_three_of_five_not_helped_or_a_repeated_message():
    assert not seems_stuck(["greet", "request_support", "deny"], ["hei", "apua", "ei"])
    assert seems_stuck(["out_of_scope", "deny", "nlu_fallback"], ["a", "b", "c"])
    assert not seems_stuck(["out_of_scope", "greet", "greet", "greet", "greet", "deny"], [])
    repeated = ["en saa sähköpostia auki", "mitä", "en saa  sähköpostia auki"]
    assert seems_stuck(["request_support"] * 3, repeated)
    assert not seems_stuck(["affirm"] * 3, ["ok", "ok", "ok"])  # short replies repeat naturally


def staff(role: str, languages: tuple[str, ...] = ("fi",), regions: tuple[str, ...] = ()) -> Agent:
    """An account of ``role`` (id 1) with these languages and regions (none: every region)."""
    return Agent(1, role, role, role, languages, regions, 3, True)


@pytest.mark.parametrize(
    ("viewer", "language", "region", "allowed"),
    [
        (staff("coordinator", regions=("12",)), "fi", "12", True),
        (staff("coordinator", regions=("12",)), "fi", "19", False),
        (staff("coordinator", regions=("12",)), "sv", "12", False),
        (staff("coordinator", regions=("12",)), "fi", None, False),  # region unknown
        (staff("admin", ("fi", "sv"), ("12",)), "fi", "19", False),  # no bypass for admins
        (staff("admin", ("fi", "sv")), "fi", "19", True),  # no regions: every region
        (staff("admin", ("fi", "sv")), "en", None, False),  # but only their languages
        (staff("worker"), "fi", None, True),
    ],
)  # fmt: skip
def test_the_access_rule_is_languages_and_regions_for_every_role(viewer, language, region, allowed):
    assert in_scope(viewer, language=language, region_code=region, claimed_by=None) is allowed


def test_ones_own_chat_stays_in_scope_after_the_regions_change():
    moved = staff("worker", regions=("19",))
    assert in_scope(moved, language="fi", region_code="12", claimed_by=moved.id)
    assert not in_scope(moved, language="fi", region_code="12", claimed_by=2)


def test_a_contact_shows_only_to_its_worker_and_to_overseers_in_scope(gazetteer):
    callback = HandoffRequest(
        id="r1", conversation_id="c1", channel="widget", language="fi", topics=(),
        municipality_code="698", reason="asked", state="waiting",
        created_at=HELSINKI_NOON_FRIDAY, kind="callback", contact_method="phone",
        contact_value="040 765 4321", region_code="19",
    )  # fmt: skip
    phone = {"method": "phone", "value": "040 765 4321"}
    for viewer, expected in [
        (staff("coordinator", regions=("19",)), phone),
        (staff("admin"), phone),
        (staff("coordinator", regions=("12",)), None),  # another region's coordinator
        (staff("admin", regions=("12",)), None),
        (staff("worker", regions=("19",)), None),  # not theirs
    ]:
        assert request_view(callback, viewer, gazetteer)["contact"] == expected, viewer
    worker = staff("worker", regions=("19",))
    taken = dataclasses.replace(callback, state="active", claimed_by=worker.id)
    assert request_view(taken, worker, gazetteer)["contact"] == phone


def test_only_what_someone_wrote_enters_the_stream():
    user = {"event": "user", "sender_id": "c1", "text": "apua", "timestamp": 5, "message_id": "m1"}
    assert message_from_rasa_event(user) == {
        "conversation_id": "c1", "sender": "user", "text": "apua", "agent": None,
        "message_id": "m1", "timestamp": 5.0, "public": False,
    }  # fmt: skip
    worker = {"event": "bot", "sender_id": "c1", "text": "Hei", "metadata": {"agent": "Anna"}}
    assert message_from_rasa_event(worker)["sender"] == "worker"  # type: ignore[index]
    assert message_from_rasa_event(worker)["public"] is False  # type: ignore[index]
    bot = {"event": "bot", "sender_id": "c1", "text": "Hei", "metadata": None}
    assert message_from_rasa_event(bot)["sender"] == "bot"  # type: ignore[index]
    assert message_from_rasa_event(bot)["public"] is True  # type: ignore[index]
    for ignored in [
        {"event": "user", "sender_id": "c1", "text": "/request_human"},
        {"event": "user", "sender_id": "c1", "text": "   "},
        {"event": "bot", "sender_id": "c1", "text": None},
        {"event": "action", "sender_id": "c1", "name": "action_listen"},
        {"event": "user", "text": "no conversation"},
    ]:
        assert message_from_rasa_event(ignored) is None
