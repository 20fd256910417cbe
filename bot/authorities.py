"""Authorities' own service channels: who advises on which public e-service (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot import vocab

LANGS = ("fi", "sv", "en")


@dataclass(frozen=True)
class Authority:
    """The authority (or actor) with the advisory duty for one topic's e-services."""

    topic: str
    name: dict[str, str]
    service: dict[str, str]
    website: str

    def name_in(self, language: str) -> str:
        """The name in ``language``, falling back to Finnish."""
        return self.name.get(language) or self.name["fi"]


class AuthorityDataError(ValueError):
    """``authorities.yml`` does not cover the authority topics or is malformed."""


def load_authorities(path: Path) -> dict[str, Authority]:
    """Read ``authorities.yml``; every authority topic and ``identification`` must be there."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    needed = set(vocab.AUTHORITY_TOPICS) | set(vocab.SHARED_TOPICS)
    missing = needed - set(document)
    unknown = set(document) - needed
    if missing or unknown:
        raise AuthorityDataError(
            f"{path}: missing topics {sorted(missing)}, unknown {sorted(unknown)}"
        )
    authorities = {}
    for topic, entry in document.items():
        try:
            name, service, website = entry["name"], entry["service"], entry["website"]
        except (KeyError, TypeError) as exc:
            raise AuthorityDataError(f"{path}: {topic}: missing {exc}") from None
        for field_name, texts in (("name", name), ("service", service)):
            if not isinstance(texts, dict) or any(not texts.get(lang) for lang in LANGS):
                raise AuthorityDataError(f"{path}: {topic}: {field_name} needs fi, sv and en")
        if not str(website).startswith("https://"):
            raise AuthorityDataError(f"{path}: {topic}: website must be an https:// address")
        authorities[topic] = Authority(topic, dict(name), dict(service), str(website))
    return authorities
