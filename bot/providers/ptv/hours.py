"""PTV service hours to OpenStreetMap ``opening_hours`` (:mod:`bot.providers.opening_hours`).

PTV lists weekly hours (``DaysOfTheWeek``, ``OverMidnight``) and dated
exceptions (``Exceptional``), each valid for a period. We store one
``opening_hours`` string per provider: the weekly hours in force on the import
day, followed by the exceptions still to come as dated rules
(``2026 Dec 24-2026 Dec 26 off``). What one string cannot hold (a second weekly
schedule, hours of a later period) is returned as a note for a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.providers.opening_hours import OpeningHoursError, date_range_rule, parse_opening_hours

WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

DAYS = {
    name: index
    for index, name in enumerate(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    )
}
WEEKLY_TYPES = frozenset({"DaysOfTheWeek", "OverMidnight", "Standard", "Special"})
"""Weekly hours; ``Standard`` and ``Special`` are their names in API version 7 and older."""
EXCEPTIONAL_TYPES = frozenset({"Exceptional", "Exception"})
MAX_LENGTH = 500
"""The ``opening_hours`` column's size."""

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$")
_DAY = 1440

Span = tuple[int, int]
"""Minutes from the start of a day; the end may pass midnight (up to 2 × 1440)."""


@dataclass(frozen=True)
class ConvertedHours:
    """The ``opening_hours`` text (``None`` when unknown) and what could not be carried over."""

    text: str | None
    notes: tuple[str, ...] = ()
    by_reservation: bool = False


class UnreadableHoursError(ValueError):
    """An opening-hour row that does not say a day and a time we understand."""


def convert_service_hours(entries: Sequence[Any], today: dt.date) -> ConvertedHours:
    """Convert a channel's ``serviceHours`` as they stand on ``today``."""
    notes: list[str] = []
    weekly = [e for e in entries if isinstance(e, Mapping) and _type(e) in WEEKLY_TYPES]
    exceptional = [e for e in entries if isinstance(e, Mapping) and _type(e) in EXCEPTIONAL_TYPES]
    unknown = sorted(
        {_type(e) or "(none)" for e in entries if isinstance(e, Mapping)}
        - WEEKLY_TYPES
        - EXCEPTIONAL_TYPES
    )
    if unknown:
        notes.append(f"service hours of type {', '.join(unknown)} are not understood: left out")
    exceptions = _exception_rules(exceptional, today, notes)
    weekly.sort(key=_order)
    # Hours for a period (summer hours, closed for repairs) stand in for the usual ones.
    in_force = sorted(
        (e for e in weekly if _in_force(e, today)), key=lambda e: _date(e.get("validTo")) is None
    )
    for entry in weekly:
        first = _date(entry.get("validFrom"))
        if first is not None and first > today:
            notes.append(
                f"weekly hours {_label(entry)}valid from {first.isoformat()} are not in force yet: "
                "left out (import again then)"
            )
    if not in_force:
        return ConvertedHours(None, tuple(notes))
    text, chosen = _weekly_text(in_force, notes)
    by_reservation = any(e.get("isReservation") is True for e in chosen)
    if text is None:
        return ConvertedHours(None, tuple(notes), by_reservation)
    text = "; ".join([text, *exceptions])
    try:
        parse_opening_hours(text)
    except OpeningHoursError as exc:  # a guard: the builder should only make valid text
        notes.append(f"could not express the hours ({exc}): left out")
        return ConvertedHours(None, tuple(notes), by_reservation)
    if len(text) > MAX_LENGTH:
        notes.append(f"the hours are longer than {MAX_LENGTH} characters: left out")
        return ConvertedHours(None, tuple(notes), by_reservation)
    return ConvertedHours(text, tuple(notes), by_reservation)


def _type(entry: Mapping[str, Any]) -> str:
    return str(entry.get("serviceHourType") or "")


def _order(entry: Mapping[str, Any]) -> int:
    number = entry.get("orderNumber")
    return number if isinstance(number, int) else 1_000_000


def _date(value: Any) -> dt.date | None:
    """The date part of a PTV datetime (``2026-06-01T00:00:00``); ``None`` when absent or odd."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _in_force(entry: Mapping[str, Any], today: dt.date) -> bool:
    first, last = _date(entry.get("validFrom")), _date(entry.get("validTo"))
    return (first is None or first <= today) and (last is None or today <= last)


def _label(entry: Mapping[str, Any]) -> str:
    """The entry's own title (its additional information), quoted, for notes."""
    information = entry.get("additionalInformation")
    for item in information if isinstance(information, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("value"), str) and item["value"]:
            return f"{item['value'].strip()!r} "
    return ""


def _exception_rules(
    entries: Iterable[Mapping[str, Any]], today: dt.date, notes: list[str]
) -> list[str]:
    """Dated exceptions still to come as ``opening_hours`` rules; past ones do not matter."""
    rules = []
    for entry in sorted(entries, key=lambda e: _date(e.get("validFrom")) or dt.date.max):
        first = _date(entry.get("validFrom"))
        last = _date(entry.get("validTo")) or first
        if last is not None and last < today:
            continue
        if first is None or last is None or last < first:
            notes.append(f"an exception {_label(entry)}without a valid date range: left out")
            continue
        dates = date_range_rule(first, last)
        if entry.get("isClosed") is True:
            rules.append(f"{dates} off")
        elif entry.get("isAlwaysOpen") is True:
            rules.append(f"{dates} 00:00-24:00")
        else:
            try:
                spans = _merged(_exception_spans(entry))
            except UnreadableHoursError as exc:
                notes.append(f"exception {_label(entry)}on {first} unreadable ({exc}): left out")
                continue
            if not spans:
                notes.append(f"exception {_label(entry)}on {first} names no hours: left out")
                continue
            rules.append(f"{dates} {_spans_text(spans)}")
    return rules


