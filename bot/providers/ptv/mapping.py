"""Which PTV channels are digital support, and what they offer: the mapping file.

PTV knows service channels, not our topics or support forms. The mapping file
(``data/ptv_mapping.yml``, commented) decides them from a channel's type, the
ontology terms and service classes of its services, and keywords in its
names and descriptions. A channel that no rule matches is not imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import vocab
from bot.geo import Gazetteer, UnknownPlaceError

CHANNEL_TYPES = frozenset({"ServiceLocation", "EChannel", "Phone", "WebPage", "PrintableForm"})
TEXT_LANGUAGES = ("fi", "sv", "en")
_TOP_KEYS = frozenset(
    {"version", "channel_types", "rules", "details", "channels", "exclude", "organisations"}
)
_MATCH_KEYS = frozenset({"ontology", "service_classes", "keywords"})
_GRANT_KEYS = frozenset({"topics", "forms", "target_groups"})


class MappingError(ValueError):
    """The mapping file cannot be used; the message names the place in it."""


@dataclass(frozen=True)
class Signals:
    """What a channel says about itself: texts by language, ontology terms, service classes.

    Texts under the key ``""`` have no language (names of connected services)
    and are searched with the keywords of every language.
    """

    texts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ontology: frozenset[str] = frozenset()
    service_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Grant:
    """What a rule gives a channel."""

    topics: frozenset[str] = frozenset()
    forms: frozenset[str] = frozenset()
    target_groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    """A condition (any listed term, class or keyword) and what it gives."""

    name: str
    ontology: frozenset[str]
    service_classes: frozenset[str]
    keywords: Mapping[str, tuple[str, ...]]
    grant: Grant

    def matches(self, signals: Signals) -> bool:
        """Whether any of the rule's terms, classes or keywords occurs in ``signals``."""
        if self.ontology & signals.ontology or self.service_classes & signals.service_classes:
            return True
        neutral = signals.texts.get("", ())
        for language, words in self.keywords.items():
            texts = (*signals.texts.get(language, ()), *neutral)
            if any(word in text for word in words for text in texts):
                return True
        return False


@dataclass(frozen=True)
class Organisation:
    """What the mapping file says about an organisation that PTV names only by id."""

    name: str | None = None
    org_type: str = "other"
    municipality_code: str | None = None


@dataclass(frozen=True)
class Classification:
    """A channel found to be digital support: its topics, forms and target groups."""

    topics: frozenset[str]
    forms: frozenset[str]
    target_groups: frozenset[str]


@dataclass(frozen=True)
class PtvMapping:
    """The parsed mapping file."""

    channel_types: Mapping[str, frozenset[str]]
    rules: tuple[Rule, ...] = ()
    details: tuple[Rule, ...] = ()
    channels: Mapping[str, Grant] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()
    organisations: Mapping[str, Organisation] = field(default_factory=dict)

    def handles(self, channel_id: str, channel_type: str) -> bool:
        """Whether channels of this type are considered at all (or this one is listed)."""
        return channel_type in self.channel_types or channel_id in self.channels

    def classify(
        self, channel_id: str, channel_type: str, signals: Signals
    ) -> Classification | None:
        """Topics, forms and target groups of a channel, or ``None`` when it is not mapped."""
        base_forms = self.channel_types.get(channel_type, frozenset())
        listed = self.channels.get(channel_id)
        if listed is not None:
            return Classification(listed.topics, listed.forms or base_forms, listed.target_groups)
        matched = [rule.grant for rule in self.rules if rule.matches(signals)]
        if not matched:
            return None
        matched += [rule.grant for rule in self.details if rule.matches(signals)]
        forms = base_forms.union(*(g.forms for g in matched))
        if not forms:
            return None
        return Classification(
            frozenset().union(*(g.topics for g in matched)),
            forms,
            frozenset().union(*(g.target_groups for g in matched)),
        )


