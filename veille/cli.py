"""The `veille` command: parses input, calls the core, presents the result. Nothing more."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from veille.config import Settings, get_settings
from veille.db import make_engine, make_sessionmaker, schema_is_current, session_scope
from veille.errors import VeilleError

app = typer.Typer(
    help="veille : la veille et les bulletins d'Occitanie Coopération.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
sources_app = typer.Typer(help="Les sources collectées.", no_args_is_help=True)
items_app = typer.Typer(help="Les éléments collectés (tri).", no_args_is_help=True)
edition_app = typer.Typer(help="Les numéros des bulletins.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Les abonnés.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(items_app, name="items")
app.add_typer(edition_app, name="edition")
app.add_typer(subscribers_app, name="subscribers")

out = Console(highlight=False)
err = Console(highlight=False, stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Sortie JSON (pour les scripts).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Qui décide (par défaut : l'utilisateur).")]


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _sessions(settings: Settings, *, require_schema: bool = True) -> sessionmaker[Session]:
    engine = make_engine(settings.database_url)
    if require_schema:
        if not inspect(engine).has_table("alembic_version"):
            raise VeilleError("La base de données n'est pas initialisée : lancez « veille init ».")
        if not schema_is_current(engine):
            raise VeilleError(
                "La base de données date d'une version précédente de veille : "
                "lancez « veille init » pour la mettre à jour."
            )
    return make_sessionmaker(engine)


@contextmanager
def _unit() -> Iterator[tuple[Session, Settings]]:
    settings = get_settings()
    with session_scope(_sessions(settings)) as session:
        yield session, settings


@app.command()
def init() -> None:
    """Crée ou met à jour la base de données et les cinq bulletins."""
    from veille.setup import initialise

    settings = get_settings()
    initialise(settings)
    out.print(f"Base prête : {settings.database_url}")


@app.command()
def fetch(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Collecter cette source maintenant (répétable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Collecte les sources dues (ou celles nommées)."""
    from veille.setup import load_and_sync_sources
    from veille.sources.collect import collect

    settings = get_settings()
    sessions = _sessions(settings)
    load_and_sync_sources(sessions, settings)
    reports = collect(sessions, settings, slugs=source or None)
    if json_out:
        _print_json([asdict(r) for r in reports])
        return
    if not reports:
        out.print("Aucune source à collecter pour l'instant.")
    for r in reports:
        if r.ok:
            state = "inchangée (304)" if r.not_modified else f"{r.seen} lus, {r.new} nouveaux"
            out.print(f"[green]✓[/] {r.slug} : {state}" + (f" — {r.message}" if r.message else ""))
        else:
            out.print(f"[red]✗[/] {r.slug} : {r.message}")


# ---------------------------------------------------------------- sources


def _source_dict(source: Any) -> dict[str, Any]:
    from veille.sources.health import status_label

    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "slug": source.slug,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "bulletin": source.bulletin_slug,
        "enabled": source.enabled,
        "status": status_label(source),
        "last_attempt_at": iso(source.last_attempt_at),
        "last_success_at": iso(source.last_success_at),
        "last_error": source.last_error,
        "warning": source.warning,
        "consecutive_failures": source.consecutive_failures,
        "items_last_seen": source.items_last_seen,
        "next_fetch_at": iso(source.next_fetch_at),
    }


def _local(value: Any) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m %H:%M") if value else "—"


@sources_app.command("list")
def sources_list(json_out: JsonOpt = False) -> None:
    """Montre l'état de santé de chaque source."""
    from sqlalchemy import select

    from veille.models import Source
    from veille.setup import load_and_sync_sources

    settings = get_settings()
    sessions = _sessions(settings)
    load_and_sync_sources(sessions, settings)
    with session_scope(sessions) as session:
        sources = session.scalars(select(Source).order_by(Source.slug)).all()
        rows = [_source_dict(s) for s in sources]
    if json_out:
        _print_json(rows)
        return
    for r, s in zip(rows, sources, strict=True):
        # One short block per source: readable in any terminal, even a narrow one.
        seen = "—" if r["items_last_seen"] is None else str(r["items_last_seen"])
        out.print(f"[bold]{r['slug']}[/] ({r['kind']}) — {r['status']}")
        out.print(
            f"  dernier succès : {_local(s.last_success_at)} · éléments : {seen} · "
            f"prochaine collecte : {_local(s.next_fetch_at)}",
            markup=False,
        )
        problem = r["last_error"] or r["warning"]
        if problem:
            out.print(f"  problème : {problem}", markup=False)


