"""Accounts of the handoff console: workers, coordinators and administrators.

An account speaks some languages, covers some regions (or all) and takes up to its
capacity of concurrent chats; :mod:`bot.handoff.queue` hands it requests accordingly.
Passwords are stored only as scrypt hashes (:mod:`bot.handoff.passwords`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import sessionmaker

from bot.db.models import AgentRow, AgentSessionRow
from bot.handoff.passwords import hash_password, verify_password
from bot.handoff.requests import utc_now

ROLES = ("worker", "coordinator", "admin")
LANGUAGES = ("fi", "sv", "en")
PRESENCE = dt.timedelta(minutes=2)
"""A worker counts as present while their console connected within this time."""


class QueueError(Exception):
    """A queue or account operation that cannot be done; ``code`` tells which rule refused it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Agent:
    id: int
    username: str
    display_name: str
    role: str
    languages: tuple[str, ...]
    region_codes: tuple[str, ...]  # empty: every region
    capacity: int
    available: bool

    def covers(self, language: str, region_code: str | None) -> bool:
        """Whether a request in ``language`` from ``region_code`` is in this account's area."""
        in_region = not self.region_codes or region_code in self.region_codes
        return language in self.languages and in_region


def agent_from_row(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        languages=tuple(row.languages.split()),
        region_codes=tuple(row.region_codes.split()),
        capacity=row.capacity,
        available=row.available,
    )


class Agents:
    """Workers, coordinators and administrators."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory

    def add(
        self,
        username: str,
        password: str,
        *,
        display_name: str | None = None,
        role: str = "worker",
        languages: Sequence[str] = ("fi",),
        region_codes: Sequence[str] = (),
        capacity: int = 3,
    ) -> Agent:
        """A new account; the password is stored only as a scrypt hash."""
        username = username.strip().lower()
        if (
            not username
            or len(username) > 64
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            raise QueueError(
                "bad_username", "a username has letters, digits, dots, dashes or underscores"
            )
        if role not in ROLES:
            raise QueueError("bad_role", f"role must be one of {', '.join(ROLES)}")
        unknown = [code for code in languages if code not in LANGUAGES]
        if unknown or not languages:
            raise QueueError("bad_language", f"languages must be some of {', '.join(LANGUAGES)}")
        if not 1 <= capacity <= 20:
            raise QueueError("bad_capacity", "capacity is 1–20 concurrent chats")
        with self._sessions.begin() as session:
            if session.scalar(select(AgentRow.id).where(AgentRow.username == username)):
                raise QueueError("exists", f"{username} already exists")
            row = AgentRow(
                username=username,
                display_name=(display_name or username).strip()[:120],
                password_hash=hash_password(password),
                role=role,
                languages=" ".join(dict.fromkeys(languages)),
                region_codes=" ".join(dict.fromkeys(region_codes)),
                capacity=capacity,
                available=False,
                active=True,
                created_at=utc_now(None),
            )
            session.add(row)
            session.flush()
            return agent_from_row(row)

    def set_password(self, username: str, password: str) -> Agent:
        """A new password for ``username``; every console session of the account ends."""
        return self._change(username, password_hash=hash_password(password))

    def disable(self, username: str) -> Agent:
        """The account can no longer log in; its sessions end and it stops taking chats."""
        return self._change(username, active=False, available=False)

    def _change(self, username: str, **values: object) -> Agent:
        with self._sessions.begin() as session:
            row = session.scalars(
                select(AgentRow).where(AgentRow.username == username.strip().lower())
            ).first()
            if row is None:
                raise QueueError("unknown_agent", f"no account {username.strip().lower()!r}")
            for name, value in values.items():
                setattr(row, name, value)
            session.execute(delete(AgentSessionRow).where(AgentSessionRow.agent_id == row.id))
            session.flush()
            return agent_from_row(row)

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The active account with these credentials, or ``None``."""
        with self._sessions() as session:
            row = session.scalars(
                select(AgentRow).where(
                    AgentRow.username == username.strip().lower(), AgentRow.active.is_(True)
                )
            ).first()
            if row is None:
                verify_password(password, _DUMMY_HASH)  # the same time for unknown names
                return None
            return agent_from_row(row) if verify_password(password, row.password_hash) else None

    def seen(self, agent_ids: Sequence[int], now: dt.datetime | None = None) -> None:
        """These workers' consoles are connected now."""
        if not agent_ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(AgentRow)
                .where(AgentRow.id.in_(list(agent_ids)))
                .values(last_seen_at=utc_now(now))
            )

    def present_for(
        self, language: str, region_code: str | None, now: dt.datetime | None = None
    ) -> int:
        """How many available workers with a connected console may take this request."""
        since = utc_now(now) - PRESENCE
        with self._sessions() as session:
            rows = session.scalars(
                select(AgentRow).where(
                    AgentRow.active.is_(True),
                    AgentRow.available.is_(True),
                    AgentRow.last_seen_at >= since,
                )
            )
            return sum(1 for row in rows if agent_from_row(row).covers(language, region_code))

    def get(self, agent_id: int) -> Agent | None:
        with self._sessions() as session:
            row = session.get(AgentRow, agent_id)
            return agent_from_row(row) if row is not None and row.active else None

    def set_available(self, agent_id: int, available: bool) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(AgentRow).where(AgentRow.id == agent_id).values(available=available)
            )


_DUMMY_HASH = (
    "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)
