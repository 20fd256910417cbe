"""Validating provider rows (read by :mod:`bot.providers.files`): every error reported.

A file is accepted only as a whole: :func:`validate_rows` returns the validated
providers together with all errors and warnings, and callers write nothing when
there is any error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import vocab
from bot.geo import Gazetteer, UnknownPlaceError, haversine_km
from bot.providers.files import COLUMNS, RawRow
from bot.providers.model import Provider, ServiceArea
from bot.providers.opening_hours import OpeningHoursError, parse_opening_hours

# Finland with a margin: a point outside is a typo or swapped coordinates.
FINLAND_BOX = (59.3, 70.2, 19.0, 31.7)
FAR_FROM_MUNICIPALITY_KM = 80.0

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")
# Shared with the PTV importer, so both accept the same contact details.
POSTAL_CODE = re.compile(r"^\d{5}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,30}$")
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}$")
URL = re.compile(r"^https?://[^\s/<>\"]+\.[^\s<>\"]+$", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
LENGTHS = {
    "name_fi": 300,
    "name_sv": 300,
    "name_en": 300,
    "organisation": 300,
    "street_address": 300,
    "opening_hours": 500,
    "website": 500,
    "email": 254,
    "description_fi": 4000,
    "description_sv": 4000,
    "description_en": 4000,
}


@dataclass(frozen=True)
class ImportIssue:
    """An error or warning about one value of one row."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass
