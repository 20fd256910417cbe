"""A subset of the OpenStreetMap ``opening_hours`` syntax: parse, validate, evaluate.

Supported: ``24/7``; rules separated by ``;`` (later rules override earlier ones
for the days they name) or by ``,`` (additional rules); weekday selectors
(``Mo-Fr``, ``Mo,We``, ``Sa``), ``PH`` (Finnish public holidays); time spans
``09:00-16:00`` (several with ``,``; an end after midnight such as
``18:00-02:00`` runs into the next day; ``24:00`` allowed as an end); and the
modifiers ``off``/``closed``/``open``. Month, week and date selectors are
reported as unsupported rather than silently misread.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.holidays import is_public_holiday

WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
PH = "PH"

_TOKEN = re.compile(
    r"\s*(?:(?P<always>24/7)|(?P<time>\d{1,2}:\d{2})|(?P<word>[A-Za-z]+)|(?P<punct>[-,;]))"
)


class OpeningHoursError(ValueError):
    """The text is not valid in the supported ``opening_hours`` subset."""


@dataclass(frozen=True)
class Rule:
    """One rule: the days it selects (``None`` = every day) and its open spans in minutes."""

    days: frozenset[str] | None
    spans: tuple[tuple[int, int], ...]
    additional: bool = False


@dataclass(frozen=True)
class OpeningHours:
    """Parsed opening hours."""

    text: str
    rules: tuple[Rule, ...]

    def spans_on(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """Open spans (minutes from midnight, end may exceed 1440) that start on ``day``."""
        keys = {WEEKDAYS[day.weekday()]}
        if is_public_holiday(day):
            keys.add(PH)
        spans: tuple[tuple[int, int], ...] = ()
        for rule in self.rules:
            if rule.days is not None and not (rule.days & keys):
                continue
            spans = spans + rule.spans if rule.additional else rule.spans
        return spans

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether open at ``moment`` (a local, naive or aware, wall-clock time)."""
        minute = moment.hour * 60 + moment.minute
        today = moment.date()
        if any(start <= minute < end for start, end in self.spans_on(today)):
            return True
        yesterday = today - dt.timedelta(days=1)
        return any(start <= minute + 1440 < end for start, end in self.spans_on(yesterday))


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise OpeningHoursError(f"unexpected {text[pos:].strip()[:12]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _minutes(value: str, *, end: bool) -> int:
    hours, minutes = (int(part) for part in value.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise OpeningHoursError(f"invalid time {value!r}")
    return hours * 60 + minutes


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def is_day(self, offset: int = 0) -> bool:
        kind, value = self.peek(offset)
        return kind == "word" and (value in WEEKDAYS or value == PH)

    def parse(self) -> tuple[Rule, ...]:
        rules = [self.rule(additional=False)]
        while self.peek()[0] != "end":
            kind, value = self.take()
            if value == ";":
                if self.peek()[0] == "end":  # a trailing ';' is harmless
                    break
                rules.append(self.rule(additional=False))
            elif value == ",":
                rules.append(self.rule(additional=True))
            else:
                raise OpeningHoursError(f"unexpected {value!r}")
        return tuple(rules)

    def rule(self, *, additional: bool) -> Rule:
        kind, value = self.peek()
        if kind == "always":
            self.take()
            return Rule(None, ((0, 1440),), additional)
        days = self.days() if self.is_day() else None
        spans = self.spans() if self.peek()[0] == "time" else None
        kind, value = self.peek()
        if kind == "word" and value.lower() in ("off", "closed"):
            self.take()
            if spans:
                raise OpeningHoursError("times cannot be followed by 'off'")
            return Rule(days, (), additional)
        if kind == "word" and value.lower() == "open":
            self.take()
            spans = spans or ((0, 1440),)
        if days is None and spans is None:
            if kind == "word":
                raise OpeningHoursError(f"unsupported selector {value!r}")
            raise OpeningHoursError(f"expected days or times, got {value or 'end of text'!r}")
        return Rule(days, spans or ((0, 1440),), additional)

    def days(self) -> frozenset[str]:
        selected: set[str] = set()
        while True:
            _, first = self.take()
            if first != PH and self.peek()[1] == "-":
                self.take()
                kind, last = self.take()
                if last not in WEEKDAYS:
                    raise OpeningHoursError(f"invalid weekday range end {last!r}")
                i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
                indices = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
                selected.update(WEEKDAYS[k] for k in indices)
            else:
                selected.add(first)
            if self.peek()[1] == "," and self.is_day(1):
                self.take()
                continue
            return frozenset(selected)

    def spans(self) -> tuple[tuple[int, int], ...]:
        spans: list[tuple[int, int]] = []
        while True:
            _, start_text = self.take()
            if self.take()[1] != "-":
                raise OpeningHoursError(f"expected '-' after {start_text}")
            kind, end_text = self.take()
            if kind != "time":
                raise OpeningHoursError(f"expected an end time after {start_text}-")
            start, end = _minutes(start_text, end=False), _minutes(end_text, end=True)
            if end <= start:
                end += 1440  # runs past midnight
            spans.append((start, end))
            if self.peek()[1] == "," and self.peek(1)[0] == "time":
                self.take()
                continue
            return tuple(spans)


def parse_opening_hours(text: str) -> OpeningHours:
    """Parse ``text``; raises :class:`OpeningHoursError` naming what is wrong."""
    if not text or not text.strip():
        raise OpeningHoursError("empty")
    return OpeningHours(text.strip(), _Parser(text).parse())


def open_now(text: str | None, moment: dt.datetime) -> bool | None:
    """Open at ``moment`` according to ``text``; ``None`` when hours are unknown or invalid."""
    if not text:
        return None
    try:
        return parse_opening_hours(text).is_open(moment)
    except OpeningHoursError:
        return None


_DAY_NAMES = {
    "fi": ("ma", "ti", "ke", "to", "pe", "la", "su"),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_EVERY_DAY = {"fi": "joka päivä", "sv": "alla dagar", "en": "every day"}
_CLOSED = {"fi": "suljettu", "sv": "stängt", "en": "closed"}
_HOLIDAYS = {"fi": "arkipyhät", "sv": "helgdagar", "en": "public holidays"}


def _clock(minutes: int, language: str) -> str:
    hours, rest = divmod(minutes % 1440 if minutes != 1440 else 1440, 60)
    if language == "en":
        return f"{hours}:{rest:02d}"
    return f"{hours}" if rest == 0 else f"{hours}.{rest:02d}"


def _day_runs(days: frozenset[str], language: str) -> str:
    """``Mo Tu We Th Fr Su`` → ``ma–pe, su``: consecutive days as ranges."""
    names = _DAY_NAMES[language]
    indices = sorted(WEEKDAYS.index(day) for day in days if day in WEEKDAYS)
    runs: list[list[int]] = []
    for index in indices:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    parts = [
        names[run[0]] if len(run) == 1 else f"{names[run[0]]}–{names[run[-1]]}" for run in runs
    ]
    if PH in days:
        parts.append(_HOLIDAYS[language])
    return ", ".join(parts)


def describe_opening_hours(hours: OpeningHours, language: str) -> str:
    """The hours in words a person reads easily: ``ma–pe 9–16, la 10–14`` (fi, sv or en)."""
    language = language if language in _DAY_NAMES else "fi"
    parts = []
    for rule in hours.rules:
        days = _EVERY_DAY[language] if rule.days is None else _day_runs(rule.days, language)
        if not rule.spans:
            if rule.days == frozenset({PH}):
                continue  # "closed on public holidays" is what people expect anyway
            parts.append(f"{days} {_CLOSED[language]}")
            continue
        spans = ", ".join(f"{_clock(s, language)}–{_clock(e, language)}" for s, e in rule.spans)
        parts.append(f"{days} {spans}")
    return "; ".join(parts)
