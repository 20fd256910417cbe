"""Provider storage: the SQL repository and an in-memory fake with the same interface."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import ColumnElement, bindparam

from bot.db.models import (
    ProviderFormRow,
    ProviderLanguageRow,
    ProviderRow,
    ProviderServiceAreaRow,
    ProviderTargetGroupRow,
    ProviderTopicRow,
)
from bot.geo.distance import bounding_box, haversine_km
from bot.providers.model import Provider, ServiceArea

BATCH = 400
"""Rows per statement batch (keeps IN lists under every backend's parameter limit)."""

FIRST_RADIUS_KM = 30.0
WHOLE_COUNTRY_KM = 1500.0


@dataclass(frozen=True)
class ProviderFilter:
    """Hard filters: each set in ``topic_sets`` must meet the provider's topics."""

    topic_sets: tuple[frozenset[str], ...] = ()
    forms: frozenset[str] = frozenset()
    language: str | None = None

    def accepts(self, provider: Provider) -> bool:
        """The same rule the SQL applies, for fakes and naive scans."""
        return (
            provider.active
            and all(provider.topics & wanted for wanted in self.topic_sets)
            and (not self.forms or bool(provider.forms_offered(self.forms)))
            and (self.language is None or self.language in provider.languages)
        )


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int


@dataclass(frozen=True)
class Coverage:
    """A provider found by service area, with the area item that covered the place."""

    provider_id: str
    area: str  # "municipality:<code>", "region:<code>" or "nationwide"
    rank: int  # 0 municipality, 1 region, 2 nationwide: the more local the better


class ProviderRepository(Protocol):
    """What the search and the importer need from provider storage."""

    def upsert(
        self, providers: Sequence[Provider], on_progress: Callable[[int], None] | None = None
    ) -> UpsertCounts: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Provider]: ...

    def count(self) -> int: ...

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]: ...

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]: ...


def _area_rank(area: ServiceArea) -> int:
    return {"municipality": 0, "region": 1, "nationwide": 2}[area.scope]


def coverage_of(provider: Provider, municipality_code: str, region_code: str) -> Coverage | None:
    """How ``provider``'s service area covers a municipality, or ``None``."""
    if not provider.service_areas:
        if provider.municipality_code == municipality_code:
            return Coverage(provider.id, f"municipality:{municipality_code}", 0)
        return None
    matches = [
        a
        for a in provider.service_areas
        if a.scope == "nationwide"
        or (a.scope == "region" and a.code == region_code)
        or (a.scope == "municipality" and a.code == municipality_code)
    ]
    if not matches:
        return None
    best = min(matches, key=lambda a: (_area_rank(a), a.code or ""))
    return Coverage(provider.id, str(best), _area_rank(best))


class InMemoryProviderRepository:
    """A list-backed repository for unit tests and as the naive baseline in benchmarks."""

    def __init__(self, providers: Iterable[Provider] = ()) -> None:
        self._providers: dict[str, Provider] = {p.id: p for p in providers}

    def upsert(
        self, providers: Sequence[Provider], on_progress: Callable[[int], None] | None = None
    ) -> UpsertCounts:
        created = sum(1 for p in providers if p.id not in self._providers)
        self._providers.update((p.id, p) for p in providers)
        if on_progress:
            on_progress(len(providers))
        return UpsertCounts(created, len(providers) - created)

    def get_many(self, ids: Iterable[str]) -> dict[str, Provider]:
        return {i: self._providers[i] for i in ids if i in self._providers}

    def count(self) -> int:
        return len(self._providers)

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]:
        hits = [
            (haversine_km(lat, lon, p.lat, p.lon), p.id)
            for p in self._providers.values()
            if filters.accepts(p)
        ]
        return [(pid, d) for d, pid in sorted(hits)[:limit]]

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]:
        found = [
            c
            for p in self._providers.values()
            if filters.accepts(p) and (c := coverage_of(p, municipality_code, region_code))
        ]
        return sorted(found, key=lambda c: (c.rank, c.provider_id))[:limit]


