"""Reading PTV API v11 documents from a file or a folder of ``*.json`` files.

A document is what one API call returns: one service channel
(``ServiceChannel/{id}``), a JSON array of them (``ServiceChannel/list?guids=``)
or one page of a list (``{"pageNumber": .., "pageCount": .., "itemList": [..]}``).
Services (``Service/...``) may be given too: their service classes, ontology
terms and names then count for the channels they are connected to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.providers.files import ProviderFileError


@dataclass(frozen=True)
class PtvItem:
    """One channel or service object and where it came from (for messages)."""

    origin: str
    data: Mapping[str, Any]


@dataclass
class PtvDocuments:
    """Every channel and service read, in file order."""

    channels: list[PtvItem] = field(default_factory=list)
    services: list[PtvItem] = field(default_factory=list)


def is_ptv_input(path: Path) -> bool:
    """Whether ``path`` looks like PTV input: a ``.json`` file or a folder."""
    return path.is_dir() or path.suffix.lower() == ".json"


def read_ptv_input(path: Path) -> PtvDocuments:
    """Read a document, or every ``*.json`` in a folder; raises :class:`ProviderFileError`."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise ProviderFileError(f"{path}: no *.json files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise ProviderFileError(f"{path}: no such file or folder")
    documents = PtvDocuments()
    for file in files:
        for number, item in enumerate(_items(_load(file), file.name), 1):
            origin = f"{file.name} item {number}"
            if "serviceChannelType" in item:
                documents.channels.append(PtvItem(origin, item))
            elif "serviceNames" in item:
                documents.services.append(PtvItem(origin, item))
            else:
                raise ProviderFileError(f"{origin}: {_not_a_channel(item)}")
    return documents


def _load(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProviderFileError(
            f"{file.name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ProviderFileError(f"{file.name}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise ProviderFileError(f"{file.name}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProviderFileError(
            f"{file.name}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _items(document: Any, name: str) -> list[Mapping[str, Any]]:
    """The objects of a document, whichever of the three shapes it has."""
    if isinstance(document, dict) and "itemList" in document:
        items = document["itemList"]
        if items is None:
            return []  # an empty page
        if not isinstance(items, list):
            raise ProviderFileError(f"{name}: itemList is not a list")
    elif isinstance(document, dict):
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        raise ProviderFileError(
            f"{name}: not a PTV document (expected a service channel, a list of them "
            "or a page with an itemList)"
        )
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ProviderFileError(f"{name} item {number}: not an object")
    return items


def _not_a_channel(item: Mapping[str, Any]) -> str:
    """Why an object is neither a channel nor a service, with the likely cause."""
    if set(item) <= {"id", "name"}:
        return (
            "only an id and a name: this is a page of ids (GUID page); fetch the channels "
            "themselves with ServiceChannel/list?guids=..."
        )
    return "not a PTV service channel (no serviceChannelType) nor a service (no serviceNames)"
