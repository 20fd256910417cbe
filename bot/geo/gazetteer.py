"""The municipalities and regions of Finland, looked up by any of their names or codes."""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.geo.distance import haversine_km


@dataclass(frozen=True)
class Region:
    """A region (maakunta); ``code`` is Statistics Finland's two-digit code."""

    code: str
    name_fi: str
    name_sv: str
    name_en: str


@dataclass(frozen=True)
class Municipality:
    """A municipality with the coordinates of its municipal centre (WGS84)."""

    code: str
    name_fi: str
    name_sv: str
    region_code: str
    lat: float
    lon: float
    other_names: tuple[str, ...] = ()


class UnknownPlaceError(LookupError):
    """A name or code matches no place; ``suggestions`` holds the closest valid names."""

    def __init__(self, kind: str, value: str, suggestions: list[str]) -> None:
        self.kind = kind
        self.value = value
        self.suggestions = suggestions
        hint = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown {kind} {value!r}{hint}")


_SPACES = re.compile(r"[\s_]+")


def normalise_name(text: str) -> str:
    """Case- and spacing-insensitive key for a place name."""
    return _SPACES.sub(" ", text.strip().casefold()).replace(" - ", "-")


class Gazetteer:
    """Read-only index of regions and municipalities."""

    def __init__(self, regions: Iterable[Region], municipalities: Iterable[Municipality]) -> None:
        self._regions = {r.code: r for r in regions}
        self._municipalities = {m.code: m for m in municipalities}
        for m in self._municipalities.values():
            if m.region_code not in self._regions:
                raise ValueError(
                    f"municipality {m.code} {m.name_fi}: unknown region {m.region_code}"
                )
        self._municipality_keys: dict[str, Municipality] = {}
        for m in self._municipalities.values():
            for key in (m.code, m.name_fi, m.name_sv, *m.other_names):
                self._municipality_keys[normalise_name(key)] = m
        self._region_keys: dict[str, Region] = {}
        for r in self._regions.values():
            for key in (r.code, r.name_fi, r.name_sv, r.name_en):
                self._region_keys[normalise_name(key)] = r

    @classmethod
    def from_dir(cls, folder: Path) -> Gazetteer:
        """Load ``regions.csv`` and ``municipalities.csv`` from ``folder``."""
        with (folder / "regions.csv").open(encoding="utf-8", newline="") as fh:
            regions = [
                Region(row["code"], row["name_fi"], row["name_sv"], row["name_en"])
                for row in csv.DictReader(fh)
            ]
        with (folder / "municipalities.csv").open(encoding="utf-8", newline="") as fh:
            municipalities = [
                Municipality(
                    code=row["code"],
                    name_fi=row["name_fi"],
                    name_sv=row["name_sv"],
                    region_code=row["region_code"],
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    other_names=tuple(n for n in row.get("other_names", "").split(";") if n),
                )
                for row in csv.DictReader(fh)
            ]
        return cls(regions, municipalities)

    @property
    def regions(self) -> list[Region]:
        """All regions, ordered by code."""
        return sorted(self._regions.values(), key=lambda r: r.code)

    @property
    def municipalities(self) -> list[Municipality]:
        """All municipalities, ordered by code."""
        return sorted(self._municipalities.values(), key=lambda m: m.code)

    def __iter__(self) -> Iterator[Municipality]:
        return iter(self.municipalities)

    def __len__(self) -> int:
        return len(self._municipalities)

    def municipality(self, name_or_code: str) -> Municipality:
        """The municipality with this Finnish or Swedish name or code, in any case."""
        key = normalise_name(name_or_code)
        if key.isdigit():
            key = key.zfill(3)
        found = self._municipality_keys.get(key)
        if found is None:
            raise UnknownPlaceError(
                "municipality", name_or_code, self._suggest(key, self._municipality_keys)
            )
        return found

    def region(self, name_or_code: str) -> Region:
        """The region with this Finnish, Swedish or English name or code, in any case."""
        key = normalise_name(name_or_code)
        if key.isdigit():
            key = key.zfill(2)
        found = self._region_keys.get(key)
        if found is None:
            raise UnknownPlaceError("region", name_or_code, self._suggest(key, self._region_keys))
        return found

    def region_of(self, municipality: Municipality) -> Region:
        """The region a municipality belongs to."""
        return self._regions[municipality.region_code]

    def municipalities_in(self, region: Region) -> list[Municipality]:
        """Municipalities of ``region``, ordered by code."""
        return [m for m in self.municipalities if m.region_code == region.code]

    def nearest(self, lat: float, lon: float) -> Municipality:
        """The municipality whose centre is nearest to the point."""
        return min(
            self._municipalities.values(), key=lambda m: haversine_km(lat, lon, m.lat, m.lon)
        )

    @staticmethod
    def _suggest(key: str, index: dict[str, Municipality] | dict[str, Region]) -> list[str]:
        close = difflib.get_close_matches(
            key, [k for k in index if not k.isdigit()], n=3, cutoff=0.6
        )
        names: list[str] = []
        for k in close:
            name = index[k].name_fi
            if name not in names:
                names.append(name)
        return names
