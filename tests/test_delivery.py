"""Sending an edition: one message per confirmed subscriber, never twice, nothing lost."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Database, SmtpSink
from veille.audience.subscribers import import_csv, unsubscribe
from veille.config import Settings
from veille.digest.delivery import send_edition
from veille.digest.editions import approve, draft_edition
from veille.digest.mailer import SmtpMailer
from veille.errors import DeliveryError, InvalidTransition
from veille.models import Delivery, Edition, Item, Subscriber
from veille.triage.decisions import accept


def prepare(db: Database, tmp_path: Path, count: int = 5) -> int:
    csv = tmp_path / "abonnes.csv"
    lines = ["email,name,organisation,bulletins"]
    lines += [f"p{i}@example.org,Personne {i},Asso {i},bloc-note" for i in range(count)]
    lines.append("autre@example.org,Autre,Asso,parcours")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with db.sessions.begin() as session:
        import_csv(session, csv)
        item = Item(
            title="Appel à projets eau", url="https://x.example/eau", summary="Résumé", kind="appel"
        )
        session.add(item)
        session.flush()
        accept(session, item.id, bulletin="bloc-note", actor="Marie")
        edition = draft_edition(session, "bloc-note")
        approve(session, edition.id, Settings(database_url=db.url), actor="Marie")
        return edition.id


class CrashAfter:
    """An outbox that 'crashes' (like a killed process) after accepting n messages."""

    def __init__(self, n: int) -> None:
        self.n, self.accepted = n, []

    def send(self, msg: EmailMessage) -> None:
        if len(self.accepted) == self.n:
            raise KeyboardInterrupt("killed")
        self.accepted.append(msg)

    def close(self) -> None:
        pass


def test_a_crash_never_sends_twice_and_the_rest_goes_out_on_resume(
    db: Database, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    edition_id = prepare(db, tmp_path, count=5)
    settings = Settings(database_url=db.url, smtp_url=smtp_server.url)
    crashing = CrashAfter(2)
    with pytest.raises(KeyboardInterrupt):
        send_edition(db.sessions, edition_id, settings, actor="Marie", mailer=crashing, batch=3)
    report = send_edition(db.sessions, edition_id, settings, actor="Marie")
    first = {str(m["To"]) for m in crashing.accepted}
    second = {str(m["To"]) for m in smtp_server.messages}
    assert len(first) == 2 and not first & second  # nobody got it twice
    # The third claimed message was interrupted mid-flight: it stays "uncertain", not resent.
    assert report.uncertain == 1 and report.sent == 2 and not report.done
    with db.session() as session:
        states = sorted(d.status for d in session.scalars(select(Delivery)))
        assert states == ["sending", "sent", "sent", "sent", "sent"]
        assert session.get(Edition, edition_id).status == "sending"


def test_two_senders_at_once_deliver_each_message_once(
    db: Database, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    edition_id = prepare(db, tmp_path, count=40)
    settings = Settings(database_url=db.url, smtp_url=smtp_server.url)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            send_edition(db.sessions, edition_id, settings, actor="worker", batch=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    recipients = [str(m["To"]) for m in smtp_server.messages]
    assert len(recipients) == 40 and len(set(recipients)) == 40
    with db.session() as session:
        assert session.get(Edition, edition_id).status == "sent"


def test_unsubscribed_people_and_other_bulletins_get_nothing(
    db: Database, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    edition_id = prepare(db, tmp_path, count=3)
    with db.sessions.begin() as session:
        token = session.scalar(select(Subscriber.token).where(Subscriber.email == "p1@example.org"))
        unsubscribe(session, token, bulletin="bloc-note")
    report = send_edition(
        db.sessions,
        edition_id,
        Settings(database_url=db.url, smtp_url=smtp_server.url),
        actor="Marie",
    )
    assert report.sent == 2 and report.done
    assert {str(m["To"]).split("<")[1].rstrip(">") for m in smtp_server.messages} == {
        "p0@example.org",
        "p2@example.org",
    }


def test_an_unreachable_smtp_server_loses_nothing(db: Database, tmp_path: Path) -> None:
    edition_id = prepare(db, tmp_path, count=3)
    settings = Settings(database_url=db.url, smtp_url="smtp://127.0.0.1:9")
    with pytest.raises(DeliveryError, match="Impossible de joindre le serveur d'envoi"):
        send_edition(db.sessions, edition_id, settings, actor="Marie")
    with db.session() as session:
        states = sorted(d.status for d in session.scalars(select(Delivery)))
        assert states == ["pending", "pending", "pending"]  # retried by the next send


def test_a_draft_cannot_be_sent(db: Database, tmp_path: Path) -> None:
    prepare(db, tmp_path, count=1)
    with db.sessions.begin() as session:
        item = Item(title="Autre appel", url="https://x.example/2", kind="appel")
        session.add(item)
        session.flush()
        accept(session, item.id, bulletin="bloc-note", actor="Marie")
        draft_id = draft_edition(session, "bloc-note").id
    with pytest.raises(InvalidTransition, match="doit être approuvé"):
        send_edition(db.sessions, draft_id, Settings(database_url=db.url), actor="Marie")


def test_smtp_url_forms() -> None:
    mailer = SmtpMailer("smtps://user%40x:p%3Ass@mail.example.org")
    assert (mailer.host, mailer.port, mailer.user, mailer.password) == (
        "mail.example.org",
        465,
        "user@x",
        "p:ss",
    )
    assert SmtpMailer("smtp://h:587").starttls
    with pytest.raises(DeliveryError, match="VEILLE_SMTP_URL invalide"):
        SmtpMailer("http://h")
