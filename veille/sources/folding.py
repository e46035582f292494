"""Folding French text for matching: accents and case removed, apostrophes unified.

The folded copy keeps the length of the original, character for character, so that a
match found in the folded text points at the same place in the original ("Date de
clôture :" found in "date de cloture :" gives the value's position in the page).
"""

from __future__ import annotations

import unicodedata
from functools import cache

_APOSTROPHES = "’ʼ‘`´"


@cache
def _base(char: str) -> str:
    """The character without its accent, always exactly one character."""
    if char in _APOSTROPHES:
        return "'"
    decomposed = unicodedata.normalize("NFD", char)
    return decomposed[0] if decomposed else char


@cache
def _folded(char: str) -> str:
    base = _base(char)
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def fold(text: str) -> str:
    """Lower case, no accents, one apostrophe: "Date de Clôture" -> "date de cloture"."""
    return "".join(_folded(c) for c in text)


def strip_accents(text: str) -> str:
    """No accents, one apostrophe, case kept (acronyms such as AAP or VSI stay readable)."""
    return text if text.isascii() else "".join(_base(c) for c in text)
