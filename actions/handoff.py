"""Talking to a person: the queue, call-back requests, leaving the queue (SPEC §7).

The rules live in :mod:`bot.handoff`; these actions read the conversation, ask
them, and say what happened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.followup import answer_follow_up
from actions.providers import conversation_language
from actions.services import Services, services
from bot.geo import UnknownPlaceError
from bot.handoff.desk import conversation_summary, live_help, seems_stuck
from bot.privacy import find_pii

log = logging.getLogger(__name__)

DECLINED = "-"
"""``callback_contact`` when the person would rather not leave one."""
OFFERS = {"utter_offer_person": "fallback", "utter_offer_person_stuck": "stuck"}


def _reason(tracker: Tracker) -> str:
    """Why the person is asking: on their own, or answering the bot's offer of a person."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return OFFERS.get(str((event.get("metadata") or {}).get("utter_action")), "asked")
    return "asked"


def user_messages(tracker: Tracker) -> list[tuple[str, str]]:
    """(intent, text) of every message the person wrote, oldest first."""
    found = []
    for event in tracker.events:
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            found.append((intent, event.get("text") or ""))
    return found


def _place(found: Services, tracker: Tracker) -> tuple[str | None, str | None]:
    """The municipality and region codes of the conversation's place, if known."""
    name = tracker.get_slot("municipality")
    if not name:
        return None, None
    try:
        municipality = found.gazetteer.municipality(name)
    except UnknownPlaceError:
        return None, None
    return municipality.code, municipality.region_code


class ActionTalkToPerson(Action):
    """Puts the person in the queue with their place and wait, or offers a call-back."""

    def name(self) -> str:
        return "action_talk_to_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        found = services()
        language = conversation_language(tracker)
        code, region = _place(found, tracker)
        reason = _reason(tracker)
        # The person asked for someone: the form stops asking (what was said is kept).
        events: list[EventType] = [
            SlotSet("fallbacks", 0),
            ActiveLoop(None),
            SlotSet("requested_slot", None),
        ]
        try:
            status = await asyncio.to_thread(
                live_help, found.service_hours, found.agents, language, region, found.now()
            )
            if status.status != "open":
                closed = status.status == "closed"
                dispatcher.utter_message(
                    response="utter_live_help_closed" if closed else "utter_live_help_busy",
                    service_hours=found.service_hours.describe(language, found.now()),
                )
                return [*events, SlotSet("handoff_reason", reason), FollowupAction("callback_form")]
            request = await asyncio.to_thread(
                found.handoffs.record,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                language=language,
                topics=tracker.get_slot("topic") or [],
                municipality_code=code,
                reason=reason,
                summary=conversation_summary([text for _, text in user_messages(tracker)]),
            )
            place = await asyncio.to_thread(found.queue.place, request, status.workers)
        except SQLAlchemyError:
            # The person still hears how to get help; the operators see the error.
            log.exception("could not put a request to talk to a person in the queue")
            dispatcher.utter_message(response="utter_handoff_failed")
            return events
        log.info("person requested", extra={"request": request.id, "reason": request.reason})
        dispatcher.utter_message(
            response="utter_in_queue", queue_position=place.position, queue_wait=place.minutes
        )
        return [
            *events,
            SlotSet("queue_position", place.position),
            SlotSet("queue_wait", place.minutes),
        ]


def _contact(text: str) -> tuple[str, str] | None:
    """The first phone number or e-mail address in ``text``, as (method, value)."""
    for match in find_pii(text):
        if match.kind in ("phone", "email"):
            return match.kind, text[match.start : match.end]
    return None


class ValidateCallbackForm(FormValidationAction):
    """Takes a phone number or e-mail address from the answer; "no thanks" ends the form."""

    def name(self) -> str:
        return "validate_callback_form"

    async def validate_callback_contact(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = str(slot_value or "")
        contact = _contact(text)
        if contact is None and (intent in ("deny", "goodbye") or text.startswith("/deny")):
            return {"callback_contact": DECLINED, "callback_consent": False}
        if contact is not None:
            # The conversation store keeps only masked text: the contact waits in the
            # database for the consent question's answer.
            try:
                await asyncio.to_thread(
                    services().handoffs.hold_contact, tracker.sender_id, *contact
                )
            except SQLAlchemyError:
                log.exception("could not hold a call-back contact")
                dispatcher.utter_message(response="utter_handoff_failed")
                return {"callback_contact": DECLINED, "callback_consent": False}
            return {"callback_contact": contact[1]}
        asked_before = any(
            (e.get("metadata") or {}).get("utter_action") == "utter_callback_contact_invalid"
            for e in tracker.events_after_latest_restart()
            if e.get("event") == "bot"
        )
        if asked_before and sum(1 for e in tracker.events if e.get("event") == "user") > 1:
            # Twice without a number or address: the person wants something else.
            return {"callback_contact": DECLINED, "callback_consent": False}
        dispatcher.utter_message(response="utter_callback_contact_invalid")
        return {"callback_contact": None}


class ActionRequestCallback(Action):
    """Records the call-back request when the person gave a contact and consent."""

    def name(self) -> str:
        return "action_request_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        found = services()
        cleared: list[EventType] = [
            SlotSet("callback_contact", None),
            SlotSet("callback_consent", None),
        ]
        try:
            # Taken either way: a declined contact is deleted.
            held = await asyncio.to_thread(found.handoffs.take_held_contact, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("could not read a held call-back contact")
            dispatcher.utter_message(response="utter_handoff_failed")
            return cleared
        wanted = tracker.get_slot("callback_contact") not in (None, DECLINED)
        if tracker.get_slot("callback_consent") is not True or not wanted or held is None:
            dispatcher.utter_message(response="utter_callback_declined")
            return cleared
        code, _ = _place(found, tracker)
        try:
            request = await asyncio.to_thread(
                found.handoffs.record,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                language=conversation_language(tracker),
                topics=tracker.get_slot("topic") or [],
                municipality_code=code,
                reason=tracker.get_slot("handoff_reason") or "asked",
                kind="callback",
                summary=conversation_summary([text for _, text in user_messages(tracker)]),
                contact=held,
            )
        except SQLAlchemyError:
            log.exception("could not record a call-back request")
            dispatcher.utter_message(response="utter_handoff_failed")
            return cleared
        log.info("call-back requested", extra={"request": request.id})
        dispatcher.utter_message(response="utter_callback_recorded")
        return cleared


class ActionLeaveQueue(Action):
    """The person no longer wants to wait: their request is cancelled (and kept)."""

    def name(self) -> str:
        return "action_leave_queue"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            cancelled = await asyncio.to_thread(services().handoffs.cancel, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("could not cancel a request to talk to a person")
            cancelled = None
        dispatcher.utter_message(response="utter_left_queue" if cancelled else "utter_not_in_queue")
        return [SlotSet("queue_position", None), SlotSet("queue_wait", None)]


class ActionNotHelped(Action):
    """Answers an off-topic message or a "no"; offers a person when the bot is getting nowhere."""

    def name(self) -> str:
        return "action_not_helped"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "out_of_scope" and await answer_follow_up(
            dispatcher, tracker, conversation_language(tracker)
        ):
            return []  # a question about the places on screen, not off topic
        dispatcher.utter_message(
            response="utter_out_of_scope" if intent == "out_of_scope" else "utter_ok"
        )
        messages = user_messages(tracker)
        offered = _reason(tracker) != "asked"
        if not offered and seems_stuck([i for i, _ in messages], [t for _, t in messages]):
            dispatcher.utter_message(response="utter_offer_person_stuck")
        return []
