"""Normalisation shared by every access method: URLs, encodings, HTML, text, item kind.

Every function here takes whatever a partner site served and never raises: a broken
page must become a slightly degraded item, not a crashed collection run.
"""

from __future__ import annotations

import codecs
import html as html_lib
import re
import unicodedata
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import nh3
from bs4 import BeautifulSoup
from bs4.dammit import EncodingDetector

from veille.sources.folding import strip_accents
from veille.sources.items import KINDS

# --- URLs -------------------------------------------------------------------------------

# Parameters that only say where a click came from (newsletters, ads, analytics): dropping
# them makes the same page relayed by several senders compare equal.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "at_", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "xtor",  # AT Internet (used by many French public sites)
        "xts",
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "mkt_tok",  # Marketo
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may stay as they are in a path or a query; everything else (spaces,
# accents) is percent-encoded so that "é" and "%C3%A9" give the same canonical URL.
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = "/%:@!$'()*+,;=?~-._"
_BAD_HOST = re.compile(r"[\s<>\"{}|\\^`/?#@]")


def _is_tracking(pair: str) -> bool:
    key = unquote_plus(pair.partition("=")[0]).strip().lower()
    return key in _TRACKING_NAMES or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The form under which a link is stored and compared, or None if it is not a web link."""
    try:
        raw = url.strip()
        if base:
            raw = urljoin(base.strip(), raw)
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme not in _DEFAULT_PORTS or not host or _BAD_HOST.search(host):
            return None
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
        # User and password are dropped: a newsletter must not spread credentials, and
        # they say nothing about which page is meant.
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and port != _DEFAULT_PORTS[scheme]:
            netloc += f":{port}"
        path = quote(parts.path, safe=_PATH_SAFE) or "/"
        # Pairs are filtered as raw text, not decoded and re-encoded, so the parameters
        # that remain reach the server byte for byte as the site wrote them.
        pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
        query = "&".join(quote(p, safe=_QUERY_SAFE) for p in pairs)
        return urlunsplit((scheme, netloc, path, query, ""))
    except (ValueError, UnicodeError, TypeError, AttributeError):
        return None


# --- Encodings ------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Browsers read "latin-1" and "ascii" labels as windows-1252 (WHATWG Encoding); French
# sites that say ISO-8859-1 routinely contain its curly apostrophes and "œ".
_AS_WINDOWS_1252 = frozenset({"iso8859_1", "ascii", "cp1252"})
# Codecs Python knows but no web page legitimately uses; UTF-7 is a known XSS vector.
_REFUSED_CODECS = frozenset(
    {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "utf_7", "undefined"}
)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().strip("\"'"))
    except (LookupError, ValueError, TypeError):
        return None
    name = info.name.replace("-", "_")
    if name in _REFUSED_CODECS:
        return None
    try:
        b"".decode(info.name)  # rejects bytes-to-bytes codecs such as "rot13" or "base64"
    except LookupError:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else info.name


def _is_wide(codec: str | None) -> bool:
    return codec is not None and codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32"))


def _strict(content: bytes, label: str | None) -> str | None:
    codec = _codec(label)
    if codec is None:
        return None
    # A UTF-16/32 label on bytes without any NUL is a wrong label (HTML even mandates
    # reading such a meta charset as UTF-8): decoding would "succeed" into CJK noise.
    if _is_wide(codec) and b"\x00" not in content:
        return None
    try:
        return content.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None


def decode_bytes(content: bytes, declared: str | None = None) -> str:
    """Text of a response whose declared charset may be missing or wrong."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace")
    as_utf8 = _strict(content, "utf-8")
    declared_codec = _codec(declared)
    # Non-ASCII bytes that form valid UTF-8 are almost never legacy text (that would take
    # sequences like "Ã©"), so UTF-8 wins over a declared single-byte charset.
    if (
        as_utf8 is not None
        and not _is_wide(declared_codec)
        and (declared_codec is None or not content.isascii())
    ):
        return as_utf8
    text = _strict(content, declared)
    if text is not None:
        return text
    try:
        candidates = list(EncodingDetector(content, is_html=True).encodings)
    except Exception:  # a detector bug must not lose the page; fall back below
        candidates = []
    for candidate in [*candidates, "cp1252"]:
        text = _strict(content, candidate)
        if text is not None:
            return text
    return content.decode("utf-8", errors="replace")


