"""Finnish public holidays, for opening hours (``PH``) and service hours."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def easter_sunday(year: int) -> dt.date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _weekday_between(year: int, month: int, first_day: int, weekday: int) -> dt.date:
    """The date with ``weekday`` (Mon=0) in the seven days from ``first_day`` of ``month`` on."""
    start = dt.date(year, month, first_day)
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


@lru_cache(maxsize=64)
def finnish_public_holidays(year: int) -> dict[dt.date, str]:
    """Public holidays and the two eves (Midsummer, Christmas) on which services close."""
    easter = easter_sunday(year)
    days = {
        dt.date(year, 1, 1): "uudenvuodenpäivä",
        dt.date(year, 1, 6): "loppiainen",
        easter - dt.timedelta(days=2): "pitkäperjantai",
        easter: "pääsiäispäivä",
        easter + dt.timedelta(days=1): "2. pääsiäispäivä",
        dt.date(year, 5, 1): "vappu",
        easter + dt.timedelta(days=39): "helatorstai",
        easter + dt.timedelta(days=49): "helluntaipäivä",
        _weekday_between(year, 6, 19, 4): "juhannusaatto",
        _weekday_between(year, 6, 20, 5): "juhannuspäivä",
        _weekday_between(year, 10, 31, 5): "pyhäinpäivä",
        dt.date(year, 12, 6): "itsenäisyyspäivä",
        dt.date(year, 12, 24): "jouluaatto",
        dt.date(year, 12, 25): "joulupäivä",
        dt.date(year, 12, 26): "tapaninpäivä",
    }
    return days


def is_public_holiday(day: dt.date) -> bool:
    """True on a Finnish public holiday or Midsummer/Christmas Eve."""
    return day in finnish_public_holidays(day.year)
