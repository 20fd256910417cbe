"""Actions with a real CollectingDispatcher and real Trackers; providers from an in-memory fake."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionAboutService, ActionFallback
from actions.feedback import ActionFeedback, ActionFeedbackComment, ValidateFeedbackForm
from actions.followup import Question, read_question
from actions.handoff import (
    ActionLeaveQueue,
    ActionNotHelped,
    ActionRequestCallback,
    ActionTalkToPerson,
    ValidateCallbackForm,
)
from actions.language import ActionSessionStart, ValidateSlotMappings, language_from_metadata
from actions.providers import ActionRecommendProviders, ActionShowMore, ValidateFindSupportForm
from actions.services import build_services, services, use_services
from bot.db.engine import make_engine, make_session_factory
from bot.handoff import Agent, Agents, HandoffQueue, HandoffRequests
from bot.providers.repository import InMemoryProviderRepository, SqlProviderRepository
from tests.conftest import FIXTURES
from tests.helpers import load_providers


class Clock:
    """A settable clock: Friday 27 November 2026, 12:00 in Helsinki, unless moved."""

    def __init__(self) -> None:
        self.moment = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.moment


@dataclasses.dataclass
class Desk:
    handoffs: HandoffRequests
    agents: Agents
    worker: Agent
    clock: Clock


@pytest.fixture
def desk(make_database) -> Desk:  # type: ignore[no-untyped-def]
    sessions = make_session_factory(make_database("sqlite").engine)
    agents = Agents(sessions)
    worker = agents.add("wilma", "kirjasto-2026-syksy", languages=["fi", "sv", "en"])
    agents.set_available(worker.id, True)
    return Desk(HandoffRequests(sessions), agents, worker, Clock())


@pytest.fixture(autouse=True)
def fake_services(gazetteer, desk):  # type: ignore[no-untyped-def]
    providers = InMemoryProviderRepository(
        load_providers(FIXTURES / "search_providers.yml", gazetteer)
    )
    sessions = desk.handoffs._sessions
    use_services(
        build_services(
            providers=providers,
            handoffs=desk.handoffs,
            agents=desk.agents,
            queue=HandoffQueue(sessions, expire_after=dt.timedelta(hours=2)),
            now=desk.clock,
        )
    )
    yield
    use_services(None)


def user_event(text: str, intent: str = "request_support") -> dict[str, Any]:
    """An earlier message of the person."""
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


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
    assert first["helps_with"] == ["digitaidot"] and first["distance_km"] is None  # in Oulu itself
    assert shown[1]["distance_text"].startswith("noin ") and shown[1]["distance_km"] > 100
    assert first["map_url"].startswith("https://www.openstreetmap.org/?mlat=65.01")
    assert "Testikirjasto Oulu" in dispatcher.messages[1]["text"]  # plain text for plain channels
    assert SlotSet("results_shown", 3) in events


async def test_help_in_the_persons_language_far_away_comes_after_help_near_them_said_plainly():
    # Somali in Kempele: the only place serving in Somali is in Helsinki, ~550 km away.
    tracker = make_tracker(
        topic=["email"], municipality="Kempele", support_form="in_person", service_language="so"
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher)[0] == "utter_language_far"
    km = dispatcher.messages[0]["km"]
    assert 500 < km < 650
    shown = cards(dispatcher)
    assert shown[0]["id"] == "oulu-library" and "somali" not in shown[0]["languages"]
    assert shown[0]["distance_km"] < 30  # near, in other languages
    far = next(c for c in shown if c["id"] == "helsinki-a")
    assert far["languages"][0] == "somali" and far["distance_km"] == pytest.approx(km, abs=1)
    assert len({c["id"] for c in shown}) == len(shown)


async def test_help_near_in_the_persons_language_needs_no_ladder():
    tracker = make_tracker(
        topic=["email"], municipality="Kempele", support_form="in_person", service_language="sv"
    )
    dispatcher, _ = await run(ActionRecommendProviders(), tracker)
    assert responses(dispatcher)[0] == "utter_results"
    assert cards(dispatcher)[0]["id"] == "oulu-library"
    assert cards(dispatcher)[0]["languages"][0] == "ruotsi"  # the wanted one first


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


async def test_a_place_not_otherwise_understood_with_places_on_screen_is_searched_there():
    narpes = [{"entity": "municipality", "value": "Närpiö", "start": 22, "end": 28}]
    shown = {"shown_places": ["vaasa-sv"], "topic": ["email"], "support_form": "in_person"}
    text = "och hur är det i Närpes då"
    tracker = make_tracker(text, intent="nlu_fallback", entities=narpes, **shown)
    dispatcher, events = await run(ActionFallback(), tracker)
    assert responses(dispatcher) == []
    assert SlotSet("municipality", "Närpiö") in events
    assert FollowupAction("action_recommend_providers") in events
    # No places on screen: the message is simply not understood.
    tracker = make_tracker(text, intent="nlu_fallback", entities=narpes)
    dispatcher, events = await run(ActionFallback(), tracker)
    assert responses(dispatcher) == ["utter_ask_rephrase"]


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


async def test_talking_to_a_person_in_service_hours_queues_with_place_and_wait(desk):
    desk.agents.seen([desk.worker.id], desk.clock())
    tracker = make_tracker(
        "haluan puhua ihmiselle",
        "request_human",
        events=[user_event("en saa kelan sivuja auki, hetu 131052-308T")],
        topic=["kela", "nonsense"],
        municipality="Pedersöre",
    )
    dispatcher, events = await run(ActionTalkToPerson(), tracker)
    assert responses(dispatcher) == ["utter_in_queue"]
    assert (dispatcher.messages[0]["queue_position"], dispatcher.messages[0]["queue_wait"]) == (
        1,
        8,
    )
    assert SlotSet("fallbacks", 0) in events and ActiveLoop(None) in events
    [request] = desk.handoffs.waiting()
    assert (request.conversation_id, request.channel, request.language, request.kind) == (
        "test-user",
        "rest",
        "fi",
        "chat",
    )
    assert (request.topics, request.municipality_code, request.reason) == (
        ("kela",),
        "599",
        "asked",
    )
    assert (
        request.summary == "en saa kelan sivuja auki, hetu [identity_code] / haluan puhua ihmiselle"
    )
    # Asking again while waiting keeps one request, with what is known now.
    offered = {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_offer_person"}}
    await run(
        ActionTalkToPerson(), make_tracker("kyllä", "affirm", events=[offered], language="sv")
    )
    [again] = desk.handoffs.waiting()
    assert again.id == request.id and (again.language, again.reason) == ("sv", "fallback")
    assert again.topics == () and again.municipality_code is None


async def test_a_second_person_waits_behind_the_first(desk):
    desk.agents.seen([desk.worker.id], desk.clock())
    await run(ActionTalkToPerson(), make_tracker("ihminen", "request_human"))
    second = make_tracker("ihminen", "request_human")
    second.sender_id = "second-user"
    dispatcher, events = await run(ActionTalkToPerson(), second)
    assert dispatcher.messages[0]["queue_position"] == 2 and SlotSet("queue_wait", 16) in events


async def test_outside_service_hours_the_bot_says_when_and_offers_a_call_back(desk):
    desk.clock.moment = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.timezone.utc)  # a Saturday
    desk.agents.seen([desk.worker.id], desk.clock())
    dispatcher, events = await run(
        ActionTalkToPerson(), make_tracker("ihminen", "request_human", language="sv")
    )
    assert responses(dispatcher) == ["utter_live_help_closed"]
    assert dispatcher.messages[0]["service_hours"] == "mån–fre 9–16"
    assert FollowupAction("callback_form") in events and ActiveLoop(None) in events
    assert desk.handoffs.waiting() == []  # nothing queued until the person gives a contact


async def test_with_no_worker_at_the_console_the_bot_offers_a_call_back(desk):
    dispatcher, events = await run(ActionTalkToPerson(), make_tracker("ihminen", "request_human"))
    assert responses(dispatcher) == ["utter_live_help_busy"]  # available, but no console open
    assert FollowupAction("callback_form") in events


async def test_a_call_back_needs_a_phone_or_address_and_consent(desk):
    validate = ValidateCallbackForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("soittakaa 040 123 4567 kiitos", "inform")
    assert await validate.validate_callback_contact(
        "soittakaa 040 123 4567 kiitos", dispatcher, tracker, {}
    ) == {"callback_contact": "040 123 4567"}
    asked = make_tracker("en tiiä", "out_of_scope")
    assert await validate.validate_callback_contact("en tiiä", dispatcher, asked, {}) == {
        "callback_contact": None
    }
    assert responses(dispatcher) == ["utter_callback_contact_invalid"]
    declined = make_tracker("ei kiitos", "deny")
    assert await validate.validate_callback_contact("ei kiitos", dispatcher, declined, {}) == {
        "callback_contact": "-",
        "callback_consent": False,
    }
    # The contact waits in the database: the conversation store keeps it masked.
    given = make_tracker("nimi@example.fi", "inform")
    assert await validate.validate_callback_contact("nimi@example.fi", dispatcher, given, {}) == {
        "callback_contact": "nimi@example.fi"
    }
    done = make_tracker(
        "kyllä",
        "affirm",
        events=[user_event("en osaa kirjautua kelaan")],
        callback_contact="[email]",
        callback_consent=True,
        handoff_reason="fallback",
        language="en",
    )
    dispatcher, events = await run(ActionRequestCallback(), done)
    assert responses(dispatcher) == ["utter_callback_recorded"]
    assert SlotSet("callback_contact", None) in events
    [request] = desk.handoffs.waiting()
    assert (request.kind, request.contact_method, request.contact_value) == (
        "callback",
        "email",
        "nimi@example.fi",
    )
    assert (request.reason, request.language) == ("fallback", "en")
    assert "en osaa kirjautua kelaan" in request.summary
    assert desk.handoffs.take_held_contact(done.sender_id) is None  # moved to the request

    await validate.validate_callback_contact("040 123 4567", dispatcher, tracker, {})
    no = make_tracker("ei", "deny", callback_contact="[phone]", callback_consent=False)
    dispatcher, _ = await run(ActionRequestCallback(), no)
    assert responses(dispatcher) == ["utter_callback_declined"]
    assert len(desk.handoffs.waiting()) == 1
    assert desk.handoffs.take_held_contact(no.sender_id) is None  # a declined contact is deleted


async def test_leaving_the_queue_cancels_the_request(desk):
    desk.agents.seen([desk.worker.id], desk.clock())
    await run(ActionTalkToPerson(), make_tracker("ihminen", "request_human"))
    dispatcher, _ = await run(ActionLeaveQueue(), make_tracker("/leave_queue", "leave_queue"))
    assert responses(dispatcher) == ["utter_left_queue"] and desk.handoffs.waiting() == []
    dispatcher, _ = await run(ActionLeaveQueue(), make_tracker("/leave_queue", "leave_queue"))
    assert responses(dispatcher) == ["utter_not_in_queue"]


async def test_a_person_getting_nowhere_is_offered_a_human():
    history = [
        user_event("mikä on huomisen sää", "out_of_scope"),
        user_event("ei", "deny"),
    ]
    dispatcher, _ = await run(ActionNotHelped(), make_tracker("asdfg", "out_of_scope"))
    assert responses(dispatcher) == ["utter_out_of_scope"]
    dispatcher, _ = await run(ActionNotHelped(), make_tracker("ei auta", "deny", events=history))
    assert responses(dispatcher) == ["utter_ok", "utter_offer_person_stuck"]
    offered = {"event": "bot", "metadata": {"utter_action": "utter_offer_person_stuck"}}
    dispatcher, _ = await run(
        ActionNotHelped(), make_tracker("ei", "deny", events=[*history, offered])
    )
    assert responses(dispatcher) == ["utter_ok"]  # "no" to the offer is not asked again


async def test_request_for_a_person_is_answered_even_when_it_cannot_be_recorded(desk):
    broken = make_session_factory(make_engine("sqlite://"))  # no tables
    use_services(
        dataclasses.replace(services(), handoffs=HandoffRequests(broken), agents=Agents(broken))
    )
    dispatcher, _ = await run(ActionTalkToPerson(), make_tracker("ihminen", "request_human"))
    assert responses(dispatcher) == ["utter_handoff_failed"]  # logged, not raised


@pytest.mark.parametrize("action", [ActionRecommendProviders(), ActionShowMore()])
async def test_a_search_the_database_cannot_answer_is_said_not_swallowed(action):
    broken = make_session_factory(make_engine("sqlite://"))  # no tables: every query fails
    use_services(dataclasses.replace(services(), providers=SqlProviderRepository(broken)))
    tracker = make_tracker(
        topic=["email"], municipality="Oulu", support_form="in_person", results_shown=3
    )
    dispatcher, events = await run(action, tracker)
    assert responses(dispatcher)[-1] == "utter_search_failed"  # logged, and the person told
    assert not [e for e in events if e.get("name") == "results_shown"]


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


async def test_feedback_thanks_and_asks_what_could_be_better_only_after_a_thumbs_down():
    up = make_tracker(
        '/feedback{"rating": "up"}', "feedback", [{"entity": "rating", "value": "up"}]
    )
    dispatcher, events = await run(ActionFeedback(), up)
    assert responses(dispatcher) == ["utter_feedback_thanks"] and events == []
    down = make_tracker(
        '/feedback{"rating": "down"}', "feedback", [{"entity": "rating", "value": "down"}]
    )
    dispatcher, events = await run(ActionFeedback(), down)
    assert responses(dispatcher) == ["utter_feedback_thanks"]
    assert events == [FollowupAction("feedback_form")]
    typed = make_tracker("haluan antaa palautetta", "feedback")
    dispatcher, events = await run(ActionFeedback(), typed)
    assert responses(dispatcher) == ["utter_ask_feedback"] and events == []

    validate = ValidateFeedbackForm()
    said = make_tracker("  liian   kaukana  ", "inform")
    assert await validate.validate_feedback_comment(
        "  liian   kaukana  ", dispatcher, said, {}
    ) == {"feedback_comment": "liian kaukana"}
    skipped = make_tracker("/deny", "deny")
    assert await validate.validate_feedback_comment("/deny", dispatcher, skipped, {}) == {
        "feedback_comment": "-"
    }
    long = "a" * 900
    assert (
        len(
            (await validate.validate_feedback_comment(long, dispatcher, said, {}))[
                "feedback_comment"
            ]
        )
        == 500
    )

    dispatcher, events = await run(
        ActionFeedbackComment(), make_tracker("x", feedback_comment="liian kaukana")
    )
    assert responses(dispatcher) == ["utter_feedback_comment_thanks"]
    assert events == [SlotSet("feedback_comment", None)]
    dispatcher, _ = await run(ActionFeedbackComment(), make_tracker("x", feedback_comment="-"))
    assert responses(dispatcher) == []


@pytest.mark.parametrize(
    ("text", "aspect", "which", "day"),
    [
        ("mitkä on aukioloajat?", "hours", None, None),
        ("missä se on?", "address", None, None),
        ("onko se esteetön?", "accessibility", None, None),
        ("kerro lisää toisesta", "more", 2, None),
        ("is it open tomorrow?", "hours", None, "tomorrow"),
        ("hur kommer jag dit?", "address", None, None),
        ("is the second one open on Saturday", "hours", 2, "5"),
        ("vad har den sista för telefonnummer", "phone", -1, None),
        ("tarviiko sinne varata aikaa", "booking", None, None),
        ("pääseekö sinne pyörätuolilla", "accessibility", None, None),
        ("what about the third", "more", 3, None),
    ],
)
def test_follow_up_questions_are_read_in_three_languages(text, aspect, which, day):
    assert read_question(text) == Question(aspect, which, day)


@pytest.mark.parametrize("text", ["kiitos", "en osaa käyttää sähköpostia", "hej", "ok"])
def test_other_messages_are_not_follow_up_questions(text):
    assert read_question(text) is None


async def shown_in_oulu() -> list[str]:
    tracker = make_tracker(topic=["email"], municipality="Oulu", support_form="in_person")
    _, events = await run(ActionRecommendProviders(), tracker)
    (shown,) = [e["value"] for e in events if e.get("name") == "shown_places"]
    return shown


async def test_a_question_about_the_places_shown_is_answered_from_their_data():
    shown = await shown_in_oulu()
    assert shown == ["oulu-library", "vaasa-sv", "helsinki-a"]
    # Friday 27 November at 12:00: the library is open until 18.
    tracker = make_tracker("mitkä on ekan aukioloajat", intent="nlu_fallback", shown_places=shown)
    dispatcher, events = await run(ActionFallback(), tracker)
    assert [m["text"] for m in dispatcher.messages] == [
        "Tässä aukioloajat:\nTestikirjasto Oulu: auki nyt, klo 18 asti · ma–pe 10–18, la 10–15"
    ]
    assert events == [SlotSet("fallbacks", 0)]  # understood: no "say it in other words"
    tracker = make_tracker(
        "is the first one open on Sunday", intent="out_of_scope", shown_places=shown, language="en"
    )
    dispatcher, _ = await run(ActionNotHelped(), tracker)
    assert [m["text"] for m in dispatcher.messages] == [
        "Here are the opening hours:\nTestikirjasto Oulu: on Sunday 29 Nov closed"
    ]
    tracker = make_tracker("missä toinen on?", intent="out_of_scope", shown_places=shown)
    dispatcher, _ = await run(ActionNotHelped(), tracker)
    assert dispatcher.messages[0]["text"].startswith(
        "Testituki Vaasa on osoitteessa Vaasa. Kartta: "
    )
    assert "openstreetmap.org" in dispatcher.messages[0]["text"]


async def test_a_question_read_as_about_the_service_is_answered_about_the_places_shown():
    shown = await shown_in_oulu()
    tracker = make_tracker(
        "när är det första öppet", intent="ask_about_service", shown_places=shown, language="sv"
    )
    dispatcher, _ = await run(ActionAboutService(), tracker)
    assert dispatcher.messages[0]["text"].startswith("Här är öppettiderna:\nTestbiblioteket")
    # Without places on screen it is the question it seems.
    tracker = make_tracker("vad är det här för tjänst", intent="ask_about_service", language="sv")
    dispatcher, _ = await run(ActionAboutService(), tracker)
    assert responses(dispatcher) == ["utter_about_service"]


async def test_without_places_on_screen_the_fallback_is_as_before():
    tracker = make_tracker("mitkä on aukioloajat", intent="nlu_fallback")
    dispatcher, _ = await run(ActionFallback(), tracker)
    assert responses(dispatcher) == ["utter_ask_rephrase"]


def test_a_device_mentioned_later_joins_the_authority_topic_instead_of_replacing_it():
    before = [{"event": "slot", "name": "topic", "value": ["health"]}]
    tracker = make_tracker("voin käyttää läppärin kameraa", events=before, topic=["computer"])
    validated = ValidateFindSupportForm().validate_topic(
        ["computer"], CollectingDispatcher(), tracker, {}
    )
    assert validated == {"topic": ["health", "computer"]}
    # Another need altogether still replaces the topic.
    tracker = make_tracker("no se on oikeastaan sähköposti", events=before, topic=["email"])
    validated = ValidateFindSupportForm().validate_topic(
        ["email"], CollectingDispatcher(), tracker, {}
    )
    assert validated == {"topic": ["email"]}
    # Without an earlier topic the device is the need.
    tracker = make_tracker("tabletti ei toimi", topic=["tablet"])
    validated = ValidateFindSupportForm().validate_topic(
        ["tablet"], CollectingDispatcher(), tracker, {}
    )
    assert validated == {"topic": ["tablet"]}
