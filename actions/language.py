"""The conversation language: from channel metadata, detection, or the person's wish."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from bot.nlu.language import SWITCH_CONFIDENCE
from bot.privacy import sensitive_kinds

CONVERSATION_LANGUAGES = ("fi", "sv", "en")


def response_in(domain: dict[str, Any], name: str, language: str) -> dict[str, Any]:
    """The variation of response ``name`` for ``language``: its text and buttons.

    For messages whose language is decided in the same action: Rasa renders a response
    with the slots as they were before the action's events apply.
    """
    variations = (domain.get("responses") or {}).get(name) or []
    default: dict[str, Any] = {}
    for variation in variations:
        conditions = variation.get("condition") or []
        if not conditions:
            default = default or variation
        elif any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            default = variation
            break
    return {k: v for k, v in default.items() if k in ("text", "buttons") and v}


def language_from_metadata(metadata: dict[str, Any] | None) -> str | None:
    """fi/sv/en from the channel: the page language (widget) or the locale (Messenger)."""
    for key in ("language", "page_language", "locale", "lang"):
        value = str((metadata or {}).get(key) or "").lower().replace("-", "_")
        code = value.split("_")[0]
        if code in CONVERSATION_LANGUAGES:
            return code
    return None


def _opened_by_channel(tracker: Tracker) -> bool:
    """Whether the channel started this session on purpose (``/session_start``, e.g. the widget opened).

    Rasa also runs this action by itself before the first message of a session; then no
    ``session_start`` message is waiting for an answer.
    """
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return intent == "session_start"
        if kind == "action" and event.get("name") != "action_extract_slots":
            return False
    return False


class ActionSessionStart(Action):
    """Starts a session, taking the language from the channel's metadata.

    When the channel opens the conversation itself, the bot greets first and says what it
    can do; otherwise the person's first message gets its own answer.
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        for slot in (
            "language",
            "topic",
            "municipality",
            "support_form",
            "service_language",
            "location",
        ):
            value = tracker.get_slot(slot)
            if value is not None:
                events.append(SlotSet(slot, value))
        opened = _opened_by_channel(tracker)
        metadata = (tracker.latest_message or {}).get("metadata") if opened else None
        language = language_from_metadata(metadata) or language_from_metadata(
            tracker.get_slot("session_started_metadata")
        )
        if language:
            events.append(SlotSet("language", language))
        if opened:
            if language is None or language == tracker.get_slot("language"):
                dispatcher.utter_message(response="utter_greet")
            else:  # Rasa would render the response in the language before this action
                dispatcher.utter_message(**response_in(domain, "utter_greet", language))
        events.append(ActionExecuted("action_listen"))
        return events


class ValidateSlotMappings(ValidationAction):
    """Fills the custom slots after every message: language and location.

    It also warns the person, in the conversation's language, when they wrote an
    identity code, a card number, an IBAN or a password: nothing here needs them, and
    what is stored is masked.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        text = str((tracker.latest_message or {}).get("text") or "")
        if sensitive_kinds(text):
            language = tracker.get_slot("language") or "fi"  # as just extracted
            dispatcher.utter_message(**response_in(domain, "utter_personal_data_warning", language))
        return events

    def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        message = tracker.latest_message or {}
        current = tracker.get_slot("language")
        intent = (message.get("intent") or {}).get("name")
        if intent == "change_language":
            wanted = [
                e["value"]
                for e in message.get("entities", [])
                if e.get("entity") == "language" and e.get("value") in CONVERSATION_LANGUAGES
            ]
            if wanted:
                return {"language": wanted[-1]}
        detection = message.get("language_detection") or {}
        detected = detection.get("language")
        if (
            detected in CONVERSATION_LANGUAGES
            and (detection.get("confidence") or 0) >= SWITCH_CONFIDENCE
        ):
            return {"language": detected}
        metadata_language = language_from_metadata(message.get("metadata"))
        if current is None and metadata_language:
            return {"language": metadata_language}
        return {}

    def extract_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        location = ((tracker.latest_message or {}).get("metadata") or {}).get("location")
        if isinstance(location, dict):
            try:
                lat, lon = float(location["lat"]), float(location["lon"])
            except (KeyError, TypeError, ValueError):
                return {}
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return {"location": {"lat": lat, "lon": lon}}
        return {}


class ActionChangeLanguage(Action):
    """Confirms the new conversation language, or says which ones we speak."""

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = [
            e.get("value")
            for e in (tracker.latest_message or {}).get("entities", [])
            if e.get("entity") == "language"
        ]
        if wanted and wanted[-1] not in CONVERSATION_LANGUAGES:
            dispatcher.utter_message(response="utter_language_unavailable")
            return [SlotSet("service_language", wanted[-1])]
        dispatcher.utter_message(response="utter_language_changed")
        return []
