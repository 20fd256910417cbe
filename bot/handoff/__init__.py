"""Talking to a person: the requests the bot records for the handoff queue (SPEC §7)."""

from bot.handoff.agents import Agent, Agents, QueueError
from bot.handoff.queue import HandoffQueue
from bot.handoff.requests import HandoffRequest, HandoffRequests

__all__ = ["Agent", "Agents", "HandoffQueue", "HandoffRequest", "HandoffRequests", "QueueError"]
