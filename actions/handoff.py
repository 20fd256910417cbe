"""Talking to a person: the request is recorded for the handoff queue, and we say how to reach one."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.providers import conversation_language
from actions.services import services
from bot.geo import UnknownPlaceError

log = logging.getLogger(__name__)


def _after_fallback(tracker: Tracker) -> bool:
    """Whether the bot's last words were the fallback's offer of a person."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == "utter_offer_person"
    return False


class ActionTalkToPerson(Action):
    """Records that the person asked for a human and tells them how to reach one."""

    def name(self) -> str:
        return "action_talk_to_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        found = services()
        municipality = tracker.get_slot("municipality")
        try:
            code = found.gazetteer.municipality(municipality).code if municipality else None
        except UnknownPlaceError:
            code = None
        try:
            request = await asyncio.to_thread(
                found.handoffs.record,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                language=conversation_language(tracker),
                topics=tracker.get_slot("topic") or [],
                municipality_code=code,
                reason="fallback" if _after_fallback(tracker) else "asked",
            )
        except SQLAlchemyError:
            # The person still hears how to reach someone; the operators see the error.
            log.exception("could not record a request to talk to a person")
        else:
            log.info("person requested", extra={"request": request.id, "reason": request.reason})
        dispatcher.utter_message(response="utter_talk_to_person")
        # The person asked for someone: the form stops asking (what was said is kept).
        return [SlotSet("fallbacks", 0), ActiveLoop(None), SlotSet("requested_slot", None)]
