"""Staff decisions on items: accept into a bulletin, reject, reopen. Every one is recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from veille.bulletins import get_bulletin, section_for
from veille.errors import InvalidInput, InvalidTransition, NotFound
from veille.models import Decision, EditionEntry, Item, utcnow
from veille.tags import get_or_create_tags


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"Élément introuvable : n° {item_id}.")
    return item


def accept(
    session: Session,
    item_id: int,
    *,
    bulletin: str,
    actor: str,
    section: str | None = None,
    tags: list[str] | None = None,
    title: str | None = None,
    summary: str | None = None,
    now: datetime | None = None,
) -> Item:
    item = get_item(session, item_id)
    target = get_bulletin(session, bulletin)
    if _is_published(session, item) and item.bulletin is not None and item.bulletin != target:
        raise InvalidTransition(
            f"L'élément n° {item.id} est déjà dans un numéro de « {item.bulletin.title} » "
            "(retirez-le du numéro avant de le déplacer)."
        )
    keys = {s["key"] for s in target.sections}
    if section is not None and section not in keys:
        raise InvalidInput(
            f"Rubrique inconnue « {section} » pour {target.title} "
            f"(rubriques : {', '.join(sorted(keys))})."
        )
    now = now or utcnow()
    item.status = "accepted"
    item.bulletin = target
    item.section = section or section_for(target, item.kind)
    if title is not None:
        item.edited_title = title.strip() or None
    if summary is not None:
        item.edited_summary = summary.strip()
    if tags is not None:
        item.tags = get_or_create_tags(session, tags)
    _record(session, item, "accept", actor, now, bulletin_slug=target.slug)
    return item


def reject(
    session: Session,
    item_id: int,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Item:
    item = get_item(session, item_id)
    if _is_published(session, item):
        raise InvalidTransition(
            f"L'élément n° {item.id} figure déjà dans un numéro : retirez-le d'abord du numéro."
        )
    now = now or utcnow()
    item.status = "rejected"
    item.bulletin = None
    item.section = None
    _record(session, item, "reject", actor, now, note=note)
    return item


def reopen(session: Session, item_id: int, *, actor: str, now: datetime | None = None) -> Item:
    """Undo a reject (or an accept not yet in an edition): back to the inbox."""
    item = get_item(session, item_id)
    if _is_published(session, item):
        raise InvalidTransition(f"L'élément n° {item.id} figure déjà dans un numéro.")
    now = now or utcnow()
    item.status = "new"
    item.bulletin = None
    item.section = None
    _record(session, item, "reopen", actor, now)
    return item


def _is_published(session: Session, item: Item) -> bool:
    return (
        session.scalar(select(EditionEntry.id).where(EditionEntry.item_id == item.id)) is not None
    )


def _record(
    session: Session,
    item: Item,
    action: str,
    actor: str,
    now: datetime,
    *,
    bulletin_slug: str | None = None,
    note: str | None = None,
) -> None:
    item.decided_by, item.decided_at = actor, now
    item.upstream_changed = False  # a decision acknowledges what the source changed
    session.add(
        Decision(
            item=item, action=action, actor=actor, at=now, bulletin_slug=bulletin_slug, note=note
        )
    )
    session.flush()
