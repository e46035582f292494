"""iCalendar feeds (RFC 5545) of partners' events: each occurrence in the window is an item.

WordPress event plugins (`?ical=1`) and OpenAgenda exports are the expected producers.
Parsing and recurrence expansion are left to `icalendar` and `recurring-ical-events`;
this module only decides which occurrences matter and maps them to `CollectedItem`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component, Event

from veille.sources.fetch import Fetcher
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.normalize import canonical_url, clean_text, decode_bytes, html_to_text, truncate
from veille.sources.offload import parse

PARIS = ZoneInfo("Europe/Paris")
UNREADABLE = "Le fichier n'est pas un calendrier iCalendar lisible."
SUMMARY_LIMIT = 600
# A calendar that yields more occurrences than this in one window is broken or hostile;
# the earliest are kept so that a collection run stays bounded in time and memory.
MAX_OCCURRENCES = 2000
# Partners' events never repeat within a day; such a rule would flood the window.
_SUB_DAILY = {"SECONDLY", "MINUTELY", "HOURLY"}
_TAG = re.compile(r"<[a-zA-Z/!]")
# Occurrences of one series share their texts: clean each text once, not once a week.
_clean = lru_cache(maxsize=1024)(clean_text)


async def harvest(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    result = await fetcher.get(task.url, etag=task.etag, last_modified=task.last_modified)
    if result.not_modified:
        return Harvest.unchanged(result)
    now = datetime.combine(today, time(0, 0), tzinfo=PARIS)
    items = await parse(
        parse_ics,
        result.content,
        source_url=result.url,
        now=now,
        window_days=int(task.rules.get("window_days", 180)),
    )
    return Harvest(
        items=items,
        etag=result.etag,
        last_modified=result.last_modified,
        hint_seconds=result.max_age,
    )


def parse_ics(
    content: bytes, *, source_url: str, now: datetime, window_days: int = 180
) -> list[CollectedItem]:
    """Events from `now - 1 day` to `now + window_days`, recurring ones expanded, by start.

    An event beyond the window is not lost: it is collected by a later run, once the
    window has moved far enough. Raises ValueError (French message) on unreadable content.
    """
    calendar = _read(content)
    now = now if now.tzinfo is not None else now.replace(tzinfo=PARIS)
    window = (now - timedelta(days=1), now + timedelta(days=window_days))
    occurrences = []
    for occurrence in _occurrences(calendar, *window):
        start = _aware(_value(occurrence, "DTSTART"))
        cancelled = _text(occurrence, "STATUS").upper() == "CANCELLED"
        if isinstance(occurrence, Event) and start is not None and not cancelled:
            occurrences.append((start, occurrence))
    occurrences.sort(key=lambda pair: pair[0])
    masters = _series_masters(calendar)
    calendar_name = _clean(_text(calendar, "X-WR-CALNAME"))
    items = []
    for start, occurrence in occurrences[:MAX_OCCURRENCES]:
        item = _item(occurrence, start, masters, source_url)
        if item is not None:
            if calendar_name:
                item.extra["calendar"] = calendar_name
            items.append(item)
    return items


# --- Reading -------------------------------------------------------------------------------


def _read(content: bytes) -> Calendar:
    text = decode_bytes(content, "utf-8")  # RFC 5545 text is UTF-8 unless told otherwise
    # An HTML error page or a login form served in place of the feed stops here, and a
    # file cut during download lacks its closing line.
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR") or not re.search(
        r"^END:VCALENDAR\s*$", text, re.IGNORECASE | re.MULTILINE
    ):
        raise ValueError(UNREADABLE)
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # the parser's errors on hostile input are of many kinds
        raise ValueError(UNREADABLE) from exc
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise ValueError(UNREADABLE)
    # One broken event must not make the whole calendar unreadable: it is left out here,
    # before the recurrence library, which would stop at it.
    calendar.subcomponents = [c for c in calendar.subcomponents if _usable(c)]
    return calendar


def _usable(component: Component) -> bool:
    if component.name != "VEVENT":
        return True
    return _value(component, "DTSTART") is not None and not _sub_daily(component)


def _sub_daily(component: Component) -> bool:
    rules = component.get("RRULE")
    rules = rules if isinstance(rules, list) else [rules]
    return any(
        str(freq).upper() in _SUB_DAILY
        for rule in rules
        if isinstance(rule, dict)  # a broken rule is left to the library's error handling
        for freq in rule.get("FREQ", [])
    )


def _occurrences(calendar: Calendar, start: datetime, end: datetime) -> list[Component]:
    """Occurrences overlapping [start, end]; a rule without end is cut at `end`."""
    # `between` rather than the `after` generator: the latter re-expands every series for
    # each step and takes minutes on a daily event over a long window.
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        return list(query.between(start, end))
    except Exception as exc:  # series errors the library does not skip by itself
        raise ValueError(UNREADABLE) from exc


def _series_masters(calendar: Calendar) -> dict[str, Component | None]:
    """The master event of each recurring UID (None when only overrides are present)."""
    masters: dict[str, Component | None] = {}
    for event in calendar.walk("VEVENT"):
        uid = _text(event, "UID")
        if uid and any(key in event for key in ("RRULE", "RDATE", "RECURRENCE-ID")):
            masters[uid] = event if "RECURRENCE-ID" not in event else masters.get(uid)
    return masters


# --- Mapping -------------------------------------------------------------------------------


def _item(
    occurrence: Event, start: datetime, masters: dict[str, Component | None], source_url: str
) -> CollectedItem | None:
    title = _clean(_text(occurrence, "SUMMARY"))
    if not title:
        return None  # nothing to show a reader; a feed's drafts often look like this
    uid = _text(occurrence, "UID") or None
    guid = uid
    if uid is not None and uid in masters:
        # The original slot (RECURRENCE-ID), not the possibly moved start, names an
        # occurrence: a session moved from Tuesday to Wednesday stays the same item.
        slot = _aware(_value(occurrence, "RECURRENCE-ID")) or start
        guid = f"{uid}#{slot.isoformat()}"
        # A moved occurrence is a full event of its own that feeds often write without
        # the link and text of its series: those are taken from the series.
        master = masters[uid]
        if master is not None:
            for name in ("URL", "DESCRIPTION", "X-ALT-DESC"):
                if name not in occurrence and name in master:
                    occurrence[name] = master[name]
    url = _text(occurrence, "URL")
    organizer = occurrence.get("ORGANIZER")
    organizer = organizer[0] if isinstance(organizer, list) else organizer
    organizer_name = _clean(str(getattr(organizer, "params", {}).get("CN", "")))
    return CollectedItem(
        title=title,
        url=canonical_url(url, source_url) if url else None,
        guid=guid,
        summary=_summary(occurrence),
        # CREATED first: many plugins stamp DTSTAMP with the time of the export.
        published_at=_aware(_value(occurrence, "CREATED") or _value(occurrence, "DTSTAMP")),
        event_start=start,
        event_end=_end(occurrence, start),
        event_place=_clean(_text(occurrence, "LOCATION")) or None,
        funder=None,
        kind="evenement",
        raw_tags=_categories(occurrence),
        extra={"organizer": organizer_name} if organizer_name else {},
    )


def _text(component: Component, name: str) -> str:
    """A text property as a string; the first one when a feed repeats it."""
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


def _value(component: Component, name: str) -> date | datetime | None:
    """A date property's value, or None when absent, repeated or unparsable."""
    try:
        value = component.get(name).dt
    except (AttributeError, ValueError):  # None, a list, or icalendar's broken property
        return None
    return value if isinstance(value, date) else None


