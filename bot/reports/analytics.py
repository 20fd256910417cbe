"""Need and supply, from the conversation event stream: where people's needs go unmet.

Every event Rasa publishes passes through
:func:`bot.conversations.facts.facts_of`, which keeps only what the reports count,
never what anyone wrote: that someone wrote (``message``), the conversation's
language (``language``), each need recognised (``need``, a topic) and each search
with what it found (``search``: municipality, region, language and form asked, how
many results, the nearest in-person one's distance). Conversations are keyed by a
one-way hash.

:func:`build_report` turns the facts of a period, and the handoff requests, into
rows per week, region, municipality, topic, language and support form.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.db.models import AnalyticsEventRow, HandoffRequestRow, MunicipalityRow
from bot.handoff.requests import as_utc

UNMET_KM = 30.0
"""In-person help farther than this does not meet the need (``--unmet-km`` changes it)."""
IN_PERSON_FORMS = frozenset({"in_person", "training", "home_visit"})
UNKNOWN = ""


# --- the report -------------------------------------------------------------------------

METRICS = (
    "conversations",
    "needs",
    "recommendations",
    "unmet",
    "unmet_none",
    "unmet_distance",
    "unmet_language",
    "handoffs",
    "callbacks",
    "handoff_wait_median_min",
    "handoffs_helped",
    "handoffs_unanswered",
    "feedback_up",
    "feedback_down",
    "comments",
)
DIMENSIONS = ("week", "region", "municipality", "topic", "language", "support_form")


@dataclass(frozen=True)
class ReportFilter:
    since: dt.date
    until: dt.date
    """Inclusive."""
    regions: frozenset[str] | None = None
    """Region codes a coordinator may see; ``None`` for all."""
    unmet_km: float = UNMET_KM


@dataclass
class ReportRow:
    week: str
    region: str
    municipality: str
    topic: str
    language: str
    support_form: str
    conversations: int = 0
    needs: int = 0
    recommendations: int = 0
    unmet: int = 0
    unmet_none: int = 0
    unmet_distance: int = 0
    unmet_language: int = 0
    handoffs: int = 0
    callbacks: int = 0
    handoff_wait_median_min: float | None = None
    handoffs_helped: int = 0
    handoffs_unanswered: int = 0
    feedback_up: int = 0
    feedback_down: int = 0
    comments: int = 0
    _waits: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class _Conversation:
    """One conversation's week: what it needed, in which language, what its searches found."""

    language: str = UNKNOWN
    topics: set[str] = field(default_factory=set)
    messages: int = 0
    searches: list[AnalyticsEventRow] = field(default_factory=list)
    ratings: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def unmet_reason(search: AnalyticsEventRow, unmet_km: float) -> str | None:
    """Why a search did not meet the need: ``none``, ``language``, ``distance``; ``None`` if it did."""
    if not search.results:
        return "none"
    if search.language_relaxed:
        return "language"
    if search.support_form in IN_PERSON_FORMS and (
        search.nearest_km is None or search.nearest_km > unmet_km
    ):
        return "distance"
    return None


@dataclass(frozen=True)
class Comment:
    """A feedback comment (masked) with where and when it was given."""

    week: str
    region: str
    language: str
    topic: str
    text: str


def build_report(sessions: sessionmaker, wanted: ReportFilter, timezone: str) -> list[ReportRow]:
    """The report rows of the period, busiest first within each week."""
    return analyse(sessions, wanted, timezone)[0]


