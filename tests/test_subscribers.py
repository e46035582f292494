"""Importing the network's contacts: consent recorded, bad rows reported, choices kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Database
from veille.audience.subscribers import export_csv, import_csv, unsubscribe
from veille.errors import InvalidInput
from veille.models import Subscriber


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_email(session, email: str) -> Subscriber:  # type: ignore[no-untyped-def]
    return session.scalar(select(Subscriber).where(Subscriber.email == email))


def test_imported_contacts_are_confirmed_with_their_consent_source(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "email,name,organisation,bulletins\n"
        " Claire@Example.org ,Claire Martin,Eau Vive,bloc-note;echos\n"
        "pas-une-adresse,X,Y,bloc-note\n"
        "karim@example.org,Karim,Mairie,bloc-note;gazette\n",
    )
    with db.sessions.begin() as session:
        report = import_csv(session, path)
    assert report.created == 1
    assert report.skipped == [
        "ligne 3 : adresse invalide « pas-une-adresse »",
        "ligne 4 : bulletin inconnu « gazette » (attendu : bloc-note, echos, "
        "parcours, rendez-vous, info-flash)",
    ]
    with db.session() as session:
        claire = by_email(session, "claire@example.org")
        assert claire.status == "confirmed" and claire.consent_source == "import"
        assert claire.consent_origin == "contacts.csv" and claire.consent_at is not None
        assert sorted(s.bulletin.slug for s in claire.subscriptions) == ["bloc-note", "echos"]


def test_pending_import_asks_for_confirmation(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "email;name;organisation;bulletins\nlea@example.org;Léa;Univ;parcours\n")
    with db.sessions.begin() as session:
        import_csv(session, path, pending=True)
    with db.session() as session:
        lea = by_email(session, "lea@example.org")
        assert lea.status == "pending" and lea.consent_at is None


def test_an_import_never_resubscribes_someone_who_left(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,organisation,bulletins\njean@example.org,Jean,F,bloc-note\n")
    with db.sessions.begin() as session:
        import_csv(session, path)
        unsubscribe(session, by_email(session, "jean@example.org").token)
        import_csv(session, path)
    with db.session() as session:
        jean = by_email(session, "jean@example.org")
        assert jean.status == "unsubscribed"
        assert all(s.unsubscribed_at for s in jean.subscriptions)


def test_export_round_trip_and_missing_column(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,organisation,bulletins\na@example.org,A,O,parcours;echos\n")
    with db.sessions.begin() as session:
        import_csv(session, path)
        assert export_csv(session, tmp_path / "out.csv") == 1
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("a@example.org,A,O,")
    assert set(lines[1].split(",")[3].split(";")) == {"parcours", "echos"}
    with db.sessions.begin() as session, pytest.raises(InvalidInput, match="colonne « email »"):
        import_csv(session, write(tmp_path, "mail,nom\nx@y.z,X\n", "bad.csv"))
