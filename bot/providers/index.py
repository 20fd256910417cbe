"""An in-process search index over the providers of the database.

The database stays the source of truth. The index holds, per active provider,
only what the hard filters and the ranking need — coordinates, bit masks of
topics, forms and languages, and service areas — as NumPy arrays, so a search
over 100 000 providers is a few vectorised passes instead of a table scan.
It is rebuilt when the database's provider data version changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bot import vocab
from bot.geo.distance import EARTH_RADIUS_KM
from bot.providers.matching import Coverage, ProviderFilter

TOPIC_BITS = {topic: 1 << i for i, topic in enumerate(sorted(vocab.TOPICS))}
FORM_BITS = {form: 1 << i for i, form in enumerate(sorted(vocab.SUPPORT_FORMS))}
LANGUAGE_BITS = {language: 1 << i for i, language in enumerate(sorted(vocab.LANGUAGES))}
assert max(len(TOPIC_BITS), len(FORM_BITS), len(LANGUAGE_BITS)) <= 63, "masks are int64"

_EMPTY = np.zeros(0, dtype=np.int64)


def mask_of(values: Iterable[str], bits: dict[str, int]) -> int:
    """The bit mask of ``values``; values without a bit are ignored."""
    mask = 0
    for value in values:
        mask |= bits.get(value, 0)
    return mask


@dataclass
class IndexRow:
    """What the index keeps of one active provider: masks built with :func:`mask_of`."""

    id: str
    lat: float
    lon: float
    municipality_code: str
    topic_mask: int = 0
    form_mask: int = 0
    language_mask: int = 0
    areas: list[tuple[str, str | None]] = field(default_factory=list)  # (scope, code)


class ProviderIndex:
    """Immutable snapshot of the active providers, ordered by id."""

    def __init__(self, rows: Iterable[IndexRow], version: int) -> None:
        ordered = sorted(rows, key=lambda r: r.id)
        self.version = version
        self.ids = [r.id for r in ordered]
        self._lat = np.radians(np.array([r.lat for r in ordered], dtype=np.float64))
        self._lon = np.radians(np.array([r.lon for r in ordered], dtype=np.float64))
        self._cos_lat = np.cos(self._lat)
        self._topics = np.array([r.topic_mask for r in ordered], dtype=np.int64)
        self._forms = np.array([r.form_mask for r in ordered], dtype=np.int64)
        self._languages = np.array([r.language_mask for r in ordered], dtype=np.int64)
        point_only: dict[str, list[int]] = defaultdict(list)
        by_municipality: dict[str, list[int]] = defaultdict(list)
        by_region: dict[str, list[int]] = defaultdict(list)
        nationwide: list[int] = []
        for i, row in enumerate(ordered):
            if not row.areas:
                point_only[row.municipality_code].append(i)
            for scope, code in row.areas:
                if scope == "nationwide":
                    nationwide.append(i)
                elif scope == "region" and code:
                    by_region[code].append(i)
                elif scope == "municipality" and code:
                    by_municipality[code].append(i)
        as_array = lambda items: np.unique(np.array(items, dtype=np.int64))  # noqa: E731
        self._point_only = {k: as_array(v) for k, v in point_only.items()}
        self._by_municipality = {k: as_array(v) for k, v in by_municipality.items()}
        self._by_region = {k: as_array(v) for k, v in by_region.items()}
        self._nationwide = as_array(nationwide)

    def __len__(self) -> int:
        return len(self.ids)

    def _accepts(self, filters: ProviderFilter, candidates: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask over ``candidates`` (or every provider) of those passing the filters."""
        pick = (lambda a: a) if candidates is None else (lambda a: a[candidates])
        ok = np.ones(len(self.ids) if candidates is None else len(candidates), dtype=bool)
        for wanted in filters.topic_sets:
            ok &= (pick(self._topics) & mask_of(wanted, TOPIC_BITS)) != 0
        if filters.forms:
            ok &= (pick(self._forms) & mask_of(filters.forms, FORM_BITS)) != 0
        if filters.language:
            ok &= (pick(self._languages) & LANGUAGE_BITS.get(filters.language, 0)) != 0
        return ok

    def nearest(
        self, lat: float, lon: float, filters: ProviderFilter, limit: int
    ) -> list[tuple[str, float]]:
        """Ids and great-circle distances of the ``limit`` nearest matches, ties by id."""
        candidates = np.flatnonzero(self._accepts(filters))
        if not len(candidates):
            return []
        phi, lmb = np.radians(lat), np.radians(lon)
        a = (
            np.sin((self._lat[candidates] - phi) / 2) ** 2
            + np.cos(phi)
            * self._cos_lat[candidates]
            * np.sin((self._lon[candidates] - lmb) / 2) ** 2
        )
        distances = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
        if len(candidates) > limit:
            # Everything up to the limit-th distance (ties included), then an exact order.
            cutoff = np.partition(distances, limit - 1)[limit - 1]
            keep = distances <= cutoff
            candidates, distances = candidates[keep], distances[keep]
        order = np.lexsort((candidates, distances))[:limit]  # by distance, then by id
        return [(self.ids[candidates[i]], float(distances[i])) for i in order]

    def covering(
        self, municipality_code: str, region_code: str, filters: ProviderFilter, limit: int
    ) -> list[Coverage]:
        """Providers whose service area covers the municipality: most local first, then by id."""
        steps = (
            (
                0,
                f"municipality:{municipality_code}",
                np.union1d(
                    self._point_only.get(municipality_code, _EMPTY),
                    self._by_municipality.get(municipality_code, _EMPTY),
                ),
            ),
            (1, f"region:{region_code}", self._by_region.get(region_code, _EMPTY)),
            (2, "nationwide", self._nationwide),
        )
        found: list[Coverage] = []
        seen: set[int] = set()
        for rank, label, candidates in steps:
            if len(found) >= limit:
                break
            if not len(candidates):
                continue
            for i in candidates[self._accepts(filters, candidates)]:
                if int(i) not in seen:
                    seen.add(int(i))
                    found.append(Coverage(self.ids[i], label, rank))
                    if len(found) >= limit:
                        break
        return found
