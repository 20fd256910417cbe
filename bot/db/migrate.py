"""Schema migrations (Alembic) and loading the gazetteer into the database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db.models import MunicipalityRow, ProviderRow, ProviderServiceAreaRow, RegionRow
from bot.geo import Gazetteer

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations and ``engine``'s database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates "%": escape it (URL-encoded passwords and options use it).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest revision of the code."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def load_gazetteer(engine: Engine, gazetteer: Gazetteer) -> tuple[int, int]:
    """Insert or update every region and municipality; returns (regions, municipalities)."""
    with Session(engine, future=True) as session, session.begin():
        for region in gazetteer.regions:
            session.merge(
                RegionRow(
                    code=region.code,
                    name_fi=region.name_fi,
                    name_sv=region.name_sv,
                    name_en=region.name_en,
                )
            )
        session.flush()
        known = {m.code for m in gazetteer.municipalities}
        for m in gazetteer.municipalities:
            session.merge(
                MunicipalityRow(
                    code=m.code,
                    name_fi=m.name_fi,
                    name_sv=m.name_sv,
                    region_code=m.region_code,
                    lat=m.lat,
                    lon=m.lon,
                )
            )
        # Municipalities merged away (e.g. Pertunmaa in 2026) go, unless something still
        # refers to them: those stay until their providers are re-imported.
        stale = set(session.scalars(select(MunicipalityRow.code))) - known
        in_use = set(session.scalars(select(ProviderRow.municipality_code).distinct())) | set(
            session.scalars(select(ProviderServiceAreaRow.municipality_code).distinct())
        )
        if stale - in_use:
            session.execute(delete(MunicipalityRow).where(MunicipalityRow.code.in_(stale - in_use)))
    return len(gazetteer.regions), len(gazetteer.municipalities)
