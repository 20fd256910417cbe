"""The ``digituki`` command line: database set-up, providers, places, console accounts."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from tqdm import tqdm

from bot.authorities import load_authorities
from bot.config import ConfigError, Settings, load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import current_revision, head_revision, load_gazetteer, upgrade_schema
from bot.geo import Gazetteer, UnknownPlaceError
from bot.providers import ptv
from bot.providers.importer import ProviderFileError, RawRow, read_raw_rows, validate_rows
from bot.providers.repository import SqlProviderRepository
from bot.providers.search import InvalidQueryError, SearchQuery, search

PROGRESS_MIN_ROWS = 2000
"""Files longer than this show a progress bar."""

MAX_WARNINGS_SHOWN = 30


class CliError(Exception):
    """An error to print as one line, without a traceback."""


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def _require_schema(settings: Settings) -> Engine:
    """The engine, once the database is known to be at the code's schema revision."""
    engine = _engine(settings)
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        state = "empty" if current is None else f"at revision {current}, code expects {head}"
        raise CliError(f"the database is {state}: run 'digituki db upgrade' first")
    return engine


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    before = current_revision(engine)
    upgrade_schema(engine)
    after = current_revision(engine)
    print(f"schema: {before or 'empty'} -> {after}" if before != after else f"schema: at {after}")
    regions, municipalities = load_gazetteer(engine, Gazetteer.from_dir(settings.gazetteer_dir))
    print(f"gazetteer: {regions} regions, {municipalities} municipalities")
    return 0


def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    current, head = current_revision(engine), head_revision(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"revision: {current or 'empty'} (code: {head})")
    if current == head:
        print(f"providers: {SqlProviderRepository(make_session_factory(engine)).count()} active")
    return 0 if current == head else 1


def cmd_providers_import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if (args.format or ("ptv" if ptv.is_ptv_input(path) else None)) == "ptv":
        return _import_ptv(args, settings, path)
    if args.full:
        raise CliError("--full is for PTV imports (--format ptv)")
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    try:
        rows = read_raw_rows(path, args.format)
    except ProviderFileError as exc:
        raise CliError(f"{path}: {exc}") from None
    big = len(rows) > PROGRESS_MIN_ROWS
    with tqdm(
        total=len(rows), desc="checking", unit="rows", disable=not big, file=sys.stderr
    ) as bar:
        parsed = validate_rows(_counted(rows, bar), gazetteer, source=args.source or "import")
    _print_capped("warning", [str(w) for w in parsed.warnings], "warnings", quiet=args.quiet)
    if parsed.errors:
        for error in parsed.errors:
            print(f"error: {error}", file=sys.stderr)
        bad_lines = len({e.line for e in parsed.errors})
        print(
            f"{path}: rejected, nothing imported: {len(parsed.errors)} errors on {bad_lines} of "
            f"{len(rows)} rows",
            file=sys.stderr,
        )
        return 1
    if args.dry_run:
        print(f"{path}: {len(parsed.providers)} providers are valid (dry run, nothing written)")
        return 0
    repository = SqlProviderRepository(make_session_factory(_require_schema(settings)))
    with tqdm(
        total=len(parsed.providers), desc="writing", unit="rows", disable=not big, file=sys.stderr
    ) as bar:
        counts = repository.upsert(parsed.providers, on_progress=bar.update)
    print(
        f"{path}: {len(parsed.providers)} providers imported "
        f"({counts.created} new, {counts.updated} updated, {len(parsed.warnings)} warnings)"
    )
    return 0


def _print_capped(prefix: str, lines: Sequence[str], what: str, *, quiet: bool) -> None:
    """The first :data:`MAX_WARNINGS_SHOWN` lines on stderr, then how many more there are."""
    if quiet:
        return
    for line in lines[:MAX_WARNINGS_SHOWN]:
        print(f"{prefix}: {line}", file=sys.stderr)
    if len(lines) > MAX_WARNINGS_SHOWN:
        print(f"... and {len(lines) - MAX_WARNINGS_SHOWN} more {what}", file=sys.stderr)


