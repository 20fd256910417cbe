"""What the ``digituki`` commands share: the database engine and the one-line error."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.migrate import current_revision, head_revision


class CliError(Exception):
    """An error to print as one line, without a traceback."""


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def require_schema(settings: Settings) -> Engine:
    """The engine, once the database is known to be at the code's schema revision."""
    engine = engine_for(settings)
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        state = "empty" if current is None else f"at revision {current}, code expects {head}"
        raise CliError(f"the database is {state}: run 'digituki db upgrade' first")
    return engine


def codes(value: str) -> list[str]:
    """The comma-separated items of an option, without blanks."""
    return [code.strip() for code in value.split(",") if code.strip()]
