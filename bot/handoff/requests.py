"""Recorded requests to talk to a person. No message text is stored here, only what routes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot import vocab
from bot.db.models import HandoffRequestRow

REASONS = ("asked", "fallback", "stuck")
LANGUAGES = ("fi", "sv", "en")
KINDS = ("chat", "callback")
CONTACT_METHODS = ("phone", "email")
MAX_SUMMARY = 600


@dataclass(frozen=True)
class HandoffRequest:
    id: str
    conversation_id: str
    channel: str
    language: str
    topics: tuple[str, ...]
    municipality_code: str | None
    reason: str
    state: str
    created_at: dt.datetime
    claimed_by: int | None = None
    claimed_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None
    kind: str = "chat"
    summary: str = ""
    notes: str | None = None
    contact_method: str | None = None
    contact_value: str | None = None


def request_from_row(row: HandoffRequestRow) -> HandoffRequest:
    """The request as the rest of the application sees it."""
    return HandoffRequest(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        topics=tuple(row.topics.split()),
        municipality_code=row.municipality_code,
        reason=row.reason,
        state=row.state,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        ended_at=row.ended_at,
        outcome=row.outcome,
        kind=row.kind or "chat",
        summary=row.summary or "",
        notes=row.notes,
        contact_method=row.contact_method,
        contact_value=row.contact_value,
    )


class HandoffRequests:
    """The requests in the database."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory

    def record(
        self,
        *,
        conversation_id: str,
        channel: str | None,
        language: str,
        topics: Sequence[str] = (),
        municipality_code: str | None = None,
        reason: str = "asked",
        kind: str = "chat",
        summary: str = "",
        contact: tuple[str, str] | None = None,
    ) -> HandoffRequest:
        """Records a waiting request; one per conversation while it waits.

        A call-back request (``kind="callback"``) needs ``contact`` — ``("phone", ...)``
        or ``("email", ...)`` — given with the person's consent, which is recorded.
        """
        if not conversation_id:
            raise ValueError("a handoff request needs the conversation id")
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}; expected one of {', '.join(REASONS)}")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "callback" and (
            contact is None or contact[0] not in CONTACT_METHODS or not contact[1].strip()
        ):
            raise ValueError("a call-back request needs a phone number or an e-mail address")
        with self._sessions.begin() as session:
            waiting = session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state == "waiting",
                )
            ).first()
            row = waiting or HandoffRequestRow(
                id=str(uuid.uuid4()),
                conversation_id=conversation_id[:200],
                state="waiting",
                created_at=dt.datetime.now(dt.timezone.utc),
            )
            # The latest context wins: the person may have said more since asking.
            row.channel = (channel or "unknown")[:40]
            row.language = language if language in LANGUAGES else "fi"
            row.topics = " ".join(t for t in dict.fromkeys(topics) if t in vocab.TOPICS)
            row.municipality_code = municipality_code
            row.reason = reason
            row.kind = kind
            row.summary = summary[:MAX_SUMMARY] or None
            if kind == "callback" and contact is not None:
                row.contact_method, row.contact_value = contact[0], contact[1].strip()[:200]
                row.consent_at = dt.datetime.now(dt.timezone.utc)
            session.add(row)
            session.flush()
            return request_from_row(row)

    def open_of(self, conversation_id: str) -> HandoffRequest | None:
        """The conversation's waiting or active request, if it has one."""
        with self._sessions() as session:
            row = session.scalars(
                select(HandoffRequestRow)
                .where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state.in_(("waiting", "active")),
                )
                .order_by(HandoffRequestRow.created_at.desc())
            ).first()
            return request_from_row(row) if row else None

    def cancel(self, conversation_id: str) -> HandoffRequest | None:
        """The person leaves the queue: their waiting request is cancelled (and kept)."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(HandoffRequestRow).where(
                    HandoffRequestRow.conversation_id == conversation_id,
                    HandoffRequestRow.state == "waiting",
                )
            ).first()
            if row is None:
                return None
            row.state = "cancelled"
            row.ended_at = dt.datetime.now(dt.timezone.utc)
            session.flush()
            return request_from_row(row)

    def waiting(self) -> list[HandoffRequest]:
        """Waiting requests, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(HandoffRequestRow)
                .where(HandoffRequestRow.state == "waiting")
                .order_by(HandoffRequestRow.created_at, HandoffRequestRow.id)
            )
            return [request_from_row(row) for row in rows]
