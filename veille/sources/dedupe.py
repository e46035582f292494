"""Storing collected items: one item per real-world thing, one sighting per source.

Matching, in order: the same entry of the same source again (its key); the same canonical
URL or GUID from any source; a near-duplicate title (MinHash bands, confirmed by rapidfuzz
and by the deadline or funder). A rejected item keeps its sightings: it never comes back.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from veille.errors import InvalidTransition, NotFound
from veille.models import Decision, Item, Sighting, Source, Tag, TitleBand
from veille.sources import similar
from veille.sources.items import DETAIL_READ, CollectedItem
from veille.sources.normalize import canonical_url, infer_kind
from veille.tags import get_or_create_tags

T = TypeVar("T")
MAX_CANDIDATES = 20  # near-duplicate candidates compared per new entry, the closest first
# Fields staff may edit; a change at the source is shown, never written over their choice.
WATCHED_FIELDS = ("title", "summary")


@dataclass(slots=True)
class StoreStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class _Entry:
    """A collected item with what matching needs, computed once."""

    data: CollectedItem
    url: str | None
    key: str
    title: similar.Title


def _prepare(collected: CollectedItem) -> _Entry:
    url = canonical_url(collected.url) if collected.url else None
    return _Entry(collected, url, entry_key(collected, url), similar.Title(collected.title))


def entry_key(collected: CollectedItem, url: str | None = None) -> str:
    """Stable identity of an entry within its source."""
    url = url or (canonical_url(collected.url) if collected.url else None)
    basis = collected.guid or url or collected.title.casefold()
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:40]


def store_items(
    session: Session, source: Source, collected: list[CollectedItem], *, now: datetime
) -> StoreStats:
    stats = StoreStats()
    entries = list({e.key: e for e in map(_prepare, reversed(collected))}.values())[::-1]
    known = _sightings_by_key(session, source, [e.key for e in entries])
    fresh = [e for e in entries if e.key not in known]
    # What other sources already have, looked up once for the whole batch.
    relayed = _relayed(session, fresh)
    candidates = _candidates(session, source, fresh)
    tags = get_or_create_tags(session, source.tags)
    # Items created in this batch, by URL and GUID. Nothing below flushes per entry (that
    # would dominate the cost): the lookups above only concern *other* sources.
    batch: dict[str, Item] = {}
    with session.no_autoflush:
        for entry in entries:
            sighting = known.get(entry.key)
            if sighting is not None:
                _note_detail(sighting, entry.data, now=now)
                if _refresh(sighting, entry.data, now=now):
                    stats.updated += 1
                else:
                    stats.unchanged += 1
                continue
            item = (
                _by_address(batch, entry)
                or _by_address(relayed, entry)
                or _most_similar(entry, candidates.get(entry.key, []))
            )
            if item is None:
                item = _new_item(session, source, entry, tags, now=now)
                stats.new += 1
            else:
                stats.updated += 1
            batch.update({k: item for k in (entry.url, entry.data.guid) if k})
            sighting = _add_sighting(session, item, source, entry, now=now)
            _note_detail(sighting, entry.data, now=now)
            _apply_deadline(item)
    session.flush()
    return stats


def _by_address(index: dict[str, Item], entry: _Entry) -> Item | None:
    for key in (entry.url, entry.data.guid):
        if key and key in index:
            return index[key]
    return None


def _chunks(values: list[T], size: int = 500) -> Iterator[list[T]]:
    """Bounded IN lists, whatever the size of a feed."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _sightings_by_key(session: Session, source: Source, keys: list[str]) -> dict[str, Sighting]:
    found: dict[str, Sighting] = {}
    for chunk in _chunks(keys):
        query = select(Sighting).where(Sighting.source_id == source.id, Sighting.key.in_(chunk))
        found.update((s.key, s) for s in session.scalars(query))
    return found


def _relayed(session: Session, entries: list[_Entry]) -> dict[str, Item]:
    """Items already seen elsewhere at the same canonical URL or GUID, by that address."""
    urls = [e.url for e in entries if e.url]
    guids = [e.data.guid for e in entries if e.data.guid]
    found: dict[str, Item] = {}
    for column, values in ((Sighting.canonical_url, urls), (Sighting.guid, guids)):
        for chunk in _chunks(values):
            query = (
                select(Sighting)
                .where(column.in_(chunk))
                .order_by(Sighting.id.desc())
                .options(selectinload(Sighting.item))
            )
            # Oldest last, so that the first sighting of an address wins.
            found.update((getattr(s, column.key), s.item) for s in session.scalars(query))
    return found


