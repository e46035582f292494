"""French dates and deadlines in free text, in Europe/Paris.

Sources state dates in prose and labels: "Date limite : 15 mars 2027", "jusqu'au lundi 15 mai
2023 à 18h", "du 3 au 15 mars 2019", "17 décembre 2024 - 24 janvier 2025", "Clôturé". Our own
regexes handle these common forms precisely and fast; dateparser is only a fallback for what
they miss (relative words such as "demain", month-only dates), and only on short windows
because it is slow and liberal.

All matching runs on a cleaned copy of the text (lower case, one kind of space, dash and
apostrophe) and on an accent-folded copy of the same length, so that positions agree and
"fevrier", "Février" and "FÉVRIER" are the same word.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import dateparser

from veille.sources.folding import fold

PARIS = ZoneInfo("Europe/Paris")

_MAX_TEXT = 100_000  # far above a page's text; bounds the work spent on junk input
_DP_WINDOW = 200  # dateparser is slow and liberal: never give it more than this
_CUE_WINDOW = 60  # text after a deadline label handed to dateparser when no date follows
_MAX_DP_CALLS = 3  # a long page may hold many labels: bound the slow fallback
_SHORT_VALUE = 60  # a text this short holding one date is a label's value: take the date
_CUE_GAP = 80  # max distance between a label ("Date de clôture") and its date
_MIN_YEAR, _MAX_YEAR = 1900, 2200
_START_OF_DAY = time(0, 0)
_END_OF_DAY = time(23, 59)
_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "PREFER_DATES_FROM": "future",  # same rule as a year-less date: the next occurrence
}


@dataclass(frozen=True, slots=True)
class DeadlineInfo:
    deadline: datetime | None  # aware, Europe/Paris; 23:59 local when the text gives no time
    closed: bool  # a status word says the call is over ("Clôturé", "clos", "Terminé")
    opens: datetime | None = None  # start of a range, when there is one


# --- vocabulary (accent-folded, lower case) ---------------------------------------------

_MONTHS: dict[str, int] = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "mar": 3, "march": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "sep": 9, "september": 9,
    "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11,
    "decembre": 12, "dec": 12, "december": 12,
}  # fmt: skip
# Longest first, so that "mars" wins over "mar" and "septembre" over "sept".
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = (
    r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
    r"|lun|mar|mer|jeu|ven|sam|dim|mon|tue|wed|thu|fri|sat|sun)\.?,?"
)

# --- date regexes (run on the folded text) ------------------------------------------------

_ISO = re.compile(
    r"(?<![\d.])(?P<year>(?:19|20|21)\d\d)(?P<sep>[-/])(?P<month>\d\d)(?P=sep)(?P<day>\d\d)"
    r"(?:[t ](?P<hour>\d\d):(?P<minute>\d\d)(?::\d\d(?:[.,]\d+)?)?"
    r"(?P<offset>z|[+-]\d\d(?::?\d\d)?)?)?(?!\d)"
)
# 15/03/2027, 15.03.2027, 15-03-2027, 15/03/27. A "-" may precede: "17/12/2024-24/01/2025".
_NUM_DATE = re.compile(
    r"(?<![\d/.])(?P<day>\d{1,2})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)"
    r"(?P<year>\d{4}|\d\d)(?!\d)(?![/.]\d)"
)
# "15/03" without a year: only trusted after a cue word, see _YEARLESS_CUE.
_SHORT_NUM_DATE = re.compile(r"(?<![\d/.])(?P<day>\d{1,2})/(?P<month>\d\d)(?![\d/])")
_YEARLESS_CUE = re.compile(r"(?:\b(?:le|au|du|avant|jusqu'au|et)|-)\s*$")
# "Mardi 8 mars 2022", "1er août", "15 janv. 2027", "3 déc 2026", "06 Sep 2021".
_TEXT_DATE = re.compile(
    rf"(?:\b{_WEEKDAY}\s+)?(?<!\d)(?P<day>\d{{1,2}})(?:er|eme|e|°)?\s*(?P<month>{_MONTH_ALT})\b\.?"
    r"(?:,?\s+(?P<year>(?:19|20|21)\d\d)(?!\d))?"
)

# "mars 2027", "fin mars 2027" after a deadline label: the call runs to the end of the month.
_MONTH_YEAR = re.compile(
    rf"\W*(?:(?:fin|courant)\s+(?:(?:de\s+)?(?:mois\s+)?(?:de\s+|d'))?)?"
    rf"(?P<month>{_MONTH_ALT})\b\.?\s+(?P<year>(?:19|20|21)\d\d)(?!\d)"
)

_TIME = (
    r"(?:(?P<h>\d{1,2})\s*h(?:eures?)?(?:\s?(?P<m>\d\d))?(?![\da-z])"
    r"|(?P<h2>\d{1,2}):(?P<m2>\d\d)(?::\d\d)?(?!\d)"
    # A zone only after "16:45[:00]": RFC 822 dates ("+0200", "GMT"); "18:00-20:00" is a range.
    r"(?:\s*(?P<zone>gmt|utc|ut|z)\b|\s+(?P<offset>[+-]\d\d:?\d\d)(?!\d))?"
    r"|\b(?P<noon>midi)\b|\b(?P<midnight>minuit)\b)"
)
# The time right after a date: "à 18h", ", 12h00", " de 9h30", " 16:45:00 +0200", " (midi)".
_TIME_AFTER = re.compile(
    r"\s*,?\s*(?:[-(]\s*)?(?:(?:a\s+partir\s+de|jusqu'a|avant|vers|des|de|a)\s*)?" + _TIME
)
# The end of a time range: "de 9h30 à 12h30", "18h-20h".
_TIME_RANGE = re.compile(r"\s*(?:a|-|jusqu'a|et)\s*" + _TIME)

# What may separate the two dates of a range: "du X au Y", "X - Y", "entre le X et le Y".
_RANGE_GAP = re.compile(r"\s*,?\s*(?P<conn>au|a|et(?:\s+le)?|-|jusqu'au|jusqu'a|/)\s*(?:le\s+)?")
_ENTRE_BEFORE = re.compile(r"\bentre(?:\s+le)?\s*$")
# A range whose start is a bare day: "du 3 au 15 mars 2019", "entre le 1er et le 30 sept.".
_BARE_DAY = re.compile(
    rf"(?P<cue>\b(?:du|entre(?:\s+le)?|les)\s+)?(?:\b{_WEEKDAY}\s+)?(?<![\d/.:,])"
    r"(?P<day>\d{1,2})(?:er|e)?\s*(?P<conn>au|a|et(?:\s+le)?|-)\s*(?:le\s+)?$"
)

# --- labels ("cues") that tell what a date is ---------------------------------------------

_CUES = re.compile(
    r"\b(?:"
    # an extended deadline beats the original one
    r"(?P<ext>(?:prolong|repouss|report|decal)\w*\s+(?:au|jusqu'au|a)|nouvelle\s+date\s+limite)"
    r"|(?P<strong>dates?\s+limites?"
    r"|dates?\s+(?:de\s+)?(?:cloture|fin|butoir|echeance|depot|remise|reception|soumission)"
    r"|date\s+d'echeance|clotur\w*|clos(?:e|es)?\s+le|fermeture|echeance|deadline|closing\s+date"
    r"|fin\s+des\s+(?:candidatures|inscriptions|depots)"
    r"|(?:depot|envoi|remise|reception|soumission|retour)s?\s+des\s+"
    r"(?:dossiers|candidatures|projets|propositions|demandes|offres|notes))"
    # weak cues only count when the date follows at once ("avant le 30/04/2027")
    r"|(?P<weak>avant|au\s+plus\s+tard|jusqu'au|jusqu'a|jusqu\s+au|d'ici|limite)"
    r"|(?P<opens>dates?\s+(?:de\s+)?(?:lancement|debut|d'ouverture|ouverture)|ouverture"
    r"|lancement|a\s+partir\s+du|des\s+le|debut\s+des\s+\w+|ouvert(?:e|es|s)?\s+(?:le|depuis))"
    r"|(?P<pub>publie(?:e|es|s)?|date\s+de\s+(?:publication|mise\s+en\s+ligne|creation|mise\s+a\s+jour)"
    r"|mise?\s+a\s+jour|mise?\s+en\s+ligne|modifiee?\s+le|creee?\s+le|parue?\s+le"
    r"|posted|published|updated)"
    r")\b"
)
_WEAK_GAP = re.compile(r"[\s:,]*(?:(?:le|du|au|la\s+date\s+du)\s*)?")
_BREAK = re.compile(r"[|;!?]|\.(?:\s|$)")  # a label's date never lies beyond a sentence end
_RANK = {"ext": 0, "strong": 1, "weak": 2}

# --- status words -------------------------------------------------------------------------

# On the accented text: "clôturé" (participle = status) differs from "clôture" (noun = label).
_CLOSED_STRONG = re.compile(r"\b(?:cl[oô]tur(?:é|ée|és|ées)|clos)\b")
# On the folded text; these also have other meanings ("une ferme", "close" in English), so they
# only count in a short segment, after a status word, or right after a date.
_CLOSED_WEAK = re.compile(
    r"\b(?:terminee?s?|fermee?s?|expiree?s?|clotures?|closes?|closed|expired|finished|ended)\b"
)
_NEGATED = re.compile(r"\b(?:pas|non|jamais)(?:\s+encore)?[\s-]*$")
_NOUN_CLOS_BEFORE = re.compile(r"\b(?:le|au|du|un|huis)\s+$")  # "huis clos", "le Clos"
_NOUN_CLOS_AFTER = re.compile(r"-|\s+(?:de|du|des|d'|saint)\b")
_DATE_AFTER = re.compile(
    rf"\s*(?:[:,-]\s*)?(?:(?:le|au|a|du|en\s+date\s+du)\s+)?(?:{_WEEKDAY}\s+)?\d"
)
_LABEL_AFTER = re.compile(r"\s*(?::|\d|\b(?:le|du|des|de|d'|au|a|prevue?s?)\b)")
_SEGMENT_BREAK = re.compile(r"[|\n•·;()\[\]{}!?:]|\.\s|\s-\s")
_STATUS_LEAD = re.compile(
    r"\b(?:appels?|candidatures?|inscriptions?|statut|etat|status|depots?|dossiers?|offres?"
    r"|missions?|sessions?|concours|call)\b(?:\s+\S+){0,3}\s*$"
)
_ENDS_WITH_YEAR = re.compile(r"\b(?:19|20|21)\d\d\s*$")  # "1 juin 2019 CLOTURE"
_ARTICLE_BEFORE = re.compile(r"\b(?:la|une|des|les|sa|ses|notre|nos|cette|leurs?|aux?)\s+$")

# dateparser gets a window only if it names a month or a relative day: it turns a lone "3"
# or "18h30" into a date of the current month, which we do not want.
_DP_HINT = re.compile(
    rf"\b(?:{_MONTH_ALT}|demain|apres-demain|aujourd'hui|hier|prochaine?|semaines?|mois|jours?)\b"
)

# --- text normalisation -------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u02bc\u00b4`", "'"),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    }
)
_NEWLINES = re.compile(r" ?\n\s*")  # after _HSPACE: no quadratic scan of long space runs
_HSPACE = re.compile(r"[^\S\n]+")  # \s covers \xa0, \u202f and the other Unicode spaces


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text[:_MAX_TEXT]).translate(_TRANSLATE)
    return _NEWLINES.sub("\n", _HSPACE.sub(" ", text)).lower()


# --- points (one date mention) and spans (one date or a range) ----------------------------


@dataclass(slots=True)
class _Point:
    start: int
    end: int
    day: int
    month: int | None  # None only for the bare day that starts "du 3 au 15 mars"
    year: int | None  # None when the text omits it
    hour: int | None = None
    minute: int = 0
    tz: tzinfo | None = None  # an explicit offset ("+02:00", "Z", "GMT"); else Paris time
    end_hour: int | None = None  # "de 9h30 à 12h30"
    end_minute: int = 0


@dataclass(slots=True)
class _Span:
    start: int
    end: int
    last: _Point  # the date itself, or the end of a range
    first: _Point | None = None  # the start of a range


@dataclass(slots=True)
class _Cue:
    start: int
    end: int
    kind: str  # ext | strong | weak | opens | pub


@dataclass(slots=True)
class _Scan:
    clean: str
    folded: str
    spans: list[_Span]
    tags: list[str | None]  # kind of the label in front of each span
    cues: list[_Cue]
    used_cues: set[int]
    invalid: bool  # a date-like token was impossible ("31/02/2027"): do not ask dateparser


def _full_year(digits: str) -> int:
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _make_point(start: int, end: int, day: int, month: int, year: int | None) -> _Point | None:
    if not 1 <= month <= 12 or (year is not None and not _MIN_YEAR <= year <= _MAX_YEAR):
        return None
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: "29 février" alone is valid
    except ValueError:
        return None
    return _Point(start, end, day, month, year)


def _offset(text: str | None) -> tzinfo | None:
    """An explicit zone: "z", "gmt", "+0200", "-05:00" (None when absent or absurd)."""
    if not text:
        return None
    if text in ("z", "gmt", "utc", "ut"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _time_of(match: re.Match[str]) -> tuple[int, int, tzinfo | None] | None:
    """(hour, minute, zone) of a _TIME match, or None when out of range ("25h")."""
    if match["noon"]:
        return 12, 0, None
    if match["midnight"]:
        return 23, 59, None  # "le 15 mars à minuit" means the end of the 15th
    if match["h"] is not None:
        hour, minute, tz = int(match["h"]), int(match["m"] or 0), None
    else:
        hour, minute = int(match["h2"]), int(match["m2"])
        tz = _offset(match["zone"] or match["offset"])
    if hour == 24 and minute == 0:
        return 23, 59, tz
    if hour > 23 or minute > 59:
        return None
    return hour, minute, tz


def _find_points(folded: str) -> tuple[list[_Point], bool]:
    """All date mentions, left to right, without overlaps; and whether one was impossible."""
    found: list[tuple[int, int, _Point | None]] = []
    for m in _ISO.finditer(folded):
        point = _make_point(m.start(), m.end(), int(m["day"]), int(m["month"]), int(m["year"]))
        if point and m["hour"] and int(m["hour"]) < 24 and int(m["minute"]) < 60:
            point.hour, point.minute = int(m["hour"]), int(m["minute"])
            point.tz = _offset(m["offset"])
        found.append((m.start(), m.end(), point))
    for m in _NUM_DATE.finditer(folded):
        day, month, year = int(m["day"]), int(m["month"]), _full_year(m["year"])
        found.append((m.start(), m.end(), _make_point(m.start(), m.end(), day, month, year)))
    for m in _TEXT_DATE.finditer(folded):
        text_year = int(m["year"]) if m["year"] else None
        point = _make_point(m.start(), m.end(), int(m["day"]), _MONTHS[m["month"]], text_year)
        found.append((m.start(), m.end(), point))
    for m in _SHORT_NUM_DATE.finditer(folded):
        if _YEARLESS_CUE.search(folded, max(0, m.start() - 15), m.start()):
            point = _make_point(m.start(), m.end(), int(m["day"]), int(m["month"]), None)
            found.append((m.start(), m.end(), point))

    points: list[_Point] = []
    invalid = False
    for start, _end, point in sorted(found, key=lambda f: (f[0], -f[1])):
        if point is None:
            invalid = True
        elif not points or start >= points[-1].end:
            points.append(point)
    for i, point in enumerate(points):
        limit = points[i + 1].start if i + 1 < len(points) else len(folded)
        _attach_times(folded, point, limit)
    return points, invalid


def _attach_times(folded: str, point: _Point, limit: int) -> None:
    """Extend a date with the time (and end time) written right after it."""
    if point.hour is None:
        m = _TIME_AFTER.match(folded, point.end, limit)
        parsed = _time_of(m) if m else None
        if m is None or parsed is None:
            return
        point.hour, point.minute, point.tz = parsed
        point.end = m.end()
    m = _TIME_RANGE.match(folded, point.end, limit)
    parsed = _time_of(m) if m else None
    if m is not None and parsed is not None:
        point.end_hour, point.end_minute = parsed[0], parsed[1]
        point.end = m.end()


def _is_range(folded: str, first: _Point, last: _Point) -> bool:
    gap = _RANGE_GAP.fullmatch(folded, first.end, last.start)
    if gap is None:
        return False
    if gap["conn"].startswith("et"):  # "le 3 et le 5" lists two days; "entre ... et" is a range
        return _ENTRE_BEFORE.search(folded, max(0, first.start - 12), first.start) is not None
    return True


def _bare_start(folded: str, point: _Point, lower: int) -> _Point | None:
    """The bare day starting a range that ends at `point`: "du 3 au 15 mars" -> 3."""
    m = _BARE_DAY.search(folded, max(lower, point.start - 40), point.start)
    if m is None or not 1 <= int(m["day"]) <= 31:
        return None
    cue, conn = (m["cue"] or "").strip(), m["conn"]
    if conn.startswith("et") and not cue.startswith(("entre", "les")):
        return None
    if conn == "a" and not cue:
        return None
    return _Point(m.start(), m.end(), int(m["day"]), None, None)


def _build_spans(folded: str, points: list[_Point]) -> list[_Span]:
    spans: list[_Span] = []
    i = 0
    while i < len(points):
        point, lower = points[i], spans[-1].end if spans else 0
        bare = _bare_start(folded, point, lower)
        if bare is not None:
            spans.append(_Span(bare.start, point.end, last=point, first=bare))
        elif i + 1 < len(points) and _is_range(folded, point, points[i + 1]):
            nxt = points[i + 1]
            spans.append(_Span(point.start, nxt.end, last=nxt, first=point))
            i += 1
        else:
            spans.append(_Span(point.start, point.end, last=point))
        i += 1
    return spans


def _gap_ok(kind: str, gap: str) -> bool:
    if kind in ("weak", "ext"):
        return _WEAK_GAP.fullmatch(gap) is not None
    return len(gap) <= _CUE_GAP and not _BREAK.search(gap)


def _tag_spans(
    folded: str, spans: list[_Span], cues: list[_Cue]
) -> tuple[list[str | None], set[int]]:
    """The label in front of each span: the nearest cue, if nothing else lies in between."""
    ends = [c.end for c in cues]
    tags: list[str | None] = []
    used: set[int] = set()
    previous_end = 0
    for span in spans:
        tag = None
        idx = bisect_right(ends, span.last.start) - 1
        if idx >= 0 and cues[idx].start >= previous_end:
            cue = cues[idx]
            # A cue may sit inside a range: "du 3 mars jusqu'au 15 mars".
            gap_end = span.start if cue.end <= span.start else span.last.start
            if _gap_ok(cue.kind, folded[cue.end : gap_end]):
                tag = cue.kind
                used.add(idx)
        tags.append(tag)
        previous_end = span.end
    return tags, used


def _scan(text: str) -> _Scan:
    clean = _clean(text)
    folded = fold(clean)
    points, invalid = _find_points(folded)
    spans = _build_spans(folded, points)
    cues = [_Cue(m.start(), m.end(), m.lastgroup or "") for m in _CUES.finditer(folded)]
    tags, used = _tag_spans(folded, spans, cues)
    return _Scan(clean, folded, spans, tags, cues, used, invalid)


# --- from points to datetimes -------------------------------------------------------------


def _next_year(month: int, day: int, today: date) -> int | None:
    """Year of the next (month, day) on or after today; "29 février" may wait for a leap year."""
    for year in range(today.year, today.year + 9):
        try:
            if date(year, month, day) >= today:
                return year
        except ValueError:
            continue
    return None


def _span_days(span: _Span, today: date) -> tuple[date | None, date] | None:
    """(start day or None, end day) of a span, years filled in."""
    last, first = span.last, span.first
    if last.month is None:  # only a range's bare start lacks a month
        return None
    year = last.year
    if year is None and first is not None and first.year is not None and first.month:
        # "du 3 décembre 2026 au 15 mars": the end follows the start
        year = first.year + ((last.month, last.day) < (first.month, first.day))
    year = year or _next_year(last.month, last.day, today)
    if year is None:
        return None
    try:
        end = date(year, last.month, last.day)
    except ValueError:
        return None
    if first is None:
        return None, end
    month = first.month or last.month
    first_year = first.year or (year - ((month, first.day) > (last.month, last.day)))
    try:
        start = date(first_year, month, first.day)
    except ValueError:
        return None, end
    return (start, end) if start <= end else (None, end)


def _at(day: date, hour: int | None, minute: int, tz: tzinfo | None, default: time) -> datetime:
    if hour is None:
        return datetime.combine(day, default, tzinfo=PARIS)
    local = datetime.combine(day, time(hour, minute))
    if tz is None:
        return local.replace(tzinfo=PARIS)
    return local.replace(tzinfo=tz).astimezone(PARIS)


def _span_bounds(
    span: _Span, today: date, end_default: time
) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a span as Paris datetimes; the start is None for a single date."""
    days = _span_days(span, today)
    if days is None:
        return None, None
    start_day, end_day = days
    last = span.last
    end_hour, end_minute = (
        (last.end_hour, last.end_minute) if last.end_hour is not None else (last.hour, last.minute)
    )
    end = _at(end_day, end_hour, end_minute, last.tz, end_default)
    if start_day is None or span.first is None:
        return None, end
    first = span.first
    # "du 3 au 5 juin de 9h à 17h": the time range applies to every day
    hour, minute = (first.hour, first.minute) if first.hour is not None else (None, 0)
    if hour is None and last.end_hour is not None:
        hour, minute = last.hour, last.minute
    return _at(start_day, hour, minute, first.tz or last.tz, _START_OF_DAY), end


