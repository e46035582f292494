"""Near-duplicate titles: MinHash signatures cut into bands (LSH) find candidates in the
database by an indexed lookup; a stricter comparison of the words then decides.

A relay of a call usually *adds* words to its title ("… : date limite prolongée", "AFD —
…") and rarely *replaces* one; two different calls of one programme differ by a word on
each side ("… au Tchad" / "… au Togo", "… 2025" / "… 2026"). So the words one title has
and the other lacks must all be on one side; when the shorter title covers little of the
longer one, the deadline or the funder must agree too. A wrongly merged item would hide a
call from staff, a missed merge only shows it twice: when in doubt, keep them apart.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz

from veille.sources.folding import fold

BANDS, ROWS = 10, 3  # 30 hashes; Jaccard 0.7 -> candidate with p = 1 - (1 - 0.7**3)**10 = 0.99
# Words that say nothing of which call it is: articles, and the genre or relay noise.
STOPWORDS = frozenset(
    [
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
        "appel",
        "appels",
        "projet",
        "projets",
        "aap",
        "ami",
        "candidature",
        "candidatures",
        "proposition",
        "propositions",
        "manifestation",
        "interet",
        "call",
        "date",
        "dates",
        "limite",
        "prolongee",
        "prolonge",
        "report",
        "reportee",
        "nouveau",
        "nouvelle",
        "edition",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
_MASK = (1 << 63) - 1  # bands are stored in a signed BIGINT


@dataclass(frozen=True)
class Title:
    """A title prepared once for all the comparisons it takes part in."""

    text: str

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(_stem(w) for w in _WORD.findall(fold(self.text)) if w not in STOPWORDS)

    @cached_property
    def numbers(self) -> frozenset[str]:
        return frozenset(w for w in self.words if w.isdigit())

    @cached_property
    def sorted_text(self) -> str:
        return " ".join(sorted(self.words))

    @cached_property
    def bands(self) -> list[int]:
        return bands(self)


# MinHash permutations: one stable hash per word, then h_i(x) = (a_i * x + b_i) mod p, the
# classic universal family; far cheaper than one cryptographic hash per word and seed.
_PRIME = (1 << 61) - 1
_rng = random.Random(20261122)  # fixed: bands stored in the database must stay comparable
_PERMUTATIONS = [(_rng.randrange(1, _PRIME), _rng.randrange(_PRIME)) for _ in range(BANDS * ROWS)]


def bands(title: str | Title) -> list[int]:
    """The title's LSH band keys (empty for a title too short to compare)."""
    words = (title if isinstance(title, Title) else Title(title)).words
    if len(words) < 2:  # too short to say anything about similarity
        return []
    hashes = [_word_hash(w) for w in words]
    signature = [min((a * x + b) % _PRIME for x in hashes) for a, b in _PERMUTATIONS]
    result = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(repr((band, rows)).encode(), digest_size=8).digest()
        result.append(int.from_bytes(digest, "little") & _MASK)
    return result


def _word_hash(word: str) -> int:
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % _PRIME


def _stem(word: str) -> str:
    """Plural and singular alike: "collectivites" ~ "collectivite", "reseaux" ~ "reseau"."""
    if len(word) > 3 and word[-1] in "sx" and not word.isdigit():
        return word[:-1]
    return word


def similarity(a: Title, b: Title) -> float:
    """How alike two titles are (0-100), to pick the best of several candidates."""
    return fuzz.token_sort_ratio(a.sorted_text, b.sorted_text)


def same_thing(a: Title, b: Title, *, dates_agree: bool | None, funders_agree: bool | None) -> bool:
    """Do two titles name the same thing? Deadlines may differ (relays extend them), and
    funders are written many ways ("AFD", "Agence française de développement"): agreeing
    helps, differing proves nothing."""
    if a.numbers and b.numbers and a.numbers != b.numbers:
        return False  # "Jeunesse 2025" is not "Jeunesse 2026"
    only_a, only_b = a.words - b.words, b.words - a.words
    shared = len(a.words) - len(only_a)
    if shared < 2:
        return False
    if only_a and only_b:  # each has words of its own: a place, a theme, another call
        return False
    covered = shared / max(len(a.words), len(b.words))
    return covered >= 0.6 or bool(dates_agree) or bool(funders_agree)