def _exception_spans(entry: Mapping[str, Any]) -> list[Span]:
    """The times of an exception's rows: the dates, not the rows' days, say when they hold."""
    rows = entry.get("openingHour") or []
    if not isinstance(rows, list):
        raise UnreadableHoursError("openingHour is not a list")
    spans = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise UnreadableHoursError("an openingHour row is not an object")
        start = _minutes(row.get("from"), end=False)
        end = _minutes(row.get("to"), end=True)
        spans.append((start, end if end > start else end + _DAY))
    return spans


def _weekly_text(
    in_force: list[Mapping[str, Any]], notes: list[str]
) -> tuple[str | None, list[Mapping[str, Any]]]:
    """The text of the weekly entries in force, and the entries it was made of.

    Publishers sometimes split one week over several entries (weekdays in one,
    Saturday in another), so entries on different days are merged; an entry
    that names a day already covered is a second schedule (say, self-service
    hours) that one string cannot hold beside the first.
    """
    first = in_force[0]
    if first.get("isAlwaysOpen") is True:
        _note_ignored(in_force[1:], notes)
        return "24/7", [first]
    if first.get("isClosed") is True:
        _note_ignored(in_force[1:], notes)
        return "off", [first]
    week: dict[int, list[Span]] = {}
    chosen = []
    for entry in in_force:
        if entry.get("isAlwaysOpen") is True or entry.get("isClosed") is True:
            _note_ignored([entry], notes)
            continue
        try:
            spans = _entry_spans(entry)
        except UnreadableHoursError as exc:
            notes.append(f"weekly hours {_label(entry)}unreadable ({exc}): left out")
            continue
        if set(spans) & set(week):
            _note_ignored([entry], notes)
            continue
        week.update(spans)
        chosen.append(entry)
    if not week:
        return None, chosen
    return format_week(week), chosen


def _note_ignored(entries: Iterable[Mapping[str, Any]], notes: list[str]) -> None:
    for entry in entries:
        notes.append(
            f"further weekly hours {_label(entry)}overlap the first ones: left out "
            "(one opening_hours string holds one weekly schedule)"
        )


def _entry_spans(entry: Mapping[str, Any]) -> dict[int, list[Span]]:
    """Open spans by weekday (0 = Monday) of one weekly entry."""
    week: dict[int, list[Span]] = {}
    rows = entry.get("openingHour")
    if rows is None:
        return {}
    if not isinstance(rows, list):
        raise UnreadableHoursError("openingHour is not a list")
    for row in rows:
        if not isinstance(row, Mapping):
            raise UnreadableHoursError("an openingHour row is not an object")
        for day, span in _row_spans(row):
            week.setdefault(day, []).append(span)
    return {day: _merged(spans) for day, spans in week.items()}


def _row_spans(row: Mapping[str, Any]) -> list[tuple[int, Span]]:
    """One ``openingHour`` row as spans by day.

    A row with ``dayTo`` on another day is one continuous period, from
    ``dayFrom`` at ``from`` to ``dayTo`` at ``to`` (how PTV writes hours that
    run over midnight or for days on end).
    """
    first = _day(row.get("dayFrom"))
    last = _day(row.get("dayTo")) if row.get("dayTo") else first
    start = _minutes(row.get("from"), end=False)
    end = _minutes(row.get("to"), end=True)
    if last == first:
        return [(first, (start, end if end > start else end + _DAY))]
    days = (last - first) % 7
    if days == 1 and end <= start:
        return [(first, (start, end + _DAY))]  # e.g. Fr 22:00-02:00
    spans = [(first, (start, _DAY))]
    spans += [((first + k) % 7, (0, _DAY)) for k in range(1, days)]
    if end > 0:
        spans.append((last, (0, end)))
    return spans


def _day(value: Any) -> int:
    if not isinstance(value, str) or value not in DAYS:
        raise UnreadableHoursError(f"unknown day {value!r}")
    return DAYS[value]


def _minutes(value: Any, *, end: bool) -> int:
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise UnreadableHoursError(f"unknown time {value!r}")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise UnreadableHoursError(f"unknown time {value!r}")
    return hours * 60 + minutes


def _merged(spans: list[Span]) -> list[Span]:
    """Spans sorted, overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def format_week(week: Mapping[int, Sequence[Span]]) -> str:
    """``opening_hours`` text of spans by weekday: days with equal hours share one rule."""
    if len(week) == 7 and all(list(spans) == [(0, _DAY)] for spans in week.values()):
        return "24/7"
    groups: dict[tuple[Span, ...], list[int]] = {}
    for day in sorted(week):
        groups.setdefault(tuple(week[day]), []).append(day)
    rules = sorted(groups.items(), key=lambda item: item[1][0])
    return "; ".join(f"{_days_text(days)} {_spans_text(spans)}" for spans, days in rules)


def _days_text(days: list[int]) -> str:
    """``[0, 1, 2, 4]`` → ``Mo-We,Fr``: runs of three or more days as ranges."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[day] for day in run)
    return ",".join(parts)


def _spans_text(spans: Iterable[Span]) -> str:
    return ",".join(f"{_clock(start)}-{_clock(end)}" for start, end in spans)


def _clock(minutes: int) -> str:
    if minutes > _DAY:
        minutes -= _DAY
    hours, rest = divmod(minutes, 60)
    return f"{hours:02d}:{rest:02d}"