def _point_at(span: _Span, today: date) -> datetime | None:
    """The first moment a span names: its start, at 00:00 when no time is given."""
    days = _span_days(span, today)
    if days is None:
        return None
    if days[0] is not None:
        return _span_bounds(span, today, _START_OF_DAY)[0]
    last = span.last
    return _at(days[1], last.hour, last.minute, last.tz, _START_OF_DAY)


def _as_date(today: date) -> date:
    return today.date() if isinstance(today, datetime) else today


def _dateparser(window: str, today: date) -> datetime | None:
    """dateparser on a short window, relative to `today`; naive local result (or None)."""
    window = window[:_DP_WINDOW].strip()
    if not window or not _DP_HINT.search(fold(window)):
        return None
    settings = {**_DATEPARSER_SETTINGS, "RELATIVE_BASE": datetime.combine(today, _START_OF_DAY)}
    try:
        result = dateparser.parse(window, languages=["fr"], settings=settings)
    except Exception:  # third-party parser on arbitrary text: any failure means "no date"
        return None
    if result is None or not _MIN_YEAR <= result.year <= _MAX_YEAR:
        return None
    if result.tzinfo is not None:
        return result.astimezone(PARIS).replace(tzinfo=None)
    return result


def _local(naive: datetime, default: time) -> datetime:
    """A naive dateparser result in Paris; midnight means "no time given"."""
    if naive.time() == _START_OF_DAY:
        return datetime.combine(naive.date(), default, tzinfo=PARIS)
    return naive.replace(tzinfo=PARIS)


