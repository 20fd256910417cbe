"""Logged-in sessions of the console: a random token in an HttpOnly cookie, its hash in the database.

Each session has its own CSRF token, which the console sends back in the
``X-CSRF-Token`` header of every request that changes something.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from bot.db.models import AgentRow, AgentSessionRow
from bot.handoff.agents import Agent, agent_from_row


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ConsoleSessions:
    """Open, find and close console sessions."""

    def __init__(self, session_factory: sessionmaker, lifetime: dt.timedelta) -> None:
        self._sessions = session_factory
        self.lifetime = lifetime

    def open(self, agent: Agent) -> tuple[str, str]:
        """A new session: (cookie token, CSRF token). Expired sessions are swept."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self._sessions.begin() as session:
            session.execute(delete(AgentSessionRow).where(AgentSessionRow.expires_at < now))
            session.add(
                AgentSessionRow(
                    token_hash=_hash(token),
                    agent_id=agent.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return token, csrf

    def find(self, token: str | None) -> tuple[Agent, str] | None:
        """The active account and CSRF token of an unexpired session, or ``None``."""
        if not token or len(token) > 100:
            return None
        with self._sessions() as session:
            found = session.execute(
                select(AgentRow, AgentSessionRow.csrf_token)
                .join(AgentSessionRow, AgentSessionRow.agent_id == AgentRow.id)
                .where(
                    AgentSessionRow.token_hash == _hash(token),
                    AgentSessionRow.expires_at > _now(),
                    AgentRow.active.is_(True),
                )
            ).first()
            return (agent_from_row(found[0]), found[1]) if found else None

    def close(self, token: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(AgentSessionRow).where(AgentSessionRow.token_hash == _hash(token))
            )


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the header's."""
    # A header that was not UTF-8 arrives with surrogates; it simply does not match.
    received = str(given or "").encode("utf-8", "surrogatepass")
    return bool(given) and hmac.compare_digest(expected.encode(), received)
