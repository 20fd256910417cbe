"""Engines and sessions. Nothing is created at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings this application needs on each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # SQLAlchemy 1.4 opens a new connection per checkout for SQLite files (NullPool);
        # a pool keeps the per-query cost at a statement, not a connect plus pragmas.
        kwargs.setdefault("poolclass", QueuePool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    if parsed.get_backend_name() == "postgresql":
        # A connection from before a database restart is found dead when taken from
        # the pool, not when a conversation or a worker's request uses it.
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the importer
    # In WAL mode a commit then needs no disk sync; a crash loses nothing committed,
    # a power cut at most the last moments.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Deleted rows (a declined call-back contact, conversations past retention) are
    # overwritten in the file, not just unlinked.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    """A factory of 2.0-style sessions bound to ``engine``."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False, class_=Session)
