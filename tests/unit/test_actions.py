"""Actions with a real CollectingDispatcher and real Trackers; providers from an in-memory fake."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.handoff import ActionTalkToPerson
from actions.language import ActionSessionStart, ValidateSlotMappings, language_from_metadata
from actions.providers import ActionRecommendProviders, ActionShowMore, ValidateFindSupportForm
from actions.services import build_services, use_services
from bot.db.engine import make_engine, make_session_factory
from bot.handoff import HandoffRequests
from bot.providers.repository import InMemoryProviderRepository
from tests.conftest import FIXTURES
from tests.helpers import load_providers


@pytest.fixture
def handoffs(make_database) -> HandoffRequests:  # type: ignore[no-untyped-def]
    return HandoffRequests(make_session_factory(make_database("sqlite").engine))


@pytest.fixture(autouse=True)
def fake_services(gazetteer, handoffs):  # type: ignore[no-untyped-def]
    providers = InMemoryProviderRepository(
        load_providers(FIXTURES / "search_providers.yml", gazetteer)
    )
    use_services(build_services(providers=providers, handoffs=handoffs))
    yield
    use_services(None)


def make_tracker(
    text: str = "",
    intent: str = "request_support",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    **slots: Any,
) -> Tracker:
    """A tracker after one user message (after ``events``), with ``slots`` set."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "language_detection": slots.pop("detection", {}),
        "metadata": slots.pop("metadata", {}),
    }
    user = {"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"}
    return Tracker(
        "test-user",
        {"language": "fi", **slots},
        latest,
        # Rasa logs how the message was featurized right after it.
        [
            *(events or []),
            user,
            {"event": "user_featurization", "use_text_for_featurization": False},
        ],
        False,
        None,
        {"name": "rest"},
        "action_listen",
    )


