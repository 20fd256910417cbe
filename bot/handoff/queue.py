"""The handoff queue: who may take which request, and the states a request goes through.

``waiting`` → ``active`` (a worker claimed it) → ``returned`` (handed back to the
bot) or ``closed`` (with an outcome). A request nobody takes within the
configured time becomes ``expired``; it stays visible. Oldest first; a worker
takes a request only in a language they speak, from a region they cover, and
within their capacity of concurrent chats.

Every method that reads or changes requests for a member of staff applies the
access rule of :mod:`bot.handoff.access`: listings filter in SQL, and a request
outside the viewer's scope raises :class:`~bot.handoff.access.OutOfScopeError`
before anything is written.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from bot.db.models import HandoffRequestRow, MunicipalityRow
from bot.handoff.access import OutOfScopeError, in_scope, scope_condition
from bot.handoff.agents import Agent, QueueError
from bot.handoff.requests import HandoffRequest, HandoffRequests, as_utc, request_from_row, utc_now

OVERSEERS = ("coordinator", "admin")
"""Roles that may read and annotate every request in their scope, not only their own."""
OUTCOMES = ("helped", "referred", "callback", "no_answer", "other")
OPEN_STATES = ("waiting", "active")
DEFAULT_CHAT_MINUTES = 8.0
"""Expected length of one chat until the queue has a history of its own."""


def _with_region() -> Select:
    """Requests with their municipality's region (``None`` without a known municipality)."""
    return select(HandoffRequestRow, MunicipalityRow.region_code).outerjoin(
        MunicipalityRow, MunicipalityRow.code == HandoffRequestRow.municipality_code
    )


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting person is: 1 is next; the expected wait in whole minutes."""

    position: int
    minutes: int


class HandoffQueue:
    """The requests' life in the queue."""

    def __init__(self, session_factory: sessionmaker, *, expire_after: dt.timedelta) -> None:
        self._sessions = session_factory
        self.expire_after = expire_after

    def expire(self, now: dt.datetime | None = None) -> int:
        """Waiting requests older than ``expire_after`` become ``expired``; how many."""
        moment = utc_now(now)
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
        """The request, whoever asks (for the service itself; staff use :meth:`get_for`)."""
        with self._sessions() as session:
            found = session.execute(
                _with_region().where(HandoffRequestRow.id == request_id)
            ).first()
            return request_from_row(*found) if found else None

    def get_for(self, viewer: Agent, request_id: str) -> HandoffRequest | None:
        """The request if it exists; :class:`OutOfScopeError` when ``viewer`` may not see it."""
        with self._sessions() as session:
            found = self._in_scope_row(session, viewer, request_id)
            return request_from_row(*found) if found else None

    @staticmethod
    def _in_scope_row(
        session: Session, viewer: Agent, request_id: str
    ) -> tuple[HandoffRequestRow, str | None] | None:
        """The request's row and region (``None`` if there is none), once the rule let ``viewer`` in."""
        found = session.execute(_with_region().where(HandoffRequestRow.id == request_id)).first()
        if found is None:
            return None
        row, region = found
        if not in_scope(
            viewer, language=row.language, region_code=region, claimed_by=row.claimed_by
        ):
            raise OutOfScopeError()
        return row, region

    def region_of(self, request: HandoffRequest) -> str | None:
        """The region code of the request's municipality."""
        if not request.municipality_code:
            return None
        with self._sessions() as session:
            return session.scalar(
                select(MunicipalityRow.region_code).where(
                    MunicipalityRow.code == request.municipality_code
                )
            )

    def place(self, request: HandoffRequest, workers: int) -> QueuePlace:
        """The waiting chat's place among chats in its language, and the expected wait.

        The wait is the place times the median length of recent chats, shared by
        the ``workers`` present who may take it.
        """
        with self._sessions() as session:
            ahead = session.scalar(
                select(func.count())
                .select_from(HandoffRequestRow)
                .where(
                    HandoffRequestRow.state == "waiting",
                    HandoffRequestRow.kind == "chat",
                    HandoffRequestRow.language == request.language,
                    HandoffRequestRow.created_at < request.created_at,
                )
            )
            recent = session.execute(
                select(HandoffRequestRow.claimed_at, HandoffRequestRow.ended_at)
                .where(
                    HandoffRequestRow.state.in_(("returned", "closed")),
                    HandoffRequestRow.kind == "chat",
                    HandoffRequestRow.claimed_at.is_not(None),
                    HandoffRequestRow.ended_at.is_not(None),
                )
                .order_by(HandoffRequestRow.ended_at.desc())
                .limit(20)
            ).all()
        lengths = sorted(
            (as_utc(end) - as_utc(start)).total_seconds() / 60 for start, end in recent
        )
        per_chat = lengths[len(lengths) // 2] if lengths else DEFAULT_CHAT_MINUTES
        position = int(ahead or 0) + 1
        minutes = math.ceil(position * max(per_chat, 1.0) / max(workers, 1))
        return QueuePlace(position, max(minutes, 1))

    def active_of(self, agent: Agent) -> list[HandoffRequest]:
        """The worker's chats now, oldest first."""
        with self._sessions() as session:
            rows = session.execute(
                _with_region()
                .where(
                    HandoffRequestRow.claimed_by == agent.id,
                    HandoffRequestRow.state == "active",
                    scope_condition(agent),  # always true for one's own chats: one rule
                )
                .order_by(HandoffRequestRow.claimed_at, HandoffRequestRow.id)
            ).all()
            return [request_from_row(row, region) for row, region in rows]

    def active_by_conversation(self, conversation_ids: Sequence[str]) -> dict[str, HandoffRequest]:
        """The active request of each of these conversations that has one."""
        if not conversation_ids:
            return {}
        with self._sessions() as session:
            rows = session.execute(
                _with_region().where(
                    HandoffRequestRow.conversation_id.in_(list(conversation_ids)),
                    HandoffRequestRow.state == "active",
                )
            ).all()
            return {row.conversation_id: request_from_row(row, region) for row, region in rows}

    def signature(self) -> tuple[object, ...]:
        """Changes whenever a request is added or changes state (cheap to poll)."""
        with self._sessions() as session:
            return tuple(
                session.execute(
                    select(
                        func.count(),
                        func.max(HandoffRequestRow.created_at),
                        func.max(HandoffRequestRow.claimed_at),
                        func.max(HandoffRequestRow.ended_at),
                    ).select_from(HandoffRequestRow)
                ).one()
            )

    def set_notes(self, agent: Agent, request_id: str, notes: str) -> None:
        """The worker's notes on a chat they have or had (coordinators: any in their scope)."""
        with self._sessions.begin() as session:
            found = self._in_scope_row(session, agent, request_id)
            if found is None or (found[0].claimed_by != agent.id and agent.role not in OVERSEERS):
                raise QueueError("not_yours", "notes are for the worker who has the chat")
            found[0].notes = notes[:4000]

    def recent(
        self, viewer: Agent, limit: int = 200, now: dt.datetime | None = None
    ) -> list[HandoffRequest]:
        """The newest requests in every state in ``viewer``'s scope, newest first."""
        self.expire(now)
        with self._sessions() as session:
            rows = session.execute(
                _with_region()
                .where(scope_condition(viewer))
                .order_by(HandoffRequestRow.created_at.desc(), HandoffRequestRow.id)
                .limit(limit)
            ).all()
            return [request_from_row(row, region) for row, region in rows]

    def waiting(self) -> list[HandoffRequest]:
        """Every waiting request, oldest first."""
        return HandoffRequests(self._sessions).waiting()

    def drop_stale_contacts(self) -> int:
        """Call-back contacts whose consent never came are deleted after a day."""
        return HandoffRequests(self._sessions).drop_stale_contacts()

    def waiting_for(self, agent: Agent, now: dt.datetime | None = None) -> list[HandoffRequest]:
        """The waiting requests this worker may take, oldest first."""
        self.expire(now)
        with self._sessions() as session:
            rows = session.execute(
                _with_region()
                .where(HandoffRequestRow.state == "waiting", scope_condition(agent))
                .order_by(HandoffRequestRow.created_at, HandoffRequestRow.id)
            ).all()
            return [request_from_row(row, region) for row, region in rows]

    def callbacks_for(
        self, agent: Agent, days: int = 14, now: dt.datetime | None = None
    ) -> list[HandoffRequest]:
        """Call-back requests of the last ``days`` in the viewer's scope, newest first."""
        since = utc_now(now) - dt.timedelta(days=days)
        with self._sessions() as session:
            rows = session.execute(
                _with_region()
                .where(
                    HandoffRequestRow.kind == "callback",
                    HandoffRequestRow.created_at >= since,
                    scope_condition(agent),
                )
                .order_by(HandoffRequestRow.created_at.desc(), HandoffRequestRow.id)
            ).all()
            return [request_from_row(row, region) for row, region in rows]

    def claim(
        self, agent: Agent, request_id: str | None = None, now: dt.datetime | None = None
    ) -> HandoffRequest:
        """The worker takes ``request_id`` (or the oldest they may take); one worker wins."""
        moment = utc_now(now)
        if request_id is not None:
            with self._sessions() as session:
                self._in_scope_row(session, agent, request_id)  # 403 rather than "nothing"
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
            taken = session.get(HandoffRequestRow, candidates[0].id)
            return request_from_row(taken, candidates[0].region_code)

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
            self._in_scope_row(session, agent, request_id)
            values: dict[str, object] = {"state": state, "ended_at": utc_now(now)}
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
