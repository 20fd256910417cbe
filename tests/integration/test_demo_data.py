"""The shipped demo provider set: valid, broad, and honest about being demo data."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.config import DEFAULT_DATA_DIR
from bot.providers.files import read_raw_rows
from bot.providers.importer import provider_row, validate_rows

PILOT_REGIONS = {"Pohjois-Pohjanmaa", "Pohjanmaa", "Uusimaa", "Lappi", "Pohjois-Karjala"}
SAMI_HOMELAND = {"Enontekiö", "Inari", "Utsjoki", "Sodankylä"}


@pytest.fixture(scope="module")
def demo(gazetteer):  # type: ignore[no-untyped-def]
    parsed = validate_rows(read_raw_rows(DEFAULT_DATA_DIR / "providers" / "demo.csv"), gazetteer)
    assert parsed.ok, [str(e) for e in parsed.errors]
    return parsed.providers


def region_of(provider, gazetteer):  # type: ignore[no-untyped-def]
    return gazetteer.region_of(gazetteer.municipality(provider.municipality_code)).name_fi


def test_size_and_spread_over_regions(demo, gazetteer):
    assert len(demo) >= 80
    regions = Counter(region_of(p, gazetteer) for p in demo)
    assert set(regions) == {r.name_fi for r in gazetteer.regions}
    assert sum(regions[r] for r in PILOT_REGIONS) > len(demo) / 2


def test_mix_of_actors_forms_and_languages(demo, gazetteer):
    assert {p.org_type for p in demo} >= {
        "library",
        "association",
        "company",
        "municipality",
        "authority",
        "education",
    }
    forms = Counter(f for p in demo for f in p.support_forms)
    assert all(
        forms[f] > 0 for f in ("in_person", "phone", "chat", "video", "home_visit", "training")
    )
    assert any(a.scope == "nationwide" for p in demo for a in p.service_areas)
    assert any(a.scope == "region" for p in demo for a in p.service_areas)
    swedish = {
        region_of(p, gazetteer)
        for p in demo
        if "sv" in p.languages and "in_person" in p.support_forms
    }
    assert {"Pohjanmaa", "Uusimaa"} <= swedish
    sami = {
        gazetteer.municipality(p.municipality_code).name_fi for p in demo if "se" in p.languages
    }
    assert sami & SAMI_HOMELAND


def test_marked_as_demo_and_no_invented_contacts_for_real_organisations(demo):
    for p in demo:
        assert p.name_fi.endswith("(demo)"), p.id
        assert p.description_fi and p.description_fi.startswith("Demotieto"), p.id
        if p.phone:
            assert re.fullmatch(r"\+358 000 0000 \d{3}", p.phone), p.id  # cannot ring anyone
        if p.email:
            assert p.email.endswith("@example.org"), p.id
        fictional = bool(p.website) and p.website.startswith("https://example.org/")
        if not fictional:
            # A real organisation: only its official web page, no invented contact details.
            assert not (p.phone or p.email or p.street_address or p.postal_code), p.id
            assert p.location_is_municipality_centre, p.id


def test_every_provider_comes_back_the_same_through_its_row(demo, gazetteer):
    rows = [(n, provider_row(p, gazetteer)) for n, p in enumerate(demo, start=2)]
    again = validate_rows(rows, gazetteer)
    assert again.errors == [] and again.providers == demo
