from __future__ import annotations

import pytest

from bot.geo import Gazetteer, Municipality, Region, UnknownPlaceError, haversine_km
from bot.geo.distance import bounding_box


@pytest.fixture
def small() -> Gazetteer:
    regions = [Region("15", "Pohjanmaa", "Österbotten", "Ostrobothnia")]
    municipalities = [
        Municipality("905", "Vaasa", "Vasa", "15", 63.096, 21.616),
        Municipality("545", "Närpiö", "Närpes", "15", 62.474, 21.337),
        Municipality("599", "Pedersöre", "Pedersöre", "15", 63.60, 22.80, ("Pedersören kunta",)),
    ]
    return Gazetteer(regions, municipalities)


@pytest.mark.parametrize("key", ["Vaasa", "vaasa", "VASA", " Vasa ", "905"])
def test_lookup_by_any_name_case_or_code(small: Gazetteer, key: str) -> None:
    assert small.municipality(key).code == "905"


def test_lookup_by_other_names_and_short_codes(small: Gazetteer) -> None:
    assert small.municipality("pedersören kunta").name_fi == "Pedersöre"
    assert small.region("15").name_sv == "Österbotten"
    assert small.region("ostrobothnia").code == "15"


def test_unknown_names_suggest_the_closest(small: Gazetteer) -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        small.municipality("Närpes stad")
    assert caught.value.suggestions == ["Närpiö"]
    assert "did you mean: Närpiö" in str(caught.value)


def test_nearest_centre(small: Gazetteer) -> None:
    assert small.nearest(62.5, 21.4).name_fi == "Närpiö"


def test_municipality_with_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        Gazetteer([], [Municipality("905", "Vaasa", "Vasa", "15", 63.1, 21.6)])


def test_haversine_known_distance() -> None:
    # Helsinki – Oulu centres: 4.84 degrees of latitude apart, about 540 km.
    assert haversine_km(60.1699, 24.9384, 65.0121, 25.4651) == pytest.approx(540, abs=5)
    assert haversine_km(65.0, 25.0, 65.0, 25.0) == 0.0


def test_bounding_box_contains_the_circle() -> None:
    lat, lon, radius = 69.9, 27.0, 50.0
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    for bearing_point in [(lat, max_lon), (lat, min_lon), (max_lat, lon), (min_lat, lon)]:
        assert haversine_km(lat, lon, *bearing_point) >= radius * 0.999
