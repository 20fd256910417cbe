"""Language detection: short messages never decide, mixed-language messages do."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_DATA_DIR
from bot.geo import Gazetteer
from bot.nlu.language import Detection, LanguageDetector
from bot.nlu.places import MunicipalityMatcher


@pytest.fixture(scope="module")
def detector(gazetteer: Gazetteer) -> LanguageDetector:
    places = MunicipalityMatcher.from_files(gazetteer, DEFAULT_DATA_DIR / "geo" / "place_words.yml")
    return LanguageDetector.with_lingua(ignore=places.is_place_word)


@pytest.mark.parametrize(
    "text",
    ["ok", "hei", "kiitos", "Vaasa", "👍", "🙂🙂🙂", "tack", "thx", "joo", "Oulussa", "", "?!"],
)
def test_short_or_ambiguous_messages_never_decide(detector, text):
    detection = detector.detect(text)
    assert detection.language is None and not detection.confident


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mä en osaa käyttää sähköpostia", "fi"),
        ("mist saa apuu kännykän kanssa", "fi"),
        ("hur använder jag nätbanken", "sv"),
        ("ja bor i Närpes och behöver hjälp med datorn", "sv"),
        ("i need help with my phone", "en"),
        ("pankkitunnukset not work help me please", "en"),  # English around a Finnish service word
        ("where i can get help for kela application in Vantaalla", "en"),
        ("finns det hjälp med Kela på svenska", "sv"),
    ],
)
def test_longer_messages_get_their_language(detector, text, language):
    detection = detector.detect(text)
    assert detection.language == language
    assert detection.confident


def test_place_names_alone_are_not_evidence(detector):
    # Three words, all of them places: there is nothing to tell the language by.
    assert detector.detect("Vaasa Oulu Helsinki").language is None


def test_switching_needs_confidence():
    weak = Detection("sv", 0.55, "detected")
    strong = Detection("sv", 0.9, "detected")
    assert not weak.confident and strong.confident