def _candidates(session: Session, source: Source, entries: list[_Entry]) -> dict[str, list[Item]]:
    """Near-duplicate candidates of each entry: items of other sources sharing at least two
    title bands with it (one alone is often a chance collision of common words), the
    closest first, at most MAX_CANDIDATES."""
    wanted: dict[int, list[str]] = {}
    for entry in entries:
        for band in entry.title.bands:
            wanted.setdefault(band, []).append(entry.key)
    # A source does not relay itself: two of its entries are two things.
    own = exists().where(Sighting.item_id == TitleBand.item_id, Sighting.source_id == source.id)
    shared: dict[str, Counter[int]] = {}
    for chunk in _chunks(list(wanted)):
        rows = session.execute(
            select(TitleBand.band, TitleBand.item_id).where(TitleBand.band.in_(chunk), ~own)
        )
        for band, item_id in rows:
            for key in wanted[band]:
                shared.setdefault(key, Counter())[item_id] += 1
    chosen = {
        key: [i for i, n in counts.most_common(MAX_CANDIDATES) if n >= 2]
        for key, counts in shared.items()
    }
    ids = sorted({i for group in chosen.values() for i in group})
    items: dict[int, Item] = {}
    for chunk in _chunks(ids):
        items.update((i.id, i) for i in session.scalars(select(Item).where(Item.id.in_(chunk))))
    return {key: [items[i] for i in group if i in items] for key, group in chosen.items()}


def _most_similar(entry: _Entry, candidates: list[Item]) -> Item | None:
    best: tuple[float, Item] | None = None
    for item in candidates:
        other = similar.Title(item.title)
        if not similar.same_thing(
            entry.title,
            other,
            dates_agree=_agree_dates(entry.data, item),
            funders_agree=_agree_funders(entry.data, item),
        ):
            continue
        score = similar.similarity(entry.title, other)
        if best is None or score > best[0]:
            best = (score, item)
    return best[1] if best else None


def _agree_dates(entry: CollectedItem, item: Item) -> bool | None:
    if entry.deadline is None or item.deadline is None:
        return None
    return entry.deadline.date() == item.deadline.date()


def _agree_funders(entry: CollectedItem, item: Item) -> bool | None:
    if not entry.funder or not item.funder:
        return None
    return similar.similarity(similar.Title(entry.funder), similar.Title(item.funder)) >= 80


def _new_item(
    session: Session, source: Source, prepared: _Entry, tags: list[Tag], *, now: datetime
) -> Item:
    entry = prepared.data
    item = Item(
        title=entry.title,
        url=entry.url,
        canonical_url=prepared.url,
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
    item.tags = list(tags)
    item.title_bands = [TitleBand(band=band) for band in prepared.title.bands]
    session.add(item)
    return item


def _add_sighting(
    session: Session,
    item: Item,
    source: Source,
    prepared: _Entry,
    *,
    now: datetime,
) -> Sighting:
    entry = prepared.data
    sighting = Sighting(
        source=source,
        key=prepared.key,
        guid=entry.guid,
        url=entry.url,
        canonical_url=prepared.url,
        title=entry.title,
        deadline=entry.deadline,
        first_seen_at=now,
        last_seen_at=now,
    )
    item.sightings.append(sighting)
    session.add(sighting)
    return sighting


def _note_detail(sighting: Sighting, entry: CollectedItem, *, now: datetime) -> None:
    if entry.extra.get(DETAIL_READ):
        sighting.detail_read_at = now


def _refresh(sighting: Sighting, entry: CollectedItem, *, now: datetime) -> bool:
    """The source published the entry again: dates follow it; other changes are flagged."""
    item = sighting.item
    sighting.last_seen_at = now
    changed = False
    # A listing seen again without its detail page says nothing of the deadline: keep it.
    if entry.deadline is not None and entry.deadline != sighting.deadline:
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
        item.deadline, item.deadline_source_id = None, None
        return
    latest = max(dated, key=lambda s: s.deadline)  # type: ignore[arg-type,return-value]
    item.deadline = latest.deadline
    item.deadline_source_id = latest.source_id
    if latest.source is not None:
        item.deadline_source = latest.source


def split_sighting(
    session: Session, item_id: int, source_slug: str, *, actor: str, now: datetime
) -> Item:
    """Undo a wrong merge: the source's sighting becomes an item of its own, in the inbox.
    The sighting keeps its key, so that source's next publication follows the new item."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"Élément introuvable : n° {item_id}.")
    sighting = next((s for s in item.sightings if s.source and s.source.slug == source_slug), None)
    if sighting is None:
        raise NotFound(f"L'élément n° {item_id} n'a pas été vu dans la source « {source_slug} ».")
    if len(item.sightings) < 2:
        raise InvalidTransition(f"L'élément n° {item_id} n'a qu'une source : rien à séparer.")
    source = sighting.source
    assert source is not None
    entry = CollectedItem(
        title=sighting.title, url=sighting.url, guid=sighting.guid, deadline=sighting.deadline
    )
    tags = get_or_create_tags(session, source.tags)
    new = _new_item(session, source, _prepare(entry), tags, now=now)
    sighting.item = new  # moved, not orphaned: the delete-orphan cascade leaves it alone
    session.flush()
    _apply_deadline(item)
    _apply_deadline(new)
    for target, note in (
        (item, f"séparé : la source {source_slug} devient l'élément n° {new.id}"),
        (new, f"séparé de l'élément n° {item.id}"),
    ):
        session.add(Decision(item=target, action="split", actor=actor, at=now, note=note))
    session.flush()
    return new
