"""All channels of a PTV input to providers: mapped, skipped and unmapped ones counted."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.geo import Gazetteer
from bot.providers.model import Provider
from bot.providers.ptv.channel import (
    ChannelReader,
    PtvIssue,
    as_list,
    channel_guid,
    channel_signals,
    clean,
    display_names,
    terms,
)
from bot.providers.ptv.documents import PtvDocuments, PtvItem
from bot.providers.ptv.mapping import PtvMapping, Signals


@dataclass(frozen=True)
class Unmapped:
    """A channel no rule of the mapping matched."""

    guid: str
    name: str

    def __str__(self) -> str:
        return f"{self.guid} {self.name}"


@dataclass
class PtvResult:
    """What an input holds: providers, problems, and the channels left out and why."""

    providers: list[Provider] = field(default_factory=list)
    errors: list[PtvIssue] = field(default_factory=list)
    warnings: list[PtvIssue] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    other_types: Counter[str] = field(default_factory=Counter)
    not_published: int = 0
    excluded: int = 0


def convert_ptv(
    documents: PtvDocuments,
    mapping: PtvMapping,
    gazetteer: Gazetteer,
    *,
    today: dt.date,
    on_progress: Callable[[int], None] | None = None,
) -> PtvResult:
    """Map and read every channel; ``on_progress(n)`` counts the channels handled."""
    result = PtvResult()
    connected = _connected_signals(documents.services)
    unique = _unique_channels(documents.channels, result)
    if on_progress:
        on_progress(len(documents.channels) - len(unique))  # repeats and bad ids: done
    for guid, item in unique:
        _convert_one(guid, item, mapping, gazetteer, today, connected.get(guid), result)
        if on_progress:
            on_progress(1)
    return result


def _convert_one(
    guid: str,
    item: PtvItem,
    mapping: PtvMapping,
    gazetteer: Gazetteer,
    today: dt.date,
    connected: Signals | None,
    result: PtvResult,
) -> None:
    data = item.data
    channel_type = str(data.get("serviceChannelType"))
    if data.get("publishingStatus", "Published") != "Published":
        result.not_published += 1
        return
    if guid in mapping.exclude:
        result.excluded += 1
        return
    if not mapping.handles(guid, channel_type):
        result.other_types[channel_type] += 1
        return
    classification = mapping.classify(guid, channel_type, channel_signals(data, connected))
    if classification is None:
        names = display_names(data)
        result.unmapped.append(Unmapped(guid, next(iter(names.values()), "(no name)")))
        return
    read = ChannelReader(
        data, guid, classification, gazetteer=gazetteer, mapping=mapping, today=today
    ).read()
    result.errors.extend(read.errors)
    result.warnings.extend(read.warnings)
    if read.provider is not None:
        result.providers.append(read.provider)


def _unique_channels(items: Iterable[PtvItem], result: PtvResult) -> list[tuple[str, PtvItem]]:
    """Channels by id, each once: list pages of neighbouring areas repeat shared channels.

    When copies differ (fetched at different times), the most recently
    modified one wins, and a warning says so.
    """
    chosen: dict[str, PtvItem] = {}
    for item in items:
        guid = channel_guid(item.data)
        if guid is None:
            result.errors.append(
                PtvIssue(item.origin, "id", f"{item.data.get('id')!r} is not a PTV id (a GUID)")
            )
            continue
        earlier = chosen.get(guid)
        if earlier is None or earlier.data == item.data:
            chosen.setdefault(guid, item)
            continue
        newer = item if _modified(item) >= _modified(earlier) else earlier
        result.warnings.append(
            PtvIssue(
                f"channel {guid}",
                "id",
                f"given twice with different content ({earlier.origin}, {item.origin}): "
                f"using the one from {newer.origin}",
            )
        )
        chosen[guid] = newer
    return list(chosen.items())


def _modified(item: PtvItem) -> str:
    """ISO timestamps compare as text."""
    value = item.data.get("modified")
    return value if isinstance(value, str) else ""


def _connected_signals(services: Iterable[PtvItem]) -> dict[str, Signals]:
    """What services given in the input add to each of their channels."""
    found: dict[str, Signals] = {}
    for item in services:
        data = item.data
        signals = _service_signals(data)
        for link in as_list(data.get("serviceChannels")):
            channel = link.get("serviceChannel") if isinstance(link, Mapping) else None
            guid = channel_guid(channel) if isinstance(channel, Mapping) else None
            if guid is not None:
                found[guid] = _joined(found.get(guid), signals)
    return found


def _service_signals(data: Mapping[str, Any]) -> Signals:
    texts: dict[str, list[str]] = {}
    for items in (data.get("serviceNames"), data.get("keywords")):
        for language, value in _all_values(items):
            texts.setdefault(language, []).append(value.casefold())
    return Signals(
        {k: tuple(v) for k, v in texts.items()},
        terms(data.get("ontologyTerms")),
        terms(data.get("serviceClasses")),
    )


def _all_values(items: Any) -> list[tuple[str, str]]:
    """Every ``(language, value)`` of a localized list (names come in several types)."""
    return [
        (item["language"], value)
        for item in as_list(items)
        if isinstance(item, Mapping)
        and isinstance(item.get("language"), str)
        and (value := clean(item.get("value")))
    ]


def _joined(first: Signals | None, second: Signals) -> Signals:
    if first is None:
        return second
    texts = {k: tuple(v) for k, v in first.texts.items()}
    for language, values in second.texts.items():
        texts[language] = texts.get(language, ()) + values
    return Signals(
        texts,
        first.ontology | second.ontology,
        first.service_classes | second.service_classes,
    )
