"""Schema migrations and the gazetteer in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from bot.db.migrate import current_revision, head_revision, upgrade_schema
from bot.db.models import Base, MunicipalityRow, RegionRow
from tests.conftest import FIXTURES


def test_migrations_create_exactly_the_models_schema(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(database.engine) == head_revision(database.engine)


def test_upgrade_and_gazetteer_load_are_idempotent(database, cli):
    status, out, err = cli(database.url, "db", "upgrade")
    assert status == 0, err
    assert "schema: at 0010" in out and "19 regions, 308 municipalities" in out
    with database.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(MunicipalityRow)) == 308
        assert connection.scalar(select(func.count()).select_from(RegionRow)) == 19
        oulu = connection.execute(
            select(MunicipalityRow).where(MunicipalityRow.code == "564")
        ).one()
        assert (oulu.name_fi, oulu.name_sv, oulu.region_code) == ("Oulu", "Uleåborg", "17")
    upgrade_schema(database.engine)  # nothing left to do, no error


def test_db_status_reports_revision_and_providers(database, cli):
    cli(database.url, "providers", "import", str(FIXTURES / "search_providers.yml"))
    status, out, _ = cli(database.url, "db", "status")
    assert status == 0
    assert "revision: 0010 (code: 0010)" in out and "providers: 13 active" in out


def test_search_cli_json_shape(database, cli):
    cli(database.url, "providers", "import", str(FIXTURES / "search_providers.yml"))
    status, out, err = cli(
        database.url,
        "providers",
        "search",
        "--municipality",
        "uleåborg",
        "--topic",
        "email",
        "--json",
    )
    assert status == 0, err
    document = json.loads(out)
    assert document["query"]["municipality"] == "Oulu"
    assert document["query"]["topics"] == ["email"]
    first = document["results"][0]
    assert set(first) == {
        "id",
        "name",
        "kind",
        "distance_km",
        "municipality",
        "open_now",
        "matched",
    }
    assert first["id"] == "oulu-library" and first["kind"] == "in_person"
    assert first["municipality"] == "Oulu" and isinstance(first["distance_km"], float)
    assert first["matched"]["topics"] == {"email": "basics"}
    remote = document["results"][1]
    assert remote["kind"] == "remote" and remote["distance_km"] is None


def test_search_cli_by_coordinates_and_authority_hint(database, cli):
    cli(database.url, "providers", "import", str(FIXTURES / "search_providers.yml"))
    status, out, _ = cli(
        database.url, "providers", "search", "--lat", "64.913", "--lon", "25.506", "-t", "kela"
    )
    assert status == 0
    assert "Kempele" in out and "kela: first ask Kela — https://www.kela.fi" in out
    assert "Testi-Kelan puhelinpalvelu" in out


def test_search_cli_unknown_values_fail_clearly(database, cli):
    for args, expected in [
        (("-m", "Helsinkki"), "unknown municipality 'Helsinkki' (did you mean: Helsinki"),
        (("-m", "Oulu", "-t", "emali"), "unknown topic 'emali' (did you mean: email"),
        (("-m", "Oulu", "-f", "inperson"), "unknown form 'inperson' (did you mean: in_person"),
        (("-m", "Oulu", "-l", "finnish"), "unknown language 'finnish'"),
    ]:
        status, out, err = cli(database.url, "providers", "search", *args)
        assert status == 1, args
        assert expected in err, (args, err)
        assert "Traceback" not in err and out == ""
