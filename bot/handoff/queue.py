"""The handoff queue: who may take which request, and the states a request goes through.

``waiting`` → ``active`` (a worker claimed it) → ``returned`` (handed back to the
bot) or ``closed`` (with an outcome). A request nobody takes within the
configured time becomes ``expired``; it stays visible. Oldest first; a worker
takes a request only in a language they speak, from a region they cover, and
within their capacity of concurrent chats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import AgentRow, HandoffRequestRow, MunicipalityRow
from bot.handoff.passwords import hash_password, verify_password
from bot.handoff.requests import HandoffRequest, request_from_row

ROLES = ("worker", "coordinator", "admin")
LANGUAGES = ("fi", "sv", "en")
OUTCOMES = ("helped", "referred", "callback", "no_answer", "other")
OPEN_STATES = ("waiting", "active")


class QueueError(Exception):
    """A queue operation that cannot be done; ``code`` tells which rule refused it."""

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
        """Whether this worker may take a request in ``language`` from ``region_code``."""
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


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


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
                created_at=_now(None),
            )
            session.add(row)
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

    def set_available(self, agent_id: int, available: bool) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(AgentRow).where(AgentRow.id == agent_id).values(available=available)
            )


_DUMMY_HASH = (
    "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


class HandoffQueue:
    """The requests' life in the queue."""

    def __init__(self, session_factory: sessionmaker, *, expire_after: dt.timedelta) -> None:
        self._sessions = session_factory
        self.expire_after = expire_after

    def expire(self, now: dt.datetime | None = None) -> int:
        """Waiting requests older than ``expire_after`` become ``expired``; how many."""
        moment = _now(now)
        with self._sessions.begin() as session:
            result = session.execute(
                update(HandoffRequestRow)
                .where(
                    HandoffRequestRow.state == "waiting",
                    HandoffRequestRow.created_at < moment - self.expire_after,
                )
                .values(state="expired", ended_at=moment)
            )
            return int(result.rowcount or 0)

    def get(self, request_id: str) -> HandoffRequest | None:
        with self._sessions() as session:
            row = session.get(HandoffRequestRow, request_id)
            return request_from_row(row) if row else None

    def recent(self, limit: int = 200, now: dt.datetime | None = None) -> list[HandoffRequest]:
        """The newest requests in every state (for coordinators), newest first."""
        self.expire(now)
        with self._sessions() as session:
            rows = session.scalars(
                select(HandoffRequestRow)
                .order_by(HandoffRequestRow.created_at.desc(), HandoffRequestRow.id)
                .limit(limit)
            )
            return [request_from_row(row) for row in rows]

    def waiting_for(self, agent: Agent, now: dt.datetime | None = None) -> list[HandoffRequest]:
        """The waiting requests this worker may take, oldest first."""
        self.expire(now)
        with self._sessions() as session:
            rows = session.execute(
                select(HandoffRequestRow, MunicipalityRow.region_code)
                .outerjoin(
                    MunicipalityRow, MunicipalityRow.code == HandoffRequestRow.municipality_code
                )
                .where(HandoffRequestRow.state == "waiting")
                .order_by(HandoffRequestRow.created_at, HandoffRequestRow.id)
            ).all()
            return [
                request_from_row(row) for row, region in rows if agent.covers(row.language, region)
            ]

    def claim(
        self, agent: Agent, request_id: str | None = None, now: dt.datetime | None = None
    ) -> HandoffRequest:
        """The worker takes ``request_id`` (or the oldest they may take); one worker wins."""
        moment = _now(now)
        candidates = [r for r in self.waiting_for(agent, moment) if request_id in (None, r.id)]
        if not candidates:
            raise QueueError("nothing_to_claim", "no waiting request this worker may take")
        with self._sessions.begin() as session:
            if self._active_count(session, agent.id) >= agent.capacity:
                raise QueueError("at_capacity", "finish a chat before taking another")
            # Compare-and-set: of two workers claiming at once, only one update matches.
            result = session.execute(
                update(HandoffRequestRow)
                .where(
                    HandoffRequestRow.id == candidates[0].id,
                    HandoffRequestRow.state == "waiting",
                )
                .values(state="active", claimed_by=agent.id, claimed_at=moment)
            )
            if result.rowcount != 1:
                raise QueueError("taken", "another worker took this request")
            return request_from_row(session.get(HandoffRequestRow, candidates[0].id))

    def hand_back(self, agent: Agent, request_id: str, now: dt.datetime | None = None) -> None:
        """The bot carries on the conversation."""
        self._end(agent, request_id, "returned", None, None, now)

    def close(
        self,
        agent: Agent,
        request_id: str,
        outcome: str,
        notes: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """The chat is over, with its outcome."""
        if outcome not in OUTCOMES:
            raise QueueError("bad_outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
        self._end(agent, request_id, "closed", outcome, notes, now)

    def _end(
        self,
        agent: Agent,
        request_id: str,
        state: str,
        outcome: str | None,
        notes: str | None,
        now: dt.datetime | None,
    ) -> None:
        with self._sessions.begin() as session:
            values: dict[str, object] = {"state": state, "ended_at": _now(now)}
            if outcome is not None:
                values["outcome"] = outcome
            if notes is not None:
                values["notes"] = notes[:4000]
            result = session.execute(
                update(HandoffRequestRow)
                .where(
                    HandoffRequestRow.id == request_id,
                    HandoffRequestRow.state == "active",
                    HandoffRequestRow.claimed_by == agent.id,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                raise QueueError("not_yours", "only the worker who has the chat can end it")

    @staticmethod
    def _active_count(session: Session, agent_id: int) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(HandoffRequestRow)
                .where(
                    HandoffRequestRow.claimed_by == agent_id, HandoffRequestRow.state == "active"
                )
            )
            or 0
        )
