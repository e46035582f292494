"""Benchmark: one collection cycle over ~300 sources on ~40 loopback hosts (issue 3).

    .venv/bin/python bench/collect.py [--sources 300] [--hosts 40] [--seed 3] [--quick]
                                      [--concurrency 20] [--per-host 2] [--profile N]

A deterministic synthetic corpus (random.Random(seed)): ~70 % RSS/Atom feeds of 20-50 items
(20-80 KB) and ~30 % HTML listing pages (50-150 KB, 15-30 `article.card` items with a
`.deadline` label), each with an ETag and a server-side latency drawn in [0.1, 0.3] s (for
the 304 answers too, as on the internet). Each host is a `tests.loopback.LoopbackServer` on
its own address (127.0.0.2, 127.0.0.3, ...) so the per-host limit acts as on the internet;
the servers run in a forked child process so that their CPU time and GIL do not count
against the collector.

Phases, on a temporary SQLite database:
1. full cycle: `collect()` of every source (all 200s, everything parsed and stored);
2. unchanged cycle: every source due again, `collect()` again (all 304s);
3. fetch + parse only: the collector's `Fetcher` and `harvest_one` on every source, with the
   same limits, nothing stored: the full cycle minus the database;
4. naive baseline: a sequential `httpx.Client` GET of every URL + the same parsing, no DB;
5. parse floor: CPU time to parse all the bytes once (parse_feed / extract_listing);
6. latency floor (computed, not run): max(sum of delays / global concurrency, the busiest
   host's delays / per-host limit, the longest delay); robots.txt answers have no delay.
Requests are counted on the server side: a page asked twice in a phase is a retry.
With `--profile N`, one more full cycle on a fresh database runs under cProfile and the N
most expensive functions are printed (timings under the profiler are inflated).

CPU times are `time.process_time()` of this process; wall times also depend on whatever
else runs on the machine (the load average is printed). `--quick` takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import hashlib
import html
import io
import multiprocessing
import os
import platform
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.loopback import LoopbackServer  # noqa: E402
from veille.config import Settings  # noqa: E402
from veille.db import session_scope  # noqa: E402
from veille.digest.render import MONTHS_FR  # noqa: E402
from veille.models import Item, Sighting, Source, utcnow  # noqa: E402
from veille.setup import initialise  # noqa: E402
from veille.sources import offload  # noqa: E402
from veille.sources.collect import (  # noqa: E402
    SourceReport,
    collect,
    fetch_policy,
    harvest_one,
    paris_today,
    sync_sources,
)
from veille.sources.fetch import Fetcher  # noqa: E402
from veille.sources.html import extract_listing  # noqa: E402
from veille.sources.items import Harvest, SourceTask  # noqa: E402
from veille.sources.rss import parse_feed  # noqa: E402
from veille.sources.spec import SourceSpec  # noqa: E402

SERVER_MAX_LIFETIME = 20 * 60  # the server child stops by itself after this, whatever happens
REFERENCE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # "now" of the corpus: fixed, not the clock
RELAY_SHARE = 0.05  # share of feed entries that relay another feed's entry
HTML_SELECT = {
    "item": "article.card",
    "title": "h3 a",
    "link": "h3 a@href",
    "deadline": ".deadline",
    "date": "time@datetime",
    "summary": "p.chapo",
    "tags": "ul.thematiques li",
}

# --- French vocabulary -------------------------------------------------------------------

PREFIXES = {
    "appel": (
        "Appel à projets",
        "Appel à manifestation d'intérêt",
        "Appel à initiatives",
        "Appel à candidatures",
        "Fonds de soutien",
        "Dispositif d'aide",
    ),
    "actualite": (
        "Retour sur",
        "Bilan de",
        "Publication du rapport sur",
        "Lancement du programme",
        "Nouvelle étude :",
        "Entretien :",
    ),
    "offre": (
        "Offre de stage :",
        "Recrutement : chargé·e de mission",
        "Volontariat de solidarité internationale :",
        "Poste de coordinateur·rice",
        "Service civique :",
    ),
    "evenement": (
        "Webinaire :",
        "Rencontre régionale :",
        "Journée d'échanges :",
        "Formation :",
        "Atelier :",
        "Assises de la coopération :",
    ),
}
THEMES = (
    "eau et assainissement",
    "santé communautaire",
    "éducation à la citoyenneté mondiale",
    "agroécologie et semences paysannes",
    "sécurité alimentaire",
    "égalité femmes-hommes",
    "mobilité internationale des jeunes",
    "climat et transition énergétique",
    "gouvernance locale et décentralisation",
    "culture et patrimoine",
    "économie sociale et solidaire",
    "numérique et inclusion",
    "formation professionnelle des jeunes",
    "migrations et développement",
    "gestion des déchets urbains",
    "accès à l'énergie solaire",
    "santé maternelle et infantile",
    "protection de l'enfance",
    "reforestation et biodiversité",
    "entrepreneuriat féminin",
    "petite enfance et scolarisation",
    "tourisme solidaire",
    "commerce équitable",
    "filières cacao et café",
    "pêche artisanale",
    "habitat et urbanisme durable",
)
TOPICS = (
    "puits et forages villageois",
    "cantines scolaires",
    "radios communautaires",
    "maraîchage urbain",
    "filière lait local",
    "centres de santé ruraux",
    "bibliothèques de quartier",
    "jumelage entre lycées",
    "chantiers de jeunes bénévoles",
    "microcrédit pour les artisanes",
    "fours solaires",
    "latrines écologiques",
    "pépinières villageoises",
    "apiculture",
    "transformation du karité",
    "caisses de solidarité",
    "ateliers de couture",
    "maisons des jeunes",
    "ambulances rurales",
    "cliniques mobiles",
    "écoles de brousse",
    "plateformes multifonctionnelles",
    "irrigation goutte-à-goutte",
    "banques de céréales",
    "kits scolaires",
    "festival des cultures du monde",
    "semaine de la solidarité internationale",
    "coopératives de pêcheurs",
    "marchés paysans",
    "tiers-lieux numériques",
    "récupération des eaux de pluie",
    "compostage collectif",
    "électrification des dispensaires",
    "volontariat réciproque",
    "échanges de pratiques entre élus",
    "état civil et recensement",
    "cartographie participative",
    "alphabétisation des adultes",
    "prévention du paludisme",
    "accueil des mineurs isolés",
    "théâtre-forum",
    "archives municipales",
    "lutte contre l'érosion",
    "mangroves",
    "transport scolaire",
    "incubateur d'entreprises sociales",
    "moulins à grains",
    "gestion des ordures ménagères",
)
ORGS = ("l'association", "le collectif", "la commune de", "l'ONG", "la coopérative", "le lycée")
SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ba",
    "to",
    "ra",
    "se",
    "nou",
    "di",
    "fa",
    "yé",
    "gou",
    "ma",
    "ti",
    "ndé",
    "sou",
    "ko",
    "la",
    "bé",
    "za",
    "wa",
    "mbo",
    "ri",
    "te",
    "pa",
    "nia",
    "do",
    "ké",
)
FUNDERS_SHORT = (
    "Région Occitanie",
    "MEAE",
    "DAECT",
    "AFD",
    "Agence de l'eau",
    "Union européenne",
    "Fondation de France",
    "OFQJ",
    "France Volontaires",
    "Département de l'Hérault",
    "Toulouse Métropole",
    "Expertise France",
    "ANCT",
    "Erasmus+",
)
PLACES = (
    "au Sénégal",
    "au Burkina Faso",
    "à Madagascar",
    "au Maroc",
    "en Tunisie",
    "au Bénin",
    "au Mali",
    "au Cameroun",
    "en Haïti",
    "au Liban",
    "au Vietnam",
    "en Occitanie",
    "au Niger",
    "en Mauritanie",
    "au Togo",
    "en Côte d'Ivoire",
    "au Cambodge",
    "en Palestine",
    "en Arménie",
    "au Québec",
    "en Guinée",
    "au Tchad",
    "aux Comores",
    "en Colombie",
)
CITIES = (
    "Montpellier",
    "Toulouse",
    "Nîmes",
    "Perpignan",
    "Albi",
    "Rodez",
    "Carcassonne",
    "Tarbes",
    "Cahors",
    "Béziers",
    "Dakar",
    "Ouagadougou",
    "Antananarivo",
    "Saint-Louis",
    "Cotonou",
    "Lomé",
    "Tunis",
    "Agadir",
    "Hué",
    "Beyrouth",
)
FUNDERS = (
    "la Région Occitanie",
    "le MEAE (DAECT)",
    "l'Agence française de développement",
    "l'Agence de l'eau Adour-Garonne",
    "l'Union européenne",
    "la Fondation de France",
    "l'OFQJ",
    "France Volontaires",
    "le Département de l'Hérault",
    "la Métropole de Toulouse",
    "Expertise France",
    "la Fondation Orange",
)
PUBLICS = (
    "associations",
    "collectivités territoriales",
    "structures de l'économie sociale et solidaire",
    "établissements scolaires",
    "organisations de solidarité internationale",
    "jeunes de 18 à 30 ans",
    "groupements d'agriculteurs",
    "coopératives",
)
MONTHS = MONTHS_FR
SENTENCES = (
    "Ce dispositif soutient les projets de {theme} portés par des {public} {place}.",
    "Les dossiers sont déposés en ligne ; un accompagnement est proposé par le réseau "
    "régional multi-acteurs.",
    "Le montant de la subvention peut atteindre {amount} € par projet, sur une durée "
    "de {years} ans.",
    "Financé par {funder}, le programme vise à renforcer les capacités des acteurs locaux {place}.",
    "Une réunion d'information se tiendra à {city} le {day} {month} {year}.",
    "Les projets doivent associer au moins un partenaire du Sud et démontrer leur "
    "ancrage territorial.",
    "L'évaluation tiendra compte de la pertinence, de la faisabilité et de la durabilité "
    "des actions proposées.",
    "Depuis {year0}, plus de {count} projets ont été accompagnés dans {count2} pays.",
    "Les {public} intéressés peuvent contacter l'équipe pour un premier échange.",
    "Le rapport souligne l'importance de la {theme} pour les territoires ruraux.",
    "Cette édition met l'accent sur la participation des femmes et des jeunes.",
    "La mission s'inscrit dans le cadre de la coopération décentralisée entre {city} et {city2}.",
    "Le comité de sélection se réunira début {month} ; les résultats seront publiés sur le site.",
    "Les candidatures incomplètes ne pourront pas être examinées.",
    "Le cofinancement minimum demandé est de {percent} % du budget total.",
    "Les activités se dérouleront principalement {place}, en lien avec les autorités locales.",
    "Une attention particulière sera portée aux projets intégrant la {theme}.",
    "Le guide du candidat et le formulaire sont disponibles en téléchargement.",
)
SITE_NAMES = (
    "cooperation-occitanie",
    "reseau-solidaire",
    "eau-sud",
    "region-occitanie",
    "diplomatie-gouv",
    "afd",
    "fondation-solidaire",
    "jeunesse-monde",
    "agence-eau",
    "ess-france",
    "coordination-sud",
    "volontariat-international",
)


def _sentence(rng: random.Random) -> str:
    template = rng.choice(SENTENCES)
    return template.format(
        theme=rng.choice(THEMES),
        public=rng.choice(PUBLICS),
        place=rng.choice(PLACES),
        funder=rng.choice(FUNDERS),
        city=rng.choice(CITIES),
        city2=rng.choice(CITIES),
        day=rng.randint(1, 28),
        month=rng.choice(MONTHS),
        year=rng.choice((2026, 2027)),
        year0=rng.randint(2005, 2020),
        amount=f"{rng.randrange(5, 200) * 1000:,}".replace(",", " "),
        years=rng.randint(1, 4),
        count=rng.randint(20, 900),
        count2=rng.randint(3, 40),
        percent=rng.choice((10, 20, 25, 30, 50)),
    )


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _deadline_text(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)} {rng.choice(MONTHS[:6])} 2027"


def _slugify(text: str) -> str:
    out = []
    folded = unicodedata.normalize("NFKD", text.lower())
    for char in folded:
        if unicodedata.combining(char):
            continue
        if char.isascii() and char.isalnum():
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")[:80]


@dataclass(slots=True)
class Entry:
    kind: str
    title: str
    url: str  # absolute (feeds) or site path (html)
    published: datetime
    deadline: str | None
    paragraphs: list[str]
    tags: list[str]


def _proper_name(rng: random.Random) -> str:
    syllables = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))]
    name = "".join(syllables)
    return name[0].upper() + name[1:]


def _title(rng: random.Random, kind: str) -> str:
    """A title from several independent parts: publishers' titles share words ("appel",
    "projets") but rarely most of them, so near-duplicate matching sees realistic overlap."""
    topic = rng.choice(TOPICS)
    parts = [rng.choice(PREFIXES[kind])]
    if rng.random() < 0.4:  # programmes are often named by an acronym (FSPI, PISCCA...)
        letters = "".join(rng.choice("ABCDEFGHIJLMNOPRSTUV") for _ in range(rng.randint(3, 6)))
        parts.append(letters + (str(rng.randint(2, 9)) if rng.random() < 0.2 else ""))
    parts.append(f"« {topic[0].upper() + topic[1:]} »")
    parts.append(rng.choice(PLACES) if rng.random() < 0.7 else f"à {rng.choice(CITIES)}")
    if rng.random() < 0.5:
        parts.append(f": {rng.choice(THEMES)}")
    if rng.random() < 0.4:
        parts.append(f"pour les {rng.choice(PUBLICS)}")
    if rng.random() < 0.6:  # who carries it: the most distinctive words of a real title
        parts.append(f"avec {rng.choice(ORGS)} {_proper_name(rng)}")
    if rng.random() < 0.4:
        parts.append(f"— {rng.choice(FUNDERS_SHORT)}")
    return " ".join(parts)


def _entry(rng: random.Random, serial: int, site: str, budget: int) -> Entry:
    kind = rng.choices(("appel", "actualite", "offre", "evenement"), (4, 3, 1, 2))[0]
    title = _title(rng, kind)
    paragraphs: list[str] = []
    while sum(len(p) for p in paragraphs) < budget:
        paragraphs.append(_paragraph(rng))
    deadline = _deadline_text(rng) if kind in ("appel", "offre") or rng.random() < 0.2 else None
    return Entry(
        kind=kind,
        title=title,
        url=f"https://www.{site}.org/{kind}s/{_slugify(title)}-{serial}",
        published=REFERENCE - timedelta(minutes=rng.randint(0, 60 * 24 * 90)),
        deadline=deadline,
        paragraphs=paragraphs,
        tags=rng.sample(THEMES, rng.randint(1, 3)),
    )


# --- documents -----------------------------------------------------------------------------


def _rss(
    name: str, site: str, entries: list[Entry], rng: random.Random, with_content: bool
) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        f"<channel>\n<title>{html.escape(name)}</title>\n<link>https://www.{site}.org/</link>\n"
        f"<description>Les dernières publications de {html.escape(name)}</description>\n"
        f"<language>fr-FR</language>\n<lastBuildDate>{format_datetime(REFERENCE)}"
        "</lastBuildDate>\n<generator>https://wordpress.org/?v=6.4.2</generator>\n"
    ]
    for e in entries:
        summary = e.paragraphs[0] + (f" Date limite : {e.deadline}." if e.deadline else "")
        body = "".join(f"<p>{html.escape(p)}</p>\n" for p in e.paragraphs)
        if e.deadline:
            body += f"<p><strong>Date limite : {e.deadline}</strong></p>\n"
        out.append(
            f"<item>\n<title>{html.escape(e.title)}</title>\n<link>{e.url}</link>\n"
            f"<dc:creator><![CDATA[{rng.choice(SITE_NAMES)}]]></dc:creator>\n"
            f"<pubDate>{format_datetime(e.published)}</pubDate>\n"
            + "".join(f"<category><![CDATA[{t}]]></category>\n" for t in e.tags)
            + f'<guid isPermaLink="false">{e.url}</guid>\n'
            f"<description>{html.escape(summary if with_content else body)}</description>\n"
            + (f"<content:encoded><![CDATA[{body}]]></content:encoded>\n" if with_content else "")
            + "</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def _atom(name: str, site: str, entries: list[Entry]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">\n'
        f"<title>{html.escape(name)}</title>\n"
        f'<link href="https://www.{site}.org/" rel="alternate"/>\n'
        f"<id>https://www.{site}.org/</id>\n<updated>{REFERENCE.isoformat()}</updated>\n"
    ]
    for e in entries:
        summary = e.paragraphs[0] + (f" Date limite : {e.deadline}." if e.deadline else "")
        body = "".join(f"<p>{html.escape(p)}</p>" for p in e.paragraphs)
        out.append(
            f"<entry>\n<title>{html.escape(e.title)}</title>\n"
            f'<link href="{e.url}" rel="alternate"/>\n<id>{e.url}</id>\n'
            f"<published>{e.published.isoformat()}</published>\n"
            f"<updated>{e.published.isoformat()}</updated>\n"
            + "".join(f'<category term="{html.escape(t)}"/>\n' for t in e.tags)
            + f'<summary type="html">{html.escape(summary)}</summary>\n'
            f'<content type="html">{html.escape(body)}</content>\n</entry>\n'
        )
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


_ICON = (
    '<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">'
    '<path d="M12 2C8.13 2 5 5.13 5 9c0 5.25 7 13 7 13s7-7.75 7-13c0-3.87-3.13-7-7-7zm0 '
    '9.5a2.5 2.5 0 0 1 0-5 2.5 2.5 0 0 1 0 5z"/></svg>'
)


def _listing(name: str, entries: list[Entry], target: int, rng: random.Random) -> bytes:
    """A CMS-like listing page: head with CSS, menus, cards, footer, scripts, to `target` bytes."""
    cards = []
    for e in entries:
        path = e.url.split(".org", 1)[1]
        deadline = (
            f'<p class="deadline">{_ICON} Date limite : {e.deadline}</p>' if e.deadline else ""
        )
        cards.append(
            f'<article class="card card--{e.kind}">\n<div class="card__media"><img src="/media/'
            f'{rng.randrange(10**6)}.jpg" alt="" loading="lazy" width="320" height="180"></div>\n'
            f'<div class="card__body"><span class="badge">{e.kind}</span>\n'
            f'<h3 class="card__title"><a href="{path}">{html.escape(e.title)}</a></h3>\n'
            f'<time datetime="{e.published.isoformat()}">{e.published:%d/%m/%Y}</time>\n'
            f'<p class="chapo">{html.escape(e.paragraphs[0])}</p>\n{deadline}\n'
            '<ul class="thematiques">'
            + "".join(f"<li>{html.escape(t)}</li>" for t in e.tags)
            + f'</ul>\n<a class="more" href="{path}">Lire la suite {_ICON}</a></div>\n</article>\n'
        )
    menu = "".join(
        f'<li class="menu__item"><a href="/{_slugify(t)}">{html.escape(t.capitalize())}</a>'
        '<ul class="submenu">'
        + "".join(f'<li><a href="/{_slugify(t)}/{_slugify(p)}">{p}</a></li>' for p in PLACES[:8])
        + "</ul></li>"
        for t in THEMES[:12]
    )
    head = (
        f'<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Appels et actualités — {html.escape(name)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>\n'
    )
    nav = (
        f'</style>\n</head>\n<body class="page-listing">\n<header class="site-header">'
        f'<a class="logo" href="/">{html.escape(name)}</a>\n<nav class="main-nav"><ul>{menu}'
        '</ul></nav></header>\n<main id="content"><h1>Appels à projets et actualités</h1>\n'
        '<div class="listing">\n'
    )
    tail = (
        '</div>\n<nav class="pager"><a href="?page=2" rel="next">Page suivante</a></nav>\n'
        '</main>\n<footer class="site-footer"><p>Mentions légales — Plan du site — '
        "Accessibilité : partiellement conforme</p></footer>\n<script>\n"
    )
    end = "</script>\n</body>\n</html>\n"
    fixed = len(head) + len(nav) + len(tail) + len(end) + sum(len(c) for c in cards)
    room = max(0, target - fixed)
    css, script = [], []
    css_room, size = room * 2 // 5, 0
    while size < css_room:  # a theme's stylesheet, inlined as many CMSs do
        rule = (
            f".c-{rng.randrange(10**6):06x} .e-{rng.randrange(999)}{{margin:{rng.randint(0, 40)}px "
            f"{rng.randint(0, 40)}px;color:#{rng.randrange(16**6):06x};"
            f"font-size:{rng.randint(10, 32)}px;line-height:1.{rng.randint(1, 9)}}}\n"
        )
        css.append(rule)
        size += len(rule)
    size = 0
    while size < room - css_room:  # analytics and a JSON config blob
        line = (
            f'window.__cfg["k{rng.randrange(10**6)}"]={{"id":{rng.randrange(10**9)},'
            f'"label":"{rng.choice(THEMES)}","on":{str(rng.random() < 0.5).lower()}}};\n'
        )
        script.append(line)
        size += len(line)
    page = head + "".join(css) + nav + "".join(cards) + tail + "".join(script) + end
    return page.encode("utf-8")


@dataclass(slots=True)
class Doc:
    index: int
    slug: str
    name: str
    kind: str  # "rss" or "html" (the collector's kinds)
    fmt: str  # "rss", "atom" or "html"
    host: int  # 0-based host number: served on 127.0.0.(host + 2)
    path: str
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    delay: float
    n_items: int
    relays: int  # entries copied from an earlier feed: to be merged, not stored twice


def _host_weights(n_hosts: int) -> list[float]:
    # A few big sites (a ministry, a regional network) publish many feeds, most sites one
    # or two: a Zipf-like spread, so that the busiest hosts make the per-host limit bite.
    return [1 / (i + 1) ** 0.6 for i in range(n_hosts)]


def build_corpus(n_sources: int, n_hosts: int, seed: int) -> list[Doc]:
    rng = random.Random(seed)
    hosts = list(range(min(n_hosts, n_sources)))  # every host gets at least one source
    hosts += rng.choices(range(n_hosts), _host_weights(n_hosts), k=n_sources - len(hosts))
    rng.shuffle(hosts)
    docs: list[Doc] = []
    pool: list[Entry] = []  # feed entries that a later feed may relay (same URL and title)
    for i, host in enumerate(hosts):
        relays = 0
        site = f"{rng.choice(SITE_NAMES)}-{i}"
        name = f"{site.replace('-', ' ').title()}"
        delay = rng.uniform(0.1, 0.3)
        if rng.random() < 0.7:
            fmt = "rss" if rng.random() < 0.7 else "atom"
            n_items, target = rng.randint(20, 50), rng.randint(20_000, 80_000)
            # Text per item so that the feed lands near `target` bytes: a feed with
            # content:encoded (or Atom's content) carries the text about twice.
            with_content = fmt == "atom" or rng.random() < 0.6
            overhead, factor = (850, 2.1) if with_content else (650, 1.1)
            budget = max(150, int((target / n_items - overhead) / factor) - 150)
            entries = []
            for j in range(n_items):
                if pool and rng.random() < RELAY_SHARE:  # a relay of another site's entry
                    entries.append(pool.pop(rng.randrange(len(pool))))
                    relays += 1
                else:
                    entries.append(_entry(rng, i * 100 + j, site, budget))
                    pool.append(entries[-1])
            if fmt == "rss":
                body = _rss(name, site, entries, rng, with_content)
            else:
                body = _atom(name, site, entries)
            kind, path = "rss", f"/feed-{i}.xml"
            ctype = f"application/{fmt}+xml; charset=utf-8"
        else:
            fmt, kind, path, ctype = "html", "html", f"/appels-{i}/", "text/html; charset=utf-8"
            n_items, target = rng.randint(15, 30), rng.randint(50_000, 150_000)
            entries = [_entry(rng, i * 100 + j, site, 150) for j in range(n_items)]
            body = _listing(name, entries, target, rng)
        digest = hashlib.sha256(body).hexdigest()[:20]
        modified = REFERENCE - timedelta(minutes=rng.randint(0, 60 * 24 * 7))
        docs.append(
            Doc(
                index=i,
                slug=f"bench-{i:04d}",
                name=name,
                kind=kind,
                fmt=fmt,
                host=host,
                path=path,
                body=body,
                content_type=ctype,
                etag=f'"{digest}"',
                last_modified=format_datetime(modified, usegmt=True),
                delay=delay,
                n_items=n_items,
                relays=relays,
            )
        )
    return docs


def host_address(host: int) -> str:
    return f"127.0.0.{host + 2}"


# --- the servers, in a child process -----------------------------------------------------


def _serve(docs: list[Doc], n_hosts: int, conn: Connection) -> None:
    """Child process: start one LoopbackServer per host, report ports, answer counts, stop."""
    servers: list[LoopbackServer] = []
    try:
        for host in range(n_hosts):
            servers.append(LoopbackServer(host_address(host)).start())
        for doc in docs:
            servers[doc.host].add(
                doc.path,
                doc.body,
                content_type=doc.content_type,
                etag=doc.etag,
                last_modified=doc.last_modified,
                delay=doc.delay,
            )
        conn.send([s.port for s in servers])
        deadline = time.monotonic() + SERVER_MAX_LIFETIME
        while (left := deadline - time.monotonic()) > 0:
            if not conn.poll(min(left, 5.0)):
                continue
            message = conn.recv()
            if message == "count":
                conn.send(
                    {
                        "requests": sum(len(s.requests) for s in servers),
                        "paths": Counter(
                            f"{s.host}{r.path}" for s in servers for r in list(s.requests)
                        ),
                        "errors": sum(len(s.errors) for s in servers),
                        "cpu": time.process_time(),
                    }
                )
            else:  # "stop"
                break
    except EOFError:
        pass
    finally:
        for server in servers:
            server.stop()
        conn.close()


class ServerFarm:
    def __init__(self, docs: list[Doc], n_hosts: int) -> None:
        context = multiprocessing.get_context("fork")  # the child inherits the corpus
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(docs, n_hosts, child), name="bench-loopback", daemon=True
        )
        self._process.start()
        child.close()
        try:
            if not self._conn.poll(60):
                raise RuntimeError("the loopback servers did not start within 60 s")
            self.ports: list[int] = self._conn.recv()
        except (EOFError, RuntimeError) as exc:  # EOF: the child failed (its traceback above)
            self.stop()
            raise RuntimeError(f"the loopback servers did not start ({exc!r})") from None

    def url(self, doc: Doc) -> str:
        return f"http://{host_address(doc.host)}:{self.ports[doc.host]}{doc.path}"

    def counters(self) -> dict[str, Any]:
        self._conn.send("count")
        return self._conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the child may be gone already
            self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()  # our own child, by its handle
            self._process.join(timeout=5)
        self._conn.close()


# --- phases ------------------------------------------------------------------------------


def specs_for(docs: list[Doc], farm: ServerFarm) -> list[SourceSpec]:
    return [
        SourceSpec(
            slug=d.slug,
            name=d.name,
            kind=d.kind,
            url=farm.url(d),
            every="6h",
            select=dict(HTML_SELECT) if d.kind == "html" else None,
        )
        for d in docs
    ]


@dataclass(slots=True)
class Timing:
    wall: float
    cpu: float
    requests: int = 0
    robots: int = 0  # robots.txt requests (html sources obey robots.txt)
    repeats: int = 0  # the same page asked again in the phase: retries


def _measure(farm: ServerFarm, fn: Any) -> tuple[Timing, Any]:
    before = farm.counters()["paths"]
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    timing = Timing(time.perf_counter() - w0, time.process_time() - c0)
    paths = farm.counters()["paths"] - before
    timing.requests = sum(paths.values())
    timing.robots = sum(n for p, n in paths.items() if p.endswith("/robots.txt"))
    timing.repeats = sum(n - 1 for p, n in paths.items() if not p.endswith("/robots.txt"))
    return timing, result


def fetch_and_parse(specs: list[SourceSpec], settings: Settings) -> tuple[int, int, list[str]]:
    """The collector's own fetch + parse (Fetcher, harvest_one, same limits), nothing
    stored: what the full cycle would cost without the database. (ok, items, errors)"""
    today = paris_today(utcnow())
    tasks = [
        SourceTask(
            id=i,
            slug=spec.slug,
            name=spec.name,
            kind=spec.kind,
            url=spec.url,
            rules=spec.rules(),
        )
        for i, spec in enumerate(specs, start=1)
    ]

    async def run() -> list[Any]:
        async with Fetcher(fetch_policy(settings)) as fetcher:
            return await asyncio.gather(
                *(harvest_one(t, fetcher, today=today) for t in tasks), return_exceptions=True
            )

    outcomes = asyncio.run(run())
    harvests = [o for o in outcomes if isinstance(o, Harvest)]
    errors = [str(o) for o in outcomes if not isinstance(o, Harvest)]
    return len(harvests), sum(len(h.items) for h in harvests), errors


def parse_one(doc: Doc, url: str, today: date) -> int:
    if doc.kind == "rss":
        return len(parse_feed(doc.body, url=url, today=today, charset="utf-8").items)
    return len(
        extract_listing(doc.body.decode("utf-8"), base_url=url, rules=HTML_SELECT, today=today)
    )


def naive_loop(docs: list[Doc], farm: ServerFarm, user_agent: str) -> tuple[int, int]:
    """Sequential GET + parse of every source: the loop one writes first. (ok, items)"""
    today = paris_today(utcnow())
    ok = items = 0
    with httpx.Client(headers={"User-Agent": user_agent}, timeout=30) as client:
        for doc in docs:
            url = farm.url(doc)
            response = client.get(url)
            if response.status_code != 200:
                continue
            ok += 1
            if doc.kind == "rss":
                items += len(parse_feed(response.content, url=url, today=today).items)
            else:
                items += len(
                    extract_listing(response.text, base_url=url, rules=HTML_SELECT, today=today)
                )
    return ok, items


def parse_floor(docs: list[Doc], farm: ServerFarm) -> tuple[float, float, int]:
    """(CPU s, wall s, items) to parse every document once, no network, no DB."""
    today = paris_today(utcnow())
    w0, c0 = time.perf_counter(), time.process_time()
    items = sum(parse_one(d, farm.url(d), today) for d in docs)
    return time.process_time() - c0, time.perf_counter() - w0, items


@dataclass(slots=True)
class LatencyFloor:
    seconds: float
    global_bound: float
    host_bound: float
    longest: float
    busiest_host: int
    busiest_count: int
    busiest_sum: float


def latency_floor(docs: list[Doc], concurrency: int, per_host: int) -> LatencyFloor:
    per_host_sum: dict[int, float] = defaultdict(float)
    for d in docs:
        per_host_sum[d.host] += d.delay
    busiest = max(per_host_sum, key=per_host_sum.__getitem__)
    global_bound = sum(d.delay for d in docs) / concurrency
    host_bound = per_host_sum[busiest] / per_host
    longest = max(d.delay for d in docs)
    return LatencyFloor(
        seconds=max(global_bound, host_bound, longest),
        global_bound=global_bound,
        host_bound=host_bound,
        longest=longest,
        busiest_host=busiest,
        busiest_count=sum(1 for d in docs if d.host == busiest),
        busiest_sum=per_host_sum[busiest],
    )


def make_due(sessions: Any) -> None:
    with session_scope(sessions) as session:
        session.execute(update(Source).values(next_fetch_at=None))


def summarise(reports: list[SourceReport]) -> dict[str, int]:
    return {
        "ok": sum(r.ok for r in reports),
        "failed": sum(not r.ok for r in reports),
        "not_modified": sum(r.not_modified for r in reports),
        "new": sum(r.new for r in reports),
        "updated": sum(r.updated for r in reports),
        "seen": sum(r.seen for r in reports),
    }


def fresh_database(directory: str, name: str, settings_kw: dict[str, int]) -> tuple[Any, Settings]:
    settings = Settings(database_url=f"sqlite:///{directory}/{name}.db", **settings_kw)
    return initialise(settings), settings


def profile_cycle(
    specs: list[SourceSpec], directory: str, settings_kw: dict[str, int], top: int
) -> None:
    sessions, settings = fresh_database(directory, "profile", settings_kw)
    with session_scope(sessions) as session:
        sync_sources(session, specs)
    profiler = cProfile.Profile()
    w0 = time.perf_counter()
    profiler.enable()
    try:
        collect(sessions, settings)
    finally:
        profiler.disable()
    wall = time.perf_counter() - w0
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\n--- cProfile of a full cycle on a fresh database ({wall:.2f} s under the profiler)")
    print(stream.getvalue())


# --- main --------------------------------------------------------------------------------


def _row(label: str, wall: float | None, cpu: float | None, req: int | None, note: str) -> str:
    def cell(value: float | None, fmt: str) -> str:
        return format(value, fmt) if value is not None else "—"

    rate = req / wall if req and wall else None
    return (
        f"{label:<34} {cell(wall, '.2f'):>8} {cell(cpu, '.2f'):>8} {cell(rate, '.1f'):>8}"
        f" {cell(req, 'd'):>6}  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="60 sources on 10 hosts")
    parser.add_argument("--concurrency", type=int, help="fetch_concurrency (default: settings)")
    parser.add_argument("--per-host", type=int, help="fetch_per_host (default: settings)")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="also profile a full cycle and print the N costliest functions",
    )
    args = parser.parse_args()
    if args.quick:
        args.sources, args.hosts = 60, 10
    if not 1 <= args.hosts <= 250 or args.sources < 1:
        parser.error("--hosts must be 1..250 (127.0.0.2 to 127.0.0.251), --sources at least 1")

    settings_kw = {
        k: v
        for k, v in (("fetch_concurrency", args.concurrency), ("fetch_per_host", args.per_host))
        if v is not None
    }
    defaults = Settings(database_url="sqlite://", **settings_kw)
    concurrency, per_host = defaults.fetch_concurrency, defaults.fetch_per_host

    t0 = time.perf_counter()
    docs = build_corpus(args.sources, args.hosts, args.seed)
    build_s = time.perf_counter() - t0
    formats = Counter(d.fmt for d in docs)
    total_bytes = sum(len(d.body) for d in docs)
    floor = latency_floor(docs, concurrency, per_host)

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.platform()}; load average "
        f"{os.getloadavg()[0]:.2f} at start (other processes inflate wall times, not CPU times)"
    )
    print(
        f"corpus (seed {args.seed}, built in {build_s:.1f} s): {len(docs)} sources on "
        f"{len({d.host for d in docs})} hosts (127.0.0.2-{host_address(args.hosts - 1)}): "
        f"{formats['rss']} RSS + {formats['atom']} Atom feeds, {formats['html']} HTML listings; "
        f"{total_bytes / 1e6:.1f} MB, {sum(d.n_items for d in docs)} items of which "
        f"{sum(d.relays for d in docs)} relays of another feed's entry (same URL)"
    )
    for fmt in ("rss", "atom", "html"):
        sizes = [len(d.body) / 1000 for d in docs if d.fmt == fmt]
        if sizes:
            print(
                f"  {fmt:<5} sizes {min(sizes):.0f}-{max(sizes):.0f} KB "
                f"(mean {sum(sizes) / len(sizes):.0f} KB)"
            )
    print(
        f"latency: delays {min(d.delay for d in docs):.2f}-{floor.longest:.2f} s per request "
        f"(sum {sum(d.delay for d in docs):.1f} s); busiest host {host_address(floor.busiest_host)}"
        f" has {floor.busiest_count} sources ({floor.busiest_sum:.2f} s of delays)"
    )
    print(
        f"latency floor = max(sum of delays / concurrency {concurrency} = "
        f"{floor.global_bound:.2f} s, busiest host's delays / per-host {per_host} = "
        f"{floor.host_bound:.2f} s, longest delay {floor.longest:.2f} s) = {floor.seconds:.2f} s"
        "\n  (the same for the unchanged cycle: servers take the same time to say 304)"
    )

    farm = ServerFarm(docs, args.hosts)
    try:
        specs = specs_for(docs, farm)
        with tempfile.TemporaryDirectory(prefix="veille-bench-") as directory:
            sessions, settings = fresh_database(directory, "bench", settings_kw)
            with session_scope(sessions) as session:
                sync_sources(session, specs)

            full, reports = _measure(farm, lambda: collect(sessions, settings))
            first = summarise(reports)
            with session_scope(sessions) as session:
                n_items = session.scalar(select(func.count()).select_from(Item))
                n_sightings = session.scalar(select(func.count()).select_from(Sighting))
            failures = Counter(r.message for r in reports if not r.ok)

            make_due(sessions)
            again, reports2 = _measure(farm, lambda: collect(sessions, settings))
            second = summarise(reports2)
            user_agent = f"veille-bench (+mailto:{settings.contact_email})"

            if args.profile:
                profile_cycle(specs, directory, settings_kw, args.profile)

        harvest, (harvest_ok, harvest_items, harvest_errors) = _measure(
            farm, lambda: fetch_and_parse(specs, settings)
        )
        naive, (naive_ok, naive_items) = _measure(farm, lambda: naive_loop(docs, farm, user_agent))
        parse_cpu, parse_wall, parse_items = parse_floor(docs, farm)
        server = farm.counters()
    finally:
        farm.stop()

    print()
    print(
        f"full cycle: {first['ok']} ok, {first['failed']} failed, {first['seen']} items read, "
        f"{first['new']} new + {first['updated']} merged; database: {n_items} items, "
        f"{n_sightings} sightings"
    )
    for message, count in failures.most_common(5):
        print(f"  failed x{count}: {message}")
    print(
        f"unchanged cycle: {second['ok']} ok, {second['failed']} failed, "
        f"{second['not_modified']} not modified (304), {second['new']} new"
    )
    print(
        f"fetch + parse only: {harvest_ok} ok, {len(harvest_errors)} failed, "
        f"{harvest_items} items"
        + (f" (first error: {harvest_errors[0]})" if harvest_errors else "")
    )
    print(f"naive loop: {naive_ok} ok, {naive_items} items; parse floor: {parse_items} items")
    for label, timing in (("full", full), ("unchanged", again), ("fetch + parse", harvest)):
        pages = timing.requests - timing.robots - timing.repeats
        print(
            f"requests, {label}: {timing.requests} = {pages} pages + {timing.robots} "
            f"robots.txt + {timing.repeats} repeated (retries)"
        )
    print(
        f"server process: {server['requests']} requests served, {server['errors']} handler "
        f"errors, {server['cpu']:.1f} s CPU (not counted below)"
    )
    print()
    header = f"{'phase':<34} {'wall s':>8} {'CPU s':>8} {'req/s':>8} {'reqs':>6}  note"
    print(header)
    print("-" * (len(header) + 30))
    print(_row("full cycle (collect)", full.wall, full.cpu, full.requests, "200s, parse + store"))
    print(_row("unchanged cycle (collect)", again.wall, again.cpu, again.requests, "all 304"))
    print(
        _row(
            "fetch + parse only (no DB)",
            harvest.wall,
            harvest.cpu,
            harvest.requests,
            "collector's Fetcher + harvest_one",
        )
    )
    print(
        _row("naive sequential loop", naive.wall, naive.cpu, naive.requests, "httpx + parse, no DB")
    )
    print(_row("parse floor (no network, no DB)", parse_wall, parse_cpu, None, "CPU lower bound"))
    print(_row("latency floor (computed)", floor.seconds, None, None, "wall lower bound"))
    both = max(floor.seconds, parse_cpu)
    print(_row("max(latency floor, parse floor)", both, None, None, "one-core lower bound"))
    print()
    print("ratios:")
    print(f"  full cycle wall / latency floor          {full.wall / floor.seconds:6.2f}x")
    print(f"  full cycle wall / max(latency, parse)    {full.wall / both:6.2f}x")
    print(
        f"  full cycle CPU  / parse floor CPU        {full.cpu / parse_cpu:6.2f}x"
        "  (main process only)"
    )
    print(f"  fetch + parse wall / latency floor       {harvest.wall / floor.seconds:6.2f}x")
    print(f"  fetch + parse wall / max(latency, parse) {harvest.wall / both:6.2f}x")
    print(
        f"  naive sequential wall / full cycle wall  {naive.wall / full.wall:6.2f}x"
        " (above 1: collect is faster)"
    )
    print(f"  unchanged / full cycle: wall             {again.wall / full.wall:6.2%}")
    print(f"  unchanged / full cycle: CPU              {again.cpu / full.cpu:6.2%}")
    print(f"  unchanged cycle wall / latency floor     {again.wall / floor.seconds:6.2f}x")
    print(
        "(CPU = time.process_time() of this process, all threads. Not counted: the servers,"
        " in a child process, and the collector's parsing workers, which a cycle of"
        f" {offload.MIN_SOURCES_FOR_POOL} sources or more starts on the other cores)"
    )


if __name__ == "__main__":
    main()
