"""Finding support: the form's checks and the recommendations (SPEC §5)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.cards import build_card, card_text
from actions.services import Services, services
from bot import vocab
from bot.geo import UnknownPlaceError
from bot.providers.search import (
    NEARBY_KM,
    InvalidQueryError,
    SearchQuery,
    SearchResponse,
    SearchResult,
    search,
)

log = logging.getLogger(__name__)

PAGE = 3
FORMS = vocab.QUERY_FORMS | {"any"}
ANY_FORM = re.compile(
    r"\b(?:"
    r"kumpi (?:vain|vaan|tahansa)|mikä (?:vain|vaan|tahansa)|miten (?:vain|vaan)|ihan sama|"
    r"sama se|ei (?:sillä )?(?:ole )?väliä|kaikki käy|käy kumpi|"
    r"spelar ingen roll|vilket som(?: helst)?|vad som helst|det kvittar|kvittar|båda går|"
    r"either|any(?:thing| of them| way)?|does ?n[o']?t matter|dont matter|do(?: no|n')?t mind|"
    r"whatever|both (?:are|is) (?:fine|ok)"
    r")\b",
    re.IGNORECASE,
)
"""Answers to "how would you like to get help?" that leave the form open (support form ``any``)."""


def conversation_language(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in ("fi", "sv", "en") else "fi"


class ValidateFindSupportForm(FormValidationAction):
    """Checks what the form gathered; asks again for what is not usable."""

    def name(self) -> str:
        return "validate_find_support_form"

    async def extract_municipality(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """The browser gave a point ("use my location"): the municipality it lies in, roughly.

        The search itself measures from the point; the name is for what the bot says.
        """
        if tracker.get_slot("municipality"):
            return {}
        location = tracker.get_slot("location") or {}
        metadata = ((tracker.latest_message or {}).get("metadata") or {}).get("location")
        point = metadata if isinstance(metadata, dict) else location
        try:
            lat, lon = float(point["lat"]), float(point["lon"])
        except (KeyError, TypeError, ValueError):
            return {}
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return {}
        return {"municipality": services().gazetteer.nearest(lat, lon).name_fi}

    async def extract_support_form(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """ "Any of these is fine" to the question of the form: any form will do."""
        message = tracker.latest_message or {}
        if tracker.get_slot("requested_slot") != "support_form" or any(
            e.get("entity") == "support_form" for e in message.get("entities", [])
        ):
            return {}
        return {"support_form": "any"} if ANY_FORM.search(message.get("text") or "") else {}

    def validate_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        topics = [t for t in (value if isinstance(value, list) else [value]) if t in vocab.TOPICS]
        if topics and set(topics) <= DEVICE_TOPICS:
            # "I can use my laptop's camera" after "MyKanta won't open": the device is how,
            # the authority's service stays the need (and its own channel is pointed to).
            kept = [t for t in _topics_before(tracker) if t in AUTHORITY_OR_SHARED]
            topics = kept + topics
        return {"topic": list(dict.fromkeys(topics)) or None}

    def validate_municipality(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return {"municipality": services().gazetteer.municipality(str(value)).name_fi}
        except UnknownPlaceError:
            dispatcher.utter_message(response="utter_unknown_municipality")
            return {"municipality": None}

    def validate_support_form(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"support_form": value if value in FORMS else None}


DEVICE_TOPICS = frozenset({"smartphone", "tablet", "computer"})
AUTHORITY_OR_SHARED = frozenset(vocab.AUTHORITY_TOPICS + vocab.SHARED_TOPICS)


def _topics_before(tracker: Tracker) -> list[str]:
    """The ``topic`` slot as it was before the person's latest message."""
    value: Any = None
    latest_user = max(
        (i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1
    )
    for event in tracker.events[: max(latest_user, 0)]:
        if event.get("event") == "slot" and event.get("name") == "topic":
            value = event.get("value")
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def _search_topics(tracker: Tracker) -> list[str]:
    """The topics digital support providers help with; authority topics become ``basics``."""
    topics = tracker.get_slot("topic") or []
    return [t for t in topics if t not in vocab.AUTHORITY_TOPICS] or ["basics"]


def _requested_form(tracker: Tracker) -> str | None:
    """The support form asked for; ``None`` when any form will do."""
    form = tracker.get_slot("support_form")
    return None if form in (None, "any") else form


def _other_form(form: str | None) -> str:
    """The form to offer when the person asks for another kind of help."""
    return "in_person" if form in ("remote", "phone", "video", "chat") else "remote"


class ActionRecommendProviders(Action):
    """Authority first where it has the advisory duty, then up to three providers as cards."""

    def name(self) -> str:
        return "action_recommend_providers"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        svc = services()
        language = conversation_language(tracker)
        topics = list(tracker.get_slot("topic") or ["basics"])
        form = _requested_form(tracker)
        events: list[EventType] = []
        if (tracker.latest_message or {}).get("intent", {}).get("name") == "other_form":
            form = _other_form(form)
            events.append(SlotSet("support_form", form))

        authority_topics = [t for t in topics if t in svc.authorities]
        for topic in authority_topics:
            authority = svc.authorities[topic]
            dispatcher.utter_message(
                # Identification has no one authority: the text says who helps with what.
                response="utter_identification_first"
                if topic == "identification"
                else "utter_authority_first",
                authority=authority.name_in(language),
                service=authority.service.get(language, authority.service["fi"]),
                website=authority.website,
            )
        if authority_topics:
            dispatcher.utter_message(response="utter_authority_how_to_use")

        # The database is read in a worker thread: the action server's loop serves others.
        try:
            response = await asyncio.to_thread(
                find, tracker, svc, _search_topics(tracker), form, language, PAGE
            )
        except SQLAlchemyError:
            # The person is told, and may try again; the operators see the error.
            log.exception("provider search failed")
            dispatcher.utter_message(response="utter_search_failed")
            return events
        outcome = SlotSet("search_outcome", search_outcome(tracker, svc, topics, form, response))
        if response is None or not response.results:
            dispatcher.utter_message(response="utter_no_results")
            return [*events, SlotSet("results_shown", 0), outcome]
        show(dispatcher, response, svc, language, tracker)
        dispatcher.utter_message(response="utter_whats_next")
        return [
            *events,
            SlotSet("results_shown", len(response.results)),
            SlotSet("shown_places", [r.provider.id for r in response.results]),
            outcome,
        ]


class ActionShowMore(Action):
    """The next three recommendations of the same search."""

    def name(self) -> str:
        return "action_show_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        svc = services()
        language = conversation_language(tracker)
        shown = int(tracker.get_slot("results_shown") or 0)
        try:
            response = await asyncio.to_thread(
                find,
                tracker,
                svc,
                _search_topics(tracker),
                _requested_form(tracker),
                language,
                shown + PAGE,
            )
        except SQLAlchemyError:
            log.exception("provider search failed")
            dispatcher.utter_message(response="utter_search_failed")
            return []
        more = response.results[shown:] if response else []
        if response is None or not more:
            dispatcher.utter_message(
                response="utter_no_more_results" if shown else "utter_no_results"
            )
            return []
        show(
            dispatcher,
            SearchResponse(response.query, more, response.municipality),
            svc,
            language,
            tracker,
        )
        dispatcher.utter_message(response="utter_whats_next")
        return [
            SlotSet("results_shown", shown + len(more)),
            SlotSet("shown_places", [r.provider.id for r in more]),
        ]


def search_outcome(
    tracker: Tracker,
    svc: Services,
    topics: list[str],
    form: str | None,
    response: SearchResponse | None,
) -> dict[str, Any]:
    """What the reports need to know of a search (``bot/conversations/facts.py``): no personal data."""
    place = response.municipality if response else None
    if place is None and tracker.get_slot("municipality"):
        try:
            place = svc.gazetteer.municipality(str(tracker.get_slot("municipality")))
        except UnknownPlaceError:
            place = None
    results = response.results if response else []
    in_person = [
        r.distance_km for r in results if r.kind == "in_person" and r.distance_km is not None
    ]
    wanted = tracker.get_slot("service_language") or conversation_language(tracker)
    return {
        "topics": [t for t in topics if t in vocab.TOPICS],
        "municipality": place.code if place else None,
        "region": place.region_code if place else None,
        "language": wanted if wanted in vocab.LANGUAGES else None,
        "form": form or "any",
        "results": len(results),
        "nearest_km": round(min(in_person), 1) if in_person else None,
        "language_relaxed": bool(response and response.query.get("language_relaxed")),
    }


def find(
    tracker: Tracker, svc: Services, topics: list[str], form: str | None, language: str, limit: int
) -> SearchResponse | None:
    """Search in the service language asked for, or the conversation language; else any."""
    location = tracker.get_slot("location") or {}
    wanted_language = tracker.get_slot("service_language") or language
    query = SearchQuery(
        municipality=tracker.get_slot("municipality"),
        lat=location.get("lat"),
        lon=location.get("lon"),
        topics=tuple(topics),
        form=form,
        language=wanted_language if wanted_language in vocab.LANGUAGES else None,
        limit=limit,
    )
    try:
        response = search(
            query, repository=svc.providers, gazetteer=svc.gazetteer, timezone=svc.settings.timezone
        )
        if not response.results and query.language:
            response = search(
                SearchQuery(**{**query.__dict__, "language": None}),
                repository=svc.providers,
                gazetteer=svc.gazetteer,
                timezone=svc.settings.timezone,
            )
            response.query["language_relaxed"] = True
        if query.language and not response.query.get("language_relaxed"):
            response = _nearer_in_other_languages(query, response, svc)
        if not response.results and "identification" in topics:
            response = search(
                SearchQuery(**{**query.__dict__, "topics": ("basics",)}),
                repository=svc.providers,
                gazetteer=svc.gazetteer,
                timezone=svc.settings.timezone,
            )
    except InvalidQueryError as exc:
        log.warning("search refused: %s", exc)
        return None
    return response


def _nearest_in_person_km(results: list[SearchResult]) -> float | None:
    distances = [
        r.distance_km for r in results if r.kind == "in_person" and r.distance_km is not None
    ]
    return min(distances) if distances else None


def _nearer_in_other_languages(
    query: SearchQuery, response: SearchResponse, svc: Services
) -> SearchResponse:
    """The ladder when in-person help in the person's language is far away.

    Asked for help in person and the nearest place serving in their language is further
    than ``NEARBY_KM``: places near them that serve in other
    languages come first (said plainly: ``language_far_km``), then remote help in
    their language that covers the place, then the far places in their language.
    """
    if query.form != "in_person":
        return response  # any form will do: remote help in their language comes first
    own_km = _nearest_in_person_km(response.results)
    if own_km is not None and own_km <= NEARBY_KM:
        return response
    nearby = [
        r
        for r in search(
            SearchQuery(**{**query.__dict__, "language": None, "form": "in_person"}),
            repository=svc.providers,
            gazetteer=svc.gazetteer,
            timezone=svc.settings.timezone,
        ).results
        if r.distance_km is not None and r.distance_km <= NEARBY_KM
    ]
    if not nearby:
        return response
    remote = search(
        SearchQuery(**{**query.__dict__, "form": "remote"}),
        repository=svc.providers,
        gazetteer=svc.gazetteer,
        timezone=svc.settings.timezone,
    ).results
    ladder: list[SearchResult] = []
    seen: set[str] = set()
    for result in [*nearby[:2], *remote[:1], *response.results, *nearby[2:], *remote[1:]]:
        if result.provider.id not in seen:
            seen.add(result.provider.id)
            ladder.append(result)
    own = _nearest_in_person_km(
        [r for r in ladder if query.language in r.provider.languages and r.kind == "in_person"]
    )
    return SearchResponse(
        {**response.query, "language_far_km": None if own is None else round(own)},
        ladder[: query.limit],
        response.municipality,
    )


def show(
    dispatcher: CollectingDispatcher,
    response: SearchResponse,
    svc: Services,
    language: str,
    tracker: Tracker,
) -> None:
    """An honest lead-in, then the cards (JSON for rich channels, text for plain ones)."""
    municipality = response.query.get("municipality", "")
    if language == "sv" and response.municipality is not None:
        municipality = response.municipality.name_sv
    first = response.results[0]
    relaxed = bool(response.query.get("language_relaxed"))
    far = "language_far_km" in response.query
    if relaxed:
        dispatcher.utter_message(response="utter_no_language")
    elif far:
        km = response.query["language_far_km"]
        dispatcher.utter_message(
            response="utter_language_far" if km is not None else "utter_language_none_near",
            km=km,
        )
    if far:
        pass  # said above: nearer help is in other languages
    elif first.kind == "in_person" and (first.distance_km or 0) > NEARBY_KM:
        dispatcher.utter_message(response="utter_results_widened", municipality=municipality)
    elif first.kind == "remote" and response.query.get("form") in (None, "in_person"):
        dispatcher.utter_message(response="utter_results_remote_only", municipality=municipality)
    elif not relaxed:
        dispatcher.utter_message(response="utter_results")
    named = response.query.get("point") == "municipality_centre" and response.municipality
    home = response.municipality.code if named and response.municipality else None
    wanted = tracker.get_slot("service_language") or language
    cards = [build_card(r, svc, language, home, wanted) for r in response.results]
    dispatcher.utter_message(
        text="\n\n".join(card_text(c, svc, language) for c in cards),
        json_message={
            "type": "provider_cards",
            "language": language,
            "cards": cards,
            # Button titles for channels that draw the cards themselves (Messenger).
            "labels": {
                key: svc.label("card", key, language) for key in ("call", "web", "map", "demo")
            },
        },
    )
