"""Feedback: 👍 / 👎 from the buttons, and after 👎 a short comment if the person wants.

The rating travels in the user event (``/feedback{"rating": "down"}``) and the comment
in the ``feedback_comment`` slot: the reports read both from the event stream
(``bot/conversations/facts.py``), the comment masked.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

SKIPPED = "-"
MAX_COMMENT = 500


def rating_of(tracker: Tracker) -> str | None:
    """``up`` or ``down`` from the latest message's entities."""
    for entity in (tracker.latest_message or {}).get("entities", []):
        if entity.get("entity") == "rating" and entity.get("value") in ("up", "down"):
            return str(entity["value"])
    return None


class ActionFeedback(Action):
    """Thanks for a rating; after 👎 asks what could be better; without one, asks for it."""

    def name(self) -> str:
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = rating_of(tracker)
        if rating is None:
            dispatcher.utter_message(response="utter_ask_feedback")
            return []
        dispatcher.utter_message(response="utter_feedback_thanks")
        return [FollowupAction("feedback_form")] if rating == "down" else []


class ValidateFeedbackForm(FormValidationAction):
    """Takes the comment as written (cut to 500 characters); "skip" or "no" takes none."""

    def name(self) -> str:
        return "validate_feedback_form"

    async def validate_feedback_comment(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = " ".join(str(slot_value or "").split())
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if not text or text.startswith("/") or intent in ("deny", "goodbye"):
            return {"feedback_comment": SKIPPED}
        return {"feedback_comment": text[:MAX_COMMENT]}


class ActionFeedbackComment(Action):
    """Thanks for the comment (the slot's event has carried it to the reports) and clears it."""

    def name(self) -> str:
        return "action_feedback_comment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("feedback_comment") not in (None, SKIPPED):
            dispatcher.utter_message(response="utter_feedback_comment_thanks")
        return [SlotSet("feedback_comment", None)]
