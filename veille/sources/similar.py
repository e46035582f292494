"""Near-duplicate titles: MinHash signatures cut into bands (LSH), confirmed by rapidfuzz.

Two relays of the same call ("Appel à projets Jeunesse VI : date limite prolongée" and
"AAP « Jeunesse VI » de la DAECT") share few exact words but most significant ones.
"""

from __future__ import annotations

import hashlib
import re

from rapidfuzz import fuzz

from veille.sources.folding import fold

BANDS, ROWS = 8, 2  # 16 hashes; Jaccard 0.5 -> found with p = 1 - (1 - 0.5**2)**8 = 0.90
STOPWORDS = frozenset(
    {
        "a",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "n",
        "ou",
        "par",
        "pas",
        "pour",
        "qu",
        "que",
        "qui",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "un",
        "une",
        "vos",
        "votre",
        "nos",
        "notre",
        "the",
        "of",
        "and",
        "for",
        "to",
        "in",
        "on",
    }
)
_WORD = re.compile(r"[a-z0-9]+")
_MASK = (1 << 63) - 1  # bands are stored in a signed BIGINT


def words(title: str) -> list[str]:
    return [w for w in _WORD.findall(fold(title)) if w not in STOPWORDS]


def _hash(word: str, seed: int) -> int:
    digest = hashlib.blake2b(word.encode(), digest_size=8, salt=seed.to_bytes(8, "little"))
    return int.from_bytes(digest.digest(), "little")


def bands(title: str) -> list[int]:
    tokens = set(words(title))
    if len(tokens) < 2:  # too short to say anything about similarity
        return []
    signature = [min(_hash(t, seed) for t in tokens) for seed in range(BANDS * ROWS)]
    result = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(repr((band, rows)).encode(), digest_size=8).digest()
        result.append(int.from_bytes(digest, "little") & _MASK)
    return result


def numbers(title: str) -> set[str]:
    return {w for w in words(title) if w.isdigit()}


def similarity(a: str, b: str) -> float:
    return fuzz.token_set_ratio(" ".join(words(a)), " ".join(words(b)))


def same_thing(a: str, b: str, *, dates_agree: bool | None, funders_agree: bool | None) -> bool:
    """Do two titles name the same call? Years and numbers must not contradict each other
    ("Jeunesse 2025" is not "Jeunesse 2026"); a borderline score needs another agreement."""
    na, nb = numbers(a), numbers(b)
    if na and nb and na != nb:
        return False
    if funders_agree is False:
        return False
    score = similarity(a, b)
    if score >= 90:  # relays often extend the deadline: a different date does not veto
        return True
    if score >= 75:
        return bool(dates_agree) or bool(funders_agree)
    return False
