"""Reports from the event stream: scripted conversations in, counts out (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.db.engine import make_session_factory
from bot.db.models import HandoffRequestRow
from bot.handoff import HandoffRequests
from bot.reports.analytics import ReportFilter, analyse, build_report, to_csv, totals
from connectors.event_store import DatabaseEventBroker

ZONE = "Europe/Helsinki"
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)  # ISO week 2026-W48
LIEKSA, NARPES = "422", "545"


def conversation(
    conversation_id: str, start: dt.datetime, language: str, *steps: Any
) -> list[dict[str, Any]]:
    """Rasa events as the broker gets them: the person writes, slots are set, a search is made."""
    clock = iter(range(0, 3600, 10))
    events: list[dict[str, Any]] = []

    def event(**fields: Any) -> None:
        moment = (start + dt.timedelta(seconds=next(clock))).timestamp()
        events.append({"sender_id": conversation_id, "timestamp": moment, **fields})

    event(event="user", text="/session_start")
    event(event="slot", name="language", value=language)
    for step in steps:
        if isinstance(step, str):
            event(event="user", text=step)
        elif "rating" in step:  # a 👍 / 👎 button
            rating = {"entity": "rating", "value": step["rating"]}
            event(event="user", text=f'/feedback{{"rating": "{step["rating"]}"}}',
                  parse_data={"intent": {"name": "feedback"}, "entities": [rating]})  # fmt: skip
        elif "comment" in step:
            event(event="slot", name="feedback_comment", value=step["comment"])
        elif "topics" in step and "results" not in step:
            event(event="slot", name="topic", value=step["topics"])
        else:
            event(event="slot", name="search_outcome", value=step)
    return events


def search(municipality: str, region: str, form: str, results: int, nearest: float | None = None,
           relaxed: bool = False, topics: tuple[str, ...] = (), language: str = "fi") -> dict[str, Any]:  # fmt: skip
    return {
        "topics": list(topics), "municipality": municipality, "region": region, "language": language,
        "form": form, "results": results, "nearest_km": nearest, "language_relaxed": relaxed,
    }  # fmt: skip


SCRIPT = [
    # Lieksa, Finnish: help with the phone close by.
    conversation("c1", MONDAY, "fi", "uusi puhelin ei toimi", {"topics": ["smartphone"]},
                 "Lieksa, paikan päällä", search(LIEKSA, "12", "in_person", 3, 2.0), {"rating": "up"}),
    # Närpes, Swedish: the nearest in-person help is 75 km away.
    conversation("c2", MONDAY, "sv", "nätbanken krånglar", {"topics": ["banking"]},
                 search(NARPES, "15", "in_person", 1, 75.0, language="sv"), {"rating": "down"},
                 {"comment": "för långt bort, ring mig 040 123 4567"}),
    # Närpes, Swedish: help exists, but not in Swedish.
    conversation("c3", MONDAY + dt.timedelta(days=1), "sv", "e-posten", {"topics": ["email"]},
                 search(NARPES, "15", "remote", 2, None, relaxed=True, language="sv")),
    # Lieksa, English: nothing at all for video calls remotely.
    conversation("c4", MONDAY + dt.timedelta(days=2), "en", "video calls", {"topics": ["video_call"]},
                 search(LIEKSA, "12", "remote", 0, language="en")),
    # Only a greeting: a conversation, no need.
    conversation("c5", MONDAY + dt.timedelta(days=3), "fi", "hei"),
    # The week before: outside the period.
    conversation("c6", MONDAY - dt.timedelta(days=7), "fi", "hei", {"topics": ["email"]},
                 search(LIEKSA, "12", "in_person", 0)),
]  # fmt: skip


def test_the_report_counts_needs_recommendations_unmet_needs_and_handoffs(database):
    broker = DatabaseEventBroker(database.url)
    for events in SCRIPT:
        for event in events:
            broker.publish(event)
    sessions = make_session_factory(database.engine)
    requests = HandoffRequests(sessions)
    chat = requests.record(conversation_id="c1", channel="widget", language="fi", topics=["smartphone"],
                           municipality_code=LIEKSA)  # fmt: skip
    callback = requests.record(conversation_id="c2", channel="messenger", language="sv", topics=["banking"],
                               municipality_code=NARPES, kind="callback", contact=("phone", "040 000 0000"))  # fmt: skip
    with sessions.begin() as session:
        row = session.get(HandoffRequestRow, chat.id)
        row.created_at, row.claimed_at = MONDAY, MONDAY + dt.timedelta(minutes=4)
        row.state, row.outcome = "closed", "helped"
        late = session.get(HandoffRequestRow, callback.id)
        late.created_at, late.state = MONDAY + dt.timedelta(hours=1), "expired"

    period = ReportFilter(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    rows = build_report(sessions, period, ZONE)
    assert {r.week for r in rows} == {"2026-W48"}
    [overall] = totals(rows, by=["week"])
    assert (overall["conversations"], overall["needs"], overall["recommendations"]) == (5, 4, 1)
    assert (
        overall["unmet"],
        overall["unmet_distance"],
        overall["unmet_language"],
        overall["unmet_none"],
    ) == (3, 1, 1, 1)
    assert (
        overall["handoffs"],
        overall["callbacks"],
        overall["handoffs_helped"],
        overall["handoffs_unanswered"],
    ) == (1, 1, 1, 1)

    unmet = {
        (t["region"], t["language"]): t["unmet"] for t in totals(rows, by=["region", "language"])
    }
    assert unmet == {("12", "fi"): 0, ("15", "sv"): 2, ("12", "en"): 1, ("", "fi"): 0}
    by_topic = {t["topic"]: t for t in totals(rows, by=["topic"])}
    assert by_topic["banking"]["unmet_distance"] == 1 and by_topic["banking"]["callbacks"] == 1
    assert (
        by_topic["smartphone"]["recommendations"] == 1 and by_topic["smartphone"]["handoffs"] == 1
    )
    [helped] = [r for r in rows if r.handoffs]
    assert (helped.region, helped.municipality, helped.handoff_wait_median_min) == (
        "12",
        LIEKSA,
        4.0,
    )

    # A coordinator of Pohjois-Karjala sees only that region.
    own = build_report(
        sessions, ReportFilter(period.since, period.until, regions=frozenset({"12"})), ZONE
    )
    assert {r.region for r in own} == {"12"}
    assert sum(r.conversations for r in own) == 2

    # 100 km is near enough for this region: the Närpes search now met the need.
    wider = totals(
        build_report(sessions, ReportFilter(period.since, period.until, unmet_km=100), ZONE),
        ["week"],
    )
    assert wider[0]["unmet"] == 2 and wider[0]["recommendations"] == 2

    # The week before holds the sixth conversation only.
    [before] = totals(
        build_report(sessions, ReportFilter(dt.date(2026, 11, 16), dt.date(2026, 11, 22)), ZONE),
        ["week"],
    )
    assert (before["conversations"], before["unmet_none"]) == (1, 1)

    assert (overall["feedback_up"], overall["feedback_down"], overall["comments"]) == (1, 1, 1)
    _, comments = analyse(sessions, period, ZONE)
    assert [(c.region, c.language, c.topic, c.text) for c in comments] == [
        ("15", "sv", "banking", "för långt bort, ring mig [phone]"),
    ]
    assert (
        analyse(
            sessions, ReportFilter(period.since, period.until, regions=frozenset({"12"})), ZONE
        )[1]
        == []
    )

    lines = to_csv(rows).splitlines()
    assert lines[0].startswith("week,region,municipality,topic,language,support_form,conversations")
    assert len(lines) == len(rows) + 1


def test_the_report_command_prints_totals_and_writes_csv(database, cli, tmp_path):
    broker = DatabaseEventBroker(database.url)
    for events in SCRIPT:
        for event in events:
            broker.publish(event)
    args = ("report", "--since", "2026-11-23", "--until", "2026-11-29")
    code, out, _ = cli(database.url, *args)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split()[:5] == [
        "region",
        "language",
        "conversations",
        "needs",
        "recommendations",
    ]
    assert ["15", "sv", "2", "2", "0", "2", "1", "1", "0", "0", "0"] in [
        line.split() for line in lines
    ]
    code, out, _ = cli(database.url, *args, "--region", "Pohjanmaa", "--by", "topic")
    assert code == 0 and "banking" in out and "smartphone" not in out
    target = tmp_path / "report.csv"
    code, _, err = cli(database.url, *args, "--csv", str(target))
    assert code == 0 and target.read_text().startswith("week,region,") and "rows written" in err
    code, _, err = cli(database.url, *args, "--by", "colour")
    assert code == 1 and "choose from week, region" in err
