"""Rendering of e-mail editions: Jinja2 -> MJML -> HTML, plus a plain-text twin.

An edition is rendered ONCE (`render_edition`); each subscriber's copy is then made by
`personalise`, a plain string replacement of `UNSUBSCRIBE_PLACEHOLDER` by their own
unsubscribe URL. The placeholder is made of characters that neither Jinja's autoescape nor
MJML touch, so it comes out of both unchanged.

Templates live in `templates/emails/` (see `templates_path`):
  _layout.mjml / _layout.txt   the shell shared by every e-mail (head, header, footer line)
  base.mjml / base.txt         the layout of an edition (intro, sections, footer links)
  _entry.mjml / _entry.txt     one entry, included by the base
  {slug}.mjml / {slug}.txt     one small template per bulletin, extending the base
  confirmation.mjml / .txt     the double opt-in confirmation e-mail
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from mjml import mjml2html

import veille
from veille.errors import NotFound

UNSUBSCRIBE_PLACEHOLDER = "%%VEILLE_UNSUBSCRIBE_URL%%"  # survives MJML and HTML escaping unchanged

PARIS = ZoneInfo("Europe/Paris")

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

TEXT_WIDTH = 76  # plain-text twin: paragraphs wrapped at this width (URLs never broken)


@dataclass(frozen=True, slots=True)
class EntryView:
    title: str
    url: str | None
    summary: str  # plain text (already sanitised to text by the collector; still autoescaped)
    kind: str  # appel | actualite | offre | evenement | annonce
    deadline: datetime | None  # aware; shown in Europe/Paris
    closed: bool = False  # shown as "Clôturé"
    event_start: datetime | None = None
    event_end: datetime | None = None
    event_place: str | None = None
    funder: str | None = None
    sources: tuple[str, ...] = ()  # names of the sources that announced it


@dataclass(frozen=True, slots=True)
class SectionView:
    title: str
    entries: tuple[EntryView, ...]


@dataclass(frozen=True, slots=True)
class EditionView:
    bulletin_slug: str  # bloc-note | echos | parcours | rendez-vous | info-flash
    bulletin_title: str  # "Bloc note", "Les Échos du Réseau", ...
    number: int
    date: date  # edition date
    subject: str
    intro: str  # editor's plain-text introduction; paragraphs separated by blank lines
    sections: tuple[SectionView, ...]
    base_url: str  # web archive at f"{base_url}/bulletins/{slug}/{number}"


@dataclass(frozen=True, slots=True)
class RenderedEdition:
    subject: str
    html: str  # full HTML document, contains UNSUBSCRIBE_PLACEHOLDER where the link goes
    text: str  # plain-text twin, same content, contains UNSUBSCRIBE_PLACEHOLDER too


# --------------------------------------------------------------------------- formatting


def _local(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime refused: {value!r}")
    return value.astimezone(PARIS)


def format_date_fr(value: date | datetime) -> str:
    """ "15 mars 2027", "1er avril 2027"; datetimes (aware) are shown in Europe/Paris."""
    if isinstance(value, datetime):
        value = _local(value).date()
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS_FR[value.month - 1]} {value.year}"


def format_time_fr(value: datetime | time) -> str:
    """ "18h00", "9h30" (Europe/Paris for datetimes)."""
    if isinstance(value, datetime):
        value = _local(value).time()
    return f"{value.hour}h{value.minute:02d}"


def format_deadline_fr(value: datetime) -> str:
    """ "15 mars 2027", plus " à 18h00" unless the local time is 23:59 (end of the day)."""
    local = _local(value)
    text = format_date_fr(local)
    if (local.hour, local.minute) != (23, 59):
        text += f" à {format_time_fr(local)}"
    return text


def _is_midnight(value: datetime) -> bool:
    return (value.hour, value.minute) == (0, 0)


def format_event_fr(start: datetime | None, end: datetime | None = None) -> str:
    """When an event takes place, in French, Europe/Paris.

    Times at local midnight are taken as "all day" (dates without a time): "Le 3 avril 2027",
    "Du 3 au 5 avril 2027"; otherwise "Le 3 avril 2027 à 9h30", "Le 3 avril 2027 de 9h30 à
    17h00", "Du 3 avril 2027 à 9h30 au 5 avril 2027 à 17h00". An end at local midnight the
    day after an all-day start (iCalendar's exclusive end) is the same single day.
    """
    if start is None:
        return ""
    s = _local(start)
    e = _local(end) if end is not None else None
    all_day = _is_midnight(s) and (e is None or _is_midnight(e) or (e.hour, e.minute) == (23, 59))
    if e is not None and all_day and _is_midnight(e) and e.date() > s.date():
        e = e - timedelta(days=1)  # exclusive end of a whole-day event
    if e is not None and e < s:
        e = None  # an end before the start is noise: show the start only
    if e is None or e.date() == s.date():
        text = f"Le {format_date_fr(s)}"
        if all_day:
            return text
        if e is None or e == s:
            return f"{text} à {format_time_fr(s)}"
        return f"{text} de {format_time_fr(s)} à {format_time_fr(e)}"
    if all_day:
        if (s.year, s.month) == (e.year, e.month):
            first = "1er" if s.day == 1 else str(s.day)
            return f"Du {first} au {format_date_fr(e)}"
        return f"Du {format_date_fr(s)} au {format_date_fr(e)}"
    return (
        f"Du {format_date_fr(s)} à {format_time_fr(s)} au {format_date_fr(e)} à {format_time_fr(e)}"
    )


_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f\"'<>\\`]")


def http_url(value: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (never emit javascript: & co)."""
    if not value:
        return None
    url = value.strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    url = url.replace(" ", "%20")
    if re.search(r"[\x00-\x1f\x7f]", url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def paragraphs(value: str | None) -> list[list[str]]:
    """Plain text -> paragraphs (split on blank lines) -> lines; empty ones dropped."""
    if not value:
        return []
    result = []
    for block in re.split(r"\n[ \t]*(?:\n[ \t]*)+", value.replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            result.append(lines)
    return result


_ASCII_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not U+00A0: no-break spaces stay put


def wrap(value: str, width: int = TEXT_WIDTH, indent: str = "") -> str:
    """Plain-text wrapping that never breaks a word, a URL or at a hyphen."""
    flat = _ASCII_SPACES.sub(" ", value).strip()
    if len(indent) + len(flat) <= width:
        return indent + flat if flat else ""
    return "\n".join(
        textwrap.wrap(
            flat,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def oneline(value: str | None) -> str:
    """All whitespace (newlines included) collapsed to single spaces."""
    return _ASCII_SPACES.sub(" ", value or "").strip()


def preview_text(value: str, limit: int = 140) -> str:
    """The first words of a plain text, for the inbox preview line."""
    flat = " ".join(value.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rsplit(" ", 1)[0] + "…"


# --------------------------------------------------------------------------- templates


def templates_path() -> Path:
    """templates/emails: inside the installed wheel, else at the top of the checkout."""
    package_dir = Path(veille.__file__).resolve().parent
    packaged = package_dir / "_templates" / "emails"
    if packaged.is_dir():
        return packaged
    return package_dir.parent / "templates" / "emails"


class _UnsubscribeLink:
    """The one value templates may emit as the placeholder: `{{ unsubscribe_url }}`."""

    __slots__ = ()

    def __str__(self) -> str:
        return UNSUBSCRIBE_PLACEHOLDER


_UNSUBSCRIBE_LINK = _UnsubscribeLink()


def _keep_placeholder_out(value: object) -> object:
    """Jinja finalize: the placeholder comes out only where the unsubscribe link goes.

    A title or summary that happened to contain it would otherwise be personalised too.
    """
    if value is _UNSUBSCRIBE_LINK:
        return UNSUBSCRIBE_PLACEHOLDER
    if isinstance(value, str) and UNSUBSCRIBE_PLACEHOLDER in value:
        return value.replace(UNSUBSCRIBE_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER.strip("%"))
    return value


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml", "html"), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_keep_placeholder_out,
    )
    env.filters.update(
        date_fr=format_date_fr,
        time_fr=format_time_fr,
        deadline_fr=format_deadline_fr,
        http_url=http_url,
        paragraphs=paragraphs,
        wrap=wrap,
        oneline=oneline,
        preview=preview_text,
    )
    env.globals.update(event_fr=format_event_fr, network="Occitanie Coopération")
    return env


def _render_pair(
    templates_dir: Path | None, name: str, context: dict[str, object]
) -> tuple[str, str]:
    env = _environment((templates_dir or templates_path()).resolve())
    try:
        mjml_template = env.get_template(f"{name}.mjml")
        text_template = env.get_template(f"{name}.txt")
    except jinja2.TemplateNotFound as exc:
        raise NotFound(f"Gabarit d'e-mail introuvable : « {exc.name} ».") from exc
    html = mjml2html(mjml_template.render(context))
    text = _tidy_text(text_template.render(context))
    return html, text


def _tidy_text(value: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def archive_url(view: EditionView) -> str | None:
    return http_url(f"{view.base_url.rstrip('/')}/bulletins/{view.bulletin_slug}/{view.number}")


def render_edition(view: EditionView, *, templates_dir: Path | None = None) -> RenderedEdition:
    """Render an edition once: HTML (via MJML) and plain text, both with the placeholder."""
    context: dict[str, object] = {
        "view": view,
        "sections": [s for s in view.sections if s.entries],  # an empty section is not shown
        "archive_url": archive_url(view),
        "unsubscribe_url": _UNSUBSCRIBE_LINK,  # emit as {{ unsubscribe_url }}, unfiltered
    }
    html, text = _render_pair(templates_dir, view.bulletin_slug, context)
    return RenderedEdition(subject=view.subject, html=html, text=text)


def render_confirmation(
    name: str,
    confirm_url: str,
    bulletins: list[str],
    *,
    templates_dir: Path | None = None,
) -> RenderedEdition:
    """The double opt-in e-mail. `bulletins` are the titles of the bulletins chosen."""
    url = http_url(confirm_url)
    if url is None:
        raise ValueError(f"confirmation URL must be http(s): {confirm_url!r}")
    subject = "Confirmez votre inscription aux bulletins d'Occitanie Coopération"
    context: dict[str, object] = {
        "subject": subject,
        "name": " ".join(name.split()),
        "confirm_url": url,
        "bulletins": list(bulletins),
    }
    html, text = _render_pair(templates_dir, "confirmation", context)
    return RenderedEdition(subject=subject, html=html, text=text)


def personalise(rendered: str, unsubscribe_url: str) -> str:
    """One subscriber's copy: every placeholder replaced by their unsubscribe URL.

    The same URL goes into the HTML (an href) and the text, so it must need no escaping:
    an http(s) URL without quotes, angle brackets, backslashes or spaces.
    """
    if not unsubscribe_url.startswith(("https://", "http://")) or _UNSAFE_URL_CHARS.search(
        unsubscribe_url
    ):
        raise ValueError(f"unsubscribe URL must be a plain http(s) URL: {unsubscribe_url!r}")
    return rendered.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url)
