"""Which language a message is written in: Finnish, Swedish or English.

Short or ambiguous messages ("ok", "hei", "kiitos", a place name, an emoji)
give no answer, so they never switch an ongoing conversation's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.nlu.text import words

LANGUAGES = ("fi", "sv", "en")
MIN_WORDS = 3
MIN_CONFIDENCE = 0.6
MIN_MARGIN = 0.25


@dataclass(frozen=True)
class Detection:
    """The detected language, or ``None`` with the reason."""

    language: str | None
    confidence: float
    reason: str


Scorer = Callable[[str], dict[str, float]]
"""Confidence per language code for a text (sums to about 1)."""


class LanguageDetector:
    """Detects fi/sv/en for messages long enough to tell."""

    def __init__(self, scorer: Scorer, ignore: Callable[[str], bool] | None = None) -> None:
        self._scorer = scorer
        self._ignore = ignore or (lambda word: False)

    @classmethod
    def with_lingua(cls, ignore: Callable[[str], bool] | None = None) -> LanguageDetector:
        """The production detector (lingua, limited to Finnish, Swedish and English)."""
        from lingua import Language, LanguageDetectorBuilder

        codes = {Language.FINNISH: "fi", Language.SWEDISH: "sv", Language.ENGLISH: "en"}
        detector = (
            LanguageDetectorBuilder.from_languages(*codes).with_preloaded_language_models().build()
        )

        def score(text: str) -> dict[str, float]:
            return {
                codes[c.language]: c.value
                for c in detector.compute_language_confidence_values(text)
            }

        return cls(score, ignore)

    def detect(self, text: str) -> Detection:
        """The language of ``text`` when it is clear enough; place names do not count as words."""
        counted = [w.text for w in words(text) if len(w.text) > 1 and not self._ignore(w.text)]
        if len(counted) < MIN_WORDS:
            return Detection(None, 0.0, f"{len(counted)} words, need {MIN_WORDS}")
        scores = self._scorer(" ".join(counted))
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        (best, confidence), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        if confidence < MIN_CONFIDENCE or confidence - runner_up < MIN_MARGIN:
            return Detection(
                None, confidence, f"unclear ({best} {confidence:.2f}, next {runner_up:.2f})"
            )
        return Detection(best, confidence, "detected")