async def run(action: Any, tracker: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher, events


def responses(dispatcher: CollectingDispatcher) -> list[str | None]:
    return [m.get("response") for m in dispatcher.messages]


def cards(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [c for m in dispatcher.messages if m.get("custom") for c in m["custom"]["cards"]]


async def test_recommendation_shows_nearest_cards_and_next_steps():
    tracker = make_tracker(topic=["email"], municipality="Oulu", support_form="in_person")
    dispatcher, events = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher) == ["utter_results", None, "utter_whats_next"]
    shown = cards(dispatcher)
    assert [c["id"] for c in shown] == ["oulu-library", "vaasa-sv", "helsinki-a"]
    first = shown[0]
    assert first["helps_with"] == ["digitaidot"] and first["distance_km"] < 5
    assert first["map_url"].startswith("https://www.openstreetmap.org/?mlat=65.01")
    assert "Testikirjasto Oulu" in dispatcher.messages[1]["text"]  # plain text for plain channels
    assert SlotSet("results_shown", 3) in events


async def test_cards_and_texts_follow_the_conversation_language():
    tracker = make_tracker(
        topic=["email"], municipality="Närpiö", support_form="in_person", language="sv"
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    shown = cards(dispatcher)
    assert shown[0]["name"] == "Teststöd Vasa"  # the Swedish name
    assert shown[0]["helps_with"] == ["digitala färdigheter"]


async def test_authority_topics_point_to_the_authority_first():
    tracker = make_tracker(topic=["kela"], municipality="Oulu", support_form="in_person")
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    first = dispatcher.messages[0]
    assert first["response"] == "utter_authority_first"
    assert first["authority"] == "Kela" and first["website"] == "https://www.kela.fi"
    assert responses(dispatcher)[1] == "utter_authority_how_to_use"
    assert cards(dispatcher)[0]["id"] == "oulu-library"  # general help with using the service


async def test_far_away_results_are_announced_honestly():
    tracker = make_tracker(topic=["smartphone"], municipality="Inari", support_form="in_person")
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert dispatcher.messages[0]["response"] == "utter_results_widened"
    assert dispatcher.messages[0]["municipality"] == "Inari"
    assert cards(dispatcher)[0]["id"] == "utsjoki-sami"  # the nearest, in the next municipality


async def test_a_missing_language_is_relaxed_and_said():
    tracker = make_tracker(
        topic=["smartphone"],
        municipality="Kempele",
        support_form="in_person",
        service_language="ru",
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert dispatcher.messages[0]["response"] == "utter_no_language"
    assert cards(dispatcher)[0]["id"] == "kempele-club"


async def test_other_form_switches_between_in_person_and_remote():
    tracker = make_tracker(
        intent="other_form", topic=["basics"], municipality="Oulu", support_form="in_person"
    )
    dispatcher, events = await run(ActionRecommendProviders(), tracker)
    assert SlotSet("support_form", "remote") in events
    assert [c["kind"] for c in cards(dispatcher)] == ["remote"] * 3


async def test_show_more_continues_where_the_list_ended():
    tracker = make_tracker(
        topic=["basics"], municipality="Oulu", support_form="in_person", results_shown=3
    )
    dispatcher, events = await run(ActionShowMore(), tracker)
    assert [c["id"] for c in cards(dispatcher)] == ["helsinki-b", "utsjoki-sami"]  # the last two
    assert SlotSet("results_shown", 5) in events
    # Once everything is shown, the person hears that there is no more, not "nothing found".
    dispatcher, events = await run(
        ActionShowMore(),
        make_tracker(
            topic=["basics"], municipality="Oulu", support_form="in_person", results_shown=5
        ),
    )
    assert responses(dispatcher) == ["utter_no_more_results"] and events == []


async def test_nothing_suitable_offers_a_person():
    tracker = make_tracker(topic=["police"], municipality="Oulu", support_form="home_visit")
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher)[-1] == "utter_no_results"


def test_form_accepts_swedish_names_and_refuses_unknown_places():
    validate = ValidateFindSupportForm()
    dispatcher = CollectingDispatcher()
    assert validate.validate_municipality("Vasa", dispatcher, make_tracker(), {}) == {
        "municipality": "Vaasa"
    }
    assert validate.validate_municipality("Atlantis", dispatcher, make_tracker(), {}) == {
        "municipality": None
    }
    assert responses(dispatcher) == ["utter_unknown_municipality"]
    assert validate.validate_topic(["email", "nonsense"], dispatcher, make_tracker(), {}) == {
        "topic": ["email"]
    }


async def test_two_stage_fallback_ends_with_an_offer_of_a_person():
    dispatcher, events = await run(ActionFallback(), make_tracker(intent="nlu_fallback"))
    assert responses(dispatcher) == ["utter_ask_rephrase"]
    assert UserUtteranceReverted() in events and SlotSet("fallbacks", 1) in events
    dispatcher, events = await run(
        ActionFallback(), make_tracker(intent="nlu_fallback", fallbacks=1)
    )
    assert responses(dispatcher) == ["utter_offer_person"]
    assert ActiveLoop(None) in events  # the form's question would bury the offer


@pytest.mark.parametrize(
    ("tracker_args", "expected"),
    [
        ({"text": "ok", "intent": "affirm", "detection": {"language": None}}, {}),
        ({"text": "Vaasa", "intent": "inform", "detection": {"language": None}}, {}),
        (
            {
                "text": "jag behöver hjälp med datorn",
                "detection": {"language": "sv", "confidence": 0.95},
            },
            {"language": "sv"},
        ),
        (
            {"text": "hmm maybe yes", "detection": {"language": "en", "confidence": 0.5}},
            {},
        ),  # not sure enough
        (
            {
                "text": "voidaanko puhua englantia",
                "intent": "change_language",
                "entities": [{"entity": "language", "value": "en"}],
                "detection": {"language": "fi", "confidence": 0.99},
            },
            {"language": "en"},
        ),
    ],
)
def test_language_switches_only_on_clear_evidence(tracker_args, expected):
    tracker = make_tracker(**tracker_args)
    assert ValidateSlotMappings().extract_language(CollectingDispatcher(), tracker, {}) == expected


def test_language_from_channel_metadata():
    assert language_from_metadata({"page_language": "sv-FI"}) == "sv"
    assert language_from_metadata({"locale": "en_GB"}) == "en"
    assert language_from_metadata({"locale": "de_DE"}) is None
    assert language_from_metadata(None) is None


async def test_identification_says_who_helps_and_swedish_place_names_in_swedish():
    tracker = make_tracker(
        topic=["identification"], municipality="Närpiö", support_form="in_person", language="sv"
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher)[:2] == ["utter_identification_first", "utter_authority_how_to_use"]
    assert "bankkoder" in dispatcher.messages[0]["service"]
    widened = [m for m in dispatcher.messages if m.get("response") == "utter_results_widened"]
    assert widened[0]["municipality"] == "Närpes"  # the nearest basics help is in Vaasa


async def test_talking_to_a_person_records_one_waiting_request(handoffs):
    tracker = make_tracker(
        "haluan puhua ihmiselle",
        "request_human",
        topic=["kela", "nonsense"],
        municipality="Pedersöre",
    )
    dispatcher, events = await run(ActionTalkToPerson(), tracker)
    assert responses(dispatcher) == ["utter_talk_to_person"]
    assert SlotSet("fallbacks", 0) in events and ActiveLoop(None) in events
    [request] = handoffs.waiting()
    assert (request.conversation_id, request.channel, request.language) == (
        "test-user",
        "rest",
        "fi",
    )
    assert (request.topics, request.municipality_code, request.reason) == (
        ("kela",),
        "599",
        "asked",
    )
    # Asking again while waiting keeps one request, with what is known now.
    offered = {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_offer_person"}}
    await run(
        ActionTalkToPerson(), make_tracker("kyllä", "affirm", events=[offered], language="sv")
    )
    [again] = handoffs.waiting()
    assert again.id == request.id and (again.language, again.reason) == ("sv", "fallback")
    assert again.topics == () and again.municipality_code is None


async def test_request_for_a_person_is_answered_even_when_it_cannot_be_recorded():
    broken = HandoffRequests(make_session_factory(make_engine("sqlite://")))  # no tables
    use_services(build_services(providers=InMemoryProviderRepository([]), handoffs=broken))
    dispatcher, _ = await run(ActionTalkToPerson(), make_tracker("ihminen", "request_human"))
    assert responses(dispatcher) == ["utter_talk_to_person"]  # logged, not raised


GREETINGS = {
    "responses": {
        "utter_greet": [
            {"condition": [{"type": "slot", "name": "language", "value": "sv"}], "text": "Hej!"},
            {"condition": [{"type": "slot", "name": "language", "value": "en"}], "text": "Hi!"},
            {"text": "Hei!"},
        ]
    }
}


async def test_a_session_opened_by_the_channel_greets_in_the_page_language():
    # The page language differs from the conversation's: the greeting is already in it.
    tracker = make_tracker("/session_start", "session_start", metadata={"page_language": "sv-FI"})
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker, GREETINGS)
    assert [m["text"] for m in dispatcher.messages] == ["Hej!"]
    assert SlotSet("language", "sv") in events
    # The same language, or none from the channel: Rasa renders the greeting response.
    for metadata in ({"page_language": "en"}, {}):
        tracker = make_tracker("/session_start", "session_start", language="en", metadata=metadata)
        dispatcher = CollectingDispatcher()
        await ActionSessionStart().run(dispatcher, tracker, GREETINGS)
        assert responses(dispatcher) == ["utter_greet"]


async def test_a_session_started_by_a_message_leaves_the_answer_to_the_message():
    tracker = make_tracker("tarviin apua", session_started_metadata={"locale": "en_GB"})
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker, GREETINGS)
    assert dispatcher.messages == []
    assert SlotSet("language", "en") in events


@pytest.mark.parametrize(
    ("text", "requested", "entities", "expected"),
    [
        ("kumpi vain", "support_form", [], {"support_form": "any"}),
        ("det spelar ingen roll", "support_form", [], {"support_form": "any"}),
        ("either is fine", "support_form", [], {"support_form": "any"}),
        ("ihan sama", "municipality", [], {}),  # not the question asked
        ("mikä vaan, puhelimitse", "support_form", [{"entity": "support_form"}], {}),
        ("en tiedä", "support_form", [], {}),
    ],
)
async def test_form_takes_any_form_will_do_for_an_answer(text, requested, entities, expected):
    tracker = make_tracker(text, "inform", entities=entities, requested_slot=requested)
    extracted = await ValidateFindSupportForm().extract_support_form(
        CollectingDispatcher(), tracker, {}
    )
    assert extracted == expected


async def test_far_results_in_another_language_say_both():
    # Joensuu's course is in Finnish only and 340 km from Oulu: the person hears both.
    tracker = make_tracker(
        topic=["computer"], municipality="Oulu", support_form="training", language="en"
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher)[:2] == ["utter_no_language", "utter_results_widened"]
    assert cards(dispatcher)[0]["id"] == "joensuu-course"


async def test_the_browsers_location_answers_the_place_question():
    form = ValidateFindSupportForm()
    at_oulu = {"location": {"lat": 65.0121, "lon": 25.4651}}
    tracker = make_tracker("/inform", "inform", metadata=at_oulu, requested_slot="municipality")
    assert await form.extract_municipality(CollectingDispatcher(), tracker, {}) == {
        "municipality": "Oulu"
    }
    # A place already given stays; nonsense coordinates give nothing.
    tracker = make_tracker("/inform", "inform", metadata=at_oulu, municipality="Lieksa")
    assert await form.extract_municipality(CollectingDispatcher(), tracker, {}) == {}
    nonsense = {"location": {"lat": 999, "lon": 0}}
    tracker = make_tracker("/inform", "inform", metadata=nonsense)
    assert await form.extract_municipality(CollectingDispatcher(), tracker, {}) == {}
