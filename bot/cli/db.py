"""``digituki db`` and ``digituki geo``: the schema, the gazetteer and place look-ups."""

from __future__ import annotations

import argparse

from bot.cli.common import CliError, engine_for
from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.db.migrate import current_revision, head_revision, load_gazetteer, upgrade_schema
from bot.geo import Gazetteer, UnknownPlaceError
from bot.providers.repository import SqlProviderRepository


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_for(settings)
    before = current_revision(engine)
    upgrade_schema(engine)
    after = current_revision(engine)
    print(f"schema: {before or 'empty'} -> {after}" if before != after else f"schema: at {after}")
    regions, municipalities = load_gazetteer(engine, Gazetteer.from_dir(settings.gazetteer_dir))
    print(f"gazetteer: {regions} regions, {municipalities} municipalities")
    return 0


def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_for(settings)
    current, head = current_revision(engine), head_revision(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"revision: {current or 'empty'} (code: {head})")
    if current == head:
        print(f"providers: {SqlProviderRepository(make_session_factory(engine)).count()} active")
    return 0 if current == head else 1


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
