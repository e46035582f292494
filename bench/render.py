"""Benchmark: render an edition once and personalise it per subscriber, vs. a naive baseline.

    .venv/bin/python bench/render.py [--renders 200] [--subscribers 3000] [--naive-sample 200]

Renders a realistic 25-entry Bloc note edition N times (Jinja2 -> MJML -> HTML, plus the
plain-text twin) and prints the cost of one render, of its parts, and of one personalise
(HTML + text of one subscriber). The naive baseline renders the whole edition once per
subscriber: a sample of them is timed and the figure extrapolated to the whole list.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mjml import mjml2html

from veille.digest.render import (
    EditionView,
    EntryView,
    SectionView,
    _environment,
    personalise,
    render_edition,
    templates_path,
)

PARIS = ZoneInfo("Europe/Paris")

FUNDERS = ("MEAE — DAECT", "Région Occitanie", "AFD", "Agence de l'eau Adour-Garonne", None)
SOURCES = (("MEAE",), ("Région Occitanie",), ("AFD", "Coordination SUD"), ("pS-Eau",), ())
THEMES = (
    "eau et assainissement au Sénégal",
    "santé maternelle à Madagascar",
    "éducation à la citoyenneté mondiale",
    "mobilité internationale des jeunes",
    "agriculture et souveraineté alimentaire au Burkina Faso",
)
KINDS = ("appel", "actualite", "offre", "evenement", "annonce")


def entry(i: int) -> EntryView:
    kind = KINDS[i % len(KINDS)]
    theme = THEMES[i % len(THEMES)]
    start = datetime(2027, 4, 3, 9, 30, tzinfo=PARIS) + timedelta(days=i)
    return EntryView(
        title=f"{kind.capitalize()} n° {i + 1} : {theme} — « appel à initiatives 2027 »",
        url=f"https://www.example-partenaire.fr/appels/{i + 1}?utm_source=veille&ref=oc",
        summary=(
            f"Ce dispositif soutient les projets de {theme} portés par des associations, "
            "des collectivités territoriales et leurs partenaires. Les dossiers sont déposés "
            "en ligne ; un accompagnement est proposé par le réseau.\n\n"
            "Montant : jusqu'à 15 000 € par projet, sur deux ans."
        ),
        kind=kind,
        deadline=(
            datetime(2027, 3, 15, 18 if i % 2 else 23, 0 if i % 2 else 59, tzinfo=PARIS)
            + timedelta(days=i)
            if kind in ("appel", "offre", "evenement")
            else None
        ),
        closed=i == 7,
        event_start=start if kind == "evenement" else None,
        event_end=start + timedelta(hours=7) if kind == "evenement" else None,
        event_place="Montpellier, Maison des relations internationales"
        if kind == "evenement"
        else None,
        funder=FUNDERS[i % len(FUNDERS)],
        sources=SOURCES[i % len(SOURCES)],
    )


def realistic_edition() -> EditionView:
    entries = [entry(i) for i in range(25)]
    titles = {
        "appel": "Appels à projets",
        "actualite": "Actualités",
        "offre": "Offres",
        "evenement": "Événements",
        "annonce": "À noter aussi",
    }
    sections = tuple(
        SectionView(title, tuple(e for e in entries if e.kind == kind))
        for kind, title in titles.items()
    )
    return EditionView(
        bulletin_slug="bloc-note",
        bulletin_title="Bloc note",
        number=142,
        date=date(2027, 3, 4),
        subject="Bloc note n° 142 — appels à projets, actualités et rendez-vous",
        intro=(
            "Bonjour à toutes et à tous,\n\n"
            "Cette semaine : l'appel de la Région Occitanie pour la coopération internationale, "
            "les nouveaux dispositifs de l'AFD et l'Agora du réseau à Montpellier.\n\n"
            "Bonne lecture !"
        ),
        sections=sections,
        base_url="https://veille.oc-cooperation.org",
    )


def per_call_ms(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--naive-sample", type=int, default=200)
    args = parser.parse_args()

    view = realistic_edition()
    n_entries = sum(len(s.entries) for s in view.sections)
    render_edition(view)  # warm up: template compilation, caches

    # Render once per edition.
    render_ms = per_call_ms(lambda: render_edition(view), args.renders)
    rendered = render_edition(view)

    # Its parts, for the record.
    env = _environment(templates_path().resolve())
    context = {
        "view": view,
        "sections": [s for s in view.sections if s.entries],
        "archive_url": "https://veille.oc-cooperation.org/bulletins/bloc-note/142",
        "unsubscribe_url": "%%VEILLE_UNSUBSCRIBE_URL%%",
    }
    mjml_template, text_template = (
        env.get_template("bloc-note.mjml"),
        env.get_template("bloc-note.txt"),
    )
    mjml_source = mjml_template.render(context)
    jinja_ms = per_call_ms(lambda: mjml_template.render(context), args.renders)
    mjml_ms = per_call_ms(lambda: mjml2html(mjml_source), args.renders)
    text_ms = per_call_ms(lambda: text_template.render(context), args.renders)

    # Personalise: one subscriber = their HTML and their text.
    urls = [
        f"https://veille.oc-cooperation.org/desabonnement/{i:06d}-Zm9vYmFyYmF6cXV4"
        for i in range(args.subscribers)
    ]
    t0 = time.perf_counter()
    for url in urls:
        personalise(rendered.html, url)
        personalise(rendered.text, url)
    personalise_total_ms = (time.perf_counter() - t0) * 1000
    personalise_ms = personalise_total_ms / len(urls)

    # Naive baseline: the whole edition rendered (Jinja + MJML + text) for each subscriber.
    sample = urls[: args.naive_sample]
    t0 = time.perf_counter()
    for url in sample:
        again = render_edition(view)
        personalise(again.html, url)
        personalise(again.text, url)
    naive_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    naive_total_s = naive_ms * len(urls) / 1000

    once_total_s = (statistics.mean(render_ms) + personalise_total_ms) / 1000
    print(
        f"edition: {n_entries} entries, HTML {len(rendered.html) / 1024:.1f} KiB, "
        f"text {len(rendered.text) / 1024:.1f} KiB"
    )
    print(
        f"render_edition x{args.renders}: mean {statistics.mean(render_ms):.2f} ms, "
        f"median {statistics.median(render_ms):.2f} ms, min {min(render_ms):.2f} ms"
    )
    print(
        f"  of which Jinja->MJML {statistics.mean(jinja_ms):.2f} ms, "
        f"mjml2html {statistics.mean(mjml_ms):.2f} ms, text twin {statistics.mean(text_ms):.2f} ms"
    )
    print(
        f"personalise (HTML + text) x{len(urls)}: {personalise_ms * 1000:.1f} µs per subscriber, "
        f"{personalise_total_ms:.1f} ms for all"
    )
    print(
        f"render once + personalise for {len(urls)} subscribers: {once_total_s:.3f} s "
        f"({once_total_s * 1000 / len(urls):.4f} ms per subscriber)"
    )
    print(
        f"naive (render per subscriber), {len(sample)} timed: {naive_ms:.2f} ms per subscriber, "
        f"extrapolated to {len(urls)}: {naive_total_s:.2f} s"
    )
    print(f"speed-up: x{naive_total_s / once_total_s:.0f}")


if __name__ == "__main__":
    main()
