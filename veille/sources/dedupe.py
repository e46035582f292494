"""Storing collected items: one item per real-world thing, one sighting per source.

Matching, in order: the same entry of the same source again (its key); the same canonical
URL or GUID from any source. A rejected item keeps its sightings, so it never comes back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from veille.models import Item, Sighting, Source
from veille.sources.items import CollectedItem
from veille.sources.normalize import canonical_url, infer_kind
from veille.tags import get_or_create_tags

# Fields staff may edit; a change at the source is shown, never written over their choice.
WATCHED_FIELDS = ("title", "summary")


@dataclass(slots=True)
class StoreStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def entry_key(collected: CollectedItem) -> str:
    """Stable identity of an entry within its source."""
    basis = collected.guid or canonical_url(collected.url or "") or collected.title.casefold()
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:40]


def store_items(
    session: Session, source: Source, collected: list[CollectedItem], *, now: datetime
) -> StoreStats:
    stats = StoreStats()
    seen_keys: set[str] = set()
    for entry in collected:
        key = entry_key(entry)
        if key in seen_keys:  # the same entry twice in one feed
            continue
        seen_keys.add(key)
        sighting = session.scalar(
            select(Sighting).where(Sighting.source_id == source.id, Sighting.key == key)
        )
        if sighting is not None:
            changed = _refresh(sighting, entry, now=now)
            if changed:
                stats.updated += 1
            else:
                stats.unchanged += 1
            continue
        item = _find_relayed(session, entry)
        if item is None:
            item = _new_item(session, source, entry, now=now)
            stats.new += 1
        else:
            stats.updated += 1
        sighting = _add_sighting(session, item, source, entry, key, now=now)
        _apply_deadline(item)
    session.flush()
    return stats


def _find_relayed(session: Session, entry: CollectedItem) -> Item | None:
    url = canonical_url(entry.url or "") if entry.url else None
    conditions = []
    if url:
        conditions.append(Sighting.canonical_url == url)
    if entry.guid:
        conditions.append(Sighting.guid == entry.guid)
    if not conditions:
        return None
    sighting = session.scalars(
        select(Sighting).where(or_(*conditions)).order_by(Sighting.id).limit(1)
    ).first()
    return sighting.item if sighting else None


def _new_item(session: Session, source: Source, entry: CollectedItem, *, now: datetime) -> Item:
    item = Item(
        title=entry.title,
        url=entry.url,
        canonical_url=canonical_url(entry.url or "") if entry.url else None,
        summary=entry.summary,
        body=entry.body,
        published_at=entry.published_at,
        closed=entry.closed,
        event_start=entry.event_start,
        event_end=entry.event_end,
        event_place=entry.event_place,
        funder=entry.funder,
        kind=entry.kind or infer_kind(source.rules.get("item_kind"), entry.title, entry.summary),
        source=source,
        raw_tags=list(entry.raw_tags),
        suggested_bulletin=source.bulletin_slug,
        status="new",
        created_at=now,
        updated_at=now,
    )
    item.tags = get_or_create_tags(session, source.tags)
    session.add(item)
    return item


def _add_sighting(
    session: Session, item: Item, source: Source, entry: CollectedItem, key: str,
    *, now: datetime,
) -> Sighting:
    sighting = Sighting(
        source=source,
        key=key,
        guid=entry.guid,
        url=entry.url,
        canonical_url=canonical_url(entry.url or "") if entry.url else None,
        title=entry.title,
        deadline=entry.deadline,
        first_seen_at=now,
        last_seen_at=now,
    )
    item.sightings.append(sighting)
    session.add(sighting)
    return sighting


def _refresh(sighting: Sighting, entry: CollectedItem, *, now: datetime) -> bool:
    """The source published the entry again: dates follow it; other changes are flagged."""
    item = sighting.item
    sighting.last_seen_at = now
    changed = False
    if entry.deadline != sighting.deadline:
        sighting.deadline = entry.deadline
        changed = True
    if entry.published_at and entry.published_at != item.published_at:
        item.published_at = entry.published_at
        changed = True
    if entry.closed and not item.closed:
        item.closed = True
        changed = True
    if item.source_id == sighting.source_id:
        changed |= _watch_upstream(item, entry, now=now)
    if changed:
        _apply_deadline(item)
        item.updated_at = now
    return changed


def _watch_upstream(item: Item, entry: CollectedItem, *, now: datetime) -> bool:
    new_values = {"title": entry.title, "summary": entry.summary}
    diffs = {f: new_values[f] for f in WATCHED_FIELDS if new_values[f] != getattr(item, f)}
    if not diffs:
        return False
    if item.status == "new" and item.edited_title is None and item.edited_summary is None:
        for name, value in diffs.items():  # nobody looked at it yet: just follow the source
            setattr(item, name, value)
        return True
    item.upstream = {**diffs, "changed_at": now.isoformat()}
    item.upstream_changed = True
    return True


def _apply_deadline(item: Item) -> None:
    """The item's deadline is the latest one announced, with the source that announced it."""
    dated = [s for s in item.sightings if s.deadline is not None]
    if not dated:
        return
    latest = max(dated, key=lambda s: s.deadline)  # type: ignore[arg-type,return-value]
    item.deadline = latest.deadline
    item.deadline_source_id = latest.source_id
    if latest.source is not None:
        item.deadline_source = latest.source