def _import_ptv(args: argparse.Namespace, settings: Settings, path: Path) -> int:
    """``providers import --format ptv``: map, check, then bring the source ``ptv`` up to date."""
    if args.source not in (None, ptv.SOURCE):
        raise CliError(f"PTV providers always have the source {ptv.SOURCE!r}")
    result, channels = _read_ptv(args, settings, path)
    _print_capped("warning", [str(w) for w in result.warnings], "warnings", quiet=args.quiet)
    _print_unmapped(result, args)
    if result.errors:
        for error in result.errors:
            print(f"error: {error}", file=sys.stderr)
        bad = len({e.where for e in result.errors})
        print(
            f"{path}: rejected, nothing imported: {len(result.errors)} errors in {bad} of "
            f"{channels} channels",
            file=sys.stderr,
        )
        return 1
    if args.full and not result.providers:
        raise CliError(
            f"{path}: no channel is mapped, and --full would deactivate every PTV provider: "
            "check the input and the mapping file"
        )
    if args.dry_run:
        print(
            f"{path}: {len(result.providers)} providers are valid (dry run, nothing written; "
            f"{len(result.warnings)} warnings, {len(result.unmapped)} unmapped)"
        )
        _print_skipped(result)
        return 0
    repository = SqlProviderRepository(make_session_factory(_require_schema(settings)))
    with tqdm(
        total=len(result.providers),
        desc="writing",
        unit="providers",
        disable=channels <= PROGRESS_MIN_ROWS,
        file=sys.stderr,
    ) as bar:
        counts = repository.sync_source(
            ptv.SOURCE, result.providers, full=args.full, on_progress=bar.update
        )
    print(
        f"{path}: {len(result.providers)} providers imported ({counts.created} new, "
        f"{counts.updated} updated, {counts.unchanged} unchanged, {counts.deactivated} "
        f"deactivated, {len(result.warnings)} warnings, {len(result.unmapped)} unmapped)"
    )
    _print_skipped(result)
    return 0


def _read_ptv(
    args: argparse.Namespace, settings: Settings, path: Path
) -> tuple[ptv.PtvResult, int]:
    """The mapping file, the documents and what they convert to; and the number of channels."""
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    mapping_path = Path(args.mapping) if args.mapping else settings.data_dir / "ptv_mapping.yml"
    try:
        mapping = ptv.load_mapping(mapping_path, gazetteer)
        documents = ptv.read_ptv_input(path)
    except ptv.MappingError as exc:
        raise CliError(str(exc)) from None
    except ProviderFileError as exc:  # its message names the file; a folder is named here
        raise CliError(f"{path}: {exc}" if path.is_dir() else str(exc)) from None
    channels = len(documents.channels)
    # Hours in force are those of the day in the service's own time zone.
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    with tqdm(
        total=channels,
        desc="checking",
        unit="channels",
        disable=channels <= PROGRESS_MIN_ROWS,
        file=sys.stderr,
    ) as bar:
        result = ptv.convert_ptv(documents, mapping, gazetteer, today=today, on_progress=bar.update)
    return result, channels


def _print_unmapped(result: ptv.PtvResult, args: argparse.Namespace) -> None:
    """Channels no rule maps, by id and name: all with ``--list-unmapped``, else capped."""
    unmapped = [str(u) for u in result.unmapped]
    if args.list_unmapped:
        for line in unmapped:
            print(f"unmapped: {line}", file=sys.stderr)
        return
    what = "unmapped channels (--list-unmapped lists all)"
    _print_capped("unmapped", unmapped, what, quiet=args.quiet)


