"""The hard-filter and service-area rules of the search, in one place (SPEC §6)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.providers.model import Provider, ServiceArea


@dataclass(frozen=True)
class ProviderFilter:
    """Hard filters: each set in ``topic_sets`` must meet the provider's topics."""

    topic_sets: tuple[frozenset[str], ...] = ()
    forms: frozenset[str] = frozenset()
    language: str | None = None

    def accepts(self, provider: Provider) -> bool:
        """Whether ``provider`` passes every filter."""
        return (
            provider.active
            and all(provider.topics & wanted for wanted in self.topic_sets)
            and (not self.forms or bool(provider.forms_offered(self.forms)))
            and (self.language is None or self.language in provider.languages)
        )


@dataclass(frozen=True)
class Coverage:
    """A provider found by service area, with the area item that covered the place."""

    provider_id: str
    area: str  # "municipality:<code>", "region:<code>" or "nationwide"
    rank: int  # 0 municipality, 1 region, 2 nationwide: the more local the better


def area_rank(area: ServiceArea) -> int:
    """0 for a municipality, 1 for a region, 2 for the whole country."""
    return {"municipality": 0, "region": 1, "nationwide": 2}[area.scope]


def coverage_of(provider: Provider, municipality_code: str, region_code: str) -> Coverage | None:
    """How ``provider``'s service area covers a municipality, or ``None``.

    A provider without a service area serves the point itself: its own municipality.
    """
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
    best = min(matches, key=lambda a: (area_rank(a), a.code or ""))
    return Coverage(provider.id, str(best), area_rank(best))
