"""Which language a message is written in: Finnish, Swedish or English.

Short messages ("ok", "hei", "kiitos", a place name, an emoji) give no answer,
so they never switch an ongoing conversation's language. Longer ones get the
best guess with a confidence; the conversation switches only on a confident
one (:data:`SWITCH_CONFIDENCE`). The statistical detector (lingua) is helped by
the function words of each language, because people mix languages: English
written around "pankkitunnukset" is still English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.nlu.text import words

LANGUAGES = ("fi", "sv", "en")
LANGUAGE_DETECTION = "language_detection"
"""Key of the detection result in the parse data (read by the slot-mapping action)."""
MIN_WORDS = 3
SWITCH_CONFIDENCE = 0.75
"""A conversation changes language only on a detection at least this sure."""
HINT_WEIGHT = 0.35

# Words that mark a language. Words shared by two of them (en, ja, i, on, se, me, no) are left out.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "fi": frozenset(
        "ei oon olen mä mun minä minun mulla mulle sä sun se ne ku kun että et jos mutta tai myös "
        "missä mistä miten mitä mikä kuka voi voiko voisko voisiko onko onks osaa osaan apua apuu "
        "kanssa saa saan saako pitää pitäis haluan haluaisin tarvitsen tarviin joo kiitos kiitti tää "
        "tämä siellä täällä tääl nyt vielä vaan ihan kyllä niin asun käyttää en_ emmä eikä ois olis".split()
    ),
    "sv": frozenset(
        "jag är och på med det den ett att som inte int vad hur var vem varför därför kan vill "
        "behöver hjälp "
        "hjälpa min mitt mina har du mig mej för till från bor tack nej jo nu också eller men om så "
        "här där hä int nån någon skulle finns får borta hemma".split()
    ),
    "en": frozenset(
        "im i'm the a an is are am my you your it its it's to for with in of and or but how where "
        "what who can could help want need have has do does dont don't not please pls thanks thank "
        "this that there get use live by from at be would should any some".split()
    ),
}


SERVICE_WORDS = (
    "kela", "omakela", "omakanta", "kanta", "pankkitunnu", "mobiilivarm", "työmarkkinator",
    "tyomarkkinator", "digituk", "verokort", "omaver", "suomi.fi", "migri", "areena", "waltti",
    "vero", "kirjasto", "hsl", "vr", "poliisi", "te-palvel", "hyvinvointialue", "terveyskesk",
)  # fmt: skip
"""Finnish names of services that people keep in Swedish or English sentences."""


def is_service_word(word: str) -> bool:
    """Whether ``word`` names a Finnish service (no evidence of the message's language)."""
    return word.casefold().startswith(SERVICE_WORDS)


@dataclass(frozen=True)
class Detection:
    """The detected language (``None`` when the message is too short) and how sure."""

    language: str | None
    confidence: float
    reason: str

    @property
    def confident(self) -> bool:
        """Sure enough to switch a conversation's language."""
        return self.language is not None and self.confidence >= SWITCH_CONFIDENCE


Scorer = Callable[[str], dict[str, float]]
"""Confidence per language code for a text (sums to about 1)."""


class LanguageDetector:
    """Detects fi/sv/en for messages of at least :data:`MIN_WORDS` words."""

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
            values = detector.compute_language_confidence_values(text)
            return {codes[c.language]: c.value for c in values}

        return cls(score, ignore)

    def detect(self, text: str) -> Detection:
        """The language of ``text``; place names count as words but not as evidence."""
        all_words = [w.lower for w in words(text)]
        if len(all_words) < MIN_WORDS:
            return Detection(None, 0.0, f"{len(all_words)} words, need {MIN_WORDS}")
        evidence = [w for w in all_words if not (self._ignore(w) or is_service_word(w))]
        if not evidence:
            return Detection(None, 0.0, "only names")
        scores = dict.fromkeys(LANGUAGES, 0.0)
        scores.update(self._scorer(" ".join(evidence)))
        hints = {lang: sum(w in FUNCTION_WORDS[lang] for w in evidence) for lang in LANGUAGES}
        total_hints = sum(hints.values())
        if total_hints:
            scores = {
                lang: (1 - HINT_WEIGHT) * scores[lang] + HINT_WEIGHT * hints[lang] / total_hints
                for lang in LANGUAGES
            }
        best = max(scores, key=lambda lang: scores[lang])
        return Detection(best, scores[best], "detected")
