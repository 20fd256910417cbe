"""Finding the nearest suitable digital support (SPEC §6).

Hard filters first (topic covered, form offered, language offered), then
in-person places ranked by great-circle distance and remote services by how
locally their service area covers the person's municipality.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot import vocab
from bot.geo import Gazetteer, Municipality, UnknownPlaceError, haversine_km
from bot.providers.matching import ProviderFilter
from bot.providers.model import Provider
from bot.providers.opening_hours import open_now
from bot.providers.repository import ProviderRepository

MAX_LIMIT = 50
DISTANCE_ORDERED_FORMS = frozenset({"in_person", "training"})
NEARBY_KM = 30.0
"""In-person help further than this is not "near": when any form will do, remote help comes first."""

Kind = Literal["in_person", "remote"]


class InvalidQueryError(ValueError):
    """A search parameter has a value we do not know; names it and the closest valid ones."""

    def __init__(self, field_name: str, value: object, suggestions: Iterable[str] = ()) -> None:
        self.field = field_name
        self.value = value
        self.suggestions = list(suggestions)
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown {field_name} {value!r}{hint}")


@dataclass(frozen=True)
class SearchQuery:
    """What the person needs and where they are."""

    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None
    topics: tuple[str, ...] = ()
    form: str | None = None
    language: str | None = None
    limit: int = 3


@dataclass(frozen=True)
class SearchResult:
    """One recommended provider and why it was chosen."""

    provider: Provider
    kind: Kind
    distance_km: float | None
    open_now: bool | None
    matched: dict[str, Any]

    def to_dict(self, gazetteer: Gazetteer, language: str = "fi") -> dict[str, Any]:
        """The JSON shape of ``digituki providers search --json``."""
        return {
            "id": self.provider.id,
            "name": self.provider.name(language),
            "kind": self.kind,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            "municipality": gazetteer.municipality(self.provider.municipality_code).name_fi,
            "open_now": self.open_now,
            "matched": self.matched,
        }


@dataclass(frozen=True)
class SearchResponse:
    """The normalised query and its results, best first."""

    query: dict[str, Any]
    results: list[SearchResult] = field(default_factory=list)
    municipality: Municipality | None = None

    def to_dict(self, gazetteer: Gazetteer) -> dict[str, Any]:
        language = self.query.get("language") or "fi"
        return {
            "query": self.query,
            "results": [r.to_dict(gazetteer, language) for r in self.results],
        }


def _closest(value: str, choices: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(value, sorted(choices), n=3, cutoff=0.5)


def _checked(field_name: str, value: str, allowed: Iterable[str]) -> str:
    normalised = value.strip().lower()
    allowed = set(allowed)
    if normalised not in allowed:
        raise InvalidQueryError(field_name, value, _closest(normalised, allowed))
    return normalised


@dataclass(frozen=True)
class _Place:
    municipality: Municipality
    lat: float
    lon: float
    point: str  # "coordinates" or "municipality_centre"


def _place(query: SearchQuery, gazetteer: Gazetteer) -> _Place:
    municipality = None
    if query.municipality:
        try:
            municipality = gazetteer.municipality(query.municipality)
        except UnknownPlaceError as exc:
            raise InvalidQueryError("municipality", query.municipality, exc.suggestions) from None
    if (query.lat is None) != (query.lon is None):
        raise InvalidQueryError("coordinates", "give both lat and lon")
    if query.lat is not None and query.lon is not None:
        lat, lon = float(query.lat), float(query.lon)
        if not (
            math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
        ):
            raise InvalidQueryError("coordinates", f"{query.lat},{query.lon}")
        return _Place(municipality or gazetteer.nearest(lat, lon), lat, lon, "coordinates")
    if municipality is None:
        raise InvalidQueryError("place", "none", ["a municipality, or lat and lon"])
    return _Place(municipality, municipality.lat, municipality.lon, "municipality_centre")


def _topic_match(provider: Provider, topic: str) -> str:
    return topic if topic in provider.topics else "basics"


def search(
    query: SearchQuery,
    *,
    repository: ProviderRepository,
    gazetteer: Gazetteer,
    now: dt.datetime | None = None,
    timezone: str = "Europe/Helsinki",
) -> SearchResponse:
    """Find up to ``query.limit`` suitable providers for the person's place and need."""
    topics = tuple(dict.fromkeys(_checked("topic", t, vocab.TOPICS) for t in query.topics))
    form = _checked("form", query.form, vocab.QUERY_FORMS) if query.form else None
    language = _checked("language", query.language, vocab.LANGUAGES) if query.language else None
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidQueryError("limit", query.limit, [f"1..{MAX_LIMIT}"])
    place = _place(query, gazetteer)
    region = gazetteer.region_of(place.municipality)
    local_now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(timezone))
    local_now = local_now.replace(tzinfo=None)

    normalised: dict[str, Any] = {
        "municipality": place.municipality.name_fi,
        "region": region.name_fi,
        "lat": round(place.lat, 5),
        "lon": round(place.lon, 5),
        "point": place.point,
        "topics": list(topics),
        "form": form,
        "language": language,
        "limit": query.limit,
    }
    topic_sets = tuple(vocab.covering_topics(t) for t in topics)

    def filters_for(forms: frozenset[str]) -> ProviderFilter:
        return ProviderFilter(topic_sets=topic_sets, forms=forms, language=language)

    def matched(provider: Provider, forms: frozenset[str], **extra: Any) -> dict[str, Any]:
        return {
            "topics": {t: _topic_match(provider, t) for t in topics},
            "forms": sorted(provider.forms_offered(forms)),
            "language": language,
            **extra,
        }

    def in_person(forms: frozenset[str]) -> list[_Hit]:
        found = repository.nearest(place.lat, place.lon, filters_for(forms), query.limit)
        return [_Hit(pid, "in_person", forms, distance) for pid, distance in found]

    def covered(forms: frozenset[str], kind: Kind) -> list[_Hit]:
        found = repository.covering(
            place.municipality.code, region.code, filters_for(forms), query.limit
        )
        return [_Hit(c.provider_id, kind, forms, None, c.area, c.rank) for c in found]

    if form is None:
        near = in_person(frozenset({"in_person"}))
        remote = covered(frozenset(vocab.REMOTE_FORMS), "remote")
        if near and remote and (near[0].distance_km or 0.0) > NEARBY_KM:
            # Nothing close by: remote help that covers the place is the better first offer.
            hits = _alternate(remote, near)[: query.limit]
        else:
            hits = _alternate(near, remote)[: query.limit]
    elif form in DISTANCE_ORDERED_FORMS:
        hits = in_person(frozenset({form}))
    elif form == "home_visit":
        hits = covered(frozenset({"home_visit"}), "in_person")
    else:
        hits = covered(vocab.forms_for(form), "remote")

    providers = repository.get_many(hit.provider_id for hit in hits)  # one round trip
    results = []
    for hit in hits:
        provider = providers[hit.provider_id]
        distance = hit.distance_km
        if hit.kind == "in_person" and distance is None:  # a home visit: how far they come
            distance = haversine_km(place.lat, place.lon, provider.lat, provider.lon)
        area = _area_label(hit.area, gazetteer) if hit.area else None
        results.append(
            SearchResult(
                provider=provider,
                kind=hit.kind,
                distance_km=distance,
                open_now=open_now(provider.opening_hours, local_now),
                matched=matched(provider, hit.forms, area=area),
            )
        )
    if form == "home_visit":  # the most local area first, then the nearest
        rank = {hit.provider_id: hit.rank for hit in hits}
        results.sort(key=lambda r: (rank[r.provider.id], r.distance_km or 0.0, r.provider.id))
    return SearchResponse(normalised, results, place.municipality)


@dataclass(frozen=True)
class _Hit:
    """A provider found by the index, before its record is loaded."""

    provider_id: str
    kind: Kind
    forms: frozenset[str]
    distance_km: float | None
    area: str | None = None
    rank: int = 0


def _alternate(first: list[_Hit], second: list[_Hit]) -> list[_Hit]:
    """Both kinds offered when no form was asked for: in-person, remote, in-person, ...

    A provider that gives both is offered once, where it comes first (its card names
    all its forms).
    """
    merged: list[_Hit] = []
    seen: set[str] = set()
    for i in range(max(len(first), len(second))):
        for hits in (first, second):
            if i < len(hits) and hits[i].provider_id not in seen:
                seen.add(hits[i].provider_id)
                merged.append(hits[i])
    return merged


def _area_label(area: str, gazetteer: Gazetteer) -> str:
    scope, _, code = area.partition(":")
    if scope == "region":
        return f"region:{gazetteer.region(code).name_fi}"
    if scope == "municipality":
        return f"municipality:{gazetteer.municipality(code).name_fi}"
    return area
