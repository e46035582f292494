"""The staff inbox: listing items, and their stable machine-readable form (`--json`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from veille.bulletins import get_bulletin
from veille.errors import InvalidInput
from veille.models import Item, Sighting

STATUSES = ("new", "accepted", "rejected", "archived")


def list_items(
    session: Session,
    *,
    status: str | None = None,
    bulletin: str | None = None,
    limit: int | None = None,
) -> list[Item]:
    query = select(Item).options(
        selectinload(Item.tags),
        selectinload(Item.source),
        selectinload(Item.bulletin),
        selectinload(Item.sightings).selectinload(Sighting.source),
        selectinload(Item.deadline_source),
    )
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"Statut inconnu « {status} » (attendu : {', '.join(STATUSES)}).")
        query = query.where(Item.status == status)
    if bulletin is not None:
        query = query.where(Item.bulletin_id == get_bulletin(session, bulletin).id)
    query = query.order_by(Item.created_at.desc(), Item.id.desc())
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def item_dict(item: Item) -> dict[str, Any]:
    """The contract of `veille items list --json` (keys are kept, new ones may be added)."""
    return {
        "id": item.id,
        "title": item.display_title,
        "url": item.url,
        "source": item.source.slug if item.source else None,
        "kind": item.kind,
        "published_at": _iso(item.published_at),
        "deadline": _iso(item.deadline),
        "deadline_source": item.deadline_source.slug if item.deadline_source else None,
        "closed": item.closed,
        "summary": item.display_summary,
        "tags": [t.name for t in item.tags],
        "bulletin": item.bulletin.slug if item.bulletin else None,
        "suggested_bulletin": item.suggested_bulletin,
        "status": item.status,
        "event_start": _iso(item.event_start),
        "event_end": _iso(item.event_end),
        "event_place": item.event_place,
        "funder": item.funder,
        "sightings": [
            {
                "source": s.source.slug if s.source else None,
                "url": s.url,
                "deadline": _iso(s.deadline),
            }
            for s in item.sightings
        ],
        "upstream_changed": item.upstream_changed,
    }
