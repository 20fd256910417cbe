"""Whether a person can get live help now, and what the worker reads first about them.

Live help is open during the team's service hours when at least one worker who
covers the person's language and region is available with the console open;
otherwise the bot offers a call-back request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.handoff.agents import Agents
from bot.handoff.hours import ServiceHours
from bot.privacy import redact_pii

SUMMARY_MESSAGES = 3
SUMMARY_CHARS = 160
NOT_HELPED = frozenset({"nlu_fallback", "out_of_scope", "deny"})
"""Intents that, often enough in a row, show that the bot is not getting anywhere."""


@dataclass(frozen=True)
class LiveHelp:
    """``open`` (workers are there), ``closed`` (outside service hours) or ``busy`` (no one free)."""

    status: str
    workers: int = 0


def live_help(
    hours: ServiceHours,
    agents: Agents,
    language: str,
    region_code: str | None,
    now: dt.datetime,
) -> LiveHelp:
    """Whether a chat with a worker can start now for this language and region."""
    if not hours.is_open(now):
        return LiveHelp("closed")
    workers = agents.present_for(language, region_code, now)
    return LiveHelp("open", workers) if workers else LiveHelp("busy")


def conversation_summary(user_texts: Sequence[str]) -> str:
    """The person's last few messages, masked and shortened, for the worker to read at a glance."""
    picked = [" ".join(t.split()) for t in user_texts if t.strip() and not t.startswith("/")]
    shortened = [
        text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"
        for text in (redact_pii(t) for t in picked[-SUMMARY_MESSAGES:])
    ]
    return " / ".join(shortened)


def seems_stuck(intents: Sequence[str], texts: Sequence[str]) -> bool:
    """Three of the last five messages not understood, off-topic or "no", or a message repeated."""
    if sum(1 for intent in intents[-5:] if intent in NOT_HELPED) >= 3:
        return True
    recent = [" ".join(t.lower().split()) for t in texts[-3:] if len(t.split()) >= 3]
    return len(recent) != len(set(recent))