# --- public API ---------------------------------------------------------------------------


def parse_date(text: str, *, today: date) -> datetime | None:
    """One date (optionally with time) in French or ISO/RFC formats -> aware datetime in
    Europe/Paris (00:00 local when no time given). None when nothing usable. Never raises
    on any str input.

    A year-less date ("12 mai") is the next such day on or after `today`; a time alone
    ("18h30") is not a date. Of a range, the start is returned.
    """
    if not text:
        return None
    try:
        today = _as_date(today)
        scan = _scan(text)
        for span in scan.spans:
            moment = _point_at(span, today)
            if moment is not None:
                return moment
        if scan.invalid or scan.spans:
            return None
        naive = _dateparser(scan.clean, today)
        return _local(naive, _START_OF_DAY) if naive else None
    except (ValueError, OverflowError):  # date arithmetic at the edges of the calendar
        return None


def extract_deadline(text: str, *, today: date) -> DeadlineInfo:
    """The deadline announced in a free French text (a sentence, a label's value, a whole
    page's text). Never raises.

    In order: a date after a deadline label ("date limite", "clôture", "avant le",
    "jusqu'au", "au plus tard le", "prolongée au"...), the end of the one range of the text,
    the one date of a short text (a label's value). Dates after "publié le", "mis à jour le"
    are never deadlines; dates after "date de lancement", "ouverture" give `opens`. With
    several dates and no label, no deadline. `closed` comes from status words only.
    """
    if not text:
        return DeadlineInfo(None, False)
    try:
        today = _as_date(today)
        scan = _scan(text)
        closed = _is_closed(scan, today)
        opens, deadline = _labelled_deadline(scan, today)
        if deadline is None:
            opens, deadline = _unlabelled_deadline(scan, today)
        if deadline is None:
            deadline = _deadline_by_dateparser(scan, today)
        if opens is None:
            opens = _opening_date(scan, today, deadline)
        return DeadlineInfo(deadline, closed, opens)
    except (ValueError, OverflowError):  # date arithmetic at the edges of the calendar
        return DeadlineInfo(None, False)


