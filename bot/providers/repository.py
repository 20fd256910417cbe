"""Provider storage: the SQL repository and an in-memory fake with the same interface."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Table, delete, func, insert, literal, select, union_all, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import bindparam

from bot.db.models import (
    DataVersionRow,
    ProviderFormRow,
    ProviderLanguageRow,
    ProviderRow,
    ProviderServiceAreaRow,
    ProviderTargetGroupRow,
    ProviderTopicRow,
)
from bot.geo.distance import haversine_km
from bot.providers.index import (
    FORM_BITS,
    LANGUAGE_BITS,
    TOPIC_BITS,
    IndexRow,
    ProviderIndex,
)
from bot.providers.matching import Coverage, ProviderFilter, coverage_of
from bot.providers.model import Provider, ServiceArea

BATCH = 400
"""Rows per statement batch (keeps IN lists under every backend's parameter limit)."""

DATA_SET = "providers"
"""Name of the provider data in ``data_versions``."""


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int


@dataclass(frozen=True)
class SyncCounts:
    """What :meth:`SqlProviderRepository.sync_source` changed."""

    created: int
    updated: int
    unchanged: int
    deactivated: int


class ProviderRepository(Protocol):
    """What the search and the importer need from provider storage."""

    def upsert(
        self, providers: Sequence[Provider], on_progress: Callable[[int], None] | None = None
    ) -> UpsertCounts: ...

    def sync_source(
        self,
        source: str,
        providers: Sequence[Provider],
        *,
        full: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> SyncCounts: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Provider]: ...

    def count(self) -> int: ...

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]: ...

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]: ...


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

    def sync_source(
        self,
        source: str,
        providers: Sequence[Provider],
        *,
        full: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> SyncCounts:
        changed = [p for p in providers if self._providers.get(p.id) != p]
        counts = self.upsert(changed)
        keep = {p.id for p in providers}
        gone = [
            p
            for p in self._providers.values()
            if full and p.source == source and p.active and p.id not in keep
        ]
        self._providers.update((p.id, replace(p, active=False)) for p in gone)
        if on_progress:
            on_progress(len(providers))
        return SyncCounts(counts.created, counts.updated, len(providers) - len(changed), len(gone))

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


# Statements built once: per query only the parameters change (an expanding IN list).
_IDS = bindparam("ids", expanding=True)
_PROVIDERS = ProviderRow.__table__
_VERSION = select(DataVersionRow.version).where(DataVersionRow.name == DATA_SET)
_AREA_COLUMNS = (
    ProviderServiceAreaRow.provider_id,
    ProviderServiceAreaRow.scope,
    ProviderServiceAreaRow.region_code,
    ProviderServiceAreaRow.municipality_code,
)
_LOAD = {
    True: (
        select(_PROVIDERS).where(_PROVIDERS.c.id.in_(_IDS)),
        union_all(
            *(
                select(m.provider_id, literal(attribute), getattr(m, column)).where(
                    m.provider_id.in_(_IDS)
                )
                for m, column, attribute in _CHILD_TABLES
            )
        ),
        select(*_AREA_COLUMNS).where(ProviderServiceAreaRow.provider_id.in_(_IDS)),
    ),
    False: (
        select(_PROVIDERS),
        union_all(
            *(
                select(m.provider_id, literal(attribute), getattr(m, column))
                for m, column, attribute in _CHILD_TABLES
            )
        ),
        select(*_AREA_COLUMNS),
    ),
}


def _load(session: Any, params: dict[str, Any], *, by_id: bool) -> dict[str, Provider]:
    """Providers with their lists and areas: all of them, or those with ``params["ids"]``."""
    providers_stmt, lists_stmt, areas_stmt = _LOAD[by_id]
    rows = session.execute(providers_stmt, params).mappings().all()
    if not rows:
        return {}
    lists: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for pid, attribute, value in session.execute(lists_stmt, params):
        lists[pid][attribute].add(value)
    areas: dict[str, set[ServiceArea]] = defaultdict(set)
    for pid, scope, region, municipality in session.execute(areas_stmt, params):
        areas[pid].add(ServiceArea(scope, region if scope == "region" else municipality))
    return {
        r["id"]: Provider(
            id=r["id"],
            support_forms=frozenset(lists[r["id"]]["support_forms"]),
            topics=frozenset(lists[r["id"]]["topics"]),
            languages=frozenset(lists[r["id"]]["languages"]),
            target_groups=frozenset(lists[r["id"]]["target_groups"]),
            service_areas=frozenset(areas[r["id"]]),
            updated_at=r["updated_at"],
            **{name: r[name] for name in _SCALAR_FIELDS},
        )
        for r in rows
    }


def _bump_version(session: Any) -> None:
    """Raise the provider data version inside the writing transaction."""
    raised = session.execute(
        update(DataVersionRow)
        .where(DataVersionRow.name == DATA_SET)
        .values(version=DataVersionRow.version + 1)
    )
    if raised.rowcount == 0:
        session.execute(insert(DataVersionRow).values(name=DATA_SET, version=1))


class SqlProviderRepository:
    """Providers in the application database (SQLite or PostgreSQL)."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sessions = session_factory
        self._index: ProviderIndex | None = None
        self._index_lock = threading.Lock()

    def upsert(
        self, providers: Sequence[Provider], on_progress: Callable[[int], None] | None = None
    ) -> UpsertCounts:
        """Insert new and replace existing providers (by id), all in one transaction."""
        created = updated = 0
        with self._sessions.begin() as session:
            for batch in _chunks(providers):
                new, old = self._write(session, batch)
                created += new
                updated += old
                if on_progress:
                    on_progress(len(batch))
            _bump_version(session)
        return UpsertCounts(created, updated)

    def sync_source(
        self,
        source: str,
        providers: Sequence[Provider],
        *,
        full: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> SyncCounts:
        """Bring one source's providers up to date, in one transaction.

        Only providers that differ from the stored ones are written, so a
        repeated import changes nothing (not even ``updated_at``). With
        ``full``, the input is the whole source: its active providers that are
        not in it are marked inactive, never deleted (their history stays).
        """
        created = updated = unchanged = 0
        with self._sessions.begin() as session:
            for batch in _chunks(providers):
                stored = _load(session, {"ids": [p.id for p in batch]}, by_id=True)
                changed = [p for p in batch if stored.get(p.id) != p]
                unchanged += len(batch) - len(changed)
                if changed:
                    new, old = self._write(session, changed)
                    created += new
                    updated += old
                if on_progress:
                    on_progress(len(batch))
            deactivated = self._deactivate_others(session, source, providers) if full else 0
            if created or updated or deactivated:
                _bump_version(session)
        return SyncCounts(created, updated, unchanged, deactivated)

    @staticmethod
    def _deactivate_others(session: Any, source: str, providers: Sequence[Provider]) -> int:
        """Mark the source's active providers that are not in ``providers`` inactive."""
        keep = {p.id for p in providers}
        active = session.scalars(
            select(ProviderRow.id).where(ProviderRow.source == source, ProviderRow.active)
        )
        gone = sorted(set(active) - keep)
        for batch in _chunks(gone):
            session.execute(
                update(ProviderRow)
                .where(ProviderRow.id.in_(batch))
                .values(active=False, updated_at=func.now())
            )
        return len(gone)

    def _write(self, session: Any, batch: Sequence[Provider]) -> tuple[int, int]:
        """Insert or replace one batch of providers with their lists; (created, updated)."""
        ids = [p.id for p in batch]
        existing = set(session.scalars(select(ProviderRow.id).where(ProviderRow.id.in_(ids))))
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
        return len(new_rows), len(old_rows)

    @staticmethod
    def _row(provider: Provider) -> dict[str, Any]:
        row = {name: getattr(provider, name) for name in _SCALAR_FIELDS}
        row["id"] = provider.id
        return row

    def get_many(self, ids: Iterable[str]) -> dict[str, Provider]:
        """Providers by id (missing ids are left out): three queries whatever the count."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Provider] = {}
        with self._sessions() as session:
            for batch in _chunks(wanted):
                found.update(_load(session, {"ids": list(batch)}, by_id=True))
        return found

    def get(self, provider_id: str) -> Provider | None:
        """One provider by id."""
        return self.get_many([provider_id]).get(provider_id)

    def all(self) -> list[Provider]:
        """Every provider, active or not, ordered by id."""
        with self._sessions() as session:
            return sorted(_load(session, {}, by_id=False).values(), key=lambda p: p.id)

    def count(self) -> int:
        """Number of active providers."""
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(ProviderRow).where(ProviderRow.active)
                )
                or 0
            )

    def data_version(self) -> int:
        """The provider data version: raised by every write."""
        with self._sessions() as session:
            return int(session.scalar(_VERSION) or 0)

    def index(self) -> ProviderIndex:
        """The search index of the current data, rebuilt only when the data changed."""
        version = self.data_version()
        index = self._index
        if index is not None and index.version == version:
            return index
        with self._index_lock:  # one rebuild at a time; readers keep the old snapshot
            if self._index is None or self._index.version != version:
                self._index = self._build_index(version)
            return self._index

    def _build_index(self, version: int) -> ProviderIndex:
        with self._sessions() as session:
            rows = {
                pid: IndexRow(pid, lat, lon, municipality_code)
                for pid, lat, lon, municipality_code in session.execute(
                    select(
                        ProviderRow.id,
                        ProviderRow.lat,
                        ProviderRow.lon,
                        ProviderRow.municipality_code,
                    ).where(ProviderRow.active.is_(True))
                )
            }
            for model, column, bits, attribute in (
                (ProviderTopicRow, "topic", TOPIC_BITS, "topic_mask"),
                (ProviderFormRow, "form", FORM_BITS, "form_mask"),
                (ProviderLanguageRow, "language", LANGUAGE_BITS, "language_mask"),
            ):
                for pid, value in session.execute(
                    select(model.provider_id, getattr(model, column))
                ):
                    if (row := rows.get(pid)) is not None:
                        setattr(row, attribute, getattr(row, attribute) | bits.get(value, 0))
            for pid, scope, region, municipality in session.execute(select(*_AREA_COLUMNS)):
                if (row := rows.get(pid)) is not None:
                    row.areas.append((scope, region if scope == "region" else municipality))
        return ProviderIndex(rows.values(), version)

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]:
        """Ids and distances (km) of the ``limit`` nearest matching providers, ties by id."""
        return self.index().nearest(lat, lon, filters, limit)

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]:
        """Providers whose service area covers the municipality: most local first, then by id."""
        return self.index().covering(municipality_code, region_code, filters, limit)
