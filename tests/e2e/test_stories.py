"""Test stories in fi, sv and en through the REST channel, against the trained model.

Each step checks the intent, the bot's actions and responses, slots and cards it names,
and that every bot message is in the conversation language (see ``stories.py``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
import yaml

from bot.config import DEFAULT_DATA_DIR
from tests.e2e.stories import (
    LANGUAGES,
    Step,
    Story,
    Turn,
    language_problems,
    load_stories,
    slot_problems,
)

pytestmark = pytest.mark.e2e

STORIES = load_stories()
REQUIRED_KINDS = ("correction", "widening", "authority", "fallback")
AFTER_THE_CARDS = ("follow_up", "ladder", "cards_language", "device_authority")


@pytest.fixture(scope="module")
def labels() -> dict[str, dict[str, list[str]]]:
    return yaml.safe_load((DEFAULT_DATA_DIR / "labels.yml").read_text(encoding="utf-8"))


def test_each_language_has_at_least_twelve_stories_covering_the_hard_paths():
    counts = Counter(story.language for story in STORIES)
    assert all(counts[language] >= 12 for language in LANGUAGES), counts
    for language in LANGUAGES:
        covered = set().union(*(s.covers for s in STORIES if s.language == language))
        assert set(REQUIRED_KINDS) <= covered, (language, sorted(covered))


def test_each_language_has_six_stories_of_what_comes_after_the_cards():
    for language in LANGUAGES:
        after = [
            s for s in STORIES if s.language == language and set(s.covers) & set(AFTER_THE_CARDS)
        ]
        covered = set().union(*(s.covers for s in after))
        assert len(after) >= 6 and set(AFTER_THE_CARDS) <= covered, (language, len(after))


def step_problems(
    step: Step, turn: Turn, tracker: dict[str, Any], language: str, labels: dict[str, Any]
) -> list[str]:
    problems = []
    if step.intent and turn.intent != step.intent:
        problems.append(f"intent {turn.intent}, expected {step.intent}")
    if step.actions is not None and turn.actions != step.actions:
        problems.append(f"actions {turn.actions}, expected {step.actions}")
    if step.responses is not None and turn.responses != step.responses:
        problems.append(f"responses {turn.responses}, expected {step.responses}")
    slots = tracker.get("slots") or {}
    problems += slot_problems(step.slots, slots)
    if slots.get("language") != language:
        problems.append(f"conversation language {slots.get('language')}, expected {language}")
    if step.cards is not None:
        shown = [
            card["id"]
            for message in turn.messages
            for card in ((message.get("data") or {}).get("custom") or {}).get("cards", [])
        ]
        if shown[: len(step.cards)] != step.cards:
            problems.append(f"cards {shown}, expected first {step.cards}")
    problems += language_problems(turn.messages, language, labels)
    return problems


@pytest.mark.parametrize("story", STORIES, ids=lambda story: story.id)
def test_story(stack, labels, story: Story):
    sender = f"story-{uuid.uuid4().hex[:10]}"
    language = story.language
    last = 0.0  # the newest event's timestamp: Rasa may drop old events, so counts drift
    report = []
    for number, step in enumerate(story.steps, start=1):
        stack.say(sender, step.user, story.metadata)
        tracker = stack.tracker(sender)
        events = [e for e in tracker["events"] if e.get("timestamp", 0) > last]
        turn = Turn.from_events(events)
        last = max([last, *(e.get("timestamp", 0) for e in events)])
        language = step.language or language
        problems = step_problems(step, turn, tracker, language, labels)
        report += [f"step {number} {step.user!r}: {p}" for p in problems]
    assert not report, "\n".join(report)
