"""Two-stage fallback: ask to rephrase once, then offer a person; questions about the
places on screen are answered first, whatever general intent they were read as."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActiveLoop,
    EventType,
    FollowupAction,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.followup import answer_follow_up
from actions.handoff import user_messages
from actions.providers import conversation_language
from bot.handoff.desk import seems_stuck


class ActionFallback(Action):
    """First time: "could you say it in other words?"; in a row after that, or when stuck: offer a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if await answer_follow_up(dispatcher, tracker, conversation_language(tracker)):
            return [SlotSet("fallbacks", 0)]  # a question about the places on screen
        place = another_place(tracker)
        if place is not None:
            # "och hur är det i Närpes då" with places on screen: the same search there.
            return [
                SlotSet("municipality", place),
                SlotSet("fallbacks", 0),
                FollowupAction("action_recommend_providers"),
            ]
        count = int(tracker.get_slot("fallbacks") or 0) + 1
        messages = user_messages(tracker)
        if count == 1 and not seems_stuck([i for i, _ in messages], [t for _, t in messages]):
            dispatcher.utter_message(response="utter_ask_rephrase")
            # The message was not understood: leave it out of the dialogue history.
            return [UserUtteranceReverted(), SlotSet("fallbacks", count)]
        dispatcher.utter_message(response="utter_offer_person")
        # A question of the form would bury the offer: stop asking (what was said is kept).
        return [SlotSet("fallbacks", 0), ActiveLoop(None), SlotSet("requested_slot", None)]


def another_place(tracker: Tracker) -> str | None:
    """The one municipality named in a message not otherwise understood while places are on
    screen ("what about Närpes then"), else ``None``. The slot may already hold it: the
    entity fills it before any action runs."""
    if not tracker.get_slot("shown_places") or not tracker.get_slot("topic"):
        return None
    entities = (tracker.latest_message or {}).get("entities") or []
    places = {str(e.get("value")) for e in entities if e.get("entity") == "municipality"}
    if len(places) != 1:
        return None
    [place] = places
    return place


class ActionAboutService(Action):
    """ "What is this service?" — unless the question is about the places just shown.

    "När är det första öppet?" reads as a question about the service; with cards on
    screen it is a question about them (:func:`actions.followup.answer_follow_up`).
    """

    def name(self) -> str:
        return "action_about_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not await answer_follow_up(dispatcher, tracker, conversation_language(tracker)):
            dispatcher.utter_message(response="utter_about_service")
        return []