def analyse(
    sessions: sessionmaker, wanted: ReportFilter, timezone: str
) -> tuple[list[ReportRow], list[Comment]]:
    """The report rows of the period, busiest first within each week, and its comments."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(wanted.since, dt.time(), zone)
    end = dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time(), zone)
    with sessions() as session:
        facts = list(
            session.scalars(
                select(AnalyticsEventRow)
                .where(
                    AnalyticsEventRow.timestamp >= start.timestamp(),
                    AnalyticsEventRow.timestamp < end.timestamp(),
                )
                .order_by(AnalyticsEventRow.timestamp, AnalyticsEventRow.id)
            )
        )
        requests = list(
            session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.created_at >= start.astimezone(dt.timezone.utc),
                    HandoffRequestRow.created_at < end.astimezone(dt.timezone.utc),
                )
            )
        )
        regions = dict(
            session.execute(select(MunicipalityRow.code, MunicipalityRow.region_code)).all()
        )
    rows: dict[tuple[str, ...], ReportRow] = {}

    def row(
        week: str, region: str, municipality: str, topic: str, language: str, form: str
    ) -> ReportRow:
        key = (week, region, municipality, topic, language, form)
        if key not in rows:
            rows[key] = ReportRow(week, region, municipality, topic, language, form)
        return rows[key]

    weeks: dict[tuple[str, str], _Conversation] = defaultdict(_Conversation)
    for fact in facts:
        week = _week(fact.timestamp, zone)
        conversation = weeks[(week, fact.conversation_key)]
        if fact.kind == "message":
            conversation.messages += 1
        elif fact.kind == "language" and fact.language:
            conversation.language = fact.language
        elif fact.kind == "need" and fact.topic:
            conversation.topics.add(fact.topic)
        elif fact.kind == "search":
            conversation.searches.append(fact)
        elif fact.kind == "feedback" and fact.rating:
            conversation.ratings.append(fact.rating)
        elif fact.kind == "comment" and fact.comment:
            conversation.comments.append(fact.comment)
    comments = []
    for (week, _), conversation in weeks.items():
        _count_conversation(week, conversation, wanted, row)
        last = conversation.searches[-1] if conversation.searches else None
        region = (last.region_code if last else None) or UNKNOWN
        topic = min(conversation.topics) if conversation.topics else UNKNOWN
        if wanted.regions is None or region in wanted.regions:
            comments += [
                Comment(week, region, conversation.language, topic, text)
                for text in conversation.comments
            ]
    for request in requests:
        _count_request(request, zone, regions, row)
    selected = [r for r in rows.values() if wanted.regions is None or r.region in wanted.regions]
    for r in selected:
        r.handoff_wait_median_min = round(statistics.median(r._waits), 1) if r._waits else None
    ordered = sorted(
        selected,
        key=lambda r: (r.week, -r.conversations, r.region, r.municipality, r.topic, r.language),
    )
    return ordered, comments


def _count_conversation(
    week: str, conversation: _Conversation, wanted: ReportFilter, row: Any
) -> None:
    last = conversation.searches[-1] if conversation.searches else None
    municipality = (last.municipality_code if last else None) or UNKNOWN
    region = (last.region_code if last else None) or UNKNOWN
    form = (last.support_form if last else None) or UNKNOWN
    topics = sorted(conversation.topics) or [UNKNOWN]
    # Feedback is about the conversation: it counts once, under its first topic.
    first = row(week, region, municipality, topics[0], conversation.language, form)
    first.feedback_up += conversation.ratings.count("up")
    first.feedback_down += conversation.ratings.count("down")
    first.comments += len(conversation.comments)
    for topic in topics:
        target = row(week, region, municipality, topic, conversation.language, form)
        if conversation.messages:
            target.conversations += 1
        if topic != UNKNOWN:
            target.needs += 1
    # Each search counts once, under its own topic where it had one.
    for search in conversation.searches:
        topic = search.topic or (topics[0] if len(topics) == 1 else UNKNOWN)
        target = row(
            week,
            search.region_code or UNKNOWN,
            search.municipality_code or UNKNOWN,
            topic,
            conversation.language,
            search.support_form or UNKNOWN,
        )
        reason = unmet_reason(search, wanted.unmet_km)
        if reason is None:
            target.recommendations += 1
        else:
            target.unmet += 1
            setattr(target, f"unmet_{reason}", getattr(target, f"unmet_{reason}") + 1)


def _count_request(
    request: HandoffRequestRow, zone: ZoneInfo, regions: dict[str, str], row: Any
) -> None:
    week = _week(as_utc(request.created_at).timestamp(), zone)
    municipality = request.municipality_code or UNKNOWN
    region = regions.get(municipality, UNKNOWN)
    topics = request.topics.split() or [UNKNOWN]
    target = row(week, region, municipality, topics[0], request.language, UNKNOWN)
    if request.kind == "callback":
        target.callbacks += 1
    else:
        target.handoffs += 1
    if request.claimed_at is not None:
        waited = as_utc(request.claimed_at) - as_utc(request.created_at)
        target._waits.append(waited.total_seconds() / 60)
    if request.outcome == "helped":
        target.handoffs_helped += 1
    if request.state in ("expired", "cancelled"):
        target.handoffs_unanswered += 1


def _week(timestamp: float, zone: ZoneInfo) -> str:
    year, week, _ = dt.datetime.fromtimestamp(timestamp, zone).isocalendar()
    return f"{year}-W{week:02d}"


def totals(rows: Iterable[ReportRow], by: Sequence[str]) -> list[dict[str, Any]]:
    """The rows summed over every dimension not in ``by`` (medians are not summed)."""
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        values = r.as_dict()
        key = tuple(values[d] for d in by)
        total = summed.setdefault(
            key,
            {
                **{d: values[d] for d in by},
                **{m: 0 for m in METRICS if m != "handoff_wait_median_min"},
            },
        )
        for metric in METRICS:
            if metric != "handoff_wait_median_min":
                total[metric] += values[metric]
    return sorted(summed.values(), key=lambda t: tuple(str(t[d]) for d in by))


def to_csv(rows: Iterable[ReportRow]) -> str:
    """The rows as CSV (UTF-8, a header line; spreadsheet programs open it as is)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*DIMENSIONS, *METRICS], lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r.as_dict())
    return out.getvalue()


def record_facts(sessions: sessionmaker, facts: Sequence[dict[str, Any]]) -> None:
    """Stores facts from :func:`bot.conversations.facts.facts_of`."""
    if facts:
        with sessions.begin() as session:
            session.add_all(AnalyticsEventRow(**fact) for fact in facts)