def load_mapping(path: Path, gazetteer: Gazetteer) -> PtvMapping:
    """Read and check the mapping file; raises :class:`MappingError` naming what is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such file") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: not a readable YAML file ({exc})") from None
    try:
        return parse_mapping(document, gazetteer)
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None


def parse_mapping(document: Any, gazetteer: Gazetteer) -> PtvMapping:
    """A :class:`PtvMapping` from the loaded YAML document."""
    top = _mapping(document, "the file")
    _known_keys(top, _TOP_KEYS, "the file")
    if top.get("version", 1) != 1:
        raise MappingError(f"version {top['version']!r} is not supported (use 1)")
    channel_types = _channel_types(top.get("channel_types"))
    rules = _rules(top.get("rules"), "rules", need_topics=True)
    details = _rules(top.get("details"), "details", need_topics=False)
    channels = {
        _guid(key, "channels"): _grant(value, f"channels.{key}", need_topics=True)
        for key, value in _mapping(top.get("channels") or {}, "channels").items()
    }
    exclude = frozenset(_guid(v, "exclude") for v in _list(top.get("exclude"), "exclude"))
    organisations = {
        _guid(key, "organisations"): _organisation(value, f"organisations.{key}", gazetteer)
        for key, value in _mapping(top.get("organisations") or {}, "organisations").items()
    }
    return PtvMapping(channel_types, rules, details, channels, exclude, organisations)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(f"{where}: expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _known_keys(values: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise MappingError(
            f"{where}: unknown key {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )


def _words(value: Any, allowed: Iterable[str], where: str) -> frozenset[str]:
    """A list of vocabulary words, each checked."""
    items = [str(v).strip().lower() for v in _list(value, where)]
    allowed_set = set(allowed)
    bad = [v for v in items if v not in allowed_set]
    if bad:
        raise MappingError(
            f"{where}: unknown {', '.join(map(repr, bad))} (allowed: {', '.join(sorted(allowed_set))})"
        )
    return frozenset(items)


def _guid(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if len(text) != 36 or text.count("-") != 4:
        raise MappingError(f"{where}: {value!r} is not a PTV id (a GUID)")
    return text


def _channel_types(value: Any) -> dict[str, frozenset[str]]:
    types = _mapping(value, "channel_types")
    unknown = sorted(set(types) - CHANNEL_TYPES)
    if unknown:
        raise MappingError(
            f"channel_types: unknown type {', '.join(unknown)} (PTV has: {', '.join(sorted(CHANNEL_TYPES))})"
        )
    return {
        name: _words(forms, vocab.SUPPORT_FORMS, f"channel_types.{name}")
        for name, forms in types.items()
    }


def _grant(value: Any, where: str, *, need_topics: bool) -> Grant:
    values = _mapping(value, where)
    grant = Grant(
        _words(values.get("topics"), vocab.TOPICS, f"{where}.topics"),
        _words(values.get("forms"), vocab.SUPPORT_FORMS, f"{where}.forms"),
        _words(values.get("target_groups"), vocab.TARGET_GROUPS, f"{where}.target_groups"),
    )
    if need_topics and not grant.topics:
        raise MappingError(f"{where}: give the topics it maps to")
    if not (grant.topics or grant.forms or grant.target_groups):
        raise MappingError(f"{where}: gives nothing (add topics, forms or target_groups)")
    return grant


def _rules(value: Any, section: str, *, need_topics: bool) -> tuple[Rule, ...]:
    rules = []
    for number, item in enumerate(_list(value, section), 1):
        values = _mapping(item, f"{section}[{number}]")
        name = str(values.pop("name", f"{section}[{number}]"))
        where = f"{section}[{number}] ({name})" if "name" in item else f"{section}[{number}]"
        _known_keys(values, _MATCH_KEYS | _GRANT_KEYS, where)
        keywords = {
            language: tuple(str(word).casefold() for word in _list(words, f"{where}.keywords"))
            for language, words in _mapping(values.get("keywords") or {}, where).items()
        }
        bad_languages = sorted(set(keywords) - set(TEXT_LANGUAGES))
        if bad_languages:
            raise MappingError(
                f"{where}.keywords: use fi, sv or en, not {', '.join(bad_languages)}"
            )
        if any(not word.strip() for words in keywords.values() for word in words):
            raise MappingError(f"{where}.keywords: an empty keyword would match everything")
        rule = Rule(
            name,
            _terms(values.get("ontology"), f"{where}.ontology"),
            _terms(values.get("service_classes"), f"{where}.service_classes"),
            keywords,
            _grant(
                {k: values[k] for k in _GRANT_KEYS if k in values}, where, need_topics=need_topics
            ),
        )
        if not (rule.ontology or rule.service_classes or rule.keywords):
            raise MappingError(
                f"{where}: matches nothing (add ontology, service_classes or keywords)"
            )
        rules.append(rule)
    return tuple(rules)


def _terms(value: Any, where: str) -> frozenset[str]:
    """URIs or codes, compared without case."""
    return frozenset(str(v).strip().casefold() for v in _list(value, where) if str(v).strip())


def _organisation(value: Any, where: str, gazetteer: Gazetteer) -> Organisation:
    values = _mapping(value, where)
    _known_keys(values, {"name", "type", "municipality"}, where)
    org_type = str(values.get("type", "other")).lower()
    if org_type not in vocab.ORG_TYPES:
        raise MappingError(
            f"{where}.type: {org_type!r} is not one of {', '.join(sorted(vocab.ORG_TYPES))}"
        )
    municipality = None
    if values.get("municipality") is not None:
        try:
            municipality = gazetteer.municipality(str(values["municipality"])).code
        except UnknownPlaceError as exc:
            raise MappingError(f"{where}.municipality: {exc}") from None
    name = values.get("name")
    return Organisation(str(name).strip() if name else None, org_type, municipality)
