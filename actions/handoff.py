"""Talking to a person. The queue comes with the handoff issue; until then we say how."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)


class ActionTalkToPerson(Action):
    """Records that the person asked for a human and tells them how to reach one."""

    def name(self) -> str:
        return "action_talk_to_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # No message text is logged: only what the queue will need.
        log.info(
            "person requested",
            extra={
                "conversation": tracker.sender_id,
                "language": tracker.get_slot("language"),
                "topics": tracker.get_slot("topic"),
                "municipality": tracker.get_slot("municipality"),
            },
        )
        dispatcher.utter_message(response="utter_talk_to_person")
        return [SlotSet("fallbacks", 0)]
