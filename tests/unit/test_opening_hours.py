from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.providers.opening_hours import (
    OpeningHoursError,
    describe_opening_hours,
    holiday_name,
    hours_status,
    open_now,
    parse_opening_hours,
)

FRI = dt.date(2026, 11, 27)
SAT = dt.date(2026, 11, 28)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes))


@pytest.mark.parametrize(
    ("text", "moment", "expected"),
    [
        ("Mo-Fr 09:00-16:00", at(FRI, "09:00"), True),
        ("Mo-Fr 09:00-16:00", at(FRI, "16:00"), False),  # the end is exclusive
        ("Mo-Fr 09:00-16:00", at(SAT, "10:00"), False),
        ("Mo-Fr 09:00-12:00,13:00-16:00", at(FRI, "12:30"), False),
        ("Mo-Fr 09:00-12:00,13:00-16:00", at(FRI, "13:30"), True),
        ("Mo-Fr 09:00-16:00; Sa 10:00-14:00", at(SAT, "11:00"), True),
        ("Mo-Fr 09:00-16:00, Sa 10:00-14:00", at(SAT, "11:00"), True),
        ("Mo-Su 08:00-20:00; Fr off", at(FRI, "10:00"), False),
        ("Tu,Th 12:00-14:00", at(dt.date(2026, 11, 26), "13:00"), True),
        ("Sa-Mo 10:00-12:00", at(dt.date(2026, 11, 30), "11:00"), True),  # wraps over Sunday
        ("Fr 18:00-02:00", at(SAT, "01:30"), True),  # runs past midnight
        ("Fr 18:00-24:00", at(FRI, "23:59"), True),
        ("24/7", at(dt.date(2026, 12, 25), "03:00"), True),
        ("Mo-Fr 09:00-16:00; PH off", at(dt.date(2026, 12, 24), "10:00"), False),  # Christmas Eve
        ("Mo-Fr 09:00-16:00; PH off", at(dt.date(2027, 3, 26), "10:00"), False),  # Good Friday
        ("Mo-Fr 09:00-16:00; PH 10:00-12:00", at(dt.date(2026, 12, 24), "11:00"), True),
        ("10:00-18:00", at(SAT, "12:00"), True),
        ("Mo-Fr 09:00-16:00;", at(FRI, "10:00"), True),  # a trailing ';' is harmless
    ],
)
def test_is_open(text: str, moment: dt.datetime, expected: bool) -> None:
    assert parse_opening_hours(text).is_open(moment) is expected


@pytest.mark.parametrize(
    ("text", "moment", "expected"),
    [
        # What the library reads that our own subset refused (PTV and CSV data with dates).
        ("Jun-Aug Mo-Fr 10:00-14:00; Sep-May Mo-Fr 09:00-16:00", at(FRI, "15:00"), True),
        (
            "Jun-Aug Mo-Fr 10:00-14:00; Sep-May Mo-Fr 09:00-16:00",
            at(dt.date(2027, 6, 4), "15:00"),
            False,
        ),
        ("Mo-Fr 09:00-16:00; 2026 Nov 27 off", at(FRI, "10:00"), False),
        ("week 01-20 Mo 10:00-12:00", at(dt.date(2027, 1, 11), "11:00"), True),
        ("Mo-Fr 09:00-16:00; PH off", at(dt.date(2026, 6, 19), "10:00"), False),  # Midsummer Eve
    ],
)
def test_dates_months_and_weeks_are_read_too(
    text: str, moment: dt.datetime, expected: bool
) -> None:
    assert parse_opening_hours(text).is_open(moment) is expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Mo-Fr 9-16", "from character 7 ('9-16'"),
        ("arkisin 9-16", "from character 1 ('arkisin 9-16'"),
        ("Mo-Fr 10:60-11:00", "from character 10"),
        ("Mo-Fr 10:00-", "from character 13 ('the end'"),
        ("Mo-Xx 10:00-12:00", "from character 4"),
        ("", "empty"),
    ],
)
def test_invalid_text_says_where_it_goes_wrong_and_shows_an_example(text: str, where: str) -> None:
    with pytest.raises(OpeningHoursError) as error:
        parse_opening_hours(text)
    assert where in str(error.value)
    assert text == "" or "for example Mo-Fr 09:00-16:00" in str(error.value)


TUESDAY = at(dt.date(2026, 12, 1), "11:30")
BEFORE_CHRISTMAS = at(dt.date(2026, 12, 21), "17:30")  # a Monday evening


