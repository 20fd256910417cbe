from __future__ import annotations

import datetime as dt

import pytest

from bot.holidays import easter_sunday, finnish_public_holidays, is_public_holiday


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, dt.date(2024, 3, 31)),
        (2025, dt.date(2025, 4, 20)),
        (2026, dt.date(2026, 4, 5)),
        (2027, dt.date(2027, 3, 28)),
    ],
)
def test_easter(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


def test_moving_holidays_of_2026() -> None:
    days = {name: day for day, name in finnish_public_holidays(2026).items()}
    assert days["pitkäperjantai"] == dt.date(2026, 4, 3)
    assert days["helatorstai"] == dt.date(2026, 5, 14)
    assert days["juhannusaatto"] == dt.date(2026, 6, 19)
    assert days["juhannuspäivä"] == dt.date(2026, 6, 20)
    assert days["pyhäinpäivä"] == dt.date(2026, 10, 31)
    assert len(days) == 15


def test_all_saints_day_can_fall_in_november() -> None:
    assert dt.date(2025, 11, 1) in finnish_public_holidays(2025)


def test_ordinary_days_are_not_holidays() -> None:
    assert is_public_holiday(dt.date(2026, 12, 6))
    assert not is_public_holiday(dt.date(2026, 11, 27))
