"""Need-and-supply reports for coordinators (``/api/v1/reports``, ``/api/v1/reports.csv``).

A coordinator limited to regions sees those regions only; an administrator, or a
coordinator without regions, sees every region. The numbers come from
``bot.reports.analytics`` and hold nothing anyone wrote.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.db.engine import make_session_factory
from bot.handoff import Agent
from bot.reports.analytics import (
    UNMET_KM,
    Comment,
    ReportFilter,
    ReportRow,
    analyse,
    build_report,
    to_csv,
    totals,
)
from bot.web.api_common import AGENT_KEY, error_response, json_response
from bot.web.keys import ENGINE, GAZETTEER, SETTINGS

DEFAULT_DAYS = 28
MAX_DAYS = 366


class BadQuery(ValueError):
    """A query parameter that cannot be used; ``status`` 400, or 403 for a region not allowed."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_query") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def allowed_regions(agent: Agent) -> frozenset[str] | None:
    """The regions ``agent`` may see; ``None`` for all."""
    if agent.role == "admin" or not agent.region_codes:
        return None
    return frozenset(agent.region_codes)


def _date(query: Any, name: str, default: dt.date) -> dt.date:
    raw = query.get(name)
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a date (YYYY-MM-DD)") from None


def report_filter(request: web.Request) -> ReportFilter:
    """The period, regions and distance asked for, checked against what the account may see."""
    query = request.query
    today = dt.datetime.now(ZoneInfo(request.app[SETTINGS].timezone)).date()
    until = _date(query, "until", today)
    since = _date(query, "since", until - dt.timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        raise BadQuery("since is after until")
    if (until - since).days >= MAX_DAYS:
        raise BadQuery(f"a report covers at most {MAX_DAYS} days")
    try:
        unmet_km = float(query.get("unmet_km") or UNMET_KM)
    except ValueError:
        raise BadQuery("unmet_km must be a number") from None
    if not 1 <= unmet_km <= 500:
        raise BadQuery("unmet_km must be between 1 and 500")
    regions = allowed_regions(request[AGENT_KEY])
    wanted = query.get("region")
    if wanted:
        if wanted not in {r.code for r in request.app[GAZETTEER].regions}:
            raise BadQuery(f"unknown region {wanted!r}")
        if regions is not None and wanted not in regions:
            raise BadQuery("that region is not yours", 403, "outside_regions")
        regions = frozenset({wanted})
    return ReportFilter(since, until, regions, unmet_km)


async def _rows(request: web.Request, wanted: ReportFilter) -> list[ReportRow]:
    sessions = make_session_factory(request.app[ENGINE])
    return await asyncio.to_thread(build_report, sessions, wanted, request.app[SETTINGS].timezone)


async def reports(request: web.Request) -> web.Response:
    """The report rows of a period, with totals by week, by region and language, by topic."""
    try:
        wanted = report_filter(request)
    except BadQuery as error:
        return error_response(error.status, error.code, str(error))
    sessions = make_session_factory(request.app[ENGINE])
    rows, comments = await asyncio.to_thread(
        analyse, sessions, wanted, request.app[SETTINGS].timezone
    )
    gazetteer = request.app[GAZETTEER]
    mine = allowed_regions(request[AGENT_KEY])
    return json_response(
        {
            "since": wanted.since.isoformat(),
            "until": wanted.until.isoformat(),
            "unmet_km": wanted.unmet_km,
            "regions": [
                {"code": r.code, "name_fi": r.name_fi, "name_sv": r.name_sv}
                for r in gazetteer.regions
                if mine is None or r.code in mine
            ],
            "rows": [r.as_dict() for r in rows],
            "comments": [_comment(c) for c in comments],
            "totals": {
                "week": totals(rows, ["week"]),
                "region_language": totals(rows, ["region", "language"]),
                "topic": totals(rows, ["topic"]),
            },
        }
    )


def _comment(comment: Comment) -> dict[str, str]:
    return {
        "week": comment.week,
        "region": comment.region,
        "language": comment.language,
        "topic": comment.topic,
        "text": comment.text,
    }


async def reports_csv(request: web.Request) -> web.Response:
    """The same rows as a CSV file to download."""
    try:
        wanted = report_filter(request)
    except BadQuery as error:
        return error_response(error.status, error.code, str(error))
    rows = await _rows(request, wanted)
    name = f"digituki-report-{wanted.since.isoformat()}-{wanted.until.isoformat()}.csv"
    return web.Response(
        body=to_csv(rows).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


QUERY = [
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "region", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{2}$"}},
    {"name": "unmet_km", "in": "query", "schema": {"type": "number", "minimum": 1, "maximum": 500}},
]
