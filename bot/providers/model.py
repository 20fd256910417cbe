"""The provider record of SPEC §6, independent of storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

AreaScope = Literal["nationwide", "region", "municipality"]


@dataclass(frozen=True)
class ServiceArea:
    """Where a remote service is offered: the whole country, a region or a municipality."""

    scope: AreaScope
    code: str | None = None  # region code (two digits) or municipality code (three digits)

    def __str__(self) -> str:
        return "nationwide" if self.scope == "nationwide" else f"{self.scope}:{self.code}"


@dataclass(frozen=True)
class Provider:
    """One service point or one remote service of a digital support provider."""

    id: str
    name_fi: str
    municipality_code: str
    lat: float
    lon: float
    support_forms: frozenset[str]
    topics: frozenset[str]
    languages: frozenset[str]
    name_sv: str | None = None
    name_en: str | None = None
    organisation: str | None = None
    org_type: str = "other"
    street_address: str | None = None
    postal_code: str | None = None
    location_is_municipality_centre: bool = False
    target_groups: frozenset[str] = frozenset({"everyone"})
    service_areas: frozenset[ServiceArea] = frozenset()
    opening_hours: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    free_of_charge: bool | None = None
    wheelchair_accessible: bool | None = None
    booking_required: bool | None = None
    description_fi: str | None = None
    description_sv: str | None = None
    description_en: str | None = None
    source: str = "import"
    active: bool = True
    updated_at: dt.datetime | None = field(default=None, compare=False)

    def forms_offered(self, wanted: frozenset[str]) -> frozenset[str]:
        """Which of ``wanted`` support forms this provider offers."""
        return self.support_forms & wanted

    def name(self, language: str = "fi") -> str:
        """The name in ``language``, falling back to Finnish."""
        return {"sv": self.name_sv, "en": self.name_en}.get(language) or self.name_fi
