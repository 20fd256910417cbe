"""How the console sees requests and messages (JSON), shared by the API and the live socket."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import asdict
from typing import Any

from bot.geo import Gazetteer, UnknownPlaceError
from bot.handoff import Agent, HandoffRequest
from bot.handoff.access import in_scope
from bot.handoff.events import ConversationEvent
from bot.handoff.queue import OVERSEERS
from bot.handoff.requests import as_utc


def request_view(
    request: HandoffRequest,
    viewer: Agent,
    gazetteer: Gazetteer,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A request as the console shows it to ``viewer``.

    A call-back's contact is shown only to the worker who took it and to
    coordinators and administrators whose scope the request is in (the access
    rule of :mod:`bot.handoff.access`, on ``request.region_code`` as the queue
    read it); the wait is counted until the request was taken or ended.
    """
    view = asdict(request)
    contact = None
    overseen = viewer.role in OVERSEERS and in_scope(
        viewer,
        language=request.language,
        region_code=request.region_code,
        claimed_by=request.claimed_by,
    )
    if request.kind == "callback" and (request.claimed_by == viewer.id or overseen):
        contact = {"method": request.contact_method, "value": request.contact_value}
    view.pop("contact_method")
    view.pop("contact_value")
    view["contact"] = contact
    view["municipality"] = view["municipality_sv"] = None
    if request.municipality_code:
        # A code the gazetteer no longer has: the code is still shown.
        with contextlib.suppress(UnknownPlaceError):
            place = gazetteer.municipality(request.municipality_code)
            view["municipality"], view["municipality_sv"] = place.name_fi, place.name_sv
    created = as_utc(request.created_at)
    until = request.claimed_at or request.ended_at
    end = as_utc(until) if until else (now or dt.datetime.now(dt.timezone.utc))
    view["wait_seconds"] = max(0, int((end - created).total_seconds()))
    return view


def message_view(event: ConversationEvent) -> dict[str, Any]:
    """One transcript line as the console shows it."""
    return {
        "event_id": event.id,
        "sender": event.sender,
        "text": event.text,
        "timestamp": event.timestamp,
        "agent": event.agent,
    }