class ParsedFile:
    """What a file holds: valid providers, and the errors and warnings found."""

    providers: list[Provider] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(value: Any) -> str:
    """A raw value as text: YAML scalars and lists become what a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_text(v) for v in value)
    return str(value).strip()


class _RowValidator:
    """Turns one raw row into a :class:`Provider`, collecting every problem."""

    def __init__(
        self, line: int, raw: Mapping[str, Any], gazetteer: Gazetteer, source: str
    ) -> None:
        self.line = line
        self.values = {k: _text(v) for k, v in raw.items()}
        self.gazetteer = gazetteer
        self.source = source
        self.errors: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []

    def error(self, column: str, reason: str) -> None:
        self.errors.append(ImportIssue(self.line, column, reason))

    def warn(self, column: str, reason: str) -> None:
        self.warnings.append(ImportIssue(self.line, column, reason))

    def text(self, column: str, *, required: bool = False) -> str | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.error(column, "required")
            return None
        if CONTROL.search(value):
            self.error(column, "contains control characters")
            return None
        limit = LENGTHS.get(column)
        if limit and len(value) > limit:
            self.error(column, f"longer than {limit} characters ({len(value)})")
            return None
        return value

    def matching(self, column: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.text(column)
        if value is not None and not pattern.match(value):
            self.error(column, f"{value!r} is not {what}")
            return None
        return value

    def choice(self, column: str, allowed: Iterable[str]) -> str | None:
        value = self.text(column, required=True)
        if value is None:
            return None
        allowed = sorted(allowed)
        if value.lower() not in allowed:
            self.error(column, f"{value!r} is not one of: {', '.join(allowed)}")
            return None
        return value.lower()

    def choices(
        self, column: str, allowed: Iterable[str], *, required: bool, hint: str = ""
    ) -> frozenset[str]:
        items = [v.strip().lower() for v in self.values.get(column, "").split(";") if v.strip()]
        if not items:
            if required:
                self.error(column, "required (a ';'-separated list)")
            return frozenset()
        allowed_set = set(allowed)
        bad = [v for v in items if v not in allowed_set]
        if bad:
            self.error(
                column,
                f"unknown value{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))}"
                f" (allowed: {', '.join(sorted(allowed_set))}){hint}",
            )
            return frozenset()
        return frozenset(items)

    def boolean(self, column: str) -> bool | None:
        value = self.values.get(column, "").lower()
        if not value:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.error(column, f"{value!r} is not a boolean (true/false, yes/no, 1/0)")
        return None

    def coordinate(self, column: str) -> float | None:
        value = self.values.get(column, "").replace(",", ".")
        try:
            return float(value)
        except ValueError:
            self.error(column, f"{value!r} is not a number")
            return None

    def service_areas(self) -> frozenset[ServiceArea]:
        items = [v.strip() for v in self.values.get("service_area", "").split(";") if v.strip()]
        areas: list[ServiceArea] = []
        for item in items:
            kind, _, name = item.partition(":")
            kind = kind.strip().lower()
            try:
                if kind == "nationwide" and not name:
                    areas.append(ServiceArea("nationwide"))
                elif kind == "region" and name.strip():
                    areas.append(ServiceArea("region", self.gazetteer.region(name).code))
                elif kind == "municipality" and name.strip():
                    areas.append(
                        ServiceArea("municipality", self.gazetteer.municipality(name).code)
                    )
                else:
                    self.error(
                        "service_area",
                        f"{item!r}: use nationwide, region:<name> or municipality:<name>",
                    )
            except UnknownPlaceError as exc:
                self.error("service_area", str(exc))
        if len(areas) > 1 and any(a.scope == "nationwide" for a in areas):
            self.error("service_area", "'nationwide' cannot be combined with other areas")
        return frozenset(areas)

    def provider(self) -> Provider | None:
        v = self
        if "__shape__" in self.values:
            self.error("row", self.values["__shape__"])
            return None
        unknown = sorted(set(self.values) - set(COLUMNS))
        for column in unknown:
            self.error(column, f"unknown field (known: {', '.join(COLUMNS)})")

        provider_id = v.text("id", required=True)
        if provider_id is not None and not _ID.match(provider_id):
            v.error("id", f"{provider_id!r}: use letters, digits and . _ : - (at most 120)")
        name_fi = v.text("name_fi", required=True)
        org_type = v.choice("org_type", vocab.ORG_TYPES)

        municipality = None
        municipality_name = v.text("municipality", required=True)
        if municipality_name is not None:
            try:
                municipality = v.gazetteer.municipality(municipality_name)
            except UnknownPlaceError as exc:
                v.error("municipality", str(exc))

        lat_text, lon_text = v.values.get("lat", ""), v.values.get("lon", "")
        lat = lon = None
        at_centre = False
        if lat_text and lon_text:
            lat, lon = v.coordinate("lat"), v.coordinate("lon")
            if lat is not None and lon is not None:
                min_lat, max_lat, min_lon, max_lon = FINLAND_BOX
                if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
                    swapped = min_lat <= lon <= max_lat and min_lon <= lat <= max_lon
                    v.error(
                        "lat",
                        f"{lat}, {lon} is outside Finland"
                        + (" (lat and lon swapped?)" if swapped else ""),
                    )
                elif municipality is not None:
                    far = haversine_km(lat, lon, municipality.lat, municipality.lon)
                    if far > FAR_FROM_MUNICIPALITY_KM:
                        v.warn("lat", f"{far:.0f} km from the centre of {municipality.name_fi}")
        elif lat_text or lon_text:
            v.error("lon" if lat_text else "lat", "give both lat and lon, or neither")
        elif municipality is not None:
            lat, lon, at_centre = municipality.lat, municipality.lon, True
            v.warn("lat", f"no coordinates: using the centre of {municipality.name_fi}")

        forms = v.choices(
            "support_forms",
            vocab.SUPPORT_FORMS,
            required=True,
            hint=" — for remote support name phone, video or chat"
            if "remote" in v.values.get("support_forms", "").lower()
            else "",
        )
        topics = v.choices("topics", vocab.TOPICS, required=True)
        languages = v.choices("languages", vocab.LANGUAGES, required=True)
        groups = v.choices("target_groups", vocab.TARGET_GROUPS, required=False)
        areas = v.service_areas()

        hours = v.text("opening_hours")
        if hours is not None:
            try:
                parse_opening_hours(hours)
            except OpeningHoursError as exc:
                v.error("opening_hours", f"{hours!r}: {exc}")

        fields = dict(
            name_sv=v.text("name_sv"),
            name_en=v.text("name_en"),
            organisation=v.text("organisation"),
            street_address=v.text("street_address"),
            postal_code=v.matching("postal_code", POSTAL_CODE, "a postal code of five digits"),
            phone=v.matching("phone", PHONE, "a phone number"),
            email=v.matching("email", EMAIL, "an e-mail address"),
            website=v.matching("website", URL, "a web address starting with https:// or http://"),
            free_of_charge=v.boolean("free_of_charge"),
            wheelchair_accessible=v.boolean("wheelchair_accessible"),
            booking_required=v.boolean("booking_required"),
            description_fi=v.text("description_fi"),
            description_sv=v.text("description_sv"),
            description_en=v.text("description_en"),
        )
        if v.errors:
            return None
        assert provider_id and name_fi and org_type and municipality and lat is not None
        assert lon is not None
        return Provider(
            id=provider_id,
            name_fi=name_fi,
            org_type=org_type,
            municipality_code=municipality.code,
            lat=lat,
            lon=lon,
            location_is_municipality_centre=at_centre,
            support_forms=forms,
            topics=topics,
            languages=languages,
            target_groups=groups or frozenset({"everyone"}),
            service_areas=areas,
            opening_hours=hours,
            source=v.source,
            **fields,  # type: ignore[arg-type]
        )


def validate_rows(
    rows: Iterable[RawRow], gazetteer: Gazetteer, *, source: str = "import"
) -> ParsedFile:
    """Validate every row; duplicates of an id within the file are errors too."""
    result = ParsedFile()
    first_line_of: dict[str, int] = {}
    for line, raw in rows:
        validator = _RowValidator(line, raw, gazetteer, source)
        provider = validator.provider()
        result.errors.extend(validator.errors)
        result.warnings.extend(validator.warnings)
        if provider is None:
            continue
        if provider.id in first_line_of:
            result.errors.append(
                ImportIssue(
                    line, "id", f"{provider.id!r} already on line {first_line_of[provider.id]}"
                )
            )
            continue
        first_line_of[provider.id] = line
        result.providers.append(provider)
    return result


def provider_row(provider: Provider, gazetteer: Gazetteer) -> dict[str, str]:
    """``provider`` as a row of the import format: what :func:`validate_rows` reads back."""

    def listed(values: Iterable[str]) -> str:
        return ";".join(sorted(values))

    def flag(value: bool | None) -> str:
        return "" if value is None else str(value).lower()

    areas = []
    for area in sorted(provider.service_areas, key=str):
        if area.scope == "nationwide":
            areas.append("nationwide")
        elif area.scope == "region" and area.code:
            areas.append(f"region:{gazetteer.region(area.code).name_fi}")
        elif area.code:
            areas.append(f"municipality:{gazetteer.municipality(area.code).name_fi}")
    at_centre = provider.location_is_municipality_centre
    return {
        "id": provider.id,
        "name_fi": provider.name_fi,
        "name_sv": provider.name_sv or "",
        "name_en": provider.name_en or "",
        "organisation": provider.organisation or "",
        "org_type": provider.org_type,
        "municipality": provider.municipality_code,
        "street_address": provider.street_address or "",
        "postal_code": provider.postal_code or "",
        "lat": "" if at_centre else f"{provider.lat:.6f}",
        "lon": "" if at_centre else f"{provider.lon:.6f}",
        "support_forms": listed(provider.support_forms),
        "topics": listed(provider.topics),
        "languages": listed(provider.languages),
        "target_groups": listed(provider.target_groups),
        "service_area": ";".join(areas),
        "opening_hours": provider.opening_hours or "",
        "phone": provider.phone or "",
        "email": provider.email or "",
        "website": provider.website or "",
        "free_of_charge": flag(provider.free_of_charge),
        "wheelchair_accessible": flag(provider.wheelchair_accessible),
        "booking_required": flag(provider.booking_required),
        "description_fi": provider.description_fi or "",
        "description_sv": provider.description_sv or "",
        "description_en": provider.description_en or "",
    }
