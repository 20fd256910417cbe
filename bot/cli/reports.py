"""``digituki report`` and ``digituki retention``: need-and-supply reports and data retention."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bot.cli.common import CliError, codes, require_schema
from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.geo import Gazetteer, UnknownPlaceError


def cmd_retention_apply(args: argparse.Namespace, settings: Settings) -> int:
    from bot.conversations.retention import apply_retention

    if args.days < 1:
        raise CliError("--days must be at least 1")
    engine = require_schema(settings)
    try:
        with tqdm(desc="conversations", unit="", file=sys.stderr, disable=None) as bar:
            result = apply_retention(
                engine,
                make_session_factory(engine),
                args.days,
                dry_run=args.dry_run,
                on_progress=bar.update,
            )
    finally:
        engine.dispose()
    verb = "would be" if result.dry_run else "were"
    print(
        f"older than {args.days} days: {result.conversations} conversations {verb} deleted "
        f"({result.messages} messages, {result.tracker_events} tracker events); "
        f"{result.requests_anonymised} handoff requests {verb} anonymised; "
        f"{result.held_contacts} unconfirmed call-back contacts deleted"
    )
    return 0


def date_arg(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.analytics import DIMENSIONS, ReportFilter, build_report, to_csv, totals

    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    until = args.until or today
    since = args.since or until - dt.timedelta(days=27)
    if since > until:
        raise CliError("--since is after --until")
    regions = None
    if args.region:
        gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
        try:
            regions = frozenset(gazetteer.region(name).code for name in codes(args.region))
        except UnknownPlaceError as exc:
            raise CliError(str(exc)) from None
    by = codes(args.by)
    if unknown := [d for d in by if d not in DIMENSIONS]:
        raise CliError(f"--by {','.join(unknown)}: choose from {', '.join(DIMENSIONS)}")
    engine = require_schema(settings)
    try:
        rows = build_report(
            make_session_factory(engine),
            ReportFilter(since, until, regions, args.unmet_km),
            settings.timezone,
        )
    finally:
        engine.dispose()
    if args.csv:
        text = to_csv(rows)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).write_text(text, encoding="utf-8")
            print(f"{len(rows)} rows written to {args.csv}", file=sys.stderr)
        return 0
    columns = ["conversations", "needs", "recommendations", "unmet", "unmet_distance",
               "unmet_language", "unmet_none", "handoffs", "callbacks"]  # fmt: skip
    print(f"{since} – {until}, by {', '.join(by)} (unmet: nothing, none in the language, or "
          f"in person farther than {args.unmet_km:g} km)")  # fmt: skip
    table = totals(rows, by)
    header = [*by, *columns]
    widths = [max(len(h), *(len(str(t[h]) or "–") for t in table)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for total in table:
        print(
            "  ".join((str(total[h]) or "–").ljust(w) for h, w in zip(header, widths, strict=True))
        )
    if not table:
        print("(nothing in this period)")
    return 0
