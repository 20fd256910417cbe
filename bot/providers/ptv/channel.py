"""One PTV service channel to one :class:`Provider`, with every problem found.

Errors are problems that leave no usable provider (no name, no place);
warnings are values left out or guessed (coordinates PTV could not give,
hours one opening_hours string cannot hold, a malformed phone number).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import vocab
from bot.geo import Gazetteer, Municipality, UnknownPlaceError, haversine_km
from bot.providers.importer import (
    CONTROL,
    EMAIL,
    FAR_FROM_MUNICIPALITY_KM,
    FINLAND_BOX,
    LENGTHS,
    PHONE,
    POSTAL_CODE,
    URL,
)
from bot.providers.model import Provider, ServiceArea
from bot.providers.ptv.coordinates import tm35fin_to_wgs84
from bot.providers.ptv.hours import convert_service_hours
from bot.providers.ptv.mapping import TEXT_LANGUAGES, Classification, PtvMapping, Signals

SOURCE = "ptv"
ID_PREFIX = "ptv-"
USABLE_COORDINATE_STATES = frozenset({"ok", "enteredbyuser"})
"""``coordinateState`` values whose coordinates we trust (PTV's own spelling: Ok, EnteredByUser)."""
LOCATION_ADDRESS_TYPES = frozenset({"Location", "Visiting"})
"""The visiting address; ``Visiting`` is its name in API version 7 and older."""
NATIONWIDE = frozenset(
    {"Nationwide", "NationwideExceptAlandIslands", "WholeCountry", "WholeCountryExceptAlandIslands"}
)
LIMITED = frozenset({"LimitedType", "AreaType"})

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class PtvIssue:
    """An error or warning about one channel (or one item of a file)."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


def channel_guid(data: Mapping[str, Any]) -> str | None:
    """The channel's PTV id in lower case, or ``None`` when it is missing or not a GUID."""
    value = data.get("id")
    if not isinstance(value, str) or not _GUID.match(value.strip().lower()):
        return None
    return value.strip().lower()


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one: PTV fields may be null or, in bad data, odd."""
    return value if isinstance(value, list) else []


def clean(value: Any) -> str | None:
    """Text without control characters and surrounding space; ``None`` when empty."""
    if not isinstance(value, str):
        return None
    text = CONTROL.sub("", value).strip()
    return text or None


def localized(items: Any, *, kind: str | None = None) -> dict[str, str]:
    """The first non-empty value per language of ``[{language, value, type}]``."""
    found: dict[str, str] = {}
    for item in as_list(items):
        if not isinstance(item, Mapping) or (kind is not None and item.get("type") != kind):
            continue
        language, value = item.get("language"), clean(item.get("value"))
        if isinstance(language, str) and value and language not in found:
            found[language] = value
    return found


def display_names(data: Mapping[str, Any]) -> dict[str, str]:
    """Names in fi/sv/en: the type ``displayNameType`` asks for, else the plain name."""
    wanted: dict[str, str] = {
        str(item.get("language")): str(item.get("type"))
        for item in as_list(data.get("displayNameType"))
        if isinstance(item, Mapping) and item.get("type") in ("Name", "AlternativeName")
    }
    names = data.get("serviceChannelNames")
    by_type = {kind: localized(names, kind=kind) for kind in ("Name", "AlternativeName")}
    any_type = localized(names)
    result = {}
    for language in TEXT_LANGUAGES:
        kind = wanted.get(language, "Name")
        value = by_type[kind].get(language) or by_type["Name"].get(language)
        value = value or any_type.get(language)
        if value:
            result[language] = value
    return result


def channel_signals(data: Mapping[str, Any], connected: Signals | None = None) -> Signals:
    """Texts, ontology terms and service classes the mapping rules look at."""
    texts: dict[str, list[str]] = {}
    for items in (data.get("serviceChannelNames"), data.get("serviceChannelDescriptions")):
        for item in as_list(items):
            if isinstance(item, Mapping) and (value := clean(item.get("value"))):
                texts.setdefault(str(item.get("language")), []).append(value.casefold())
    for link in as_list(data.get("services")):
        service = link.get("service") if isinstance(link, Mapping) else None
        name = service.get("name") if isinstance(service, Mapping) else None
        if isinstance(name, str) and name.strip():
            texts.setdefault("", []).append(name.casefold())
    ontology = terms(data.get("ontologyTerms"))
    classes = terms(data.get("serviceClasses"))
    if connected is not None:
        for language, values in connected.texts.items():
            texts.setdefault(language, []).extend(values)
        ontology |= connected.ontology
        classes |= connected.service_classes
    return Signals({k: tuple(v) for k, v in texts.items()}, ontology, classes)


def terms(items: Any) -> frozenset[str]:
    """URIs and codes of ``[{uri, code, ...}]`` (ontology terms, service classes), without case."""
    found = set()
    for item in as_list(items):
        if isinstance(item, Mapping):
            for key in ("uri", "code"):
                if isinstance(item.get(key), str) and item[key].strip():
                    found.add(item[key].strip().casefold())
    return frozenset(found)


@dataclass
class ChannelResult:
    """A channel's provider (``None`` when it has errors) and the problems found."""

    provider: Provider | None
    errors: list[PtvIssue] = field(default_factory=list)
    warnings: list[PtvIssue] = field(default_factory=list)


@dataclass(frozen=True)
class _Place:
    municipality: Municipality
    lat: float
    lon: float
    at_centre: bool
    street: str | None = None
    postal_code: str | None = None


class ChannelReader:
    """Reads one channel that the mapping classified, collecting errors and warnings."""

    def __init__(
        self,
        data: Mapping[str, Any],
        guid: str,
        classification: Classification,
        *,
        gazetteer: Gazetteer,
        mapping: PtvMapping,
        today: dt.date,
    ) -> None:
        self.data = data
        self.guid = guid
        self.classification = classification
        self.gazetteer = gazetteer
        self.mapping = mapping
        self.today = today
        self.names = display_names(data)
        self.organisation = mapping.organisations.get(str(data.get("organizationId")).lower())
        label = next(iter(self.names.values()), "")
        self.where = f"channel {guid}" + (f" ({label})" if label else "")
        self.result = ChannelResult(None)

    def error(self, field_name: str, reason: str) -> None:
        self.result.errors.append(PtvIssue(self.where, field_name, reason))

    def warn(self, field_name: str, reason: str) -> None:
        self.result.warnings.append(PtvIssue(self.where, field_name, reason))

    def read(self) -> ChannelResult:
        """The provider, or errors saying why there is none."""
        names = self._names()
        place = self._place()
        organisation = self.organisation
        hours = convert_service_hours(self._list("serviceHours"), self.today)
        for note in hours.notes:
            self.warn("serviceHours", note)
        if self.result.errors or names is None or place is None:
            return self.result
        descriptions = self._descriptions()
        self.result.provider = Provider(
            id=ID_PREFIX + self.guid,
            name_fi=names[0],
            name_sv=names[1],
            name_en=names[2],
            organisation=organisation.name if organisation else None,
            org_type=organisation.org_type if organisation else "other",
            municipality_code=place.municipality.code,
            street_address=place.street,
            postal_code=place.postal_code,
            lat=place.lat,
            lon=place.lon,
            location_is_municipality_centre=place.at_centre,
            support_forms=self.classification.forms,
            topics=self.classification.topics,
            languages=self._languages(),
            target_groups=self.classification.target_groups or frozenset({"everyone"}),
            service_areas=self._areas(),
            opening_hours=hours.text,
            phone=self._phone(),
            email=self._first_valid("email", self._emails(), EMAIL, "an e-mail address"),
            website=self._first_valid("webPages", self._urls(), URL, "a web address"),
            booking_required=True if hours.by_reservation else None,
            description_fi=descriptions.get("fi"),
            description_sv=descriptions.get("sv"),
            description_en=descriptions.get("en"),
            source=SOURCE,
        )
        return self.result

    def _list(self, key: str) -> list[Any]:
        return as_list(self.data.get(key))

    def _fit(self, column: str, text: str | None) -> str | None:
        """``text`` cut to the column's size, with a warning when it had to be cut."""
        limit = LENGTHS.get(column)
        if text is None or limit is None or len(text) <= limit:
            return text
        self.warn(column, f"longer than {limit} characters: cut")
        return text[: limit - 1].rstrip() + "…"

    def _names(self) -> tuple[str, str | None, str | None] | None:
        """Finnish, Swedish and English names; a channel without a Finnish name uses another."""
        fi, sv, en = (self._fit(f"name_{k}", self.names.get(k)) for k in TEXT_LANGUAGES)
        first = fi or sv or en
        if first is None:
            self.error("serviceChannelNames", "no name in Finnish, Swedish or English")
            return None
        if fi is None:
            self.warn("serviceChannelNames", f"no Finnish name: {first!r} is shown instead")
        return first, sv, en

    def _descriptions(self) -> dict[str, str]:
        """The short summary in each language, else the long description."""
        items = self.data.get("serviceChannelDescriptions")
        summary = localized(items, kind="Summary")
        description = localized(items, kind="Description")
        found = {}
        for language in TEXT_LANGUAGES:
            text = self._fit(
                f"description_{language}", summary.get(language) or description.get(language)
            )
            if text:
                found[language] = text
        return found

    def _visiting_address(self) -> Mapping[str, Any] | None:
        locations = [
            a
            for a in self._list("addresses")
            if isinstance(a, Mapping) and str(a.get("type")) in LOCATION_ADDRESS_TYPES
        ]
        if len(locations) > 1:
            self.warn("addresses", f"{len(locations)} visiting addresses: the first one is used")
        if not locations:
            return None
        address = locations[0]
        part = address.get("otherAddress" if address.get("subType") == "Other" else "streetAddress")
        return part if isinstance(part, Mapping) else None

    def _place(self) -> _Place | None:
        """Where the channel is: its visiting address, else what its area or organisation says."""
        address = self._visiting_address()
        if address is None:
            return self._place_without_address()
        municipality = self._municipality(address.get("municipality"))
        point = self._point(address, municipality)
        if municipality is None and point is not None:
            municipality = self.gazetteer.nearest(*point)
            self.warn(
                "municipality",
                f"unknown municipality code {self._code(address.get('municipality'))!r}: "
                f"placed in {municipality.name_fi} by its coordinates",
            )
        if municipality is None:
            return self._place_without_address(
                f"unknown municipality code {self._code(address.get('municipality'))!r}"
            )
        street = self._street(address)
        postal_code = clean(address.get("postalCode"))
        if postal_code is not None and not POSTAL_CODE.match(postal_code):
            self.warn(
                "postalCode", f"{postal_code!r} is not a postal code of five digits: left out"
            )
            postal_code = None
        if point is None:
            return _Place(
                municipality, municipality.lat, municipality.lon, True, street, postal_code
            )
        far = haversine_km(*point, municipality.lat, municipality.lon)
        if far > FAR_FROM_MUNICIPALITY_KM:
            self.warn("coordinates", f"{far:.0f} km from the centre of {municipality.name_fi}")
        return _Place(municipality, point[0], point[1], False, street, postal_code)

    def _place_without_address(self, problem: str = "no visiting address") -> _Place | None:
        """The first municipality of the service area, else the organisation's (mapping file)."""
        codes = sorted(
            a.code for a in self._areas(quiet=True) if a.scope == "municipality" and a.code
        )
        organisation = self.organisation
        if not codes and organisation is not None and organisation.municipality_code:
            codes = [organisation.municipality_code]
        if not codes:
            self.error(
                "addresses",
                f"{problem} and no municipality in its area: cannot place it "
                "(give its organisation a municipality in the mapping file, or exclude it)",
            )
            return None
        municipality = self.gazetteer.municipality(codes[0])
        if self.data.get("serviceChannelType") == "ServiceLocation":
            self.warn("addresses", f"{problem}: placed at the centre of {municipality.name_fi}")
        return _Place(municipality, municipality.lat, municipality.lon, True)

    @staticmethod
    def _code(value: Any) -> str:
        code = value.get("code") if isinstance(value, Mapping) else None
        return str(code).strip().zfill(3) if code is not None else ""

    def _municipality(self, value: Any) -> Municipality | None:
        code = self._code(value)
        if not code.isdigit():
            return None
        try:
            return self.gazetteer.municipality(code)
        except UnknownPlaceError:
            return None

    def _point(
        self, address: Mapping[str, Any], municipality: Municipality | None
    ) -> tuple[float, float] | None:
        """WGS84 ``(lat, lon)`` of trusted coordinates, else ``None`` with a warning."""
        instead = f": using the centre of {municipality.name_fi}" if municipality else ": not used"
        state = str(address.get("coordinateState") or "")
        if state.casefold() not in USABLE_COORDINATE_STATES:
            self.warn(
                "coordinates",
                f"coordinateState is {state or 'missing'}{instead} "
                "(no postal-code places in our data)",
            )
            return None
        try:
            northing = float(str(address.get("latitude")).replace(",", "."))
            easting = float(str(address.get("longitude")).replace(",", "."))
        except ValueError:
            self.warn("coordinates", f"not numbers{instead}")
            return None
        lat, lon = tm35fin_to_wgs84(easting, northing)
        min_lat, max_lat, min_lon, max_lon = FINLAND_BOX
        if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
            self.warn(
                "coordinates",
                f"TM35FIN {northing:.0f} N, {easting:.0f} E is outside Finland{instead}",
            )
            return None
        return lat, lon

    def _street(self, address: Mapping[str, Any]) -> str | None:
        """Street and number, the Finnish street name first."""
        streets = localized(address.get("street"))
        name = next((streets[k] for k in TEXT_LANGUAGES if k in streets), None)
        name = name or next(iter(streets.values()), None)
        if name is None:
            return None
        number = clean(address.get("streetNumber"))
        return self._fit("street_address", f"{name} {number}" if number else name)

    def _languages(self) -> frozenset[str]:
        """Languages the service is given in; the languages of its names when PTV lists none."""
        codes = [str(c).strip().lower() for c in self._list("languages") if str(c).strip()]
        unknown = [c for c in codes if c not in vocab.LANGUAGES]
        if unknown:
            self.warn("languages", f"not in our language list, left out: {', '.join(unknown)}")
        known = frozenset(c for c in codes if c in vocab.LANGUAGES)
        if not known:
            known = frozenset(self.names) or frozenset({"fi"})
            self.warn(
                "languages", f"none given: assuming {', '.join(sorted(known))} from its names"
            )
        return known

    def _areas(self, *, quiet: bool = False) -> frozenset[ServiceArea]:
        """The service area: nationwide, or the regions and municipalities PTV lists."""
        area_type = str(self.data.get("areaType"))
        if area_type in NATIONWIDE:
            return frozenset({ServiceArea("nationwide")})
        if area_type not in LIMITED:
            return frozenset()
        areas: set[ServiceArea] = set()
        unknown: set[str] = set()
        items = self._list("areas") or [{"municipalities": self._list("areaMunicipalities")}]
        for area in items:
            if not isinstance(area, Mapping):
                continue
            region = self._region(area)
            if region is not None:
                areas.add(region)
                continue
            municipalities = as_list(area.get("municipalities"))
            if area.get("type") == "Municipality" and area.get("code"):
                municipalities = [{"code": area["code"]}, *municipalities]
            for item in municipalities:
                municipality = self._municipality(item)
                if municipality is None:
                    unknown.add(self._code(item) or "?")
                else:
                    areas.add(ServiceArea("municipality", municipality.code))
        if unknown and not quiet:
            self.warn("areas", f"unknown municipality codes left out: {', '.join(sorted(unknown))}")
        return frozenset(areas)

    def _region(self, area: Mapping[str, Any]) -> ServiceArea | None:
        if area.get("type") != "Region" or not area.get("code"):
            return None
        try:
            return ServiceArea("region", self.gazetteer.region(str(area["code"])).code)
        except UnknownPlaceError:
            return None  # its municipalities, if listed, still say where it serves

    def _phone(self) -> str | None:
        """The first voice number, ``prefixNumber`` and ``number`` joined."""
        numbers = []
        for item in (*self._list("phoneNumbers"), *self._list("supportPhones")):
            if not isinstance(item, Mapping) or item.get("type", "Phone") not in ("Phone", None):
                continue  # fax and text-message numbers are not for calling
            number = clean(item.get("number"))
            prefix = clean(item.get("prefixNumber"))
            if number is None:
                continue
            if prefix and prefix.startswith("+") and number.startswith("0"):
                number = number[1:]  # "+358" and "040 ...": the trunk 0 is not dialled
            numbers.append(f"{prefix} {number}" if prefix else number)
        return self._first_valid("phoneNumbers", numbers, PHONE, "a phone number")

    def _emails(self) -> list[str]:
        found = []
        for item in (*self._list("emails"), *self._list("supportEmails")):
            value = clean(item.get("value")) if isinstance(item, Mapping) else clean(item)
            if value:
                found.append(value)
        return found

    def _urls(self) -> list[str]:
        pages = [p for p in self._list("webPages") if isinstance(p, Mapping)]
        pages.sort(
            key=lambda p: p["orderNumber"] if isinstance(p.get("orderNumber"), int) else 1_000_000
        )
        return [url for p in pages if (url := clean(p.get("url")))]

    def _first_valid(
        self, field_name: str, values: Iterable[str], pattern: re.Pattern[str], what: str
    ) -> str | None:
        """The first value that ``pattern`` accepts; the rejected ones before it are warned about."""
        for value in values:
            if pattern.match(value) and len(value) <= LENGTHS.get(field_name, 500):
                return value
            self.warn(field_name, f"{value!r} is not {what}: left out")
        return None
