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


_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = ("dt", "gk", "bp", "vw", "ij", "iy", "sz", "ck")
"""Letters people write for each other by ear (Swedish speakers writing Finnish, spoken forms)."""


def _neighbours() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for r, row in enumerate(_KEY_ROWS):
        for c, key in enumerate(row):
            near = [row[c + 1]] if c + 1 < len(row) else []
            if r + 1 < len(_KEY_ROWS):  # the row below is staggered half a key to the right
                below = _KEY_ROWS[r + 1]
                near += [below[i] for i in (c - 1, c) if 0 <= i < len(below)]
            pairs |= {(key, n) for n in near} | {(n, key) for n in near}
    pairs |= {(pair[0], pair[1]) for pair in _SOUND_ALIKE}
    pairs |= {(pair[1], pair[0]) for pair in _SOUND_ALIKE}
    return frozenset(pairs)


SLIPS = _neighbours()
"""Letter pairs one easily types for the other: neighbouring keys and sound-alikes."""


def one_slip(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` with at most one typo a person makes: a letter missing, added
    or doubled, two letters swapped, or one letter replaced by a neighbouring key or a
    sound-alike. "Karttula" is not a slip of "Karstula" (s and t are apart): it is a village.
    """
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return (a[diff[0]], b[diff[0]]) in SLIPS
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    if abs(len(a) - len(b)) != 1:
        return False
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
