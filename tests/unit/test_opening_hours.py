from __future__ import annotations

import datetime as dt

import pytest

from bot.providers.opening_hours import OpeningHoursError, open_now, parse_opening_hours

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
    ("text", "message"),
    [
        ("Mo-Fr 9-16", "unexpected"),
        ("Jan-Mar 10:00-12:00", "unsupported selector 'Jan'"),
        ("Mo-Fr 25:00-26:00", "invalid time '25:00'"),
        ("Mo-Fr 10:60-11:00", "invalid time"),
        ("Mo-Fr 10:00-", "expected an end time"),
        ("Mo-Xx 10:00-12:00", "weekday range"),
        ("Mo-Fr 10:00-12:00 off", "cannot be followed by 'off'"),
        ("", "empty"),
    ],
)
def test_invalid_text_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(OpeningHoursError, match=message):
        parse_opening_hours(text)


def test_open_now_is_unknown_without_valid_hours() -> None:
    assert open_now(None, at(FRI, "10:00")) is None
    assert open_now("sometimes", at(FRI, "10:00")) is None
    assert open_now("Mo-Fr 09:00-16:00", at(FRI, "10:00")) is True
