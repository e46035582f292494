"""iCalendar feeds (RFC 5545) of partners' events: each occurrence in the window is an item.

WordPress event plugins (`?ical=1`) and OpenAgenda exports are the expected producers.
Parsing and recurrence expansion are left to `icalendar` and `recurring-ical-events`;
this module only decides which occurrences matter and maps them to `CollectedItem`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component

from veille.sources.items import CollectedItem
from veille.sources.normalize import canonical_url, clean_text, decode_bytes, html_to_text, truncate

PARIS = ZoneInfo("Europe/Paris")
UNREADABLE = "Le fichier n'est pas un calendrier iCalendar lisible."
SUMMARY_LIMIT = 600
# A calendar that asks for more occurrences than this in one window is broken or hostile;
# stopping keeps a collection run bounded in time and memory.
MAX_OCCURRENCES = 2000
# Partners' events never repeat within a day; such a rule would flood the window.
_SUB_DAILY = {"SECONDLY", "MINUTELY", "HOURLY"}
_TAG = re.compile(r"<[a-zA-Z/!]")


def parse_ics(
    content: bytes, *, source_url: str, now: datetime, window_days: int = 180
) -> list[CollectedItem]:
    """Events from `now - 1 day` to `now + window_days`, recurring ones expanded.

    An event beyond the window is not lost: it is collected by a later run, once the
    window has moved far enough. Raises ValueError (French message) on unreadable content.
    """
    calendar = _read(content)
    now = now if now.tzinfo is not None else now.replace(tzinfo=PARIS)
    window_end = now + timedelta(days=window_days)
    masters = _series_masters(calendar)
    calendar_name = clean_text(str(calendar.get("X-WR-CALNAME", "")))
    items: list[CollectedItem] = []
    for occurrence in islice(_occurrences(calendar, now - timedelta(days=1)), MAX_OCCURRENCES):
        start = _aware(_value(occurrence, "DTSTART"))
        if start is None:
            continue
        if start > window_end:
            break  # occurrences come in order of start: all the rest is later still
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        item = _item(occurrence, start, masters, source_url)
        if item is not None:
            if calendar_name:
                item.extra["calendar"] = calendar_name
            items.append(item)
    return items


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
        if isinstance(rule, dict)  # a vBroken rule is left to the library's error handling
        for freq in rule.get("FREQ", [])
    )


def _occurrences(calendar: Calendar, earliest_end: datetime) -> Iterator[Component]:
    """Occurrences ending after `earliest_end`, in order of start, never ending by itself."""
    # Series with errors are skipped by the library so that one bad event does not hide
    # the others; what still fails means the calendar as a whole cannot be read.
    try:
        iterator = recurring_ical_events.of(calendar, skip_bad_series=True).after(earliest_end)
    except Exception as exc:
        raise ValueError(UNREADABLE) from exc
    while True:
        try:
            occurrence = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise ValueError(UNREADABLE) from exc
        yield occurrence


def _series_masters(calendar: Calendar) -> dict[str, Component | None]:
    """The events of each recurring series' UID (None when only overrides are present)."""
    masters: dict[str, Component | None] = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if uid and any(key in event for key in ("RRULE", "RDATE", "RECURRENCE-ID")):
            is_master = "RECURRENCE-ID" not in event
            masters[uid] = event if is_master else masters.get(uid)
    return masters


def _item(
    occurrence: Component, start: datetime, masters: dict[str, Component | None], source_url: str
) -> CollectedItem | None:
    title = clean_text(str(occurrence.get("SUMMARY", "")))
    if not title:
        return None  # nothing to show a reader; a feed's drafts often look like this
    uid = str(occurrence.get("UID", "")).strip() or None
    guid = uid
    # A moved or renamed occurrence is a full event of its own that feeds often write
    # without the link and text of its series: those are taken from the series.
    master = masters.get(uid or "")
    if master is not None:
        for name in ("URL", "DESCRIPTION", "X-ALT-DESC"):
            if name not in occurrence and name in master:
                occurrence[name] = master[name]
    if uid and uid in masters:
        # The original slot (RECURRENCE-ID), not the possibly moved start, names an
        # occurrence: a session moved from Tuesday to Wednesday stays the same item.
        slot = _aware(_value(occurrence, "RECURRENCE-ID")) or start
        guid = f"{uid}#{slot.isoformat()}"
    url = str(occurrence.get("URL", "")).strip()
    organizer = occurrence.get("ORGANIZER")
    organizer_name = clean_text(str(organizer.params.get("CN", ""))) if organizer else ""
    return CollectedItem(
        title=title,
        url=canonical_url(url, source_url) if url else None,
        guid=guid,
        summary=_summary(occurrence),
        published_at=_aware(_value(occurrence, "CREATED") or _value(occurrence, "DTSTAMP")),
        event_start=start,
        event_end=_end(occurrence, start),
        event_place=clean_text(str(occurrence.get("LOCATION", ""))) or None,
        funder=None,
        kind="evenement",
        raw_tags=_categories(occurrence),
        extra={"organizer": organizer_name} if organizer_name else {},
    )


def _value(component: Component, name: str) -> date | datetime | None:
    """A date property's value, or None when absent or unparsable (vBroken has no .dt)."""
    value = getattr(component.get(name), "dt", None)
    return value if isinstance(value, date) else None


def _aware(value: date | datetime | None) -> datetime | None:
    """Timezone-aware: DATE values start at midnight in Paris, floating times are Paris."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), PARIS)
    return value if value.tzinfo is not None else value.replace(tzinfo=PARIS)


def _end(occurrence: Component, start: datetime) -> datetime | None:
    try:
        end = _aware(occurrence.end)  # DTEND, or DTSTART + DURATION, or RFC 5545 defaults
    except Exception:  # icalendar raises its own errors for inconsistent events
        return None
    # A timed event without DTEND or DURATION has no known end: RFC 5545 makes it end
    # when it starts, which would read "de 18 h à 18 h".
    return end if end is not None and end > start else None


def _summary(occurrence: Component) -> str:
    description = str(occurrence.get("DESCRIPTION", "")).strip()
    if not description:
        description = str(occurrence.get("X-ALT-DESC", ""))  # Outlook's HTML description
    elif not _TAG.search(description):
        # Plain text whose line breaks are meant; HTML would fold them into spaces.
        description = description.replace("\n", "<br>")
    return truncate(html_to_text(description), SUMMARY_LIMIT)


def _categories(occurrence: Component) -> list[str]:
    try:
        raw: list[Any] = list(occurrence.categories)
    except Exception:  # a malformed CATEGORIES line only costs the tags
        return []
    tags = (clean_text(str(tag)) for tag in raw)
    return list(dict.fromkeys(tag for tag in tags if tag))
