"""Finding municipalities in free text: Finnish inflected forms, Swedish names, typos.

``MunicipalityMatcher.find`` returns the official Finnish name of each
municipality mentioned. Forms come from rules of Finnish noun inflection
(consonant gradation, -i/-e stems, -nen stems, both vowel harmonies — over-
generating is harmless, the extra strings are not words), a list of irregular
forms, Swedish names and other known names, and a tolerant match for typos.
Names that are also ordinary words ("salo", "Kaarina", "Nokia") need context.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from bot.geo import Gazetteer, Municipality
from bot.nlu.language import FUNCTION_WORDS
from bot.nlu.text import Token, one_slip, strip_accents, words

FormKind = Literal["nominative", "locative", "genitive", "swedish"]

VOWELS = set("aeiouyäöå")
LOCATIVE_ENDINGS = ("ssa", "sta", "lla", "lta", "lle", "na", "ksi", "sa", "ta", "la")
"""Local cases, essive and translative; the last three are common typos (``oulusa``)."""
TYPO_ENDINGS = frozenset({"sa", "ta", "la"})
FUZZY_ENDINGS = tuple(
    sorted({*LOCATIVE_ENDINGS, "n", "en", "an", "un", "in"}, key=len, reverse=True)
)
"""Endings cut before a tolerant match, longest first."""
CLITICS = ("kin", "kaan", "kään", "ko", "kö", "pa", "pä", "han", "hän")
# Consonant gradation, strong → weak, longest first (Lahti → Lahdessa, Helsinki → Helsingissä).
GRADATION = (
    ("kk", "k"),
    ("pp", "p"),
    ("tt", "t"),
    ("nk", "ng"),
    ("mp", "mm"),
    ("nt", "nn"),
    ("lt", "ll"),
    ("rt", "rr"),
    ("ht", "hd"),
    ("rk", "r"),
    ("lk", "l"),
    ("k", ""),
    ("p", "v"),
    ("t", "d"),
)
PLACE_CUES = {
    # Finnish
    "asun",
    "asuu",
    "asumme",
    "asutaan",
    "asuinpaikka",
    "kunta",
    "kunnassa",
    "kaupunki",
    "kaupungissa",
    "paikkakunta",
    "paikkakunnalla",
    "kotikunta",
    "lähellä",
    "lähelle",
    "kotoisin",
    "olen",
    "oon",
    "mä",
    "täällä",
    "tääl",
    # Swedish
    "i",
    "från",
    "bor",
    "kommun",
    "stad",
    "nära",
    "till",
    # English
    "in",
    "from",
    "near",
    "at",
    "to",
    "live",
    "living",
    "town",
    "city",
    "municipality",
}
PLACE_NOUNS = {
    "kirjasto",
    "kirjastossa",
    "kirjastoon",
    "kaupunki",
    "kaupungin",
    "kaupungissa",
    "kunta",
    "kunnan",
    "kunnassa",
    "kuntaa",
    "kunnasta",
    "kaupunkia",
    "kaupungista",
    "kirjastosta",
    "keskusta",
    "keskustassa",
    "keskustaan",
    "seudulla",
    "seutu",
    "alueella",
    "terveysasema",
    "terveyskeskus",
    "palvelupiste",
    "asema",
    "torilla",
}


@dataclass(frozen=True)
class PlaceMatch:
    """A municipality found in the text."""

    start: int
    end: int
    text: str
    value: str  # official Finnish name
    code: str
    how: str  # exact, lemma or fuzzy
    confidence: float
    kind: FormKind = "nominative"


def _stems(word: str) -> set[str]:
    """Possible inflection stems of a Finnish name (over-generated on purpose)."""
    stems = {word}
    if word[-1] in VOWELS:
        stems.add(_weak(word))
        if word.endswith("i"):
            e_stem = word[:-1] + "e"
            stems |= {e_stem, _weak(e_stem)}
        if word.endswith("e"):
            stems |= {word + "e", _weak(word) + "e"}
    else:
        stems.add(word + "i")  # Korsnäs → Korsnäsissä
    if word.endswith("nen"):
        base = word[:-3]
        stems |= {base + "se", base + "si"}  # Kaskinen → Kaskisen, Kaskisissa
    return {s for s in stems if s}


def _weak(word: str) -> str:
    """The weak grade of the consonants before the final vowel(s)."""
    end = len(word)
    while end > 0 and word[end - 1] in VOWELS:
        end -= 1
    head, tail = word[:end], word[end:]
    for strong, weak in GRADATION:
        if head.endswith(strong) and len(head) > len(strong):
            before = head[: -len(strong)]
            if len(strong) == 1 and before[-1] not in VOWELS and strong == "k":
                continue  # "k" disappears only between vowels (joki → joen)
            return before + weak + tail
    return word


def finnish_forms(name: str) -> dict[str, FormKind]:
    """Lower-case inflected forms of a Finnish municipality name, by kind."""
    lowered = name.casefold()
    if " " in lowered:
        return {}
    prefix, _, word = lowered.rpartition("-")
    prefix = prefix + "-" if prefix else ""
    forms: dict[str, FormKind] = {}
    for stem in _stems(word):
        for ending in LOCATIVE_ENDINGS:
            for harmonic in {ending, ending.replace("a", "ä")}:
                forms.setdefault(prefix + stem + harmonic, "locative")
        if stem[-1] in VOWELS:
            for illative in (stem[-1] + "n", "h" + stem[-1] + "n", "seen"):
                forms.setdefault(prefix + stem + illative, "locative")
        forms.setdefault(prefix + stem + "n", "genitive")
    if word.endswith("nen"):
        forms.setdefault(prefix + word[:-3] + "sten", "genitive")
    forms.pop(lowered, None)
    return forms


_FUNCTION_WORDS = frozenset().union(*FUNCTION_WORDS.values())


class MunicipalityMatcher:
    """Finds municipalities in messages; built once, then read-only."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        ambiguous: Iterable[str] = (),
        irregular: dict[str, list[str]] | None = None,
        irregular_genitive: dict[str, str] | None = None,
        lemmatize: Callable[[str], str] | None = None,
        is_known_word: Callable[[str], bool] | None = None,
    ) -> None:
        self._gazetteer = gazetteer
        self._ambiguous = {gazetteer.municipality(name).code for name in ambiguous}
        self._lemmatize = lemmatize
        self._is_known_word = is_known_word
        self._forms: dict[str, tuple[Municipality, FormKind]] = {}
        self._max_words = 1
        fuzzy: dict[str, Municipality] = {}
        for m in gazetteer:
            for form, kind in finnish_forms(m.name_fi).items():
                self._add(form, m, kind)
            for form in (irregular or {}).get(m.name_fi, []):
                self._add(form, m, "locative")
            if genitive := (irregular_genitive or {}).get(m.name_fi):
                self._add(genitive, m, "genitive")
            self._add(m.name_fi.casefold(), m, "nominative")
            for name in {m.name_sv, *m.other_names} - {m.name_fi}:
                self._add(name.casefold(), m, "swedish")
                if not name.endswith("s"):
                    self._add(name.casefold() + "s", m, "swedish")  # Vasas, Borgås
            if m.code not in self._ambiguous:
                sv = m.name_sv.casefold()
                # "å" is said, and often typed, as "o" (Borgå → "borgo").
                for stem in _stems(m.name_fi.casefold()) | {sv, sv.replace("å", "o")}:
                    if len(stem) >= 5:
                        fuzzy.setdefault(strip_accents(stem), m)
        self._fuzzy_by_letter: dict[str, list[tuple[str, Municipality]]] = defaultdict(list)
        for stem, m in fuzzy.items():
            self._fuzzy_by_letter[stem[0]].append((stem, m))

    @classmethod
    def from_files(cls, gazetteer: Gazetteer, place_words: Path) -> MunicipalityMatcher:
        """A matcher with the ambiguous names and irregular forms of ``place_words.yml``."""
        import simplemma  # imported here: its dictionaries load on first use

        for lang in ("fi", "sv", "en"):  # load the dictionaries now, not in a user's turn
            simplemma.is_known("a", lang=lang)
        data = yaml.safe_load(place_words.read_text(encoding="utf-8"))
        return cls(
            gazetteer,
            ambiguous=data.get("ambiguous", []),
            irregular=data.get("irregular", {}),
            irregular_genitive=data.get("irregular_genitive", {}),
            lemmatize=lambda w: simplemma.lemmatize(w, lang="fi"),
            # Function words ("varför") are words, although simplemma's lists leave them out.
            is_known_word=lambda w: w in _FUNCTION_WORDS
            or any(simplemma.is_known(w, lang=lang) for lang in ("fi", "sv", "en")),
        )

    def _is_word(self, lowered: str) -> bool:
        """Whether ``lowered`` is an ordinary word, also with a Finnish clitic ("vastaako")."""
        if self._is_known_word is None:
            return False
        return any(self._is_known_word(v) for v in _variants(lowered))

    def is_ambiguous(self, code: str) -> bool:
        """Whether the municipality's name is also an ordinary word, a first name or a brand."""
        return code in self._ambiguous

    def is_place_word(self, word: str) -> bool:
        """Whether ``word`` is a form of a municipality name (any language, any case)."""
        lowered = word.casefold()
        plain = strip_accents(lowered)
        return lowered in self._forms or (plain == lowered and plain + "\0plain" in self._forms)

    def _add(self, form: str, municipality: Municipality, kind: FormKind) -> None:
        # Accent-free keys are kept apart: they match only words typed without accents.
        for key in {form, strip_accents(form) + "\0plain"}:
            current = self._forms.get(key)
            # Prefer a name over an inflected form of another name, and the first seen.
            if current is None or (kind == "nominative" and current[1] != "nominative"):
                self._forms[key] = (municipality, kind)
        self._max_words = max(self._max_words, form.count(" ") + 1)

    def find(self, text: str) -> list[PlaceMatch]:
        """Every municipality mentioned in ``text``, left to right, without overlaps."""
        tokens = words(text)
        matches: list[PlaceMatch] = []
        i = 0
        while i < len(tokens):
            found = self._match_at(tokens, i)
            if found is None:
                i += 1
                continue
            match, used = found
            if self._plausible(match, tokens, i, used):
                matches.append(match)
            i += used
        return matches

    def _match_at(self, tokens: list[Token], i: int) -> tuple[PlaceMatch, int] | None:
        for n in range(min(self._max_words, len(tokens) - i), 0, -1):
            span = tokens[i : i + n]
            phrase = " ".join(t.lower for t in span).replace("’", "'")
            for candidate in _variants(phrase):
                hit = self._forms.get(candidate)
                if (
                    hit is None
                    and candidate == strip_accents(candidate)
                    and not self._is_word(candidate)
                ):
                    # Typed without Nordic letters ("narpes"); a word that has them ("vända")
                    # is not read as another word without them ("Vanda"), nor is a word
                    # without them ("inga", "kokar") read as a name with them (Ingå, Kökar).
                    hit = self._forms.get(candidate + "\0plain")
                if hit:
                    m, kind = hit
                    return self._match(text_of(span), span, m, kind, "exact", 1.0), n
        token = tokens[i]
        lowered = token.lower
        if self._lemmatize is not None and len(lowered) >= 3:
            lemma = self._lemmatize(lowered).casefold()
            hit = self._forms.get(lemma)
            if (
                hit
                and hit[1] == "nominative"
                and lemma != lowered
                and not _compound(lowered, lemma)
            ):
                return self._match(token.text, [token], hit[0], "locative", "lemma", 0.9), 1
        if len(lowered) >= 5 and not self._is_word(lowered):
            fuzzy = self._fuzzy(lowered)
            if fuzzy is not None:
                return self._match(token.text, [token], fuzzy, "locative", "fuzzy", 0.7), 1
        return None

    def _fuzzy(self, word: str) -> Municipality | None:
        """The one municipality ``word`` is a typo of: one slip of the keyboard or ear in all.

        A typo in the ending ("oulusa") uses up the slip, so a short stem must then be
        exact. Two letters off, or a letter no one mistypes for the other, is another
        place more often than a typo: "Leppävaara" is not Leppävirta, "Karigasniemi" not
        Kangasniemi, "Karttula" not Karstula (:func:`~bot.nlu.text.one_slip`).
        """
        plain = strip_accents(word)
        bucket = self._fuzzy_by_letter.get(plain[0], [])
        for ending in ("", *FUZZY_ENDINGS):
            if not plain.endswith(ending):
                continue
            probe = plain[: len(plain) - len(ending)] if ending else plain
            if len(probe) < 5:
                continue
            # A long stem keeps its one typo beside a typo ending ("savonlinasa").
            exact_only = ending in TYPO_ENDINGS and len(probe) < 8
            hits = {
                m.code: m
                for stem, m in bucket
                if (stem == probe if exact_only else one_slip(stem, probe))
            }
            if len(hits) == 1:
                return next(iter(hits.values()))
        return None

    @staticmethod
    def _match(
        text: str, span: list[Token], m: Municipality, kind: FormKind, how: str, confidence: float
    ) -> PlaceMatch:
        return PlaceMatch(
            span[0].start, span[-1].end, text, m.name_fi, m.code, how, confidence, kind
        )

    def _plausible(self, match: PlaceMatch, tokens: list[Token], i: int, used: int) -> bool:
        """Names that are also ordinary words need a locative form or a place cue."""
        if match.code not in self._ambiguous or match.kind == "swedish":
            return True  # "Lahtis", "Björneborg": the other names are not ordinary words
        kind = match.kind
        before = tokens[i - 1].lower if i > 0 else ""
        if kind == "locative" and match.how == "exact":
            word = match.text.casefold()
            same_case = strip_accents(before[-3:]) == strip_accents(word[-3:])
            if same_case and match.text.islower() and before not in PLACE_CUES | _FUNCTION_WORDS:
                return False  # "pienellä luodolla": an adjective agrees with a noun, not a name
            capitalised = match.text[:1].isupper()
            lemma = self._lemmatize(word).casefold() if self._lemmatize else ""
            ordinary = self._is_word(word) and lemma != match.value.casefold()
            return capitalised or before in PLACE_CUES or not ordinary
        after = tokens[i + used].lower if i + used < len(tokens) else ""
        if kind == "genitive":
            return after in PLACE_NOUNS
        only_the_name = len(tokens) == used  # an answer to "where do you live?"
        return before in PLACE_CUES or only_the_name


def _compound(word: str, lemma: str) -> bool:
    """Whether ``word`` is a compound on the genitive of ``lemma`` ("oulunkylä": a district)."""
    genitives = {g for g, kind in finnish_forms(lemma).items() if kind == "genitive"}
    return any(word.startswith(g) and len(word) - len(g) >= 3 for g in genitives)


def text_of(span: list[Token]) -> str:
    return " ".join(t.text for t in span)


def _variants(phrase: str) -> list[str]:
    """The phrase, without an English possessive, and without a Finnish clitic."""
    variants = [phrase]
    if phrase.endswith("'s"):
        variants.append(phrase[:-2])
    for clitic in CLITICS:
        if phrase.endswith(clitic) and len(phrase) - len(clitic) >= 3:
            variants.append(phrase[: -len(clitic)])
    return variants
