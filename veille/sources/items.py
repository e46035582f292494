"""The one normalised item that every access method (rss, html, api, ics) yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veille.sources.fetch import FetchResult

KINDS = ("appel", "actualite", "offre", "evenement", "annonce")
DETAIL_READ = "detail_read"  # key of `extra`: the item's detail page was read this run


@dataclass(slots=True)
class CollectedItem:
    title: str
    url: str | None = None
    guid: str | None = None
    summary: str = ""  # plain text
    body: str = ""  # sanitised HTML
    published_at: datetime | None = None  # timezone-aware
    deadline: datetime | None = None  # timezone-aware (Europe/Paris end of day if no time)
    closed: bool = False
    event_start: datetime | None = None
    event_end: datetime | None = None
    event_place: str | None = None
    funder: str | None = None
    kind: str | None = None  # one of KINDS; None = let the pipeline infer it
    raw_tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceTask:
    """What an access method needs to know of a source (a detached copy of its row)."""

    id: int
    slug: str
    name: str
    kind: str
    url: str
    rules: dict[str, Any]
    etag: str | None = None
    last_modified: str | None = None
    item_kind: str | None = None
    # Canonical URLs this source already yielded: an html source follows only new items.
    known_urls: frozenset[str] = frozenset()


@dataclass(slots=True)
class Harvest:
    """What one collection of one source produced."""

    items: list[CollectedItem] = field(default_factory=list)
    not_modified: bool = False  # 304: nothing parsed, nothing changed
    etag: str | None = None
    last_modified: str | None = None
    problem: str | None = None  # readable with defects (bozo feed, some pages failed...)
    hint_seconds: float | None = None  # the server's own pacing hint (ttl, max-age)

    @classmethod
    def unchanged(cls, result: FetchResult) -> Harvest:
        """The server answered 304: nothing to parse, validators and pacing kept."""
        return cls(
            not_modified=True,
            etag=result.etag,
            last_modified=result.last_modified,
            hint_seconds=result.max_age,
        )