def parse_event_dates(text: str, *, today: date) -> tuple[datetime | None, datetime | None]:
    """Start and end of an event: "Mardi 8 mars 2022 de 9h30 à 12h30", "du 3 au 5 juin 2025",
    "le 12 mai 2026 à 18h", "2025-06-03T09:00:00+02:00". Never raises.

    The start is 00:00 when no time is given; the end is None for a single date without an
    end time, and 23:59 on the last day of a range without an end time.
    """
    if not text:
        return None, None
    try:
        today = _as_date(today)
        scan = _scan(text)
        for span, tag in zip(scan.spans, scan.tags, strict=True):
            if tag == "pub":
                continue
            start = _point_at(span, today)
            if start is None:
                continue
            if span.first is not None:
                return start, _span_bounds(span, today, _END_OF_DAY)[1]
            return start, _event_end(span, start)
        if scan.invalid or scan.spans:
            return None, None
        naive = _dateparser(scan.clean, today)
        return (_local(naive, _START_OF_DAY), None) if naive else (None, None)
    except (ValueError, OverflowError):  # date arithmetic at the edges of the calendar
        return None, None


# --- deadline helpers ---------------------------------------------------------------------


def _event_end(span: _Span, start: datetime) -> datetime | None:
    """End of a one-day event: its end time if written ("de 22h à 2h" ends the next day)."""
    last = span.last
    if last.end_hour is None:
        return None
    end = start.replace(hour=last.end_hour, minute=last.end_minute)
    return end + timedelta(days=1) if end <= start else end


