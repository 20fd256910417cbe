"""Provider cards: one JSON shape for rich channels and a plain-text rendering for the rest."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from actions.services import Services
from bot import vocab
from bot.providers.opening_hours import (
    OpeningHoursError,
    describe_opening_hours,
    hours_status,
    parse_opening_hours,
)
from bot.providers.search import SearchResult

_LANGUAGE_ORDER = {code: n for n, code in enumerate(vocab.LANGUAGES)}
MAP_URL = "https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=15/{lat:.5f}/{lon:.5f}"
_DEMO_SUFFIX = re.compile(r"\s*\(demo\)\s*$", re.IGNORECASE)


def display_name(name: str, demo: bool) -> str:
    """A provider's name for a card: a demo record's own "(demo)" suffix is left out.

    Every rendering of a demo card adds the demo label once (the widget's badge, the
    Messenger title, the text's second line); with the suffix kept it would say so twice.
    """
    return (_DEMO_SUFFIX.sub("", name) or name) if demo else name


def hours_in_words(text: str | None, services: Services, language: str) -> tuple[str, str]:
    """(the week's hours, open now or when it opens) in ``language``; empty when unknown.

    Never the data's own syntax: hours the library cannot read are left out.
    """
    if not text:
        return "", ""
    try:
        hours = parse_opening_hours(text)
    except OpeningHoursError:
        return "", ""
    local = services.service_hours.local(services.now())
    return describe_opening_hours(hours, language, local.date()), hours_status(
        hours, local, language
    ) or ""


def build_card(
    result: SearchResult,
    services: Services,
    language: str,
    home: str | None = None,
    wanted: str | None = None,
) -> dict[str, Any]:
    """The card of one recommendation, with labels in ``language``.

    Its languages start with ``wanted`` (the service language the person asked for),
    then the conversation's.

    ``home`` is the municipality the person named (not their own location): a place in
    it gets no distance, as "0 km" from the town's centre says nothing true about them.
    """
    p = result.provider
    week, status = hours_in_words(p.opening_hours, services, language)
    distance = None if p.municipality_code == home else result.distance_km
    label = services.label
    municipality = services.gazetteer.municipality(p.municipality_code)
    town = municipality.name_sv if language == "sv" else municipality.name_fi
    address = ", ".join(
        x for x in (p.street_address, " ".join(filter(None, (p.postal_code, town)))) if x
    )
    description = {"sv": p.description_sv, "en": p.description_en}.get(language) or p.description_fi
    facts = []
    if p.free_of_charge is not None:
        facts.append(label("card", "free" if p.free_of_charge else "paid", language))
    if p.wheelchair_accessible:
        facts.append(label("card", "accessible", language))
    if p.booking_required:
        facts.append(label("card", "booking", language))
    topics = sorted(p.topics)
    demo = p.source == "demo" or p.id.startswith("demo-")
    return {
        "id": p.id,
        "name": display_name(p.name(language), demo),
        "kind": result.kind,
        "helps_with": [label("topic", t, language) for t in topics],
        "forms": [label("support_form", f, language) for f in sorted(p.support_forms)],
        "languages": [
            label("language", code, language)
            for code in sorted(
                p.languages,
                key=lambda c: (
                    c != (wanted or language),
                    c != language,
                    _LANGUAGE_ORDER.get(c, 99),
                ),
            )
        ],
        "description": description,
        "address": address if result.kind == "in_person" else "",
        "distance_km": None if distance is None else round(distance, 1),
        "distance_text": ""
        if distance is None
        else label("card", "km_away", language).format(km=f"{max(distance, 1):.0f}"),
        "opening_hours": week,
        "hours_status": status,
        "open_now": result.open_now,
        "facts": facts,
        "phone": p.phone or "",
        "phone_link": "tel:" + quote("".join(c for c in (p.phone or "") if c.isdigit() or c == "+"))
        if p.phone
        else "",
        "website": p.website or "",
        "map_url": MAP_URL.format(lat=p.lat, lon=p.lon) if result.kind == "in_person" else "",
        "demo": demo,
    }


def card_text(card: dict[str, Any], services: Services, language: str) -> str:
    """The card as a few plain lines (REST, terminal, screen readers of plain channels)."""
    label = services.label
    lines = [card["name"]]
    if card.get("demo"):
        lines.append(label("card", "demo", language))
    where = " – ".join(x for x in (card["address"], card["distance_text"]) if x)
    lines.append(where or label("card", "remote", language))
    lines.append(f"{label('card', 'helps_with', language)}: {', '.join(card['helps_with'])}")
    if card.get("languages"):
        lines.append(f"{label('card', 'languages', language)}: {', '.join(card['languages'])}")
    hours = hours_line(card, services, language)
    if hours:
        lines.append(hours)
    if card["facts"]:
        lines.append(" · ".join(card["facts"]))
    for key, name in (("phone", "phone"), ("website", "web")):
        if card[key]:
            lines.append(f"{label('card', name, language)}: {card[key]}")
    return "\n".join(lines)


def hours_line(card: dict[str, Any], services: Services, language: str) -> str:
    """``Aukioloajat: auki nyt, klo 16 asti · ma–pe 9–16``: the state first, then the week."""
    parts = [x for x in (card.get("hours_status"), card.get("opening_hours")) if x]
    if not parts:
        return ""
    return f"{services.label('card', 'opening_hours', language)}: {' · '.join(parts)}"
