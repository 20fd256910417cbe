"""OpenStreetMap ``opening_hours``: read with ``opening-hours-py``, said in words.

The library reads the whole syntax (weekdays, dates, months, week numbers, ``PH``
with Finland's calendar, comments, ``||`` fallbacks) and evaluates it. What this
module adds is what a person needs on a card, in the conversation's language:

- :func:`describe_opening_hours` – the hours in force now, as a week: ``ma–pe 9–16,
  la 10–14`` (fi), ``mån–fre 9–16`` (sv), ``Mon–Fri 9–16`` (en), and the days of the
  coming week that differ, named after their holiday: ``su 6.12. suljettu
  (Itsenäisyyspäivä)``;
- :func:`hours_status` – ``auki nyt, klo 16 asti`` / ``avautuu huomenna klo 10``.

Both are computed from the evaluated calendar, never from the text, so whatever
the library reads is said correctly. Holiday names come from ``holidays``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import holidays
import opening_hours as osm

COUNTRY = "FI"
_WINDOW_DAYS = 28
"""A weekday's usual hours are the most common ones among its next four occurrences."""
_AHEAD_DAYS = 7
"""Days that differ from the usual week are named this far ahead."""

Span = tuple[int, int]
"""Open from–until in minutes after the day's midnight; the end may pass midnight."""


class OpeningHoursError(ValueError):
    """The text is not in the OpenStreetMap ``opening_hours`` format."""


