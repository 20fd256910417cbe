"""Search behaviour (SPEC §6) on the in-memory fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from bot import vocab
from bot.geo import Gazetteer, haversine_km
from bot.providers.matching import ProviderFilter
from bot.providers.model import Provider, ServiceArea
from bot.providers.repository import InMemoryProviderRepository, ProviderRepository
from bot.providers.search import InvalidQueryError, SearchQuery, search
from tests.conftest import BACKENDS, FIXTURES
from tests.helpers import load_providers

# A Friday at 11:00 in Helsinki (not a holiday).
FRIDAY_11 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["memory", *BACKENDS])
def repository(request, gazetteer, make_database) -> ProviderRepository:  # type: ignore[no-untyped-def]
    providers = load_providers(FIXTURES / "search_providers.yml", gazetteer)
    if request.param == "memory":
        return InMemoryProviderRepository(providers)
    repository = make_database(request.param).repository
    repository.upsert(providers)
    return repository


def ids(repository: ProviderRepository, gazetteer: Gazetteer, **query: object) -> list[str]:
    response = search(
        SearchQuery(**query), repository=repository, gazetteer=gazetteer, now=FRIDAY_11
    )  # type: ignore[arg-type]
    return [r.provider.id for r in response.results]


def test_topic_filter_and_basics_cover_general_skills(repository, gazetteer):
    # email: the library lists `basics`, which covers it; the club (phone/tablet only) does not.
    assert ids(
        repository, gazetteer, municipality="Kempele", topics=("email",), form="in_person"
    ) == [
        "oulu-library",
        "vaasa-sv",
        "helsinki-a",
    ]
    # smartphone: the club in Kempele itself comes first, then the library in Oulu.
    assert ids(
        repository, gazetteer, municipality="Kempele", topics=("smartphone",), form="in_person"
    )[:2] == [
        "kempele-club",
        "oulu-library",
    ]


def test_basics_does_not_cover_authority_topics(repository, gazetteer):
    assert ids(repository, gazetteer, municipality="Oulu", topics=("kela",), form="in_person") == []
    # Only the authority's own channel serves kela, remotely and nationwide.
    assert ids(repository, gazetteer, municipality="Oulu", topics=("kela",), form="remote") == [
        "kela-channel"
    ]
    # identification is not a general skill either: only who lists it.
    assert ids(repository, gazetteer, municipality="Oulu", topics=("identification",), limit=5) == [
        "oulu-phone"
    ]


def test_several_topics_must_all_be_covered(repository, gazetteer):
    assert ids(
        repository, gazetteer, municipality="Joensuu", topics=("computer", "email"), form="training"
    ) == ["joensuu-course"]
    assert (
        ids(
            repository,
            gazetteer,
            municipality="Joensuu",
            topics=("computer", "kela"),
            form="training",
        )
        == []
    )


def test_in_person_results_are_ordered_by_distance(repository, gazetteer):
    response = search(
        SearchQuery(municipality="Liminka", form="in_person", limit=10),
        repository=repository,
        gazetteer=gazetteer,
        now=FRIDAY_11,
    )
    distances = [r.distance_km for r in response.results]
    assert distances == sorted(distances)
    assert len(distances) == 7  # every in-person point of the fixture
    liminka = gazetteer.municipality("Liminka")
    first = response.results[0].provider
    assert response.results[0].distance_km == pytest.approx(
        haversine_km(liminka.lat, liminka.lon, first.lat, first.lon)
    )
    assert all(r.kind == "in_person" for r in response.results)


def test_ties_in_distance_are_broken_by_id(repository, gazetteer):
    # Both Helsinki points have no coordinates: both sit at the municipality centre.
    assert ids(repository, gazetteer, municipality="Helsinki", form="in_person", limit=2) == [
        "helsinki-a",
        "helsinki-b",
    ]


def test_form_filter(repository, gazetteer):
    assert ids(repository, gazetteer, municipality="Joensuu", form="training") == ["joensuu-course"]
    assert "joensuu-course" not in ids(
        repository, gazetteer, municipality="Joensuu", form="in_person", limit=20
    )
    # phone matches phone only; remote matches phone, video and chat.
    assert ids(repository, gazetteer, municipality="Oulu", form="chat", topics=("basics",)) == [
        "national-chat"
    ]
    assert ids(repository, gazetteer, municipality="Oulu", form="video") == ["pp-helpline"]


def test_remote_coverage_municipality_then_region_then_nationwide(repository, gazetteer):
    assert ids(repository, gazetteer, municipality="Oulu", form="remote", topics=("basics",)) == [
        "oulu-phone",
        "pp-helpline",
        "national-chat",
    ]
    # Liminka is in Pohjois-Pohjanmaa but is not Oulu: the Oulu-only line does not cover it.
    assert ids(
        repository, gazetteer, municipality="Liminka", form="remote", topics=("basics",)
    ) == [
        "pp-helpline",
        "national-chat",
    ]
    # Another region: only nationwide services.
    assert ids(repository, gazetteer, municipality="Vaasa", form="remote", topics=("basics",)) == [
        "national-chat"
    ]


def test_remote_results_carry_no_distance_and_say_which_area(repository, gazetteer):
    response = search(
        SearchQuery(municipality="Liminka", form="phone", topics=("basics",)),
        repository=repository,
        gazetteer=gazetteer,
        now=FRIDAY_11,
    )
    [result] = response.results
    assert result.kind == "remote" and result.distance_km is None
    assert result.matched["area"] == "region:Pohjois-Pohjanmaa"


def test_empty_service_area_covers_only_the_point_itself(repository, gazetteer):
    # Home visits in Lieksa (no area given) serve Lieksa, not its neighbour.
    assert ids(repository, gazetteer, municipality="Lieksa", form="home_visit") == ["lieksa-home"]
    assert ids(repository, gazetteer, municipality="Nurmes", form="home_visit") == []
    assert ids(repository, gazetteer, municipality="Lieksa", form="phone", topics=("email",)) == [
        "lieksa-home"
    ]


def test_language_filter(repository, gazetteer):
    assert ids(repository, gazetteer, municipality="Närpes", language="sv", form="in_person") == [
        "narpes-sv",
        "vaasa-sv",
        "oulu-library",
    ]
    assert ids(repository, gazetteer, municipality="Inari", language="se") == ["utsjoki-sami"]
    assert ids(repository, gazetteer, municipality="Espoo", language="so", form="in_person") == [
        "helsinki-a"
    ]


def test_without_a_form_both_kinds_are_offered(repository, gazetteer):
    response = search(
        SearchQuery(municipality="Oulu", topics=("email",), limit=4),
        repository=repository,
        gazetteer=gazetteer,
        now=FRIDAY_11,
    )
    assert [(r.provider.id, r.kind) for r in response.results] == [
        ("oulu-library", "in_person"),
        ("oulu-phone", "remote"),
        ("vaasa-sv", "in_person"),
        ("pp-helpline", "remote"),
    ]


def test_coordinates_as_the_place(repository, gazetteer):
    # A point in Kempele: the municipality for coverage is found from the point.
    response = search(
        SearchQuery(lat=64.913, lon=25.506, topics=("smartphone",), form="in_person"),
        repository=repository,
        gazetteer=gazetteer,
        now=FRIDAY_11,
    )
    assert response.query["municipality"] == "Kempele"
    assert response.query["point"] == "coordinates"
    assert response.results[0].provider.id == "kempele-club"


def test_open_now_uses_the_opening_hours(repository, gazetteer):
    def first(now: dt.datetime) -> bool | None:
        response = search(
            SearchQuery(municipality="Oulu", form="in_person", limit=1),
            repository=repository,
            gazetteer=gazetteer,
            now=now,
        )
        return response.results[0].open_now

    assert first(FRIDAY_11) is True
    assert first(dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.timezone.utc)) is False  # Sunday
    assert first(dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.timezone.utc)) is False  # 07:00 local
    assert first(dt.datetime(2026, 12, 24, 10, 0, tzinfo=dt.timezone.utc)) is False  # Christmas Eve
    helsinki = search(
        SearchQuery(municipality="Helsinki", form="in_person", limit=1),
        repository=repository,
        gazetteer=gazetteer,
        now=FRIDAY_11,
    )
    assert helsinki.results[0].open_now is None  # no hours known


@pytest.mark.parametrize(
    ("query", "field", "suggestion"),
    [
        ({"municipality": "Ouluu"}, "municipality", "Oulu"),
        ({"municipality": "Oulu", "topics": ("emial",)}, "topic", "email"),
        ({"municipality": "Oulu", "form": "remot"}, "form", "remote"),
        ({"municipality": "Oulu", "language": "sve"}, "language", "sv"),
        ({}, "place", None),
        ({"lat": 65.0}, "coordinates", None),
        ({"municipality": "Oulu", "limit": 0}, "limit", None),
    ],
)
def test_unknown_values_are_named_with_the_closest_valid_ones(
    repository, gazetteer, query, field, suggestion
):
    with pytest.raises(InvalidQueryError) as caught:
        search(SearchQuery(**query), repository=repository, gazetteer=gazetteer, now=FRIDAY_11)
    assert caught.value.field == field
    if suggestion:
        assert suggestion in caught.value.suggestions
        assert suggestion in str(caught.value)


def _random_providers(gazetteer: Gazetteer, count: int, seed: int) -> list[Provider]:
    rng = random.Random(seed)
    municipalities = gazetteer.municipalities
    regions = gazetteer.regions
    providers = []
    for i in range(count):
        home = rng.choice(municipalities)
        area_kind = rng.choice(["none", "none", "nationwide", "region", "municipality"])
        areas: frozenset[ServiceArea] = frozenset()
        if area_kind == "nationwide":
            areas = frozenset({ServiceArea("nationwide")})
        elif area_kind == "region":
            areas = frozenset({ServiceArea("region", rng.choice(regions).code)})
        elif area_kind == "municipality":
            areas = frozenset(
                ServiceArea("municipality", m.code) for m in rng.sample(municipalities, 3)
            )
        providers.append(
            Provider(
                id=f"rand-{i:04d}",
                name_fi=f"Satunnainen {i}",
                municipality_code=home.code,
                lat=round(home.lat + rng.uniform(-0.2, 0.2), 5),
                lon=round(home.lon + rng.uniform(-0.4, 0.4), 5),
                support_forms=frozenset(rng.sample(sorted(vocab.SUPPORT_FORMS), 2)),
                topics=frozenset(rng.sample(sorted(vocab.TOPICS), 3)),
                languages=frozenset(rng.sample(["fi", "sv", "en", "se", "ru"], 2)),
                service_areas=areas,
            )
        )
    return providers


@pytest.mark.parametrize("backend", BACKENDS)
def test_sql_search_equals_a_full_scan_on_random_data(backend, gazetteer, make_database):
    """The growing-box and area-by-area SQL answers exactly what a scan of everything does."""
    providers = _random_providers(gazetteer, 800, seed=7)
    repository = make_database(backend).repository
    repository.upsert(providers)
    stored = repository.get_many(p.id for p in providers)
    assert stored == {p.id: p for p in providers}  # a lossless round trip
    scan = InMemoryProviderRepository(providers)
    rng = random.Random(11)
    for _ in range(80):
        place = rng.choice(gazetteer.municipalities)
        filters = ProviderFilter(
            topic_sets=(vocab.covering_topics(rng.choice(sorted(vocab.TOPICS))),),
            forms=frozenset(rng.sample(sorted(vocab.SUPPORT_FORMS), rng.choice([1, 3]))),
            language=rng.choice([None, "fi", "sv", "se"]),
        )
        got = repository.nearest(place.lat, place.lon, filters, 5)
        want = scan.nearest(place.lat, place.lon, filters, 5)
        assert [pid for pid, _ in got] == [pid for pid, _ in want]
        assert [d for _, d in got] == pytest.approx([d for _, d in want], abs=1e-6)
        assert repository.covering(place.code, place.region_code, filters, 5) == scan.covering(
            place.code, place.region_code, filters, 5
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_write_from_another_process_is_seen_by_the_next_search(backend, gazetteer, make_database):
    """Each process keeps its own index; the data version tells it to reload."""
    database = make_database(backend)
    reader, writer = database.repository, database.repository  # two independent instances
    assert reader is not writer
    providers = load_providers(FIXTURES / "search_providers.yml", gazetteer)
    writer.upsert(providers)
    assert ids(reader, gazetteer, municipality="Lieksa", form="in_person", limit=1) != [
        "new-lieksa"
    ]
    version = reader.data_version()
    new = dataclasses.replace(
        next(p for p in providers if p.id == "helsinki-b"), id="new-lieksa", municipality_code="422"
    )
    new = dataclasses.replace(
        new, lat=gazetteer.municipality("Lieksa").lat, lon=gazetteer.municipality("Lieksa").lon
    )
    writer.upsert([new])
    assert reader.data_version() == version + 1
    assert ids(reader, gazetteer, municipality="Lieksa", form="in_person", limit=1) == [
        "new-lieksa"
    ]


def test_any_form_alternates_in_person_and_remote_nearest_first(repository, gazetteer):
    # Oulu has the library in town: in person first, then the most local remote help.
    in_person = ids(
        repository, gazetteer, municipality="Oulu", form="in_person", topics=("basics",), limit=2
    )
    remote = ids(repository, gazetteer, municipality="Oulu", form="remote", topics=("basics",))
    found = ids(repository, gazetteer, municipality="Oulu", topics=("basics",), limit=4)
    assert found == [in_person[0], remote[0], in_person[1], remote[1]]
    assert found[:2] == ["oulu-library", "oulu-phone"]


def test_any_form_offers_remote_help_first_when_nothing_is_near(repository, gazetteer):
    # Lieksa has no in-person help within 30 km; its own phone service comes first.
    found = ids(repository, gazetteer, municipality="Lieksa", topics=("basics",), limit=3)
    assert found[0] == "lieksa-home" and found[1] == "oulu-library"


def test_a_provider_giving_help_in_person_and_remotely_is_offered_once(gazetteer):
    providers = {p.id: p for p in load_providers(FIXTURES / "search_providers.yml", gazetteer)}
    library = providers["oulu-library"]
    providers["oulu-library"] = dataclasses.replace(
        library,
        support_forms=frozenset({"in_person", "phone"}),
        service_areas=frozenset({ServiceArea("municipality", library.municipality_code)}),
    )
    repository = InMemoryProviderRepository(list(providers.values()))
    in_person = ids(
        repository, gazetteer, municipality="Oulu", form="in_person", topics=("basics",)
    )
    remote = ids(repository, gazetteer, municipality="Oulu", form="remote", topics=("basics",))
    assert in_person[0] == remote[0] == "oulu-library"  # first in both lists
    found = ids(repository, gazetteer, municipality="Oulu", topics=("basics",), limit=3)
    assert found[0] == "oulu-library" and found.count("oulu-library") == 1
    assert len(found) == 3
