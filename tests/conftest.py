"""Shared fixtures: the gazetteer, migrated databases (SQLite and PostgreSQL), the CLI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.config import DEFAULT_DATA_DIR
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.geo import Gazetteer
from bot.providers.repository import SqlProviderRepository

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = ROOT.parent / "shared" / "reference"
POSTGRES_URL = os.environ.get(
    "DIGITUKI_TEST_POSTGRES_URL", "postgresql+psycopg2://root@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_dir(DEFAULT_DATA_DIR / "geo")


def _postgres_available() -> str | None:
    """None when the server answers, else the reason."""
    try:
        engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any driver or network error means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@dataclass
class Database:
    """A migrated database with the gazetteer loaded, and its URL for the CLI."""

    backend: str
    url: str
    engine: Engine

    @property
    def repository(self) -> SqlProviderRepository:
        return SqlProviderRepository(make_session_factory(self.engine))


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema of the PostgreSQL ``test`` database."""
    reason = _postgres_available()
    if reason:
        message = f"PostgreSQL not reachable at {POSTGRES_URL} ({reason})"
        if os.environ.get("DIGITUKI_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " and DIGITUKI_REQUIRE_POSTGRES=1")
        pytest.skip(message)
    schema = f"digituki_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _fresh_postgres(base_url: str) -> str:
    """Empty the test schema so each test starts from nothing."""
    engine = make_engine(base_url)
    with engine.begin() as conn:
        schema = conn.execute(text("select current_schema()")).scalar_one()
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return base_url


@pytest.fixture
def make_database(
    request: pytest.FixtureRequest, tmp_path: Path, gazetteer: Gazetteer
) -> Iterator[Callable[[str], Database]]:
    """Factory: a migrated, empty database on ``sqlite`` or ``postgres``, gazetteer loaded."""
    opened: list[Database] = []

    def make(backend: str) -> Database:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'digituki-{len(opened)}.db'}"
        else:
            url = _fresh_postgres(request.getfixturevalue("postgres_schema_url"))
        engine = make_engine(url)
        upgrade_schema(engine)
        load_gazetteer(engine, gazetteer)
        opened.append(Database(backend, url, engine))
        return opened[-1]

    yield make
    for db in opened:
        db.engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, make_database: Callable[[str], Database]) -> Database:
    """A migrated database on each backend, with the gazetteer loaded."""
    return make_database(request.param)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``digituki`` in-process against a database URL; returns (status, stdout, stderr)."""
    from bot.cli import main

    def run(url: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("DIGITUKI_DATABASE_URL", url)
        capsys.readouterr()
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


REDIS_URL = os.environ.get("DIGITUKI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis server's URL; a unique key prefix per test is up to the test."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any client or network error means "not here"
        message = f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
        if os.environ.get("DIGITUKI_REQUIRE_REDIS") == "1":
            pytest.fail(message + " and DIGITUKI_REQUIRE_REDIS=1")
        pytest.skip(message)
    yield REDIS_URL