_CHILD_TABLES: tuple[tuple[Any, str, str], ...] = (
    (ProviderFormRow, "form", "support_forms"),
    (ProviderTopicRow, "topic", "topics"),
    (ProviderLanguageRow, "language", "languages"),
    (ProviderTargetGroupRow, "target_group", "target_groups"),
)

_SCALAR_FIELDS = (
    "name_fi",
    "name_sv",
    "name_en",
    "organisation",
    "org_type",
    "municipality_code",
    "street_address",
    "postal_code",
    "lat",
    "lon",
    "location_is_municipality_centre",
    "opening_hours",
    "phone",
    "email",
    "website",
    "free_of_charge",
    "wheelchair_accessible",
    "booking_required",
    "description_fi",
    "description_sv",
    "description_en",
    "source",
    "active",
)


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _to_domain(row: ProviderRow) -> Provider:
    return Provider(
        id=row.id,
        support_forms=frozenset(r.form for r in row.support_forms),
        topics=frozenset(r.topic for r in row.topics),
        languages=frozenset(r.language for r in row.languages),
        target_groups=frozenset(r.target_group for r in row.target_groups),
        service_areas=frozenset(
            ServiceArea(
                a.scope,
                a.region_code if a.scope == "region" else a.municipality_code,
            )
            for a in row.service_areas
        ),
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in _SCALAR_FIELDS},
    )


