"""Test stories: whole conversations with what the bot must do at each step, run against the stack.

A story file (``tests/stories/<language>.yml``) holds stories of one conversation language::

    language: fi
    stories:
      - story: the place is corrected while the form asks
        metadata: {page_language: fi}      # channel metadata sent with every message (optional)
        steps:
          - user: mä tarviin apua kännykän kanssa
            intent: request_support          # the intent the model must give (optional)
            actions: [find_support_form]     # the bot's actions, in order (see IGNORED_ACTIONS)
            responses: [utter_ask_find_support_form_municipality]
            slots: {topic: [smartphone]}     # slots after the step (those named only)
            cards: [oulu-library]            # the first provider cards, in order (optional)
            language: en                     # the conversation language from here on (optional)
        covers: [correction]                 # what kind of path it tests (see KINDS)

Besides what a step names, every bot message must be in the conversation language: texts
by a language detector, provider cards by their labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from lingua import IsoCode639_1, LanguageDetectorBuilder

STORY_DIR = Path(__file__).resolve().parents[1] / "stories"
IGNORED_ACTIONS = frozenset(
    {"action_listen", "action_extract_slots", "action_session_start", "action_unlikely_intent"}
)
"""Actions every turn has; a step's ``actions`` lists the others."""
STEP_KEYS = frozenset({"user", "intent", "actions", "responses", "slots", "cards", "language"})
LANGUAGES = ("fi", "sv", "en")
KINDS = frozenset(
    {
        "correction",
        "widening",
        "authority",
        "fallback",
        "language",
        "handoff",
        "other_path",
        "follow_up",
        "ladder",
        "cards_language",
        "device_authority",
    }
)
"""What a story may be marked to cover; each language must cover the first four."""
URL = re.compile(r"\S+\.(?:fi|com|net|org)\S*|https?://\S+")


@dataclass(frozen=True)
class Step:
    user: str
    intent: str | None = None
    actions: list[str] | None = None
    responses: list[str] | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    cards: list[str] | None = None
    language: str | None = None


@dataclass(frozen=True)
class Story:
    file: str
    name: str
    language: str
    steps: list[Step]
    metadata: dict[str, Any] = field(default_factory=dict)
    covers: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return f"{self.file}: {self.name}"


class StoryFormatError(ValueError):
    pass


def load_stories(folder: Path = STORY_DIR) -> list[Story]:
    """Every story of every file in ``folder``; a malformed file is an error, not a skip."""
    stories = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        language = document.get("language")
        if language not in LANGUAGES:
            raise StoryFormatError(f"{path.name}: language must be one of {LANGUAGES}")
        for number, raw in enumerate(document.get("stories") or [], start=1):
            name = raw.get("story") or f"story {number}"
            steps = []
            for step in raw.get("steps") or []:
                unknown = set(step) - STEP_KEYS
                if unknown or not isinstance(step.get("user"), str):
                    raise StoryFormatError(
                        f"{path.name}: {name}: a step needs 'user' text; unknown keys {sorted(unknown)}"
                    )
                steps.append(Step(**step))
            if not steps:
                raise StoryFormatError(f"{path.name}: {name}: no steps")
            covers = frozenset(raw.get("covers") or ())
            if covers - KINDS:
                raise StoryFormatError(
                    f"{path.name}: {name}: unknown kinds {sorted(covers - KINDS)}"
                )
            stories.append(
                Story(path.stem, name, language, steps, raw.get("metadata") or {}, covers)
            )
    return stories


@lru_cache(maxsize=1)
def _detector() -> Any:
    languages = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*languages).build()


@lru_cache(maxsize=1)
def _names() -> re.Pattern[str]:
    """The providers' and municipalities' names: proper names, not words of a language."""
    root = Path(__file__).resolve().parents[2]
    providers = yaml.safe_load((root / "tests/fixtures/search_providers.yml").read_text("utf-8"))
    names = {
        str(p[key]) for p in providers["providers"] for key in ("name_fi", "name_sv", "name_en")
        if p.get(key)
    }  # fmt: skip
    for line in (root / "data/geo/municipalities.csv").read_text("utf-8").splitlines()[1:]:
        names.update(line.split(",")[1:3])
    ordered = sorted((n for n in names if n), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered))


def text_language(text: str) -> str | None:
    """fi/sv/en of a bot text without its web addresses and proper names; ``None`` when too
    short to tell ("Testikirjasto Oulu" would make any sentence Finnish)."""
    plain = _names().sub(" ", URL.sub(" ", text))
    if len(re.findall(r"[^\W\d_]{2,}", plain)) < 3:
        return None
    found = _detector().detect_language_of(plain)
    return found.iso_code_639_1.name.lower() if found else None


@dataclass
class Turn:
    """What the bot did after one user message, read from the tracker's events."""

    intent: str | None
    actions: list[str]
    responses: list[str]
    messages: list[dict[str, Any]]

    @classmethod
    def from_events(cls, events: list[dict[str, Any]]) -> Turn:
        users = [e for e in events if e.get("event") == "user"]
        intent = (
            ((users[-1].get("parse_data") or {}).get("intent") or {}).get("name") if users else None
        )
        actions = [
            e["name"]
            for e in events
            if e.get("event") == "action" and e.get("name") not in IGNORED_ACTIONS
        ]
        bots = [e for e in events if e.get("event") == "bot"]
        responses = [
            (e.get("metadata") or {}).get("utter_action")
            for e in bots
            if (e.get("metadata") or {}).get("utter_action")
        ]
        return cls(intent, actions, responses, bots)


def card_labels(labels: dict[str, dict[str, list[str]]], language: str) -> set[str]:
    """Every label a card may show in ``language``."""
    index = LANGUAGES.index(language)
    return {names[index] for group in labels.values() for names in group.values()}


def language_problems(
    messages: list[dict[str, Any]], language: str, labels: dict[str, dict[str, list[str]]]
) -> list[str]:
    """Bot messages not in ``language``: texts by detection, cards by their labels."""
    problems = []
    allowed = card_labels(labels, language)
    for message in messages:
        data = message.get("data") or {}
        custom = data.get("custom") or {}
        cards = custom.get("cards") if isinstance(custom, dict) else None
        if cards:
            for card in cards:
                shown = [
                    *card.get("helps_with", []),
                    *card.get("forms", []),
                    *card.get("facts", []),
                ]
                wrong = [label for label in shown if label not in allowed]
                if wrong:
                    problems.append(f"card {card.get('id')}: labels {wrong} are not {language}")
            continue
        texts = [message.get("text") or ""]
        texts += [b.get("title", "") for b in data.get("buttons") or []]
        found = text_language(" ".join(texts))
        if found is not None and found != language:
            problems.append(f"{found} instead of {language}: {texts[0][:80]!r}")
    return problems


def slot_problems(expected: dict[str, Any], slots: dict[str, Any]) -> list[str]:
    return [
        f"slot {name} is {slots.get(name)!r}, expected {value!r}"
        for name, value in expected.items()
        if slots.get(name) != value
    ]