@sources_app.command("check")
def sources_check(
    slug: Annotated[str, typer.Argument(help="La source à essayer.")], json_out: JsonOpt = False
) -> None:
    """Collecte une source maintenant et montre ce qu'elle donnerait, sans rien enregistrer."""
    from veille.setup import load_and_sync_sources
    from veille.sources.collect import check_source, describe_failure

    settings = get_settings()
    sessions = _sessions(settings)
    load_and_sync_sources(sessions, settings)
    try:
        harvest = check_source(sessions, settings, slug)
    except VeilleError:
        raise
    except Exception as exc:  # what staff need is the reason, as the collector records it
        raise VeilleError(describe_failure(exc)) from None
    if json_out:
        _print_json(
            [
                {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in asdict(i).items()}
                for i in harvest.items
            ]
        )
        return
    out.print(f"{len(harvest.items)} élément(s) extrait(s) de {slug} :")
    for i in harvest.items:
        deadline = i.deadline.strftime("%d/%m/%Y %H:%M") if i.deadline else "—"
        out.print(f"• [bold]{i.title}[/]", markup=True)
        out.print(
            f"  {i.url or 'sans lien'} | date limite : {deadline}"
            + (" | clôturé" if i.closed else "")
            + (f" | {i.funder}" if i.funder else ""),
            markup=False,
        )
    if harvest.problem:
        out.print(f"[yellow]Attention : {harvest.problem}[/]")
    if not harvest.items:
        out.print("[yellow]Aucun élément : vérifiez les règles de la source.[/]")


@sources_app.command("import")
def sources_import(file: Annotated[Path, typer.Argument(help="Fichier .toml ou .opml")]) -> None:
    """Ajoute ou met à jour des sources depuis un fichier TOML ou OPML."""
    from veille.sources.collect import sync_sources
    from veille.sources.exchange import read_any

    specs = read_any(file)
    with _unit() as (session, _):
        rows = sync_sources(session, specs, origin="import")
    out.print(f"{len(rows)} source(s) importée(s) depuis {file}.")


@sources_app.command("export")
def sources_export(file: Annotated[Path, typer.Argument(help="Fichier .toml ou .opml")]) -> None:
    """Exporte les sources en TOML (tout) ou en OPML (les flux RSS/Atom)."""
    from sqlalchemy import select

    from veille.errors import InvalidInput
    from veille.models import Source
    from veille.sources.exchange import export_opml, export_toml

    with _unit() as (session, _):
        sources = list(session.scalars(select(Source).order_by(Source.slug)))
        suffix = file.suffix.lower()
        if suffix == ".toml":
            count = export_toml(sources, file)
            out.print(f"{count} source(s) exportée(s) dans {file}.")
        elif suffix == ".opml":
            written, left = export_opml(sources, file)
            out.print(
                f"{written} flux exporté(s) dans {file}"
                + (f" ({left} source(s) non RSS laissée(s) de côté)." if left else ".")
            )
        else:
            raise InvalidInput(f"Format inconnu pour {file.name} : attendu .toml ou .opml.")


# ---------------------------------------------------------------- items


class Status(StrEnum):
    new = "new"
    accepted = "accepted"
    rejected = "rejected"
    archived = "archived"


