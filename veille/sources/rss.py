"""RSS 0.9x/1.0/2.0, Atom and JSON Feed, read by feedparser into `CollectedItem`s.

An ill-formed feed that feedparser can still read ("bozo") keeps what is readable; the
problem is returned so that it shows in the source's health.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import feedparser

from veille.sources.dates import extract_deadline, parse_date
from veille.sources.fetch import Fetcher
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.normalize import (
    canonical_url,
    clean_text,
    decode_bytes,
    html_to_text,
    sanitize_html,
    truncate,
)
from veille.sources.offload import parse


class FeedError(ValueError):
    """The bytes are not a feed at all (an HTML page, an error page, garbage)."""


@dataclass(slots=True)
class ParsedFeed:
    items: list[CollectedItem]
    problem: str | None  # a readable feed with defects: kept, but worth telling staff
    ttl_seconds: int | None  # RSS <ttl>, the publisher's hint for the next fetch


async def harvest(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    result = await fetcher.get(task.url, etag=task.etag, last_modified=task.last_modified)
    if result.not_modified:
        return Harvest.unchanged(result)
    feed = await parse(
        parse_feed, result.content, url=result.url, today=today, charset=result.charset
    )
    hints = [h for h in (feed.ttl_seconds, result.max_age) if h]
    return Harvest(
        items=feed.items,
        etag=result.etag,
        last_modified=result.last_modified,
        problem=feed.problem,
        hint_seconds=max(hints) if hints else None,
    )


def parse_feed(content: bytes, *, url: str, today: date, charset: str | None = None) -> ParsedFeed:
    if _looks_like_json_feed(content):
        return _parse_json_feed(content, url=url, today=today)
    parsed = feedparser.parse(content, response_headers=_headers(charset))
    if not parsed.entries and not parsed.get("version"):
        raise FeedError(
            f"Le contenu reçu n'est pas un flux RSS/Atom lisible ({_bozo_reason(parsed)})."
        )
    problem = f"Flux mal formé, lu en partie : {_bozo_reason(parsed)}" if parsed.bozo else None
    items = [i for i in (_entry_item(e, url, today) for e in parsed.entries) if i is not None]
    return ParsedFeed(items=items, problem=problem, ttl_seconds=_ttl(parsed.feed))


def _headers(charset: str | None) -> dict[str, str]:
    # Tells feedparser the charset the server declared; it still prefers the XML prolog.
    return {"content-type": f"application/xml; charset={charset}"} if charset else {}


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return str(exc).splitlines()[0][:200] if exc else "format non reconnu"


def _ttl(feed: Any) -> int | None:
    try:
        minutes = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes > 0 else None


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_item(entry: Any, base: str, today: date) -> CollectedItem | None:
    title = clean_text(entry.get("title", ""))
    link = entry.get("link") or ""
    url = canonical_url(link, base) if link else None
    if not title and not url:
        return None
    content_html = ""
    if entry.get("content"):
        content_html = entry["content"][0].get("value", "")
    summary_html = entry.get("summary", "") or content_html
    summary = truncate(html_to_text(summary_html))
    body = sanitize_html(content_html or summary_html)
    published = _struct_to_dt(entry.get("published_parsed") or entry.get("updated_parsed"))
    if published is None and entry.get("published"):
        published = parse_date(entry["published"], today=today)
    deadline = extract_deadline(
        f"{title}\n{html_to_text(content_html or summary_html)}", today=today
    )
    tags = [clean_text(t.get("term", "")) for t in entry.get("tags", []) if t.get("term")]
    return CollectedItem(
        title=title or url or "",
        url=link and (url or link),
        guid=entry.get("id") or None,
        summary=summary,
        body=body,
        published_at=published,
        deadline=deadline.deadline,
        closed=deadline.closed,
        raw_tags=tags,
    )


def _looks_like_json_feed(content: bytes) -> bool:
    head = content[:200].lstrip()
    return head.startswith(b"{") and b"jsonfeed.org" in content[:2000]


def _parse_json_feed(content: bytes, *, url: str, today: date) -> ParsedFeed:
    try:
        data = json.loads(decode_bytes(content, "utf-8"))
    except ValueError as exc:
        raise FeedError(f"JSON Feed illisible ({exc}).") from None
    items: list[CollectedItem] = []
    for entry in data.get("items", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict):
            continue
        html = str(entry.get("content_html") or "")
        text = str(entry.get("content_text") or entry.get("summary") or "") or html_to_text(html)
        title = clean_text(str(entry.get("title") or ""))
        link = str(entry.get("url") or entry.get("external_url") or "")
        deadline = extract_deadline(f"{title}\n{text}", today=today)
        items.append(
            CollectedItem(
                title=title or link,
                url=canonical_url(link, url) if link else None,
                guid=str(entry.get("id")) if entry.get("id") is not None else None,
                summary=truncate(text),
                body=sanitize_html(html),
                published_at=parse_date(str(entry.get("date_published") or ""), today=today),
                deadline=deadline.deadline,
                closed=deadline.closed,
                raw_tags=[str(t) for t in entry.get("tags", []) if isinstance(t, str)],
            )
        )
    return ParsedFeed(items=[i for i in items if i.title], problem=None, ttl_seconds=None)
