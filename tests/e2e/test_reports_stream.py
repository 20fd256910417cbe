"""A real conversation feeds the reports: what it needed and what the search found, no text."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.conversations.facts import conversation_key
from bot.db.engine import make_engine, make_session_factory
from bot.db.models import AnalyticsEventRow
from bot.reports.analytics import ReportFilter, build_report, totals

pytestmark = pytest.mark.e2e

SENDER = "reports-e2e-1"


def test_a_conversation_leaves_its_need_and_search_in_the_report_stream(stack):
    stack.say(SENDER, "tarttisin apua sähköpostin kanssa, asun Lieksassa")
    stack.say(SENDER, "puhelimessa")
    engine = make_engine(stack.database_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            facts = list(
                session.scalars(
                    select(AnalyticsEventRow).where(
                        AnalyticsEventRow.conversation_key == conversation_key(SENDER)
                    )
                )
            )
        kinds = [f.kind for f in facts]
        assert kinds.count("message") == 2 and "language" in kinds
        assert {f.topic for f in facts if f.kind == "need"} == {
            "email"
        }  # set again by the form: counted once
        [search] = [f for f in facts if f.kind == "search"]
        assert (search.municipality_code, search.region_code, search.support_form) == (
            "422",
            "12",
            "phone",
        )
        assert search.results and search.results > 0
        today = dt.date.today()
        rows = build_report(
            sessions,
            ReportFilter(
                today - dt.timedelta(days=1), today + dt.timedelta(days=1), frozenset({"12"})
            ),
            "Europe/Helsinki",
        )
        by_topic = {t["topic"]: t for t in totals(rows, ["topic"])}
        assert by_topic["email"]["needs"] >= 1 and by_topic["email"]["recommendations"] >= 1
    finally:
        engine.dispose()
