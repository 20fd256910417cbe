"""``digituki providers``: import (CSV, YAML, PTV) and search."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bot.authorities import load_authorities
from bot.cli.common import CliError, require_schema
from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.geo import Gazetteer
from bot.providers import ptv
from bot.providers.files import ProviderFileError, RawRow, read_raw_rows
from bot.providers.importer import validate_rows
from bot.providers.repository import SqlProviderRepository
from bot.providers.search import InvalidQueryError, SearchQuery, search

PROGRESS_MIN_ROWS = 2000
"""Files longer than this show a progress bar."""

MAX_WARNINGS_SHOWN = 30


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
    repository = SqlProviderRepository(make_session_factory(require_schema(settings)))
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
    repository = SqlProviderRepository(make_session_factory(require_schema(settings)))
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
    repository = SqlProviderRepository(make_session_factory(require_schema(settings)))
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
