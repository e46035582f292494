"""French labels in page text: "Date de clôture : 1 juin 2019" -> "1 juin 2019".

Many partner sites have no stable classes but print the same labels on every page, so a
source's rules can name a label instead of a selector (`deadline = "label:Date de
clôture"`). Matching ignores case and accents, the colon is optional, and a value stops at
the next known label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from veille.sources.folding import fold

# Labels printed by the network's sites and their partners; a label's value stops at the
# next of these (or at any other label the source's rules use).
COMMON_LABELS = (
    "Date de lancement",
    "Date de clôture",
    "Date limite",
    "Financeur(s)",
    "Lieu",
    "Organisateur",
    "Thématique(s)",
    "Publié le",
    "Date",
    "Pays",
)


# Up to four words between a label and its colon: "Date limite de dépôt des candidatures :"
# is the label "Date limite de dépôt", "Lieu de la formation :" the label "Lieu".
_LABEL_TAIL = r"(?:[^\S\n]+[^\W\d][\w'-]*){1,4}"


def _label_pattern(label: str) -> re.Pattern[str]:
    """A label's regex: "Financeur(s)" also matches "Financeurs"; any spacing; optional colon."""
    words = fold(label).strip().rstrip(":").strip()
    parts = [r"\s+".join(re.escape(w) for w in part.split()) for part in words.split("(s)")]
    body = r"(?:\(s\)|s)?".join(parts)
    # Either a colon (after optional tail words on the same line), or none: then the value
    # may start on the next line (a <dt> label followed by its <dd>).
    return re.compile(
        rf"(?<!\w)(?P<label>{body})(?!\w)(?:(?:{_LABEL_TAIL})?[^\S\n]*(?P<colon>:)|\s*)[^\S\n]*"
    )


# A label without a colon only counts at the start of a segment ("| Publié le ..."), so
# that words of prose ("la réunion aura lieu le 10 mai", "date à confirmer") stay prose.
_SEGMENT_START = re.compile(r"(?:^|[\n|•·;.–—-])[^\S\n]*$")


def _is_label(folded: str, match: re.Match[str]) -> bool:
    if match["colon"]:
        return True
    return bool(_SEGMENT_START.search(folded, max(0, match.start() - 40), match.start()))


def text_after_label(text: str, label: str, stop_labels: Iterable[str]) -> str | None:
    """The value printed after a French label in `text`, or None when the label is absent.

    Matching ignores case and accents; the colon is optional. The value runs until the next
    stop label or the end of the line; a label alone on its line (`<dt>Lieu</dt><dd>...`)
    takes the next line.
    """
    if not label.strip():
        return None
    folded = fold(text)
    own = fold(label).strip().rstrip(":").strip()
    stops = [_label_pattern(s) for s in stop_labels if fold(s).strip().rstrip(":").strip() != own]
    found = _label_occurrences(folded, _label_pattern(label), stops)
    # "Date limite : ..." beats a label without colon, which may be a heading ("Lieu").
    match = next((m for m in found if m["colon"]), found[0] if found else None)
    if match is None:
        return None
    value = _value_from(text, folded, match.end(), stops)
    return value or None


def _label_occurrences(
    folded: str, target: re.Pattern[str], stops: list[re.Pattern[str]]
) -> list[re.Match[str]]:
    """Occurrences of the target that are not the start of a longer label ("Date" in
    "Date de clôture" belongs to the longer one)."""
    found = []
    for match in target.finditer(folded):
        longer = (s.match(folded, match.start()) for s in stops)
        if _is_label(folded, match) and not any(
            m and m.end("label") > match.end("label") for m in longer
        ):
            found.append(match)
    return found


def _value_from(text: str, folded: str, start: int, stops: list[re.Pattern[str]]) -> str:
    end = folded.find("\n", start)
    end = len(folded) if end < 0 else end
    for stop in stops:
        for match in stop.finditer(folded, start, end):
            if _is_label(folded, match):
                end = min(end, match.start())
                break
    value = text[start:end].strip(" \t|•·;,–—-")
    if value or end >= len(text) or text[end] != "\n":
        return value
    # The label stood alone on its line: its value is the next line, unless that is a label.
    following = text[end + 1 :].split("\n", 1)[0]
    if any(s.match(folded, end + 1) for s in stops):
        return ""
    return following.strip(" \t|•·;,–—-")
