"""The one normalised item that every access method (rss, html, api, ics) yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("appel", "actualite", "offre", "evenement", "annonce")


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
