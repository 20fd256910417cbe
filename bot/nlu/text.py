"""Small text utilities shared by the NLU helpers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+(?:[-:'’][^\W\d_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Token:
    """A word of the message with its character offsets."""

    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.casefold()


def words(text: str) -> list[Token]:
    """Words (letters, with inner hyphens, colons and apostrophes), with offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def strip_accents(text: str) -> str:
    """``ä``→``a``, ``ö``→``o``, ``å``→``a``: how people type without Nordic keys."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Whether the Damerau-Levenshtein (optimal string alignment) distance is ≤ ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return False
        previous2, previous = previous, current
    return previous[-1] <= limit
