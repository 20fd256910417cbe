"""The support team's service hours: weekly hours with dated exceptions, in local time.

Weekly hours are OpenStreetMap ``opening_hours`` (:mod:`bot.providers.opening_hours`,
``Mo-Fr 09:00-16:00; PH off``). Exceptions name dates or date ranges with their own
hours or ``off``: ``2026-12-24..2026-12-26 off; 2026-12-31 09:00-12:00``; they become
dated rules after the weekly ones (``2026 Dec 31 09:00-12:00``), so the library
evaluates both and the words name the exceptions of the coming week.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.providers.opening_hours import (
    OpeningHours,
    OpeningHoursError,
    date_range_rule,
    describe_opening_hours,
    parse_opening_hours,
)

_EXCEPTION = re.compile(
    r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\.\.(?P<last>\d{4}-\d{2}-\d{2}))?\s+(?P<hours>.+)$"
)
_MAX_RANGE_DAYS = 366


class ServiceHoursError(ValueError):
    """The configured service hours cannot be read."""


@dataclass(frozen=True)
class ServiceHours:
    """When workers answer live."""

    hours: OpeningHours
    timezone: ZoneInfo

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` (aware; naive means UTC) as the desk's wall-clock time."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(self.timezone).replace(tzinfo=None)

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether live help is open at ``moment`` (aware; naive means UTC)."""
        return self.hours.is_open(self.local(moment))

    def describe(self, language: str, moment: dt.datetime) -> str:
        """The hours from ``moment``'s day on, in words, e.g. ``ma–pe 9–16``."""
        return describe_opening_hours(self.hours, language, self.local(moment).date())


def parse_service_hours(
    weekly: str, exceptions: str = "", timezone: str = "Europe/Helsinki"
) -> ServiceHours:
    """Service hours from their settings; raises :class:`ServiceHoursError` saying what is wrong."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceHoursError(f"unknown time zone {timezone!r}") from None
    try:
        rules = [parse_opening_hours(weekly).text]
    except OpeningHoursError as error:
        raise ServiceHoursError(f"weekly hours {weekly!r}: {error}") from None
    for part in (p.strip() for p in exceptions.split(";")):
        if not part:
            continue
        match = _EXCEPTION.match(part)
        if not match:
            raise ServiceHoursError(
                f"exception {part!r}: expected 'YYYY-MM-DD[..YYYY-MM-DD] off' or '... 09:00-12:00'"
            )
        try:
            first = dt.date.fromisoformat(match["first"])
            last = dt.date.fromisoformat(match["last"] or match["first"])
            day_hours = parse_opening_hours(match["hours"]).text
        except (ValueError, OpeningHoursError) as error:
            raise ServiceHoursError(f"exception {part!r}: {error}") from None
        if not 0 <= (last - first).days <= _MAX_RANGE_DAYS:
            raise ServiceHoursError(
                f"exception {part!r}: the range must run forwards, at most a year"
            )
        rules.append(f"{date_range_rule(first, last)} {day_hours}")
    try:
        return ServiceHours(parse_opening_hours("; ".join(rules)), zone)
    except OpeningHoursError as error:
        raise ServiceHoursError(f"exceptions {exceptions!r}: {error}") from None