@dataclass(frozen=True)
class OpeningHours:
    """Parsed, valid opening hours."""

    text: str
    expression: osm.OpeningHours

    def state(self, moment: dt.datetime) -> bool | None:
        """Open (True), closed (False) or unknown (None) at ``moment`` (local wall-clock)."""
        state = self.expression.state(_naive(moment))[0]
        if state == osm.State.OPEN:
            return True
        if state == osm.State.CLOSED:
            return False
        return None

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether open at ``moment`` (a local, naive or aware, wall-clock time)."""
        return self.state(moment) is True

    def next_change(self, moment: dt.datetime) -> dt.datetime | None:
        """When the state after ``moment`` changes; None when it never does."""
        change = self.expression.next_change(_naive(moment))
        return None if change is None else _naive(change)

    def days(self, first: dt.date, count: int) -> dict[dt.date, tuple[Span, ...]]:
        """The open spans that begin on each of ``count`` days from ``first`` on."""
        start = dt.datetime.combine(first, dt.time())
        end = start + dt.timedelta(days=count)
        spans: dict[dt.date, list[Span]] = {first + dt.timedelta(days=n): [] for n in range(count)}
        for opens, closes in self._open_runs(start, end):
            if closes - opens < dt.timedelta(days=1):  # one opening, perhaps past midnight
                spans[opens.date()].append(
                    (_minute(opens), _minute(opens) + _length(opens, closes))
                )
                continue
            cursor = opens  # open for days on end: each day gets its own part
            while cursor < closes:
                midnight = dt.datetime.combine(cursor.date() + dt.timedelta(days=1), dt.time())
                spans[cursor.date()].append(
                    (_minute(cursor), _minute(cursor) + _length(cursor, min(midnight, closes)))
                )
                cursor = midnight
        return {day: tuple(day_spans) for day, day_spans in spans.items()}

    def comments(self, first: dt.date, count: int) -> list[str]:
        """The comments (``"ajanvarauksella"``) of the open times in these days, once each."""
        start = dt.datetime.combine(first, dt.time())
        found: list[str] = []
        for _, _, state, comment in self.expression.intervals(
            start, start + dt.timedelta(days=count)
        ):
            if comment and comment not in found and state != osm.State.CLOSED:
                found.append(comment)
        return found

    def _open_runs(
        self, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        runs: list[tuple[dt.datetime, dt.datetime]] = []
        for opens, closes, state, _ in self.expression.intervals(start, end):
            if state != osm.State.OPEN:
                continue
            opens, closes = _naive(opens), _naive(closes or end)
            if runs and runs[-1][1] == opens:  # the same opening, cut by the library
                runs[-1] = (runs[-1][0], closes)
            else:
                runs.append((opens, closes))
        return runs


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)


def _minute(moment: dt.datetime) -> int:
    return moment.hour * 60 + moment.minute


def _length(opens: dt.datetime, closes: dt.datetime) -> int:
    return int((closes - opens).total_seconds() // 60)


_PARSER_ERROR: type[Exception] = osm.ParserError  # type: ignore[attr-defined]  # not in its stubs
_POSITION = re.compile(r"-->\s*\d+:(\d+)")
_EXPECTED = re.compile(r"=\s*(.+)$", re.MULTILINE)


@lru_cache(maxsize=4096)
def parse_opening_hours(text: str) -> OpeningHours:
    """Parse ``text``; raises :class:`OpeningHoursError` saying where it goes wrong."""
    cleaned = (text or "").strip().rstrip(";").strip()  # a trailing ';' is harmless
    if not cleaned:
        raise OpeningHoursError("empty")
    try:
        expression = osm.OpeningHours(cleaned, country=COUNTRY)
    except (_PARSER_ERROR, SyntaxError, ValueError) as error:
        raise OpeningHoursError(_explain(cleaned, str(error))) from None
    return OpeningHours(cleaned, expression)


def _explain(text: str, message: str) -> str:
    position = _POSITION.search(message)
    expected = _EXPECTED.search(message)
    where = int(position.group(1)) if position else 1
    rest = text[where - 1 :][:16] or "the end"
    detail = expected.group(1).strip() if expected else "unexpected text"
    return (
        f"not OpenStreetMap opening hours from character {where} ({rest!r}: {detail}); "
        "for example Mo-Fr 09:00-16:00; Sa 10:00-14:00; PH off"
    )


def open_now(text: str | None, moment: dt.datetime) -> bool | None:
    """Open at ``moment`` according to ``text``; ``None`` when hours are unknown or invalid."""
    if not text:
        return None
    try:
        return parse_opening_hours(text).state(moment)
    except OpeningHoursError:
        return None


# -- in words ---------------------------------------------------------------------------

_DAY_NAMES = {
    "fi": ("ma", "ti", "ke", "to", "pe", "la", "su"),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_ON_DAY = {
    "fi": (
        "maanantaina",
        "tiistaina",
        "keskiviikkona",
        "torstaina",
        "perjantaina",
        "lauantaina",
        "sunnuntaina",
    ),
    "sv": (
        "på måndag",
        "på tisdag",
        "på onsdag",
        "på torsdag",
        "på fredag",
        "på lördag",
        "på söndag",
    ),
    "en": (
        "on Monday",
        "on Tuesday",
        "on Wednesday",
        "on Thursday",
        "on Friday",
        "on Saturday",
        "on Sunday",
    ),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WORDS = {
    "fi": {
        "every_day": "joka päivä",
        "always": "aina auki",
        "closed": "suljettu",
        "closed_for_now": "suljettu toistaiseksi",
        "open_until": "auki nyt, klo {time} asti",
        "open_now": "auki nyt",
        "opens": "avautuu {day} klo {time}",
        "today": "tänään",
        "tomorrow": "huomenna",
    },
    "sv": {
        "every_day": "alla dagar",
        "always": "alltid öppet",
        "closed": "stängt",
        "closed_for_now": "stängt tills vidare",
        "open_until": "öppet nu, till {time}",
        "open_now": "öppet nu",
        "opens": "öppnar {day} kl. {time}",
        "today": "i dag",
        "tomorrow": "i morgon",
    },
    "en": {
        "every_day": "every day",
        "always": "always open",
        "closed": "closed",
        "closed_for_now": "closed until further notice",
        "open_until": "open now, until {time}",
        "open_now": "open now",
        "opens": "opens {day} at {time}",
        "today": "today",
        "tomorrow": "tomorrow",
    },
}
_HOLIDAY_LANGUAGE = {"fi": "fi", "sv": "sv_FI", "en": "en_US"}


def _language(language: str) -> str:
    return language if language in _WORDS else "fi"


def _clock(minutes: int, language: str) -> str:
    if minutes != 1440:
        minutes %= 1440
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return str(hours)
    return f"{hours}:{rest:02d}" if language == "en" else f"{hours}.{rest:02d}"


def _spans_text(spans: tuple[Span, ...], language: str) -> str:
    if not spans:
        return _WORDS[language]["closed"]
    return ", ".join(f"{_clock(s, language)}–{_clock(e, language)}" for s, e in spans)


def _date_text(day: dt.date, language: str) -> str:
    if language == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]}"
    return f"{day.day}.{day.month}."


@lru_cache(maxsize=8)
def _holiday_calendar(language: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(COUNTRY, years=year, language=_HOLIDAY_LANGUAGE[language])


def date_range_rule(first: dt.date, last: dt.date) -> str:
    """The OpenStreetMap selector of these dates: ``2026 Dec 24`` or ``2026 Dec 24-2026 Dec 26``."""

    def one(day: dt.date) -> str:
        return f"{day.year} {_MONTHS_EN[day.month - 1]} {day.day:02d}"

    return one(first) if first == last else f"{one(first)}-{one(last)}"


def describe_day(hours: OpeningHours, day: dt.date, language: str) -> str:
    """One day's hours in words: ``lauantaina 5.12. 10–15`` or ``… suljettu``."""
    language = _language(language)
    spans = hours.days(day, 1)[day]
    return f"{_ON_DAY[language][day.weekday()]} {_date_text(day, language)} {_spans_text(spans, language)}"


