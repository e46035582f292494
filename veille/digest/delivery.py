"""Sending an approved edition: one Delivery row per (edition, subscriber), never twice.

Each row is claimed (pending -> sending, committed) before its message leaves, and marked
sent right after the server accepted it. A crash between the two leaves the row in
"sending": it is reported as uncertain and never resent blindly. Several processes can
send the same edition at once; each row is claimed by exactly one of them.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from veille.config import Settings
from veille.db import session_scope
from veille.digest.editions import get_edition, render, set_status
from veille.digest.mailer import Mailer, build_message, make_mailer
from veille.digest.render import RenderedEdition, personalise
from veille.errors import DeliveryError, InvalidTransition
from veille.models import Delivery, Edition, Subscriber, Subscription, utcnow

MAX_ATTEMPTS = 3


@dataclass(slots=True)
class SendReport:
    edition_id: int
    sent: int = 0  # by this run
    failed: int = 0  # by this run
    already_sent: int = 0  # by earlier runs
    uncertain: int = 0  # left "sending" by an interrupted run: check before resending
    done: bool = False  # every delivery of the edition is settled


def unsubscribe_url(settings: Settings, subscriber: Subscriber, bulletin_slug: str) -> str:
    return (
        f"{settings.base_url.rstrip('/')}/desabonnement/{subscriber.token}?bulletin={bulletin_slug}"
    )


def _domain(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"


def _start(session: Session, edition: Edition, *, actor: str, now: datetime) -> None:
    if edition.status in ("approved", "scheduled"):
        set_status(edition, "sending", actor=actor, now=now)
        _enqueue(session, edition)
    elif edition.status not in ("sending", "sent"):
        raise InvalidTransition(
            f"Le numéro {edition.id} doit être approuvé avant l'envoi "
            f"(veille edition approve {edition.id})."
        )


def _enqueue(session: Session, edition: Edition) -> None:
    """One pending row per confirmed subscriber of the bulletin (idempotent)."""
    recipients = (
        select(Subscriber.id, Subscriber.email)
        .join(
            Subscription,
            and_(
                Subscription.subscriber_id == Subscriber.id,
                Subscription.bulletin_id == edition.bulletin_id,
                Subscription.unsubscribed_at.is_(None),
            ),
        )
        .where(Subscriber.status == "confirmed")
    )
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert  # type: ignore[union-attr]
    rows = [
        {
            "edition_id": edition.id,
            "subscriber_id": sid,
            "email": email,
            "status": "pending",
            "attempts": 0,
        }
        for sid, email in session.execute(recipients)
    ]
    if rows:
        session.execute(
            insert(Delivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
        )
    session.flush()


def _claim(session: Session, edition_id: int, batch: int, now: datetime) -> list[int]:
    query = (
        select(Delivery.id)
        .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
        .order_by(Delivery.id)
        .limit(batch)
    )
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for delivery_id in session.scalars(query).all():
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "pending")
            .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    session.commit()  # the claim is durable before any message leaves
    return claimed


def _release(session: Session, ids: list[int]) -> None:
    session.rollback()
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "sending")
        .values(status="pending", claimed_at=None)
    )
    session.commit()


def _counts(session: Session, edition_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.edition_id == edition_id)
        .group_by(Delivery.status)
    )
    return {status: count for status, count in rows}


def send_edition(
    sessions: sessionmaker[Session],
    edition_id: int,
    settings: Settings,
    *,
    actor: str,
    mailer: Mailer | None = None,
    batch: int = 200,
) -> SendReport:
    report = SendReport(edition_id=edition_id)
    with session_scope(sessions) as session:
        edition = get_edition(session, edition_id)
        _start(session, edition, actor=actor, now=utcnow())
        before = _counts(session, edition_id)
    report.already_sent = before.get("sent", 0)
    report.uncertain = before.get("sending", 0)
    mailer = mailer or make_mailer(settings.smtp_url, settings.outbox)
    try:
        with session_scope(sessions) as session:
            edition = get_edition(session, edition_id)
            rendered = render(edition, settings)
            slug, title = edition.bulletin.slug, edition.bulletin.title
            while ids := _claim(session, edition_id, batch, utcnow()):
                deliveries = session.scalars(
                    select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)
                ).all()
                for done, delivery in enumerate(deliveries):
                    try:
                        _deliver_one(
                            session, delivery, mailer, settings, rendered, slug, title, report
                        )
                    except DeliveryError:
                        # The server is unreachable: this message and the rest of the batch
                        # never left, so they go back to the queue for the next attempt.
                        _release(session, [d.id for d in deliveries[done:]])
                        raise
                    session.commit()  # each outcome is durable as soon as it is known
    finally:
        mailer.close()
    with session_scope(sessions) as session:
        counts = _counts(session, edition_id)
        edition = get_edition(session, edition_id)
        if not counts.get("pending") and not counts.get("sending") and edition.status == "sending":
            set_status(edition, "sent", actor=actor, now=utcnow())
        report.done = edition.status == "sent"
    return report


def _deliver_one(
    session: Session,
    delivery: Delivery,
    mailer: Mailer,
    settings: Settings,
    rendered: RenderedEdition,
    slug: str,
    title: str,
    report: SendReport,
) -> None:
    subscriber = session.get(Subscriber, delivery.subscriber_id)
    assert subscriber is not None
    if subscriber.status != "confirmed":  # left between enqueue and now: respect it
        delivery.status, delivery.error = "skipped", "désabonné avant l'envoi"
        return
    url = unsubscribe_url(settings, subscriber, slug)
    message_id = f"<veille.{delivery.edition_id}.{delivery.subscriber_id}@{_domain(settings)}>"
    msg = build_message(
        sender=settings.mail_from,
        to=subscriber.email,
        to_name=subscriber.name,
        subject=rendered.subject,
        html=personalise(rendered.html, url),
        text=personalise(rendered.text, url),
        message_id=message_id,
        unsubscribe_url=url,
        list_id=f"{title} <{slug}.{_domain(settings)}>",
        date=utcnow(),
    )
    try:
        mailer.send(msg)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
        code = _smtp_code(exc)
        temporary = code is not None and 400 <= code < 500
        if temporary and delivery.attempts < MAX_ATTEMPTS:
            delivery.status = "pending"  # not accepted: safe to try again later
        else:
            delivery.status = "failed"
            report.failed += 1
        delivery.error = f"Refusé par le serveur d'envoi : {exc}"
        return
    delivery.status, delivery.sent_at, delivery.message_id = "sent", utcnow(), message_id
    delivery.error = None
    report.sent += 1


def _smtp_code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return max(codes) if codes else None
    return getattr(exc, "smtp_code", None)
