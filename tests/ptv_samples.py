"""Small synthetic PTV v11 documents for tests: invented ids, names and numbers.

``location(...)`` is a digital support point in Oulu whose names match the
test mapping; keyword arguments replace or add top-level fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# TM35FIN (EPSG:3067) metres of a point about 50 m from Oulu's centre in our gazetteer.
OULU_EASTING, OULU_NORTHING = "427800.0", "7210700.0"

MAPPING_YAML = """
channel_types:
  ServiceLocation: [in_person]
  Phone: [phone]
  EChannel: []
rules:
  - name: digital support
    keywords:
      fi: [digituk]
      sv: [digistöd]
      en: [digital support]
    topics: [basics]
  - name: by ontology term
    ontology: ["http://example.org/onto/digi-help"]
    topics: [smartphone]
  - name: by service class
    service_classes: ["http://example.org/class/digi"]
    topics: [computer]
details:
  - keywords: {fi: [kurssi]}
    forms: [training]
  - keywords: {fi: [senior]}
    target_groups: [seniors]
    topics: [email]
  - keywords: {en: [chat]}
    forms: [chat]
channels:
  99999999-9999-4999-8999-999999999999: {topics: [tablet], forms: [home_visit]}
exclude: [88888888-8888-4888-8888-888888888888]
organisations:
  77777777-7777-4777-8777-777777777777: {name: Testiyhdistys ry, type: association, municipality: Vaasa}
"""


def guid(digit: str) -> str:
    """A GUID made of one repeated hex digit: ``guid("a")``."""
    return f"{digit * 8}-{digit * 4}-4{digit * 3}-8{digit * 3}-{digit * 12}"


def texts(**by_language: str) -> list[dict[str, str]]:
    return [{"language": k, "value": v, "type": "Name"} for k, v in by_language.items()]


def street_address(
    *,
    code: str = "564",
    state: str = "Ok",
    easting: str = OULU_EASTING,
    northing: str = OULU_NORTHING,
    postal_code: str = "90100",
) -> dict[str, Any]:
    return {
        "street": [
            {"value": "Esimerkkikatu", "language": "fi"},
            {"value": "Exempelgatan", "language": "sv"},
        ],
        "streetNumber": "5 B",
        "postalCode": postal_code,
        "postOffice": [{"value": "OULU", "language": "fi"}],
        "municipality": {"code": code, "name": [{"value": "Oulu", "language": "fi"}]},
        "latitude": northing,
        "longitude": easting,
        "coordinateState": state,
    }


def address(**street: Any) -> dict[str, Any]:
    return {"type": "Location", "subType": "Single", "streetAddress": street_address(**street)}


def location(**fields: Any) -> dict[str, Any]:
    """A ServiceLocation channel that the test mapping maps to ``basics`` and ``in_person``."""
    channel: dict[str, Any] = {
        "id": guid("1"),
        "serviceChannelType": "ServiceLocation",
        "organizationId": guid("7"),
        "serviceChannelNames": texts(fi="Digitukipiste Testilä", sv="Digistöd Testby"),
        "displayNameType": [{"type": "Name", "language": "fi"}],
        "serviceChannelDescriptions": [
            {"language": "fi", "value": "Apua laitteiden kanssa.", "type": "Summary"},
            {"language": "fi", "value": "Pitkä kuvaus avusta.", "type": "Description"},
        ],
        "areaType": "LimitedType",
        "areas": [{"type": "Municipality", "municipalities": [{"code": "564"}]}],
        "languages": ["fi", "sv"],
        "phoneNumbers": [
            {"type": "Phone", "prefixNumber": "+358", "number": "0000000001", "language": "fi"}
        ],
        "emails": [{"value": "tuki@example.org", "language": "fi"}],
        "webPages": [{"url": "https://example.org/tuki", "value": "Tuki", "language": "fi"}],
        "addresses": [address()],
        "serviceHours": [],
        "services": [],
        "publishingStatus": "Published",
        "modified": "2026-01-10T08:00:00",
    }
    channel.update(fields)
    return channel


def weekly(*rows: tuple[str, str, str], **fields: Any) -> dict[str, Any]:
    """A DaysOfTheWeek entry from ``(day, from, to)`` rows (``day`` may be ``Mon>Tue``)."""
    opening = []
    for day, start, end in rows:
        first, _, last = day.partition(">")
        opening.append({"dayFrom": first, "dayTo": last, "from": start, "to": end})
    entry = {
        "serviceHourType": "DaysOfTheWeek",
        "validFrom": None,
        "validTo": None,
        "isClosed": False,
        "isAlwaysOpen": False,
        "isReservation": False,
        "openingHour": opening,
    }
    entry.update(fields)
    return entry


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path