def _print_skipped(result: ptv.PtvResult) -> None:
    """Channels left out on purpose, counted (unmapped ones are listed separately)."""
    parts = [f"{n} {kind}" for kind, n in sorted(result.other_types.items())]
    if result.not_published:
        parts.append(f"{result.not_published} not published")
    if result.excluded:
        parts.append(f"{result.excluded} excluded by the mapping")
    if parts:
        print(f"skipped channels: {', '.join(parts)}")


def _counted(rows: Iterable[RawRow], bar: tqdm) -> Iterator[RawRow]:
    """Pass rows through, advancing the progress bar."""
    for row in rows:
        yield row
        bar.update(1)


def cmd_providers_search(args: argparse.Namespace, settings: Settings) -> int:
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    query = SearchQuery(
        municipality=args.municipality,
        lat=args.lat,
        lon=args.lon,
        topics=tuple(args.topic or ()),
        form=args.form,
        language=args.language,
        limit=args.limit,
    )
    repository = SqlProviderRepository(make_session_factory(_require_schema(settings)))
    try:
        response = search(
            query, repository=repository, gazetteer=gazetteer, timezone=settings.timezone
        )
    except InvalidQueryError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(response.to_dict(gazetteer), ensure_ascii=False, indent=2))
        return 0
    q = response.query
    print(
        f"{q['municipality']} ({q['region']}); topics: {', '.join(q['topics']) or 'any'}; "
        f"form: {q['form'] or 'any'}; language: {q['language'] or 'any'}"
    )
    authorities = load_authorities(settings.authorities_file)
    language = q["language"] if q["language"] in ("fi", "sv", "en") else "fi"
    for topic in q["topics"]:
        if topic in authorities:
            authority = authorities[topic]
            print(f"{topic}: first ask {authority.name_in(language)} — {authority.website}")
    if not response.results:
        print("no suitable provider found")
    for number, result in enumerate(response.results, 1):
        item = result.to_dict(gazetteer, q["language"] or "fi")
        where = (
            f"{item['distance_km']:.1f} km, {item['municipality']}"
            if item["distance_km"] is not None
            else f"remote, {item['matched'].get('area')}"
        )
        state = {True: "open now", False: "closed now", None: "hours unknown"}[item["open_now"]]
        print(f"{number}. {item['name']} [{item['id']}] — {where} — {state}")
    return 0


def cmd_geo_lookup(args: argparse.Namespace, settings: Settings) -> int:
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    try:
        m = gazetteer.municipality(args.name)
    except UnknownPlaceError as exc:
        raise CliError(str(exc)) from None
    region = gazetteer.region_of(m)
    print(
        f"{m.code} {m.name_fi} / {m.name_sv} — {region.name_fi} ({region.code}) — {m.lat:.4f}, {m.lon:.4f}"
    )
    return 0


