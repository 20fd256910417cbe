"""Talking to a person: the requests the bot records for the handoff queue (SPEC §7)."""

from bot.handoff.queue import Agent, Agents, HandoffQueue, QueueError
from bot.handoff.requests import HandoffRequest, HandoffRequests

__all__ = ["Agent", "Agents", "HandoffQueue", "HandoffRequest", "HandoffRequests", "QueueError"]