def _labelled_deadline(scan: _Scan, today: date) -> tuple[datetime | None, datetime | None]:
    """(opens, deadline) of the best labelled date: extension > strong label > weak label;
    among equals, the first one still to come, else the latest (multi-session calls)."""
    labelled = [
        (_RANK[tag], span) for span, tag in zip(scan.spans, scan.tags, strict=True) if tag in _RANK
    ]
    if not labelled:
        return None, None
    best = min(rank for rank, _ in labelled)
    candidates = [_span_bounds(span, today, _END_OF_DAY) for rank, span in labelled if rank == best]
    bounds = [(opens, end) for opens, end in candidates if end is not None]
    if not bounds:
        return None, None
    upcoming = [(opens, end) for opens, end in bounds if end.date() >= today]
    return upcoming[0] if upcoming else max(bounds, key=lambda b: b[1])


def _is_label_value(scan: _Scan) -> bool:
    """A short text of one piece ("15 mars 2027", "Mercredi 15 septembre 2027"), no sentence."""
    text = scan.clean.strip()
    return len(text) <= _SHORT_VALUE and not _BREAK.search(text)


def _unlabelled_deadline(scan: _Scan, today: date) -> tuple[datetime | None, datetime | None]:
    """No label: the end of the text's one range, or the one date of a label's value."""
    candidates = [s for s, tag in zip(scan.spans, scan.tags, strict=True) if tag != "pub"]
    ranges = [s for s in candidates if s.first is not None]
    if len(ranges) == 1:
        opens, end = _span_bounds(ranges[0], today, _END_OF_DAY)
        if opens is not None:
            return opens, end
    plain = [s for s, tag in zip(scan.spans, scan.tags, strict=True) if tag is None]
    if len(candidates) == 1 and len(plain) == 1 and _is_label_value(scan):
        return _span_bounds(plain[0], today, _END_OF_DAY)
    return None, None