@items_app.command("list")
def items_list(
    status: Annotated[Status | None, typer.Option(help="Filtrer par statut.")] = None,
    bulletin: Annotated[str | None, typer.Option(help="Filtrer par bulletin.")] = None,
    limit: Annotated[int | None, typer.Option(help="Au plus N éléments.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Liste les éléments collectés."""
    from veille.triage.inbox import item_dict, list_items

    with _unit() as (session, _):
        items = list_items(
            session, status=status.value if status else None, bulletin=bulletin, limit=limit
        )
        if json_out:
            _print_json([item_dict(i) for i in items])
            return
        table = Table("n°", "statut", "type", "titre", "date limite", "source")
        for i in items:
            table.add_row(
                str(i.id),
                i.status,
                i.kind,
                i.display_title[:70],
                i.deadline.date().isoformat() if i.deadline else "",
                i.source.slug if i.source else "",
            )
        out.print(table)


@items_app.command("accept")
def items_accept(
    ids: Annotated[list[int], typer.Argument(help="Numéro(s) d'élément.")],
    bulletin: Annotated[str, typer.Option("--bulletin", "-b", help="Bulletin de destination.")],
    section: Annotated[str | None, typer.Option(help="Rubrique du bulletin.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Étiquette (répétable).")] = None,
    title: Annotated[str | None, typer.Option(help="Titre retouché.")] = None,
    summary: Annotated[str | None, typer.Option(help="Résumé retouché.")] = None,
    by: ByOpt = None,
) -> None:
    """Retient un ou plusieurs éléments pour un bulletin."""
    from veille.triage.decisions import accept

    with _unit() as (session, _):
        for item_id in ids:
            item = accept(
                session,
                item_id,
                bulletin=bulletin,
                actor=_actor(by),
                section=section,
                tags=tag,
                title=title,
                summary=summary,
            )
            out.print(
                f"Élément {item.id} retenu pour {item.bulletin.title} "  # type: ignore[union-attr]
                f"(rubrique {item.section})."
            )


@items_app.command("reject")
def items_reject(
    ids: Annotated[list[int], typer.Argument(help="Numéro(s) d'élément.")],
    note: Annotated[str | None, typer.Option(help="Pourquoi (facultatif).")] = None,
    by: ByOpt = None,
) -> None:
    """Écarte un ou plusieurs éléments (réversible avec « items reopen »)."""
    from veille.triage.decisions import reject

    with _unit() as (session, _):
        for item_id in ids:
            reject(session, item_id, actor=_actor(by), note=note)
            out.print(f"Élément {item_id} écarté.")


@items_app.command("reopen")
def items_reopen(ids: Annotated[list[int], typer.Argument()], by: ByOpt = None) -> None:
    """Remet des éléments dans la boîte de tri."""
    from veille.triage.decisions import reopen

    with _unit() as (session, _):
        for item_id in ids:
            reopen(session, item_id, actor=_actor(by))
            out.print(f"Élément {item_id} remis à trier.")


@items_app.command("split")
def items_split(
    item_id: Annotated[int, typer.Argument(help="L'élément fusionné à tort.")],
    source: Annotated[str, typer.Option("--source", help="La source à détacher.")],
    by: ByOpt = None,
) -> None:
    """Sépare une source d'un élément fusionné à tort : elle devient un élément à part."""
    from veille.models import utcnow
    from veille.sources.dedupe import split_sighting

    with _unit() as (session, _):
        new = split_sighting(session, item_id, source, actor=_actor(by), now=utcnow())
        sys.stdout.write(f"{new.id}\n")


# ---------------------------------------------------------------- editions


class Format(StrEnum):
    html = "html"
    text = "text"


@edition_app.command("draft")
def edition_draft(
    bulletin: Annotated[str, typer.Argument(help="Bulletin (ex. bloc-note).")],
    json_out: JsonOpt = False,
) -> None:
    """Prépare (ou complète) le prochain numéro d'un bulletin."""
    from veille.digest.editions import draft_edition

    with _unit() as (session, _):
        edition = draft_edition(session, bulletin)
        if json_out:
            _print_json(
                {
                    "id": edition.id,
                    "number": edition.number,
                    "entries": len(edition.entries),
                    "status": edition.status,
                }
            )
        else:
            sys.stdout.write(f"{edition.id}\n")
            err.print(
                f"Numéro {edition.number} de {edition.bulletin.title} : "
                f"{len(edition.entries)} élément(s), brouillon n° {edition.id}."
            )


@edition_app.command("render")
def edition_render(
    edition_id: Annotated[int, typer.Argument(help="Numéro interne du numéro.")],
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.html,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Écrire dans ce fichier.")
    ] = None,
) -> None:
    """Affiche le rendu HTML ou texte d'un numéro."""
    from veille.digest.editions import get_edition, render
    from veille.digest.render import personalise

    with _unit() as (session, settings):
        rendered = render(get_edition(session, edition_id), settings)
    content = rendered.html if format is Format.html else rendered.text
    # A preview has no recipient: show where each subscriber's own link will be.
    content = personalise(content, f"{settings.base_url.rstrip('/')}/desabonnement/apercu")
    if output:
        output.write_text(content, encoding="utf-8")
        out.print(f"Écrit dans {output}")
    else:
        sys.stdout.write(content)


@edition_app.command("approve")
def edition_approve(edition_id: Annotated[int, typer.Argument()], by: ByOpt = None) -> None:
    """Approuve un numéro : son rendu est figé tel qu'il sera envoyé."""
    from veille.digest.editions import approve

    with _unit() as (session, settings):
        edition = approve(session, edition_id, settings, actor=_actor(by))
        out.print(f"Numéro {edition.id} approuvé par {edition.approved_by}.")


@edition_app.command("send")
def edition_send(
    edition_id: Annotated[int, typer.Argument()], by: ByOpt = None, json_out: JsonOpt = False
) -> None:
    """Envoie un numéro approuvé à ses abonnés (jamais deux fois au même abonné)."""
    from veille.digest.delivery import send_edition

    settings = get_settings()
    report = send_edition(_sessions(settings), edition_id, settings, actor=_actor(by))
    if json_out:
        _print_json(
            {
                "id": edition_id,
                "sent": report.sent,
                "failed": report.failed,
                "already_sent": report.already_sent,
                "uncertain": report.uncertain,
                "done": report.done,
            }
        )
        return
    where = settings.smtp_url and "serveur SMTP" or f"boîte d'envoi {settings.outbox}/"
    out.print(
        f"Numéro {edition_id} : {report.sent} message(s) envoyé(s) ({where}), "
        f"{report.failed} en échec, {report.already_sent} déjà envoyé(s) auparavant."
    )
    if report.uncertain:
        out.print(
            f"[yellow]{report.uncertain} envoi(s) interrompu(s) lors d'un essai précédent "
            "n'ont pas été renvoyés : vérifiez-les avant toute relance.[/]"
        )


# ---------------------------------------------------------------- subscribers


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV : email,name,organisation,bulletins")],
    pending: Annotated[
        bool, typer.Option("--pending", help="Demander une confirmation (double opt-in).")
    ] = False,
) -> None:
    """Importe des abonnés depuis un fichier CSV."""
    from veille.audience.subscribers import import_csv

    with _unit() as (session, _):
        report = import_csv(session, file, pending=pending)
    out.print(f"{report.created} abonné(s) créé(s), {report.updated} mis à jour.")
    for line in report.skipped:
        out.print(f"[yellow]ignoré[/] {line}")


@subscribers_app.command("export")
def subscribers_export(file: Annotated[Path, typer.Argument()]) -> None:
    """Exporte les abonnés dans un fichier CSV."""
    from veille.audience.subscribers import export_csv

    with _unit() as (session, _):
        count = export_csv(session, file)
    out.print(f"{count} abonné(s) exporté(s) dans {file}.")


# ---------------------------------------------------------------- demo


@app.command()
def demo() -> None:
    """Montre veille en marche, sans internet, avec des données d'exemple."""
    from veille.demo import run_demo

    run_demo(get_settings(), say=out.print)


def _error(message: str) -> None:
    # Plain write: one line, never wrapped at the terminal's width.
    sys.stderr.write("Erreur : " + " ".join(message.split()) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point: a one-line French error and a non-zero exit, never a traceback."""
    try:
        app(args=argv, prog_name="veille", standalone_mode=False)
    except click.ClickException as exc:  # usage errors: bad option, missing argument...
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("Interrompu.")
        return 1
    except VeilleError as exc:
        _error(str(exc))
        return 1
    except OperationalError as exc:
        _error(f"base de données inaccessible ({str(exc.orig).strip()}).")
        return 1
    return 0


def run() -> None:
    sys.exit(main())
