"""The support form a whole message asks for, read beside the span extractors.

DIET and the learned phrases (:mod:`bot.nlu.values`) find a form where its words
are ones seen in training. People also say it in words of their own ("voiks
teille vaan kirjottaa", "can I write instead of calling"), and form-like words
are often about something else ("a man called me from the bank"). A linear model
over the whole message (:class:`bot.nlu.intents.LinearTextModel`: characters,
words, lemmas) reads both from the context; :class:`FormReader` uses it only
where it is sure: to add a form nothing else found, and to say that a form found
is not what the message asks for. The thresholds were chosen by cross-validation
on the training data (docs/nlu-experiments.md), not on the held-out set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.nlu.intents import LinearTextModel

NO_FORM = "none"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class FormReading:
    """The form the message asks for (``None``: none) and the model's probability for it."""

    value: str | None
    probability: float


class FormReader:
    """A message-level support-form classifier; ``fit`` on (text, forms) pairs."""

    def __init__(self, c: float = 30.0) -> None:
        self._model = LinearTextModel(c=c)

    def fit(self, texts: Sequence[str], forms: Sequence[Iterable[str]]) -> FormReader:
        """Learns from messages and the forms labelled in them.

        A message naming two forms ("phone or video") teaches nothing about
        either alone and is left out.
        """
        pairs = [(t, sorted(set(f))) for t, f in zip(texts, forms, strict=True)]
        kept = [(t, f[0] if f else NO_FORM) for t, f in pairs if len(f) <= 1]
        self._model.fit([t for t, _ in kept], [label for _, label in kept])
        return self

    def read(self, text: str) -> FormReading:
        label, probability = self._model.predict(text)[0]
        return FormReading(None if label == NO_FORM else label, probability)

    def cue(
        self, text: str, value: str, taken: Iterable[tuple[int, int]] = ()
    ) -> tuple[int, int] | None:
        """The word of ``text`` that says ``value`` most clearly, as (start, end).

        The entity's span: where a person reading the log sees why the form was read.
        Words inside ``taken`` (other entities' spans) are passed over: "video call"
        already read as the topic leaves "screen" in "can we do video call so you see
        my screen" to carry the form. ``None`` when every word is taken.
        """
        spans = list(taken)
        words = [
            w
            for w in _WORD.finditer(text)
            if not any(start < w.end() and w.start() < end for start, end in spans)
        ]
        if not words:
            return None
        scores = self._model.probabilities([w.group(0) for w in words], value)
        best = words[max(range(len(words)), key=scores.__getitem__)]
        return best.start(), best.end()