def _deadline_by_dateparser(scan: _Scan, today: date) -> datetime | None:
    """Last resort: what follows a strong deadline label with no date of ours ("Date limite :
    demain"), or a short text with no date of ours at all. Weak cues ("avant") are too
    common in prose to hand what follows them to a liberal parser."""
    if scan.invalid:
        return None
    windows: list[str] = []
    for idx, cue in enumerate(scan.cues):
        if cue.kind in ("ext", "strong") and idx not in scan.used_cues:
            window = scan.clean[cue.end : cue.end + _CUE_WINDOW]
            cut = _BREAK.search(window)
            windows.append(window[: cut.start()] if cut else window)
    if not scan.spans and not scan.cues and _is_label_value(scan):
        windows.append(scan.clean)
    for window in windows:
        m = _MONTH_YEAR.match(fold(window))
        if m is not None:
            month, year = _MONTHS[m["month"]], int(m["year"])
            last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
            return datetime(year, month, last_day, 23, 59, tzinfo=PARIS)
    for window in windows[:_MAX_DP_CALLS]:
        naive = _dateparser(window.strip(" :,\n"), today)
        if naive is not None:
            return _local(naive, _END_OF_DAY)
    return None


def _opening_date(scan: _Scan, today: date, deadline: datetime | None) -> datetime | None:
    """The date after an opening label ("Date de lancement : 1 avril 2019")."""
    for span, tag in zip(scan.spans, scan.tags, strict=True):
        if tag == "opens":
            moment = _point_at(span, today)
            if moment is not None and (deadline is None or moment <= deadline):
                return moment
    return None