@pytest.mark.parametrize(
    ("text", "moment", "fi", "sv", "en"),
    [
        ("Tu 10:00-13:00", TUESDAY,
         ("auki nyt, klo 13 asti", "ti 10–13"),
         ("öppet nu, till 13", "tis 10–13"),
         ("open now, until 13", "Tue 10–13")),
        ("Mo,We 12:00-18:00; Fr 10:00-14:00", TUESDAY,
         ("avautuu huomenna klo 12", "ma 12–18, ke 12–18, pe 10–14"),
         ("öppnar i morgon kl. 12", "mån 12–18, ons 12–18, fre 10–14"),
         ("opens tomorrow at 12", "Mon 12–18, Wed 12–18, Fri 10–14")),
        ("Mo-Fr 09:00-12:00,13:00-16:30; Sa 10:00-14:00; PH off", TUESDAY,
         ("auki nyt, klo 12 asti", "ma–pe 9–12, 13–16.30, la 10–14"),
         ("öppet nu, till 12", "mån–fre 9–12, 13–16.30, lör 10–14"),
         ("open now, until 12", "Mon–Fri 9–12, 13–16:30, Sat 10–14")),
        ("24/7", TUESDAY, ("auki nyt", "aina auki"), ("öppet nu", "alltid öppet"),
         ("open now", "always open")),
        ("Mo-Su 10:00-18:00", TUESDAY, ("auki nyt, klo 18 asti", "joka päivä 10–18"),
         ("öppet nu, till 18", "alla dagar 10–18"), ("open now, until 18", "every day 10–18")),
        ('Mo 09:00-12:00 "ajanvarauksella"', TUESDAY,
         ("avautuu maanantaina klo 9", "ma 9–12 (ajanvarauksella)"),
         ("öppnar på måndag kl. 9", "mån 9–12 (ajanvarauksella)"),
         ("opens on Monday at 9", "Mon 9–12 (ajanvarauksella)")),
        ("Jan-May Mo-Fr 09:00-16:00", TUESDAY,
         ("avautuu 1.1. klo 9", "suljettu"), ("öppnar den 1.1. kl. 9", "stängt"),
         ("opens on 1 Jan at 9", "closed")),
        # The days of the coming week that differ, named after their holiday.
        ("Mo-Fr 09:00-16:00; Dec 23 09:00-12:00; PH off", BEFORE_CHRISTMAS,
         ("avautuu huomenna klo 9",
          "ma–pe 9–16; ke 23.12. 9–12; to 24.12. suljettu (Jouluaatto); pe 25.12. suljettu (Joulupäivä)"),
         ("öppnar i morgon kl. 9",
          "mån–fre 9–16; ons 23.12. 9–12; tor 24.12. stängt (Julafton); fre 25.12. stängt (Juldagen)"),
         ("opens tomorrow at 9",
          "Mon–Fri 9–16; Wed 23 Dec 9–12; Thu 24 Dec closed (Christmas Eve); Fri 25 Dec closed (Christmas Day)")),
        ("Fr 18:00-02:00", TUESDAY, ("avautuu perjantaina klo 18", "pe 18–2"),
         ("öppnar på fredag kl. 18", "fre 18–2"), ("opens on Friday at 18", "Fri 18–2")),
    ],
)  # fmt: skip
def test_hours_in_words_in_each_language(text, moment, fi, sv, en) -> None:
    hours = parse_opening_hours(text)
    said = {
        language: (
            hours_status(hours, moment, language),
            describe_opening_hours(hours, language, moment.date()),
        )
        for language in ("fi", "sv", "en")
    }
    assert said == {"fi": fi, "sv": sv, "en": en}


def test_words_never_show_the_data_syntax() -> None:
    texts = [
        "Mo-Fr 09:00-16:00; Sa 10:00-14:00; PH off", "Tu,Th 12:00-14:00", "24/7",
        "Jun-Aug Mo-Fr 10:00-14:00; Sep-May Mo-Fr 09:00-16:00; PH off", "Mo-Fr 08:00-20:00; Sa,Su 10:00-16:00",
    ]  # fmt: skip
    syntax = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH|off)\b|\d\d:\d\d|24/7")
    for text in texts:
        hours = parse_opening_hours(text)
        for day in range(0, 365, 11):
            moment = TUESDAY + dt.timedelta(days=day)
            for language in ("fi", "sv"):
                words = f"{hours_status(hours, moment, language)} {describe_opening_hours(hours, language, moment.date())}"
                assert not syntax.search(words), (text, moment, words)


def test_unknown_state_has_no_status() -> None:
    hours = parse_opening_hours("Mo 10:00-12:00 unknown")
    assert hours_status(hours, at(dt.date(2026, 11, 30), "11:00"), "fi") is None


def test_holiday_names_come_in_each_language() -> None:
    day = dt.date(2026, 12, 6)
    assert [holiday_name(day, lang) for lang in ("fi", "sv", "en")] == [
        "Itsenäisyyspäivä", "Självständighetsdagen", "Independence Day",
    ]  # fmt: skip
    assert holiday_name(dt.date(2026, 12, 7), "fi") is None


def test_open_now_is_unknown_without_valid_hours() -> None:
    assert open_now(None, at(FRI, "10:00")) is None
    assert open_now("sometimes", at(FRI, "10:00")) is None
    assert open_now("Mo-Fr 09:00-16:00", at(FRI, "10:00")) is True