# --- HTML ------------------------------------------------------------------------------------

_TEXT_TAGS = {"p", "br", "a", "ul", "ol", "li", "strong", "em", "b", "i", "h2", "h3", "h4"}
_TABLE_TAGS = {"blockquote", "table", "caption", "thead", "tbody", "tr", "th", "td"}
# Removed with their content: code and embedded documents, never readable text.
_CODE_TAGS = {"script", "style", "iframe", "noscript", "template", "object", "embed"}
_FOREIGN_TAGS = {"svg", "math", "textarea", "select", "head", "title"}
_SANITIZER = nh3.Cleaner(
    tags=_TEXT_TAGS | _TABLE_TAGS,
    clean_content_tags=_CODE_TAGS | _FOREIGN_TAGS,
    attributes={"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def _scrub(text: str) -> str:
    """Replace lone surrogates (from broken JSON escapes), which no encoder accepts."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def sanitize_html(html: str) -> str:
    """HTML safe to put in a newsletter: a small allow-list of tags, safe links only."""
    cleaned = _SANITIZER.clean(_scrub(html))
    # Mis-nested markup ("<h2><a><h2>") parses into a tree whose serialisation parses into
    # yet another tree; cleaning until stable makes the stored HTML the one a re-read sees.
    for _ in range(4):
        again = _SANITIZER.clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return cleaned


# Elements that start a new line in a browser; without a break their words would glue
# together ("<li>Sénégal</li><li>Mali</li>" must not become "SénégalMali").
_BLOCKS = frozenset(
    {
        *("p", "div", "hr", "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "table", "caption", "thead", "tbody", "tfoot"),
        *("tr", "address", "article", "aside", "details", "summary", "figure", "figcaption"),
        *("fieldset", "footer", "form", "header", "main", "nav", "section"),
    }
)
_CELLS = frozenset({"td", "th"})
_INVISIBLE = ("script", "style", "noscript", "template", "head", "title", "iframe", "svg")
_SPACES = re.compile(r"[^\S\n]+")


# Spaces, controls and format characters live in the first two planes and in plane 14
# (tags); scanning those is enough and keeps the import fast.
_PLANES = (range(0xD800), range(0xE000, 0x20000), range(0xE0000, 0xE1000))


def _char_class(categories: tuple[str, ...], keep: str = "") -> re.Pattern[str]:
    chars = (chr(c) for plane in _PLANES for c in plane)
    members = "".join(
        re.escape(c) for c in chars if unicodedata.category(c) in categories and c not in keep
    )
    return re.compile(f"[{members}]")


# Built once at import: one regex pass instead of a Python loop per character.
_TO_SPACE = _char_class(("Zs", "Zl", "Zp", "Cc"), keep="\n\t")
_TO_DROP = _char_class(("Cf",))


def _strip_controls(text: str) -> str:
    """Unicode spaces (no-break, the narrow no-break before French ":;?!", thin...) and
    control characters become plain spaces; format characters (zero-width space, soft
    hyphen, BOM) disappear. Lone surrogates are removed by `_scrub` beforehand."""
    return _TO_DROP.sub("", _TO_SPACE.sub(" ", text))


# Marks the line breaks the markup asks for, while newlines of the HTML source (which a
# browser shows as spaces) become spaces. NUL never survives in parsed text.
_BREAK = "\x00"


def _soup_text(html: str) -> str:
    soup = BeautifulSoup(html.replace(_BREAK, ""), "lxml")
    for node in soup.find_all(_INVISIBLE):
        node.decompose()
    for node in soup.find_all(True):
        if node.name == "br":
            node.replace_with(_BREAK)
        elif node.name in _BLOCKS:
            node.insert_before(_BREAK)
            node.insert_after(_BREAK)
        elif node.name in _CELLS:
            node.insert_after(" ")
    return soup.get_text().replace("\n", " ").replace(_BREAK, "\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (one line per block), for summaries and matching."""
    if "<" not in html and "&" not in html:
        # Already plain (most feed titles and many summaries): no tree to build. As in a
        # browser, source newlines are spaces.
        text = _scrub(html).replace("\n", " ")
    else:
        try:
            text = _soup_text(_scrub(html))
        except Exception:  # html.parser gives up on some malformed markup; keep the words
            text = html_lib.unescape(re.sub(r"<[^>]*>", " ", _scrub(html)))
    text = _strip_controls(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def clean_text(text: str) -> str:
    """A title: markup and entities resolved (even when escaped twice), on one line."""
    # Feeds often escape titles once more than needed ("&amp;eacute;", "&lt;b&gt;").
    if re.search(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+|[a-z]+\d*);", text, re.IGNORECASE):
        text = html_lib.unescape(_scrub(text))
    return " ".join(html_to_text(text).split())


def truncate(text: str, limit: int = 600) -> str:
    """At most `limit` characters, cut at a word boundary and marked with "…"."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…" if limit == 1 else ""
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    # Cut at the last space unless that would throw away most of the text (one long word).
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:.-–—(") + "…"


# --- Kind ----------------------------------------------------------------------------------

_MONTHS = "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
_DATE = re.compile(
    rf"\b\d{{1,2}}(er)?\s+({_MONTHS})\b|\b\d{{1,2}}/\d{{1,2}}(/\d{{2,4}})?\b"
    r"|\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b|\b\d{1,2}\s?h\s?\d{0,2}\b"
)


_Cue = tuple[re.Pattern[str], str, bool]  # pattern, kind, matched on original case


def _cues(patterns: dict[str, str], *, acronyms: bool = False) -> list[_Cue]:
    return [(re.compile(rf"\b(?:{p})\b"), kind, acronyms) for p, kind in patterns.items()]


# Strong cues name the genre of the item ("Appel à projets", "Offre d'emploi",
# "Webinaire"); they are matched on lower-case text without accents, and acronyms on
# the original case so that "ami" (friend) is not "AMI" (appel à manifestation d'intérêt).
_STRONG = _cues(
    {
        r"appels? a projets?|appels? a manifestations? d'interet|appels? a candidatures?"
        r"|appels? a propositions?|appels? d'offres?": "appel",
        r"offres? d'emploi|recrute\w*|stages?|stagiaires?|alternance|service civique"
        r"|volontariat|volontaires? de solidarite internationale|benevolat": "offre",
        r"webinaires?|webinars?|festivals?|conferences?|ateliers?|agoras?|colloques?"
        r"|seminaires?|forums?|aper'oc": "evenement",
    }
) + _cues({r"AAP|AMI": "appel", r"VSI|CDD|CDI": "offre"}, acronyms=True)
# Weak cues are ordinary words that often, not always, mean the genre ("financement",
# "mission", "journée"); they only decide when the source itself has no specific kind.
_WEAK = _cues(
    {
        r"subventions?|financements?|dotations?": "appel",
        r"postes?|missions?|emplois?": "offre",
        r"rencontres?|journees?|rendez-vous": "evenement",
    }
)
# "Formation" is an event only when it happens on a date; otherwise it is usually a
# course offer or a news item about training.
_TRAINING = _cues({r"formations?": "evenement"})


def _first_cue(text: str, cues: list[_Cue]) -> str | None:
    """The kind of the earliest cue: titles start with their genre ("Webinaire : financer…")."""
    folded = strip_accents(text)
    lowered = folded.lower()
    best: tuple[int, str] | None = None
    for pattern, kind, acronym in cues:
        match = pattern.search(folded if acronym else lowered)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), kind)
    return best[1] if best else None


def infer_kind(default: str | None, title: str, text: str = "") -> str:
    """One of "appel", "actualite", "offre", "evenement", from French cues, else the default."""
    fallback = default if default in KINDS else None
    weak = _WEAK if fallback in (None, "actualite") else []
    if weak and _DATE.search(strip_accents(f"{title} {text}").lower()):
        weak = weak + _TRAINING
    # Title cues win over body cues: a body often mentions other genres in passing
    # ("un webinaire de présentation aura lieu…" under an "Appel à projets").
    for part in (title, text):
        kind = _first_cue(part, _STRONG) or _first_cue(part, weak)
        if kind:
            return kind
    return fallback or "actualite"