def _is_closed(scan: _Scan, today: date) -> bool:
    """Whether a status word says the call is over (not a "Clôture le ..." label)."""
    clean, folded = scan.clean, scan.folded
    for m in _CLOSED_STRONG.finditer(clean):
        before = folded[max(0, m.start() - 25) : m.start()]
        if _NEGATED.search(before):
            continue
        if m.group().startswith("clos") and (
            _NOUN_CLOS_BEFORE.search(before) or _NOUN_CLOS_AFTER.match(folded, m.end())
        ):
            continue
        if _DATE_AFTER.match(folded, m.end()):
            # "Clôturé le 15 mars 2024": closed once that day is past, announced before
            when = parse_date(clean[m.end() : m.end() + _CUE_WINDOW], today=today)
            if when is None or when.date() >= today:
                continue
        return True
    for m in _CLOSED_WEAK.finditer(folded):
        before = folded[max(0, m.start() - 25) : m.start()]
        if (
            _NEGATED.search(before)
            or _ARTICLE_BEFORE.search(before)  # "une ferme", "la clôture"
            or _LABEL_AFTER.match(folded, m.end())
        ):
            continue
        lead, segment = _segment_around(folded, m.start(), m.end())
        if len(segment.split()) <= 3 or _STATUS_LEAD.search(lead) or _ENDS_WITH_YEAR.search(lead):
            return True
    return False


def _segment_around(folded: str, start: int, end: int) -> tuple[str, str]:
    """(text before the word, whole segment) of the segment holding folded[start:end];
    segments end at line breaks, pipes, brackets, colons, sentence ends, spaced dashes."""
    lower = max(0, start - 200)
    seg_start = max((b.end() for b in _SEGMENT_BREAK.finditer(folded, lower, start)), default=lower)
    nxt = _SEGMENT_BREAK.search(folded, end, end + 200)
    seg_end = nxt.start() if nxt else min(len(folded), end + 200)
    return folded[seg_start:start], folded[seg_start:seg_end]
