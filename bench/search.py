"""Search latency on synthetic providers, SQLite and PostgreSQL, next to a naive full scan.

Run with ``make bench`` (or ``python -m bench.search --sizes 1000 10000``). Prints
figures; asserts nothing. PostgreSQL runs in a throw-away schema of the database
named by DIGITUKI_TEST_POSTGRES_URL and is skipped with a note when unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bot import vocab
from bot.config import DEFAULT_DATA_DIR
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.db.models import ProviderFormRow, ProviderLanguageRow, ProviderRow, ProviderTopicRow
from bot.geo import Gazetteer, haversine_km
from bot.providers.matching import Coverage, ProviderFilter, coverage_of
from bot.providers.model import Provider, ServiceArea
from bot.providers.repository import SqlProviderRepository
from bot.providers.search import SearchQuery, search

POSTGRES_URL = os.environ.get(
    "DIGITUKI_TEST_POSTGRES_URL", "postgresql+psycopg2://root@127.0.0.1:5432/test"
)
NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)
OTHER_LANGUAGES = ["se", "ru", "et", "ar", "so", "fa", "uk"]


def synthetic_providers(gazetteer: Gazetteer, count: int, seed: int = 1) -> list[Provider]:
    """Providers spread over every municipality, with a realistic mix of forms and languages."""
    rng = random.Random(seed)
    municipalities = gazetteer.municipalities
    general = [t for t in vocab.GENERAL_TOPICS if t != "basics"]
    providers = []
    for i in range(count):
        home = rng.choice(municipalities)
        forms = {
            f
            for f, p in (
                ("in_person", 0.6),
                ("phone", 0.3),
                ("chat", 0.15),
                ("video", 0.1),
                ("home_visit", 0.08),
                ("training", 0.15),
            )
            if rng.random() < p
        }
        forms = forms or {"in_person"}
        topics = set(rng.sample(general, rng.randint(1, 3)))
        if rng.random() < 0.5:
            topics.add("basics")
        if rng.random() < 0.05:
            topics.add(rng.choice(vocab.AUTHORITY_TOPICS))
        languages = {"fi"} if rng.random() < 0.95 else {"sv"}
        for language, share in (("sv", 0.12), ("en", 0.25)):
            if rng.random() < share:
                languages.add(language)
        if rng.random() < 0.05:
            languages.add(rng.choice(OTHER_LANGUAGES))
        areas: frozenset[ServiceArea] = frozenset()
        if forms & set(vocab.REMOTE_FORMS):
            draw = rng.random()
            if draw < 0.05:
                areas = frozenset({ServiceArea("nationwide")})
            elif draw < 0.45:
                areas = frozenset({ServiceArea("region", home.region_code)})
            elif draw < 0.75:
                areas = frozenset(
                    ServiceArea("municipality", m.code)
                    for m in [home, *rng.sample(municipalities, 2)]
                )
        providers.append(
            Provider(
                id=f"synthetic-{i:06d}",
                name_fi=f"Synteettinen tukipiste {i}",
                org_type=rng.choice(sorted(vocab.ORG_TYPES)),
                municipality_code=home.code,
                lat=home.lat + rng.gauss(0, 0.08),
                lon=home.lon + rng.gauss(0, 0.16),
                support_forms=frozenset(forms),
                topics=frozenset(topics),
                languages=frozenset(languages),
                service_areas=areas,
                opening_hours="Mo-Fr 09:00-16:00; PH off",
            )
        )
    return providers


def synthetic_queries(gazetteer: Gazetteer, count: int, seed: int = 2) -> list[SearchQuery]:
    rng = random.Random(seed)
    topics = sorted(vocab.TOPICS)
    queries = []
    for _ in range(count):
        place = rng.choice(gazetteer.municipalities)
        form = rng.choices(
            ["in_person", "remote", "training", "home_visit", None], [50, 20, 10, 5, 15]
        )[0]
        queries.append(
            SearchQuery(
                municipality=place.name_fi,
                topics=(rng.choice(topics),) if rng.random() < 0.8 else (),
                form=form,
                language=rng.choices(["fi", "sv", "en", "se"], [80, 10, 8, 2])[0],
            )
        )
    return queries


def filter_clauses(filters: ProviderFilter) -> list[Any]:
    """The hard filters as SQL: correlated EXISTS on the child tables."""
    pid = ProviderRow.id
    clauses: list[Any] = [ProviderRow.active.is_(True)]
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


class FullScanRepository(SqlProviderRepository):
    """The naive baseline: no index; every query reads and measures every matching row."""

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]:
        with self._sessions() as session:
            ids = list(session.scalars(select(ProviderRow.id).where(*filter_clauses(filters))))
        providers = self.get_many(ids)
        found = [
            c for p in providers.values() if (c := coverage_of(p, municipality_code, region_code))
        ]
        return sorted(found, key=lambda c: (c.rank, c.provider_id))[:limit]

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]:
        stmt = select(ProviderRow.id, ProviderRow.lat, ProviderRow.lon).where(
            *filter_clauses(filters)
        )
        with self._sessions() as session:
            hits = sorted(
                (haversine_km(lat, lon, la, lo), pid) for pid, la, lo in session.execute(stmt)
            )
        return [(pid, d) for d, pid in hits[:limit]]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(run: Callable[[SearchQuery], object], queries: list[SearchQuery]) -> list[float]:
    samples = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str | None]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    schema = f"digituki_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is optional for a benchmark
        print(f"  postgres: skipped ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        yield None
        return
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--queries", type=int, default=400, help="timed queries per size")
    parser.add_argument(
        "--scan-queries", type=int, default=40, help="timed full-scan queries per size"
    )
    args = parser.parse_args(argv)

    gazetteer = Gazetteer.from_dir(DEFAULT_DATA_DIR / "geo")
    queries = synthetic_queries(gazetteer, args.queries)
    scan_queries = queries[: args.scan_queries]
    print("search latency, ms (mixed queries: in-person, remote, training, home visit, any form)")
    header = (
        f"{'backend':9} {'providers':>9} {'import s':>9} {'index s':>8} "
        f"{'p50':>7} {'p95':>7} {'scan p50':>9} {'scan p95':>9}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            for size in args.sizes:
                with database(backend, Path(tmp)) as url:
                    if url is None:
                        break
                    engine = make_engine(url)
                    upgrade_schema(engine)
                    load_gazetteer(engine, gazetteer)
                    sessions = make_session_factory(engine)
                    repository = SqlProviderRepository(sessions)
                    providers = synthetic_providers(gazetteer, size)
                    start = time.perf_counter()
                    repository.upsert(providers)
                    import_s = time.perf_counter() - start
                    start = time.perf_counter()
                    repository.index()  # built once per data version, then reused
                    index_s = time.perf_counter() - start
                    if backend == "postgres":
                        with engine.begin() as conn:
                            conn.execute(text("ANALYZE"))
                    full_scan = FullScanRepository(sessions)

                    def indexed(q: SearchQuery, repo: SqlProviderRepository = repository) -> object:
                        return search(q, repository=repo, gazetteer=gazetteer, now=NOW)

                    def naive(q: SearchQuery, repo: SqlProviderRepository = full_scan) -> object:
                        return search(q, repository=repo, gazetteer=gazetteer, now=NOW)

                    timed(indexed, queries[:20])  # warm caches and connections
                    p50, p95 = percentiles(timed(indexed, queries))
                    s50, s95 = percentiles(timed(naive, scan_queries))
                    print(
                        f"{backend:9} {size:>9} {import_s:>9.1f} {index_s:>8.2f} {p50:>7.2f} {p95:>7.2f} {s50:>9.2f} {s95:>9.2f}",
                        flush=True,
                    )
                    engine.dispose()
    print("p50/p95: bot.providers.search with the in-process index (rebuilt when data changes)")
    print("scan: the same search reading and measuring every matching row per query")
    print("targets (SQLite): p95 < 5 ms at 10 000 providers, < 20 ms at 100 000")


if __name__ == "__main__":
    main()
