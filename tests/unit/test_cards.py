"""Provider cards of demo records: marked as demo data exactly once, wherever they are shown.

A demo record's name already ends in "(demo)" (data/providers/demo.csv), and every
rendering adds the demo label: the widget's badge, the Messenger title, the text's
second line. The card's name leaves the record's own suffix out, so the label is there
once in each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cards import build_card, card_text, display_name
from actions.providers import show
from actions.services import Services, build_services
from bot.config import DEFAULT_DATA_DIR, PROJECT_ROOT
from bot.geo import Gazetteer
from bot.providers.files import read_raw_rows
from bot.providers.importer import validate_rows
from bot.providers.model import Provider
from bot.providers.repository import InMemoryProviderRepository
from bot.providers.search import SearchResponse, SearchResult
from connectors.messenger_messages import messages_for, plain_text_of

LANGUAGES = ("fi", "sv", "en")


@pytest.fixture(scope="module")
def demo_providers(gazetteer: Gazetteer) -> dict[str, Provider]:
    parsed = validate_rows(read_raw_rows(DEFAULT_DATA_DIR / "providers" / "demo.csv"), gazetteer)
    assert parsed.ok
    return {p.id: p for p in parsed.providers}


@pytest.fixture(scope="module")
def svc(gazetteer: Gazetteer, demo_providers: dict[str, Provider]) -> Services:
    # Only the gazetteer and the labels are read: nothing else needs a database.
    return build_services(
        gazetteer=gazetteer,
        providers=InMemoryProviderRepository(list(demo_providers.values())),
        handoffs=None,
        queue=None,
        agents=None,
    )


def widget_badges() -> dict[str, str]:
    """The widget's demo badge in each language, as web/widget.js shows it."""
    script = (PROJECT_ROOT / "web" / "widget.js").read_text(encoding="utf-8")
    badges = re.findall(r"^\s+demo: '([^']+)',$", script, re.MULTILINE)
    return dict(zip(LANGUAGES, badges, strict=True))


def result(provider: Provider) -> SearchResult:
    return SearchResult(provider, "in_person", 2.4, None, {})


def demo_mentions(text: str) -> int:
    return text.lower().count("demo")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_demo_card_says_demo_once_in_the_widget_messenger_and_text(
    demo_providers: dict[str, Provider], svc: Services, language: str
) -> None:
    provider = demo_providers["demo-oulu-digitupa"]
    assert provider.name(language).endswith("(demo)")  # the record itself stays marked
    card = build_card(result(provider), svc, language)
    assert card["demo"] is True
    label = svc.label("card", "demo", language)

    # The widget: the card's name as its heading, then its demo badge.
    widget = f"{card['name']}\n{widget_badges()[language]}"
    assert demo_mentions(widget) == 1

    dispatcher = CollectingDispatcher()
    tracker = Tracker("test-user", {"language": language}, {}, [], False, None, {}, "")
    show(dispatcher, SearchResponse({}, [result(provider)]), svc, language, tracker)
    message: dict[str, Any] = dispatcher.messages[-1]  # after the lead-in: the cards

    # Messenger: the generic template's element title.
    (template,) = messages_for(message)
    (element,) = template["attachment"]["payload"]["elements"]
    assert element["title"] == f"{card['name']} – {label}"
    assert demo_mentions(element["title"]) == 1

    # The plain text (other channels, and Messenger when it refuses the template).
    text = card_text(card, svc, language)
    assert text.splitlines()[:2] == [card["name"], label]
    assert demo_mentions(text) == 1
    assert [m["text"] for m in plain_text_of(message)] == [text]


def test_names_of_other_providers_are_kept_as_they_are() -> None:
    assert display_name("Kirjasto (demo)", demo=False) == "Kirjasto (demo)"
    assert display_name("Digitupa Oulu (demo)", demo=True) == "Digitupa Oulu"
    assert display_name("Digitupa Oulu (Demo) ", demo=True) == "Digitupa Oulu"
    assert display_name("Demokratiakahvila", demo=True) == "Demokratiakahvila"
    assert display_name("(demo)", demo=True) == "(demo)"  # never an empty name


def test_a_card_of_a_real_provider_has_no_demo_label(
    demo_providers: dict[str, Provider], svc: Services
) -> None:
    real = dataclasses.replace(
        demo_providers["demo-oulu-digitupa"],
        id="oulu-digitupa",
        source="manual",
        name_fi="Digitupa Oulu",
    )
    card = build_card(result(real), svc, "fi")
    assert card["demo"] is False
    assert demo_mentions(card_text(card, svc, "fi")) == 0


HOURS_IN_WORDS = {
    "fi": ("Aukioloajat", "ma–pe 9–16, la 10–14", "auki nyt, klo 16 asti"),
    "sv": ("Öppettider", "mån–fre 9–16, lör 10–14", "öppet nu, till 16"),
    "en": ("Opening hours", "Mon–Fri 9–16, Sat 10–14", "open now, until 16"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_cards_say_the_hours_in_words_in_messenger_and_in_text(
    demo_providers: dict[str, Provider], svc: Services, language: str
) -> None:
    provider = dataclasses.replace(
        demo_providers["demo-oulu-digitupa"],
        opening_hours="Mo-Fr 09:00-16:00; Sa 10:00-14:00; PH off",
    )
    # A Wednesday at 11:00 in Helsinki, with no holiday in the week after it.
    at = dataclasses.replace(
        svc, now=lambda: dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone.utc)
    )
    card = build_card(result(provider), at, language)
    label, week, status = HOURS_IN_WORDS[language]
    assert (card["opening_hours"], card["hours_status"]) == (week, status)
    assert f"{label}: {status} · {week}" in card_text(card, at, language).splitlines()

    dispatcher = CollectingDispatcher()
    tracker = Tracker("test-user", {"language": language}, {}, [], False, None, {}, "")
    show(dispatcher, SearchResponse({}, [result(provider)]), at, language, tracker)
    (template,) = messages_for(dispatcher.messages[-1])
    (element,) = template["attachment"]["payload"]["elements"]
    assert status in element["subtitle"]  # the state first: it matters most on a small screen
    assert not re.search(r"\b(Mo|Fr|Sa|PH)\b|\d\d:\d\d", element["subtitle"])


def test_a_place_in_the_town_the_person_named_gets_no_distance_from_its_centre(
    demo_providers: dict[str, Provider], svc: Services
) -> None:
    provider = demo_providers["demo-oulu-digitupa"]
    at_home = build_card(result(provider), svc, "fi", home=provider.municipality_code)
    assert (at_home["distance_km"], at_home["distance_text"]) == (None, "")
    assert "km" not in card_text(at_home, svc, "fi")
    elsewhere = build_card(
        SearchResult(provider, "in_person", 0.3, None, {}), svc, "fi", home="999"
    )
    assert elsewhere["distance_text"] == "noin 1 km päässä"  # never "0 km"