class SqlProviderRepository:
    """Providers in the application database (SQLite or PostgreSQL)."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory

    def upsert(
        self, providers: Sequence[Provider], on_progress: Callable[[int], None] | None = None
    ) -> UpsertCounts:
        """Insert new and replace existing providers (by id), all in one transaction."""
        created = updated = 0
        with self._sessions.begin() as session:
            for batch in _chunks(providers):
                ids = [p.id for p in batch]
                existing = set(
                    session.scalars(select(ProviderRow.id).where(ProviderRow.id.in_(ids)))
                )
                if existing:
                    for model, _, _ in _CHILD_TABLES:
                        session.execute(delete(model).where(model.provider_id.in_(existing)))
                    session.execute(
                        delete(ProviderServiceAreaRow).where(
                            ProviderServiceAreaRow.provider_id.in_(existing)
                        )
                    )
                now = func.now()
                new_rows = [self._row(p) for p in batch if p.id not in existing]
                old_rows = [{"b_id": p.id, **self._row(p)} for p in batch if p.id in existing]
                table: Table = ProviderRow.__table__
                if new_rows:
                    session.execute(insert(table).values(updated_at=now), new_rows)
                if old_rows:
                    session.execute(
                        update(table).where(table.c.id == bindparam("b_id")).values(updated_at=now),
                        old_rows,
                    )
                for model, column, attribute in _CHILD_TABLES:
                    values = [
                        {"provider_id": p.id, column: v}
                        for p in batch
                        for v in sorted(getattr(p, attribute))
                    ]
                    if values:
                        session.execute(insert(model.__table__), values)
                areas = [
                    {
                        "provider_id": p.id,
                        "scope": a.scope,
                        "region_code": a.code if a.scope == "region" else None,
                        "municipality_code": a.code if a.scope == "municipality" else None,
                    }
                    for p in batch
                    for a in p.service_areas
                ]
                if areas:
                    session.execute(insert(ProviderServiceAreaRow.__table__), areas)
                created += len(new_rows)
                updated += len(old_rows)
                if on_progress:
                    on_progress(len(batch))
        return UpsertCounts(created, updated)

    @staticmethod
    def _row(provider: Provider) -> dict[str, Any]:
        row = {name: getattr(provider, name) for name in _SCALAR_FIELDS}
        row["id"] = provider.id
        return row

    def get_many(self, ids: Iterable[str]) -> dict[str, Provider]:
        """Providers by id (missing ids are left out)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Provider] = {}
        with self._sessions() as session:
            for batch in _chunks(wanted):
                for row in session.scalars(select(ProviderRow).where(ProviderRow.id.in_(batch))):
                    found[row.id] = _to_domain(row)
        return found

    def get(self, provider_id: str) -> Provider | None:
        """One provider by id."""
        return self.get_many([provider_id]).get(provider_id)

    def count(self) -> int:
        """Number of active providers."""
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(ProviderRow).where(ProviderRow.active)
                )
                or 0
            )

    def all(self) -> list[Provider]:
        """Every provider, active or not, ordered by id."""
        with self._sessions() as session:
            return [
                _to_domain(row)
                for row in session.scalars(select(ProviderRow).order_by(ProviderRow.id))
            ]

    @staticmethod
    def _filter_clauses(filters: ProviderFilter) -> list[ColumnElement[bool]]:
        pid = ProviderRow.id
        clauses: list[ColumnElement[bool]] = [ProviderRow.active.is_(True)]
        for wanted in filters.topic_sets:
            clauses.append(
                select(ProviderTopicRow.provider_id)
                .where(ProviderTopicRow.provider_id == pid, ProviderTopicRow.topic.in_(wanted))
                .exists()
            )
        if filters.forms:
            clauses.append(
                select(ProviderFormRow.provider_id)
                .where(ProviderFormRow.provider_id == pid, ProviderFormRow.form.in_(filters.forms))
                .exists()
            )
        if filters.language:
            clauses.append(
                select(ProviderLanguageRow.provider_id)
                .where(
                    ProviderLanguageRow.provider_id == pid,
                    ProviderLanguageRow.language == filters.language,
                )
                .exists()
            )
        return clauses

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]:
        """Ids and distances (km) of the ``limit`` nearest matching providers, ties by id.

        Searches a box around the point that grows fourfold until it holds
        ``limit`` matches inside the circle it encloses: every provider nearer
        than the radius is then in the box, so the answer is exact.
        """
        clauses = self._filter_clauses(filters)
        radius = FIRST_RADIUS_KM
        with self._sessions() as session:
            while True:
                whole = radius >= WHOLE_COUNTRY_KM
                stmt = select(ProviderRow.id, ProviderRow.lat, ProviderRow.lon).where(*clauses)
                if not whole:
                    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
                    stmt = stmt.where(
                        ProviderRow.lat.between(min_lat, max_lat),
                        ProviderRow.lon.between(min_lon, max_lon),
                    )
                hits = sorted(
                    (d, pid)
                    for pid, plat, plon in session.execute(stmt)
                    if (d := haversine_km(lat, lon, plat, plon)) <= radius or whole
                )
                if len(hits) >= limit or whole:
                    return [(pid, d) for d, pid in hits[:limit]]
                radius *= 4

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]:
        """Providers whose service area covers the municipality: most local first, then by id."""
        clauses = self._filter_clauses(filters)
        area = ProviderServiceAreaRow
        has_no_area = ~select(area.id).where(area.provider_id == ProviderRow.id).exists()
        steps: list[tuple[Any, str, int]] = [
            (
                select(ProviderRow.id).where(
                    ProviderRow.municipality_code == municipality_code, has_no_area
                ),
                f"municipality:{municipality_code}",
                0,
            ),
            (
                select(ProviderRow.id)
                .join(area, area.provider_id == ProviderRow.id)
                .where(area.municipality_code == municipality_code),
                f"municipality:{municipality_code}",
                0,
            ),
            (
                select(ProviderRow.id)
                .join(area, area.provider_id == ProviderRow.id)
                .where(area.region_code == region_code),
                f"region:{region_code}",
                1,
            ),
            (
                select(ProviderRow.id)
                .join(area, area.provider_id == ProviderRow.id)
                .where(area.scope == "nationwide"),
                "nationwide",
                2,
            ),
        ]
        found: dict[str, Coverage] = {}
        with self._sessions() as session:
            by_rank: list[list[Coverage]] = [[], [], []]
            for stmt, label, rank in steps:
                if sum(len(r) for r in by_rank[:rank]) >= limit:
                    break  # everything still to come ranks below what we have
                ids = session.scalars(
                    stmt.where(*clauses).order_by(ProviderRow.id).limit(limit + len(found))
                )
                for pid in ids:
                    if pid not in found:
                        found[pid] = Coverage(pid, label, rank)
                        by_rank[rank].append(found[pid])
        return sorted(found.values(), key=lambda c: (c.rank, c.provider_id))[:limit]
