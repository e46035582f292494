"""Editions: assembling a draft, its view for rendering, and the one place its status changes.

draft -> in_review -> approved -> (scheduled ->) sending -> sent
  ^---------'  (back to draft to edit again; an approved edition is frozen)
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from veille.bulletins import get_bulletin
from veille.config import Settings
from veille.digest.render import (
    EditionView,
    EntryView,
    RenderedEdition,
    SectionView,
    format_date_fr,
    render_edition,
)
from veille.errors import InvalidTransition, NotFound
from veille.models import Bulletin, Edition, EditionEntry, Item, Sighting, utcnow

PARIS = ZoneInfo("Europe/Paris")
OPEN = ("draft", "in_review")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("in_review", "approved"),
    "in_review": ("draft", "approved"),
    "approved": ("draft", "scheduled", "sending"),
    "scheduled": ("approved", "sending"),
    "sending": ("sent",),
    "sent": (),
}
STATUS_FR = {
    "draft": "brouillon",
    "in_review": "en relecture",
    "approved": "approuvé",
    "scheduled": "programmé",
    "sending": "en cours d'envoi",
    "sent": "envoyé",
}


def get_edition(session: Session, edition_id: int) -> Edition:
    edition = session.get(
        Edition,
        edition_id,
        options=[
            selectinload(Edition.entries)
            .selectinload(EditionEntry.item)
            .selectinload(Item.sightings)
            .selectinload(Sighting.source)
        ],
    )
    if edition is None:
        raise NotFound(f"Numéro introuvable : n° {edition_id}.")
    return edition


def set_status(edition: Edition, status: str, *, actor: str, now: datetime) -> None:
    """Every status change of an edition goes through here."""
    if status not in TRANSITIONS.get(edition.status, ()):
        raise InvalidTransition(
            f"Le numéro {edition.id} est {STATUS_FR[edition.status]} : "
            f"impossible de le passer à « {STATUS_FR.get(status, status)} »."
        )
    if status == "approved":
        edition.approved_by, edition.approved_at = actor, now
    elif status == "draft":
        edition.approved_by = edition.approved_at = None
        edition.html = edition.text = None  # unfrozen: rendered again at the next approval
    elif status == "sent":
        edition.sent_at = now
    edition.status = status


def _candidates(session: Session, bulletin: Bulletin, now: datetime) -> list[Item]:
    """Accepted items of this bulletin that no edition of it holds yet, still relevant."""
    in_an_edition = exists().where(
        EditionEntry.item_id == Item.id,
        EditionEntry.edition_id == Edition.id,
        Edition.bulletin_id == bulletin.id,
    )
    items = session.scalars(
        select(Item)
        .where(Item.status == "accepted", Item.bulletin_id == bulletin.id, ~in_an_edition)
        .order_by(Item.deadline.is_(None), Item.deadline, Item.event_start, Item.id)
    ).all()
    # A call whose deadline has passed is useless to readers.
    return [i for i in items if not (i.deadline and i.deadline < now) and not i.closed]


def draft_edition(session: Session, bulletin_slug: str, *, now: datetime | None = None) -> Edition:
    """Open (or refresh) the next edition of a bulletin with the accepted items not yet in one."""
    now = now or utcnow()
    bulletin = get_bulletin(session, bulletin_slug)
    edition = session.scalar(
        select(Edition)
        .where(Edition.bulletin_id == bulletin.id, Edition.status.in_(OPEN))
        .order_by(Edition.number.desc())
    )
    if edition is None:
        last = session.scalar(
            select(func.max(Edition.number)).where(Edition.bulletin_id == bulletin.id)
        )
        edition = Edition(bulletin=bulletin, number=(last or 0) + 1, status="draft", created_at=now)
        session.add(edition)
    today = now.astimezone(PARIS).date()
    edition.period_end = today
    edition.subject = f"{bulletin.title} n° {edition.number} — {format_date_fr(today)}"
    section_order = {s["key"]: i for i, s in enumerate(bulletin.sections)}
    taken = {e.item_id for e in edition.entries}
    next_position = len(edition.entries)
    for item in _candidates(session, bulletin, now):
        if item.id in taken:
            continue
        section = item.section if item.section in section_order else bulletin.sections[-1]["key"]
        edition.entries.append(
            EditionEntry(
                item=item,
                section=section,
                section_position=section_order[section],
                position=next_position,
            )
        )
        next_position += 1
    session.flush()
    return edition


def edition_view(edition: Edition, settings: Settings) -> EditionView:
    bulletin = edition.bulletin
    sections = []
    for spec in bulletin.sections:
        entries = tuple(_entry_view(e.item) for e in edition.entries if e.section == spec["key"])
        sections.append(SectionView(title=spec["title"], entries=entries))
    return EditionView(
        bulletin_slug=bulletin.slug,
        bulletin_title=bulletin.title,
        number=edition.number,
        date=edition.period_end or edition.created_at.astimezone(PARIS).date(),
        subject=edition.subject,
        intro=edition.intro,
        sections=tuple(sections),
        base_url=settings.base_url.rstrip("/"),
    )


def _entry_view(item: Item) -> EntryView:
    names = tuple(dict.fromkeys(s.source.name for s in item.sightings if s.source))
    return EntryView(
        title=item.display_title,
        url=item.url,
        summary=item.display_summary,
        kind=item.kind,
        deadline=item.deadline,
        closed=item.closed,
        event_start=item.event_start,
        event_end=item.event_end,
        event_place=item.event_place,
        funder=item.funder,
        sources=names,
    )


def render(edition: Edition, settings: Settings) -> RenderedEdition:
    """The edition as readers get it: frozen once approved, live while a draft."""
    if edition.html is not None and edition.text is not None:
        return RenderedEdition(subject=edition.subject, html=edition.html, text=edition.text)
    return render_edition(edition_view(edition, settings))


def approve(
    session: Session,
    edition_id: int,
    settings: Settings,
    *,
    actor: str,
    now: datetime | None = None,
) -> Edition:
    now = now or utcnow()
    edition = get_edition(session, edition_id)
    if not edition.entries and edition.bulletin.slug != "info-flash":
        raise InvalidTransition(f"Le numéro {edition.id} est vide : rien à approuver.")
    if edition.bulletin.slug == "info-flash" and not (edition.entries or edition.intro.strip()):
        raise InvalidTransition(f"L'Info Flash n° {edition.id} est vide : rien à approuver.")
    set_status(edition, "approved", actor=actor, now=now)
    rendered = render_edition(edition_view(edition, settings))
    edition.html, edition.text = rendered.html, rendered.text  # kept as sent
    session.flush()
    return edition