def _read_password(confirm: bool = True) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def _change_agent(settings: Settings, change: Callable[[Any], Any]) -> Any:
    """Runs ``change(agents)`` on the console accounts; its errors become CLI errors."""
    from bot.handoff import Agents, QueueError
    from bot.handoff.passwords import WeakPasswordError

    engine = _require_schema(settings)
    try:
        return change(Agents(make_session_factory(engine)))
    except (QueueError, WeakPasswordError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def cmd_agents_passwd(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password()
    agent = _change_agent(settings, lambda agents: agents.set_password(args.username, password))
    print(f"new password for {agent.username}; its console sessions have ended")
    return 0


def cmd_agents_disable(args: argparse.Namespace, settings: Settings) -> int:
    agent = _change_agent(settings, lambda agents: agents.disable(args.username))
    print(f"{agent.username} can no longer log in; its console sessions have ended")
    return 0


def cmd_agents_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handoff import Agents, QueueError
    from bot.handoff.passwords import WeakPasswordError

    engine = _require_schema(settings)
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    regions = []
    for name in _codes(args.regions):
        try:
            regions.append(gazetteer.region(name).code)
        except UnknownPlaceError as exc:
            raise CliError(str(exc)) from None
    try:
        agent = Agents(make_session_factory(engine)).add(
            args.username,
            _read_password(),
            display_name=args.name,
            role=args.role,
            languages=_codes(args.languages),
            region_codes=regions,
            capacity=args.capacity,
        )
    except (QueueError, WeakPasswordError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    scope = ", ".join(agent.region_codes) or "all regions"
    print(
        f"added {agent.role} {agent.username} ({agent.display_name}): "
        f"languages {' '.join(agent.languages)}; {scope}; up to {agent.capacity} chats"
    )
    return 0


def cmd_retention_apply(args: argparse.Namespace, settings: Settings) -> int:
    from bot.retention import apply_retention

    if args.days < 1:
        raise CliError("--days must be at least 1")
    engine = _require_schema(settings)
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


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.analytics import DIMENSIONS, ReportFilter, build_report, to_csv, totals

    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    until = args.until or today
    since = args.since or until - dt.timedelta(days=27)
    if since > until:
        raise CliError("--since is after --until")
    regions = None
    if args.region:
        gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
        try:
            regions = frozenset(gazetteer.region(name).code for name in _codes(args.region))
        except UnknownPlaceError as exc:
            raise CliError(str(exc)) from None
    by = _codes(args.by)
    if unknown := [d for d in by if d not in DIMENSIONS]:
        raise CliError(f"--by {','.join(unknown)}: choose from {', '.join(DIMENSIONS)}")
    engine = _require_schema(settings)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digituki",
        description="Digituki: find the right, nearest digital support. "
        "Settings come from DIGITUKI_* environment variables (see .env.example).",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    db = groups.add_parser("db", help="database schema and gazetteer")
    db_commands = db.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate the schema and load the gazetteer"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)
    status = db_commands.add_parser("status", help="show the schema revision and provider count")
    status.set_defaults(handler=cmd_db_status)

    providers = groups.add_parser("providers", help="import and search providers")
    provider_commands = providers.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    imp = provider_commands.add_parser(
        "import",
        help="import providers from a CSV or YAML file or PTV JSON (all or nothing)",
        description="Validate every row; a file with any invalid row is rejected as a whole. "
        "Existing providers with the same id are replaced. PTV input (a .json file or a "
        "folder of them) is mapped with the mapping file; see docs/ptv-import.md.",
    )
    imp.add_argument("file", help="a .csv, .yml or .yaml file; for PTV a .json file or a folder")
    imp.add_argument(
        "--format",
        choices=["csv", "yaml", "ptv"],
        help="override the format guessed from the name (.json and folders are PTV)",
    )
    imp.add_argument(
        "--source", help="source label stored with each provider (default import; PTV: ptv)"
    )
    imp.add_argument(
        "--mapping", help="PTV: the mapping file (default: data/ptv_mapping.yml)", metavar="FILE"
    )
    imp.add_argument(
        "--full",
        action="store_true",
        help="PTV: the input is all of PTV's data for us; providers from PTV that are not in "
        "it are marked inactive",
    )
    imp.add_argument(
        "--list-unmapped", action="store_true", help="PTV: list every channel no rule maps"
    )
    imp.add_argument("--dry-run", action="store_true", help="only validate, write nothing")
    imp.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="do not list warnings or unmapped channels (errors are always listed)",
    )
    imp.set_defaults(handler=cmd_providers_import)

    find = provider_commands.add_parser(
        "search",
        help="find the nearest suitable providers",
        description="In-person and training results are ordered by distance; remote results "
        "are those whose service area covers the municipality.",
    )
    place = find.add_mutually_exclusive_group(required=True)
    place.add_argument("--municipality", "-m", help="Finnish or Swedish name, or code")
    place.add_argument("--lat", type=float, help="latitude (WGS84), with --lon")
    find.add_argument("--lon", type=float, help="longitude (WGS84), with --lat")
    find.add_argument("--topic", "-t", action="append", help="a topic (repeat for several)")
    find.add_argument(
        "--form", "-f", help="in_person, remote, phone, video, chat, home_visit or training"
    )
    find.add_argument("--language", "-l", help="service language (ISO 639-1, e.g. fi, sv, en, se)")
    find.add_argument("--limit", type=int, default=3, help="number of results (default 3)")
    find.add_argument("--json", action="store_true", help="print JSON")
    find.set_defaults(handler=cmd_providers_search)

    geo = groups.add_parser("geo", help="places")
    geo_commands = geo.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    lookup = geo_commands.add_parser("lookup", help="look up a municipality by name or code")
    lookup.add_argument("name")
    lookup.set_defaults(handler=cmd_geo_lookup)

    agents = groups.add_parser("agents", help="accounts of the handoff console")
    agent_commands = agents.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    add = agent_commands.add_parser(
        "add",
        help="add a worker, coordinator or administrator (password from standard input)",
        description="The password is read from standard input (asked twice on a terminal) "
        "and stored only as a scrypt hash.",
    )
    add.add_argument("username")
    add.add_argument("--name", help="the name users and colleagues see (default: the username)")
    add.add_argument("--role", choices=["worker", "coordinator", "admin"], default="worker")
    add.add_argument("--languages", default="fi", help="comma-separated: fi,sv,en (default fi)")
    add.add_argument(
        "--regions", default="", help="comma-separated region names or codes (default: all)"
    )
    add.add_argument("--capacity", type=int, default=3, help="concurrent chats (default 3)")
    add.set_defaults(handler=cmd_agents_add)
    passwd = agent_commands.add_parser(
        "passwd",
        help="set a new password (from standard input); the account's sessions end",
    )
    passwd.add_argument("username")
    passwd.set_defaults(handler=cmd_agents_passwd)
    disable = agent_commands.add_parser(
        "disable", help="stop an account from logging in (its history stays); sessions end"
    )
    disable.add_argument("username")
    disable.set_defaults(handler=cmd_agents_disable)

    report = groups.add_parser(
        "report",
        help="need and supply: conversations, needs, unmet needs, handoffs",
        description="Counts from the conversation event stream (nothing anyone wrote) per week, "
        "region, municipality, topic, language and support form. Without --csv, prints totals "
        "--by the dimensions given.",
    )
    report.add_argument("--since", type=_date, help="first day (default: four weeks back)")
    report.add_argument("--until", type=_date, help="last day, inclusive (default: today)")
    report.add_argument("--region", default="", help="comma-separated region names or codes")
    report.add_argument(
        "--by", default="region,language", help="dimensions of the totals (default region,language)"
    )
    report.add_argument(
        "--unmet-km", type=float, default=30.0, help="in-person help farther is unmet (default 30)"
    )
    report.add_argument("--csv", metavar="FILE", help="write every row as CSV ('-' for stdout)")
    report.set_defaults(handler=cmd_report)

    retention = groups.add_parser("retention", help="delete or anonymise old conversations")
    retention_commands = retention.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    apply = retention_commands.add_parser(
        "apply",
        help="delete conversations and anonymise handoff requests older than --days",
        description="Conversations whose last message is older than --days are deleted whole "
        "(their messages and the bot's tracker). Ended handoff requests older than that keep what "
        "the reports count and lose their summary, notes, contact and conversation id. Run it "
        "daily; --dry-run shows what would go.",
    )
    apply.add_argument("--days", type=int, required=True, help="keep this many days (at least 1)")
    apply.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    apply.set_defaults(handler=cmd_retention_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``digituki`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "lat", None) is not None and getattr(args, "lon", None) is None:
        parser.error("--lat needs --lon")
    if getattr(args, "lon", None) is not None and getattr(args, "lat", None) is None:
        parser.error("--lon needs --lat")
    try:
        settings = load_settings()
        return int(args.handler(args, settings))
    except (CliError, ConfigError) as exc:
        print(f"digituki: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