def _aware(value: date | datetime | None) -> datetime | None:
    """Timezone-aware: DATE values start at midnight in Paris, floating times are Paris."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), PARIS)
    return value if value.tzinfo is not None else value.replace(tzinfo=PARIS)


def _end(occurrence: Event, start: datetime) -> datetime | None:
    try:
        end = _aware(occurrence.end)  # DTEND, or DTSTART + DURATION, or RFC 5545 defaults
    except Exception:  # icalendar raises its own errors for inconsistent events
        return None
    # A timed event without DTEND or DURATION has no known end: RFC 5545 makes it end
    # when it starts, which would read "de 18 h à 18 h".
    return end if end is not None and end > start else None


@lru_cache(maxsize=256)
def _description_text(description: str, is_html: bool) -> str:
    if not is_html:
        # Plain text whose line breaks are meant; HTML would fold them into spaces.
        description = description.replace("\n", "<br>")
    return truncate(html_to_text(description), SUMMARY_LIMIT)


def _summary(occurrence: Event) -> str:
    description = _text(occurrence, "DESCRIPTION")
    if description:
        return _description_text(description, bool(_TAG.search(description)))
    # X-ALT-DESC (Outlook, some WordPress plugins) carries the description as HTML.
    return _description_text(_text(occurrence, "X-ALT-DESC"), True)


def _categories(occurrence: Event) -> list[str]:
    try:
        raw = list(occurrence.categories)
    except Exception:  # a malformed CATEGORIES line only costs the tags
        return []
    tags = (_clean(str(tag)) for tag in raw)
    return list(dict.fromkeys(tag for tag in tags if tag))
