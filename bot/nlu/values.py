"""Normalising extracted entity text to the values of the NLU contract (SPEC §4).

DIET finds the span ("sähköpostiani", "bankkoderna", "per telefon"); this maps
it to ``email``, ``identification``, ``phone``. It learns text → value pairs
from the annotated training data and looks them up by several keys — exact,
without accents, by lemma, by the start of the word — so inflected forms and
typos that were never seen still resolve. What cannot be resolved is dropped
rather than passed on as a value no one expects.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot import vocab
from bot.nlu.text import Token, edit_distance_at_most, strip_accents, words

ALLOWED: dict[str, frozenset[str]] = {
    "topic": vocab.TOPICS,
    "support_form": vocab.QUERY_FORMS,
    "language": frozenset(vocab.LANGUAGES),
}
SHORT_MESSAGE_WORDS = 8
"""A message of at most this many words is about as long as an answer to a question."""
PREFIX = 5
"""Words sharing their first letters usually share their stem (sähköpo-sti/-stia/-stin)."""

Lemmatizer = Callable[[str], Iterable[str]]


SPOKEN = {"mej": "mig", "dej": "dig", "sej": "sig"}
"""Spoken Swedish spellings, common in Finland, written as the standard word."""


def _word(token: Token) -> str:
    return SPOKEN.get(token.lower, token.lower)


def _plain(text: str) -> str:
    return " ".join(_word(w) for w in words(text))


@dataclass
class ValueLexicon:
    """Learned text → value counts per entity type."""

    counts: dict[str, dict[str, Counter[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    lemmatize: Lemmatizer | None = None
    unlabelled: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    """How often a learned phrase occurs in training messages without its label ("on the
    phone" said of a scammer): evidence that it is not always the entity."""

    def keys(self, text: str) -> list[str]:
        """Lookup keys of a span, most specific first."""
        plain = _plain(text)
        if not plain:
            return []
        keys = [plain, strip_accents(plain)]
        if self.lemmatize is not None:
            keys += [
                " ".join(lemmas)
                for lemmas in zip(*(self.lemmatize(w) for w in plain.split()), strict=False)
            ]
        keys += ["~" + " ".join(strip_accents(w)[:PREFIX] for w in plain.split())]
        return list(dict.fromkeys(keys))

    def learn(self, entity: str, text: str, value: str) -> None:
        """Remember that ``text`` meant ``value`` (only values of the contract are learned)."""
        if value not in ALLOWED.get(entity, frozenset()):
            return
        for key in self.keys(text):
            self.counts[entity][key][value] += 1

    def resolve(self, entity: str, text: str, value: str | None = None) -> str | None:
        """The contract value for a span, or ``None`` when it cannot be told."""
        allowed = ALLOWED.get(entity)
        if allowed is None:
            return value
        if value in allowed:
            return value
        table = self.counts.get(entity, {})
        for candidate in ([value] if value else []) + [text]:
            for key in self.keys(candidate):
                if key in table:
                    return table[key].most_common(1)[0][0]
        plain = strip_accents(_plain(text))
        if len(plain) >= 6:  # one typo in a longer word
            close: Counter[str] = Counter()
            for key, values in table.items():
                if (
                    not key.startswith("~")
                    and abs(len(key) - len(plain)) <= 1
                    and edit_distance_at_most(key, plain, 1)
                ):
                    close.update(values)
            if close:
                return close.most_common(1)[0][0]
        return None

    def count_occurrences(
        self, entity: str, text: str, labelled: Iterable[tuple[int, int]]
    ) -> None:
        """Counts the learned ``entity`` phrases of a training message outside its labels."""
        table = self.counts.get(entity, {})
        spans = list(labelled)
        for start, end, phrase in _phrases(text):
            if phrase in table and not any(s < end and start < e for s, e in spans):
                self.unlabelled[entity][phrase] += 1

    def spot(
        self,
        entity: str,
        text: str,
        answer: bool = False,
        answer_words: int | None = SHORT_MESSAGE_WORDS,
    ) -> list[tuple[int, int, str]]:
        """Spans of ``text`` written exactly as a learned ``entity`` span: (start, end, value).

        A safety net for the statistical extractor ("på plats", "in person", "over the
        phone"): only phrases seen in training whose value is clear and that were labelled
        at least 80 % of the times they occurred. A phrase seen labelled once counts only
        when it has two words or more and never occurred without its label.

        With ``answer``, the message is read as the answer to a question about ``entity``
        ("online is fine for me" to "how would you like help?"): in a message as short as an
        answer (at most ``answer_words`` words; ``None``: any length), a clear learned phrase
        is enough, however often it is said of other things.
        """
        table = self.counts.get(entity, {})
        is_short = answer and (answer_words is None or len(words(text)) <= answer_words)
        found: list[tuple[int, int, str]] = []
        taken = -1
        for start, end, phrase in _phrases(text):
            values = table.get(phrase)
            if not values or len(phrase) < 4 or start < taken:
                continue
            value, count = values.most_common(1)[0]
            seen = sum(values.values()) + self.unlabelled.get(entity, Counter())[phrase]
            clear = count / sum(values.values()) >= 0.8
            trusted = count >= 2 or (count == 1 and " " in phrase and seen == 1)
            pure = is_short or count / seen >= 0.8
            if clear and trusted and pure:
                found.append((start, end, value))
                taken = end
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": {e: {k: dict(v) for k, v in t.items()} for e, t in self.counts.items()},
            "unlabelled": {e: dict(c) for e, c in self.unlabelled.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], lemmatize: Lemmatizer | None) -> ValueLexicon:
        lexicon = cls(lemmatize=lemmatize)
        for entity, table in data["counts"].items():
            for key, values in table.items():
                lexicon.counts[entity][key].update(values)
        for entity, seen in data.get("unlabelled", {}).items():
            lexicon.unlabelled[entity].update(seen)
        return lexicon


def _phrases(text: str, max_words: int = 4) -> list[tuple[int, int, str]]:
    """Every run of one to ``max_words`` words: (start, end, lower-case phrase), longest
    first at each word."""
    tokens = words(text)
    return [
        (tokens[i].start, tokens[i + n - 1].end, " ".join(_word(t) for t in tokens[i : i + n]))
        for i in range(len(tokens))
        for n in range(min(max_words, len(tokens) - i), 0, -1)
    ]


def simplemma_lemmas(word: str) -> list[str]:
    """Lemmas of ``word`` in Finnish, Swedish and English (one key per language)."""
    import simplemma

    return [simplemma.lemmatize(word, lang=lang).casefold() for lang in ("fi", "sv", "en")]
