"""`veille demo`: a working instance on the embedded defaults, without internet.

The sample feeds in `data/` (synthetic, shaped like the real sources) are served by a
small HTTP server on loopback, so the demo goes through the real collector: fetch, parse,
normalise, dedupe. Their dates are relative to today, so the demo stays meaningful.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from veille.audience.subscribers import import_csv
from veille.config import Settings
from veille.db import session_scope
from veille.digest.delivery import send_edition
from veille.digest.editions import approve, draft_edition
from veille.digest.render import format_date_fr
from veille.models import Item, Source, utcnow
from veille.setup import initialise
from veille.sources.collect import collect, sync_sources
from veille.sources.spec import SourceSpec
from veille.triage.decisions import accept

DATA = Path(__file__).resolve().parent / "data"
ACTOR = "démo"
SOURCES = [
    (
        "demo-meae",
        "Démo — France Diplomatie (actualités)",
        "rss",
        "meae-actualites.xml",
        "bloc-note",
    ),
    ("demo-afd", "Démo — AFD, appels à projets", "rss", "afd-appels.xml", "bloc-note"),
    ("demo-emplois", "Démo — offres d'emploi et volontariat", "rss", "emplois.xml", "parcours"),
    ("demo-membres", "Démo — actualités des membres", "rss", "membres.json", "echos"),
    ("demo-agenda", "Démo — agenda des partenaires", "ics", "agenda.ics", "rendez-vous"),
]
TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/feed+json",
    ".ics": "text/calendar; charset=utf-8",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+):([+-]\d+)(?::(\d{6}))?\}\}")


def expand_dates(text: str, today: date) -> str:
    """Replace {{format:days[:HHMMSS]}} with a date relative to today."""

    def one(match: re.Match[str]) -> str:
        kind, days, hms = match.group(1), int(match.group(2)), match.group(3) or "120000"
        day = today + timedelta(days=days)
        moment = datetime(day.year, day.month, day.day, int(hms[:2]), int(hms[2:4]), tzinfo=UTC)
        return {
            "rfc822": lambda: format_datetime(moment),
            "iso": lambda: moment.isoformat(),
            "fr": lambda: format_date_fr(day),
            "dmy": lambda: day.strftime("%d/%m/%Y"),
            "ics": lambda: moment.strftime("%Y%m%dT%H%M%SZ"),
            "icslocal": lambda: day.strftime("%Y%m%d") + "T" + hms,
            "icsutc": lambda: day.strftime("%Y%m%d") + "T" + hms + "Z",
        }[kind]()

    return _PLACEHOLDER.sub(one, text)


@contextmanager
def serve_samples(today: date) -> Iterator[str]:
    """Serve data/ on 127.0.0.1 (a free port) for the time of the demo."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = DATA / self.path.lstrip("/").split("?")[0]
            if path.parent != DATA or not path.is_file():
                self.send_error(404)
                return
            body = expand_dates(path.read_text(encoding="utf-8"), today).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(path.suffix, "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _specs(base: str) -> list[SourceSpec]:
    return [
        SourceSpec.model_validate(
            {
                "slug": slug,
                "name": name,
                "kind": kind,
                "url": f"{base}/{file}",
                "bulletin": bulletin,
                "every": "1d",
                "enabled": False,
            }
        )
        for slug, name, kind, file, bulletin in SOURCES
    ]


def _accept_new(session: Session) -> dict[str, int]:
    """Accept what the demo sources suggested, the way staff would in the inbox."""
    accepted: dict[str, int] = {}
    demo_ids = select(Source.id).where(Source.slug.in_([s[0] for s in SOURCES]))
    items = session.scalars(
        select(Item).where(Item.status == "new", Item.source_id.in_(demo_ids)).order_by(Item.id)
    ).all()
    for item in items:
        if item.closed or not item.suggested_bulletin:
            continue
        accept(session, item.id, bulletin=item.suggested_bulletin, actor=ACTOR)
        accepted[item.suggested_bulletin] = accepted.get(item.suggested_bulletin, 0) + 1
    return accepted


def _approve_and_send(
    sessions: sessionmaker[Session],
    settings: Settings,
    edition_id: int,
    say: Callable[[str], None],
) -> int:
    with session_scope(sessions) as session:
        edition = approve(session, edition_id, settings, actor=ACTOR)
        title, number, count = edition.bulletin.title, edition.number, len(edition.entries)
    report = send_edition(sessions, edition_id, settings, actor=ACTOR)
    what = f"{count} élément(s)" if count else "une alerte"
    say(f"   {title} n° {number} : {what}, {report.sent} message(s) envoyé(s).")
    return report.sent


def _info_flash(
    sessions: sessionmaker[Session], settings: Settings, say: Callable[[str], None]
) -> int:
    """An alert on the open call that closes soonest, as staff would send on demand."""
    with session_scope(sessions) as session:
        soonest = session.scalars(
            select(Item)
            .where(
                Item.status == "accepted",
                Item.kind == "appel",
                Item.deadline.is_not(None),
                Item.closed.is_(False),
            )
            .order_by(Item.deadline)
        ).first()
        if soonest is None or soonest.deadline is None:
            return 0
        edition = draft_edition(session, "info-flash")
        edition.intro = (
            f"Dernier rappel : l'appel « {soonest.display_title} » se clôt le "
            f"{format_date_fr(soonest.deadline)}.\n\nTous les détails : {soonest.url}"
        )
    return _approve_and_send(sessions, settings, edition.id, say)


def run_demo(settings: Settings, *, say: Callable[[str], None] = print) -> None:
    started = time.perf_counter()
    sessions = initialise(settings)
    say("[bold]veille — démonstration[/] (aucune connexion internet nécessaire)\n")
    say(f"1. Base de données prête : {settings.database_url}")
    today = utcnow().date()
    with serve_samples(today) as base:
        with session_scope(sessions) as session:
            rows = sync_sources(session, _specs(base), origin="demo")
            for row in rows:
                row.next_fetch_at = None
        reports = collect(sessions, settings, slugs=[s[0] for s in SOURCES])
    new = sum(r.new for r in reports)
    say(
        f"2. {len(reports)} sources d'exemple collectées : {new} nouveaux éléments "
        "(flux RSS, Atom, JSON Feed et agenda iCalendar)."
    )
    for r in reports:
        if not r.ok:
            say(f"   [red]✗ {r.slug} : {r.message}[/]")
    with session_scope(sessions) as session:
        accepted = _accept_new(session)
        subscribers = import_csv(session, DATA / "abonnes.csv")
    say(
        f"3. {sum(accepted.values())} éléments retenus pour les bulletins, comme le ferait "
        "l'équipe au tri (les appels clôturés sont laissés de côté)."
    )
    say(f"4. {subscribers.created + subscribers.updated} abonnés d'exemple importés.")
    sent_total = 0
    for slug in ("bloc-note", "echos", "parcours", "rendez-vous"):
        with session_scope(sessions) as session:
            edition = draft_edition(session, slug)
            if not edition.entries:
                say(f"   {edition.bulletin.title} : rien de nouveau à envoyer.")
                continue
            edition.intro = (
                f"Bonjour,\nvoici le numéro {edition.number} de "
                f"{edition.bulletin.title}, préparé par la démonstration de veille."
            )
        sent_total += _approve_and_send(sessions, settings, edition.id, say)
    if accepted:
        sent_total += _info_flash(sessions, settings, say)
    where = "au serveur SMTP configuré" if settings.smtp_url else f"dans {settings.outbox}/"
    say(
        f"5. {sent_total} messages personnalisés déposés {where} "
        "(un fichier .eml par abonné, à ouvrir avec un logiciel de messagerie)."
    )
    say("\nPour aller plus loin :")
    say("  veille items list                      les éléments collectés")
    say("  veille edition render 1 --format text  un numéro en texte brut")
    say("  veille fetch                           collecter les vraies sources (internet requis)")
    say(f"\nDémonstration terminée en {time.perf_counter() - started:.1f} s.")
