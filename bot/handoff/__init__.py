"""Talking to a person: the requests the bot records for the handoff queue (SPEC §7)."""

from bot.handoff.requests import HandoffRequest, HandoffRequests

__all__ = ["HandoffRequest", "HandoffRequests"]
