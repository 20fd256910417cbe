"""Questions about the places just shown: "mitkä on aukioloajat?", "is it open on Saturday?".

After cards, people ask about them in their own words: the hours, the address and how
to get there, accessibility, the phone number, booking, "the second one". Such a
question names no need, so the classifier cannot place it: it comes here from the
fallback and the off-topic answer (:mod:`actions.fallback`, :mod:`actions.handoff`) while
the conversation has places on screen (the ``shown_places`` slot), and is answered
from the providers' own data in the conversation's language.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cards import MAP_URL, build_card, card_text, display_name, hours_in_words
from actions.services import Services, services
from bot.providers.model import Provider
from bot.providers.opening_hours import OpeningHoursError, describe_day, parse_opening_hours
from bot.providers.search import SearchResult

ASPECTS: dict[str, tuple[str, ...]] = {  # the specific first: "varata sinne" is booking
    "accessibility": (
        r"esteet", r"pyörätuoli", r"rollaattori", r"\bhissi", r"accessib", r"wheelchair",
        r"\blift\b", r"elevator", r"tillgänglig", r"rullstol", r"\bhiss\b",
    ),
    "booking": (
        r"ajanvara", r"\bvarata\b", r"\bvaraus", r"\bbook", r"appointment", r"\bboka",
        r"tidsbok",
    ),
    "phone": (
        r"puhelin", r"numero", r"soitta", r"soitan", r"\bphone\b", r"\bcall\b", r"\bnumber\b",
        r"telefon", r"\bringa\b", r"\bnummer",
    ),
    "more": (
        r"kerro (lisää|enemmän)", r"lisätie", r"tell me more", r"more about", r"berätta mer",
        r"mer om",
    ),
    "hours": (
        r"aukiolo", r"\bauki\b", r"\bavoinna\b", r"\bmilloin\b", r"\bopen\b", r"\bopening",
        r"\bhours\b", r"\bwhen\b", r"öppe[nt]", r"öppettid", r"\bnär\b",
    ),
    "address": (
        r"\bmissä\b", r"\bmissäs\b", r"osoite", r"sijait", r"pääse+(n|kö)?\b", r"\bsinne\b",
        r"\bwhere\b", r"address", r"directions", r"get there", r"\bvar\b", r"adress",
        r"hur kommer", r"hitta dit",
    ),
}  # fmt: skip
ORDINALS: dict[int, tuple[str, ...]] = {
    1: (r"ensimmäi", r"\beka(n|sta|an|ssa)?\b", r"\bfirst\b", r"\bförsta\b"),
    2: (
        r"\btoi(nen|sesta|sen|seen|sessa)\b",
        r"\btoka(n|sta|an|ssa)?\b",
        r"\bsecond\b",
        r"\bandra\b",
    ),
    3: (r"\bkolma(s|nnesta|nnen|nteen|nnessa)\b", r"\bthird\b", r"\btredje\b"),
    -1: (r"viimei", r"\blast\b", r"\bsista\b"),
}
DAYS: dict[str, tuple[str, ...]] = {
    "today": (r"tänään", r"\btoday\b", r"\bi dag\b", r"\bidag\b"),
    "tomorrow": (r"huomenna", r"\btomorrow\b", r"i morgon", r"imorgon"),
    "0": (r"maanantai", r"monday", r"måndag"),
    "1": (r"tiistai", r"tuesday", r"tisdag"),
    "2": (r"keskiviikko", r"wednesday", r"onsdag"),
    "3": (r"torstai", r"thursday", r"torsdag"),
    "4": (r"perjantai", r"friday", r"fredag"),
    "5": (r"lauantai", r"saturday", r"lördag"),
    "6": (r"sunnuntai", r"sunday", r"söndag"),
}
WORDS: dict[str, dict[str, str]] = {
    "fi": {
        "no_hours": "aukioloaikoja ei ole kerrottu",
        "map": "kartta",
        "accessible": "esteetön",
        "not_accessible": "ei ilmoitettu esteettömäksi",
        "unknown": "tietoa ei ole – kysy paikasta",
        "booking": "ajanvaraus tarvitaan",
        "no_booking": "ei ajanvarausta, voit mennä suoraan",
        "lead_hours": "Tässä aukioloajat:",
        "address": "{name} on osoitteessa {where}. Kartta: {link}",
        "address_remote": "{name} antaa tukea etänä, sillä ei ole käyntiosoitetta.",
        "phone_is": "{name}: puhelinnumero on {phone}.",
        "phone_none": "{name} ei ole kertonut puhelinnumeroa.",
        "lead_accessibility": "Tämän tiedän esteettömyydestä:",
        "lead_booking": "Tämän tiedän ajanvarauksesta:",
        "ask_which": "Mitä haluaisit tietää? Voin kertoa aukioloajat, osoitteen, esteettömyyden, puhelinnumeron tai ajanvarauksesta.",
    },
    "sv": {
        "no_hours": "öppettiderna har inte angetts",
        "map": "karta",
        "accessible": "tillgängligt",
        "not_accessible": "inte angivet som tillgängligt",
        "unknown": "uppgift saknas – fråga stället",
        "booking": "tidsbokning behövs",
        "no_booking": "ingen tidsbokning, du kan gå dit direkt",
        "lead_hours": "Här är öppettiderna:",
        "address": "{name} finns på adressen {where}. Karta: {link}",
        "address_remote": "{name} ger stöd på distans och har ingen besöksadress.",
        "phone_is": "Telefonnumret till {name} är {phone}.",
        "phone_none": "{name} har inte angett något telefonnummer.",
        "lead_accessibility": "Det här vet jag om tillgängligheten:",
        "lead_booking": "Det här vet jag om tidsbokning:",
        "ask_which": "Vad vill du veta? Jag kan berätta om öppettider, adress, tillgänglighet, telefonnummer eller tidsbokning.",
    },
    "en": {
        "no_hours": "no opening hours are given",
        "map": "map",
        "accessible": "wheelchair accessible",
        "not_accessible": "not stated to be accessible",
        "unknown": "not known – ask the place",
        "booking": "booking needed",
        "no_booking": "no booking needed, you can just go",
        "lead_hours": "Here are the opening hours:",
        "address": "You can find {name} at {where}. There is a map here: {link}",
        "address_remote": "{name} gives support remotely, so there is no address to visit.",
        "phone_is": "The phone number of {name} is {phone}.",
        "phone_none": "{name} has not given a phone number.",
        "lead_accessibility": "This is what I know about accessibility:",
        "lead_booking": "This is what I know about booking:",
        "ask_which": "What would you like to know? I can tell the opening hours, the address, accessibility, the phone number or about booking.",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Question:
    """What is asked (an aspect of :data:`ASPECTS`), about which place, for which day."""

    aspect: str
    which: int | None = None  # 1, 2, 3 or -1 (the last one); None: every place shown
    day: str | None = None  # "today", "tomorrow" or a weekday "0".."6"


def _first(patterns: dict[Any, tuple[str, ...]], text: str) -> Any:
    for key, choices in patterns.items():
        if any(re.search(p, text) for p in choices):
            return key
    return None


def read_question(text: str) -> Question | None:
    """The follow-up question in ``text``, if it is one (fi, sv or en)."""
    lowered = text.lower()
    day = _first(DAYS, lowered)
    aspect = _first(ASPECTS, lowered) or ("hours" if day else None)
    which = _first(ORDINALS, lowered)
    if aspect is None and which is None:
        return None
    return Question(aspect or "more", which, day)


def _pick(places: list[Provider], which: int | None) -> list[Provider]:
    if which is None:
        return places
    index = which - 1 if which > 0 else len(places) - 1
    return [places[index]] if 0 <= index < len(places) else []


def _day(today: dt.date, day: str) -> dt.date:
    if day == "today":
        return today
    if day == "tomorrow":
        return today + dt.timedelta(days=1)
    return today + dt.timedelta(days=(int(day) - today.weekday()) % 7)


def describe(question: Question, place: Provider, svc: Services, language: str) -> str:
    """One line about ``place``: its name and the answer."""
    words = WORDS[language]
    name = display_name(
        place.name(language), place.source == "demo" or place.id.startswith("demo-")
    )
    local = svc.service_hours.local(svc.now())
    if question.aspect == "hours":
        if question.day and place.opening_hours:
            try:
                hours = parse_opening_hours(place.opening_hours)
            except OpeningHoursError:
                return f"{name}: {words['no_hours']}"
            day = _day(local.date(), question.day)
            return f"{name}: {describe_day(hours, day, language)}"
        week, status = hours_in_words(place.opening_hours, svc, language)
        return f"{name}: {' · '.join(x for x in (status, week) if x) or words['no_hours']}"
    if question.aspect == "address":
        if "in_person" not in place.support_forms and "training" not in place.support_forms:
            return words["address_remote"].format(name=name)
        town = svc.gazetteer.municipality(place.municipality_code)
        town_line = " ".join(
            x for x in (place.postal_code, town.name_sv if language == "sv" else town.name_fi) if x
        )
        where = ", ".join(x for x in (place.street_address, town_line) if x)
        link = MAP_URL.format(lat=place.lat, lon=place.lon)
        return words["address"].format(name=name, where=where, link=link)
    if question.aspect == "accessibility":
        key = {True: "accessible", False: "not_accessible", None: "unknown"}[
            place.wheelchair_accessible
        ]
        ask = f" ({place.phone})" if key == "unknown" and place.phone else ""
        return f"{name}: {words[key]}{ask}"
    if question.aspect == "phone":
        if place.phone:
            return words["phone_is"].format(name=name, phone=place.phone)
        web = f" {place.website}" if place.website else ""
        return words["phone_none"].format(name=name) + web
    if question.aspect == "booking":
        key = {True: "booking", False: "no_booking", None: "unknown"}[place.booking_required]
        return f"{name}: {words[key]}"
    # "Tell me more about the second one": its whole card, as text.
    card = build_card(SearchResult(place, "in_person", None, None, {}), svc, language)
    return card_text(card, svc, language)


async def answer_follow_up(
    dispatcher: CollectingDispatcher, tracker: Tracker, language: str
) -> bool:
    """Answers a question about the places on screen; False when the message is not one."""
    shown = tracker.get_slot("shown_places") or []
    text = str(tracker.latest_message.get("text") or "")
    if not shown or not text or text.startswith("/"):
        return False
    question = read_question(text)
    if question is None:
        return False
    svc = services()
    # Read in a worker thread: the action server's loop serves other conversations.
    found = await asyncio.to_thread(svc.providers.get_many, [str(pid) for pid in shown])
    places = [found[str(pid)] for pid in shown if str(pid) in found]
    chosen = _pick(places, question.which)
    if not chosen:
        return False
    if question.aspect == "more" and question.which is None:
        dispatcher.utter_message(text=WORDS[language]["ask_which"])
        return True
    lines = [describe(question, place, svc, language) for place in chosen]
    lead = WORDS[language].get(f"lead_{question.aspect}")
    dispatcher.utter_message(text="\n".join([lead, *lines] if lead else lines))
    return True