def holiday_name(day: dt.date, language: str) -> str | None:
    """The Finnish public holiday (or Midsummer or Christmas Eve) on ``day``, in ``language``."""
    return _holiday_calendar(_language(language), day.year).get(day)


def describe_opening_hours(hours: OpeningHours, language: str, today: dt.date) -> str:
    """The hours in force from ``today``, in words: ``ma–pe 9–16, la 10–14``.

    Days of the coming week that differ from their weekday's usual hours follow,
    with the holiday's name: ``; to 24.12. suljettu (Jouluaatto)``. Comments of the
    data (``"ajanvarauksella"``) come last, in brackets.
    """
    language = _language(language)
    words = _WORDS[language]
    days = hours.days(today, _WINDOW_DAYS)
    usual: dict[int, tuple[Span, ...]] = {}
    for weekday in range(7):
        seen = Counter(
            spans
            for day, spans in days.items()
            if day.weekday() == weekday and not holiday_name(day, language)
        )
        usual[weekday] = seen.most_common(1)[0][0] if seen else ()
    if all(spans == ((0, 1440),) for spans in usual.values()):
        week = words["always"]
    elif not any(usual.values()):  # closed for now: the status says when it opens
        week = words["closed"]
    else:
        week = _week_text(usual, language)
    exceptions = []
    for offset in range(_AHEAD_DAYS):
        day = today + dt.timedelta(days=offset)
        if days[day] != usual[day.weekday()]:
            text = f"{_DAY_NAMES[language][day.weekday()]} {_date_text(day, language)} {_spans_text(days[day], language)}"
            name = holiday_name(day, language)
            exceptions.append(f"{text} ({name})" if name else text)
    parts = [week, *exceptions]
    comments = hours.comments(today, _AHEAD_DAYS)
    text = "; ".join(parts)
    return f"{text} ({', '.join(comments)})" if comments else text


def _week_text(usual: dict[int, tuple[Span, ...]], language: str) -> str:
    """Consecutive weekdays with the same hours as one run: ``ma–pe 9–16, la 10–14``."""
    if len(set(usual.values())) == 1:
        return f"{_WORDS[language]['every_day']} {_spans_text(usual[0], language)}"
    names = _DAY_NAMES[language]
    runs: list[list[int]] = []
    for weekday in range(7):
        if not usual[weekday]:
            continue
        if runs and runs[-1][-1] == weekday - 1 and usual[runs[-1][0]] == usual[weekday]:
            runs[-1].append(weekday)
        else:
            runs.append([weekday])
    return ", ".join(
        (names[run[0]] if len(run) == 1 else f"{names[run[0]]}–{names[run[-1]]}")
        + f" {_spans_text(usual[run[0]], language)}"
        for run in runs
    )


def hours_status(hours: OpeningHours, moment: dt.datetime, language: str) -> str | None:
    """Open or closed at ``moment`` and until when: ``auki nyt, klo 16 asti``.

    ``None`` when the data says the state is unknown then.
    """
    language = _language(language)
    words = _WORDS[language]
    moment = _naive(moment)
    state = hours.state(moment)
    if state is None:
        return None
    change = hours.next_change(moment)
    if state:
        if change is None or change - moment > dt.timedelta(days=1):
            return words["open_now"]
        return words["open_until"].format(time=_clock(_minute(change), language))
    if change is None or hours.state(change) is not True:
        return words["closed_for_now"]
    return words["opens"].format(
        day=_day_text(moment.date(), change.date(), language),
        time=_clock(_minute(change), language),
    )


def _day_text(today: dt.date, day: dt.date, language: str) -> str:
    ahead = (day - today).days
    if ahead == 0:
        return _WORDS[language]["today"]
    if ahead == 1:
        return _WORDS[language]["tomorrow"]
    if ahead < 7:
        return _ON_DAY[language][day.weekday()]
    on = {"fi": "", "sv": "den ", "en": "on "}[language]
    return f"{on}{_date_text(day, language)}"
