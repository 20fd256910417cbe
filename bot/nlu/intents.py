"""A linear message classifier over character n-grams, words and lemmas, for fi/sv/en at once.

It reads a message's intent (:class:`bot.nlu.components.LinearIntentClassifier`) and the
support form the whole message asks for (:mod:`bot.nlu.forms`).

Character n-grams carry Finnish inflection and typos; lemmas (simplemma, in all
three languages) join the forms of a word; word pairs carry short phrases.
Held-out comparisons that chose it are in docs/nlu-experiments.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=200_000)
def _lemmas(word: str) -> str:
    import simplemma

    return " ".join(
        sorted({simplemma.lemmatize(word, lang=lang).casefold() for lang in ("fi", "sv", "en")})
    )


def lemma_text(text: str) -> str:
    """The text as the lemmas of its words in Finnish, Swedish and English."""
    return " ".join(_lemmas(w) for w in _WORD.findall(text.casefold()))


class LinearTextModel:
    """TF-IDF features and a logistic regression; ``predict`` gives a ranked distribution."""

    def __init__(self, c: float = 30.0, lemmatize: Callable[[str], str] = lemma_text) -> None:
        self._lemmatize = lemmatize
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True)
        self._words = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        )
        self._lemma_words = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        )
        self._classifier = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")

    def _features(self, texts: Sequence[str], fit: bool) -> object:
        lowered = [t.casefold() for t in texts]
        lemmas = [self._lemmatize(t) for t in texts]
        parts = []
        for vectorizer, data in (
            (self._chars, lowered),
            (self._words, lowered),
            (self._lemma_words, lemmas),
        ):
            parts.append(vectorizer.fit_transform(data) if fit else vectorizer.transform(data))
        return hstack(parts).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearTextModel:
        self._classifier.fit(self._features(texts, fit=True), list(labels))
        return self

    def predict(self, text: str) -> list[tuple[str, float]]:
        """Labels with their probabilities, most likely first."""
        probabilities = self._classifier.predict_proba(self._features([text], fit=False))[0]
        order = np.argsort(-probabilities)
        return [(str(self._classifier.classes_[i]), float(probabilities[i])) for i in order]

    def probabilities(self, texts: Sequence[str], label: str) -> list[float]:
        """The probability of ``label`` for each of ``texts`` (0 for a label never seen)."""
        classes = list(self._classifier.classes_)
        if label not in classes or not texts:
            return [0.0] * len(texts)
        column = classes.index(label)
        found = self._classifier.predict_proba(self._features(texts, fit=False))
        return [float(row[column]) for row in found]
