"""Subscribers and their subscriptions: CSV import/export, consent, unsubscribing."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from veille.bulletins import SLUGS
from veille.errors import InvalidInput, NotFound
from veille.models import Bulletin, Subscriber, Subscription, utcnow

COLUMNS = ("email", "name", "organisation", "bulletins")
# Deliberately simple: one @, a dot in the domain, no spaces. Bounces catch the rest.
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # one French line per row left out


def new_token() -> str:
    return secrets.token_urlsafe(24)


def normalise_email(value: str) -> str:
    return value.strip().lower()


def _bulletins(session: Session) -> dict[str, Bulletin]:
    return {b.slug: b for b in session.scalars(select(Bulletin))}


def import_csv(
    session: Session, path: Path, *, pending: bool = False, now: datetime | None = None
) -> ImportReport:
    """Import the network's contacts. They are confirmed with consent source `import`,
    unless `pending` asks them to confirm (double opt-in). A bad row is reported, not fatal."""
    now = now or utcnow()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Impossible de lire {path} : {exc.strerror}.") from None
    text = raw.decode("utf-8-sig", errors="replace")
    dialect = csv.excel_tab if text.split("\n", 1)[0].count("\t") > 0 else csv.excel
    if ";" in text.split("\n", 1)[0] and "," not in text.split("\n", 1)[0]:
        dialect = _Semicolon  # spreadsheets saved in French locales
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        raise InvalidInput(
            f"{path} : la colonne « email » est absente "
            f"(colonnes attendues : {', '.join(COLUMNS)})."
        )
    reader.fieldnames = header
    bulletins = _bulletins(session)
    report = ImportReport()
    for line, row in enumerate(reader, start=2):
        email = normalise_email(row.get("email") or "")
        if not EMAIL.match(email):
            report.skipped.append(f"ligne {line} : adresse invalide « {email} »")
            continue
        slugs = [s.strip() for s in (row.get("bulletins") or "").split(";") if s.strip()]
        unknown = [s for s in slugs if s not in bulletins]
        if unknown:
            report.skipped.append(
                f"ligne {line} : bulletin inconnu « {unknown[0]} » (attendu : {', '.join(SLUGS)})"
            )
            continue
        created = _upsert(
            session,
            email,
            row,
            [bulletins[s] for s in slugs],
            pending=pending,
            origin=path.name,
            now=now,
        )
        if created:
            report.created += 1
        else:
            report.updated += 1
    session.flush()
    return report


class _Semicolon(csv.excel):
    delimiter = ";"


def _upsert(
    session: Session,
    email: str,
    row: dict[str, str],
    bulletins: list[Bulletin],
    *,
    pending: bool,
    origin: str,
    now: datetime,
) -> bool:
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == email))
    created = subscriber is None
    if subscriber is None:
        subscriber = Subscriber(
            email=email,
            token=new_token(),
            status="pending" if pending else "confirmed",
            consent_source="import",
            consent_origin=origin,
            consent_at=None if pending else now,
            created_at=now,
        )
        session.add(subscriber)
    # An import never re-subscribes someone who left: their choice wins.
    if subscriber.status == "unsubscribed":
        return created
    subscriber.name = (row.get("name") or subscriber.name or "").strip()
    subscriber.organisation = (row.get("organisation") or subscriber.organisation or "").strip()
    current = {s.bulletin_id for s in subscriber.subscriptions}
    for bulletin in bulletins:
        if bulletin.id not in current:
            subscriber.subscriptions.append(Subscription(bulletin=bulletin, created_at=now))
    return created


def export_csv(session: Session, path: Path) -> int:
    subscribers = session.scalars(
        select(Subscriber)
        .options(selectinload(Subscriber.subscriptions).selectinload(Subscription.bulletin))
        .order_by(Subscriber.email)
    ).all()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, "status", "consent_source", "consent_at"])
        for s in subscribers:
            active = [x.bulletin.slug for x in s.subscriptions if x.unsubscribed_at is None]
            writer.writerow(
                [
                    s.email,
                    s.name,
                    s.organisation,
                    ";".join(active),
                    s.status,
                    s.consent_source or "",
                    s.consent_at.isoformat() if s.consent_at else "",
                ]
            )
    return len(subscribers)


def unsubscribe(
    session: Session, token: str, *, bulletin: str | None = None, now: datetime | None = None
) -> Subscriber:
    """Leave one bulletin, or all of them when `bulletin` is None."""
    now = now or utcnow()
    subscriber = session.scalar(select(Subscriber).where(Subscriber.token == token))
    if subscriber is None:
        raise NotFound("Lien de désabonnement inconnu ou expiré.")
    for subscription in subscriber.subscriptions:
        if bulletin is None or subscription.bulletin.slug == bulletin:
            subscription.unsubscribed_at = subscription.unsubscribed_at or now
    if all(s.unsubscribed_at for s in subscriber.subscriptions):
        subscriber.status = "unsubscribed"
    session.flush()
    return subscriber
