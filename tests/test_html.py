"""HTML sources (selectors and French labels) through a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.loopback import LoopbackServer
from veille.sources.fetch import Fetcher, FetchError, FetchPolicy
from veille.sources.html import (
    MAX_ITEMS_PER_PAGE,
    RulesError,
    apply_detail,
    extract_listing,
    harvest,
)
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.labels import COMMON_LABELS, text_after_label

FIXTURES = Path(__file__).parent / "fixtures" / "html"
PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2024, 1, 10)

AFD_LIST = "/fr/appels-a-projets/liste"
AFD_PAGE_1 = AFD_LIST + "?status%5Bongoing%5D=ongoing&status%5Bsoon%5D=soon&page=1"
AFD_RULES: dict[str, Any] = {
    "item": "div.view-call-for-projects article.node--type-call-for-projects",
    "title": 'h3 a[href*="/fr/appels-a-projets/"]',
    "link": 'h3 a[href*="/fr/appels-a-projets/"]@href',
    "deadline": "div.field--name-field-dates",
    "status": "div.field--name-field-status",
    "summary": "div.field--name-field-chapo",
    "tags": "div.field--name-field-themes a",
    "next": "li.pager__item--next a@href",
}
CSUD_RULES: dict[str, Any] = {
    "item": "div.facetwp-template article",
    "title": "header > h3 > a",
    "link": "header > h3 > a@href",
    "funder": "header > span.author",
    "deadline": "div.extra-header",
    "summary": "div.entry-summary",
    "tags": "label:Pays",
}
RESEAU_RULES: dict[str, Any] = {
    "item": "main div.col",
    "title": "h2",
    "link": "h2 a@href",
    "deadline": "label:Date de clôture",
    "date": "label:Publié le",
    "funder": "label:Financeur(s)",
    "tags": "label:Thématique(s)",
    "follow": True,
}
RESEAU_DETAIL = {
    "deadline": "label:Date de clôture",
    "funder": "label:Financeur(s)",
    "place": "label:Lieu",
    "body": "div.texte",
}
RESEAU_DETAILS = {
    "/appel-projet/fonds-regional-cooperation-2024": "reseau_detail_fonds_regional.html",
    "/appel-projet/jeunesse-solidarite-internationale-2019": "reseau_detail_jeunesse_2019.html",
    "/appel-projet/programme-microprojets-session-mars": "reseau_detail_microprojets.html",
    "/appel-projet/prix-initiative-solidaire": "reseau_detail_prix.html",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def make_task(url: str, select: dict[str, Any], **fields: Any) -> SourceTask:
    rules: dict[str, Any] = {"select": select}
    for name in ("detail", "max_pages", "max_follow"):
        if name in fields:
            rules[name] = fields.pop(name)
    return SourceTask(id=1, slug="test", name="Test", kind="html", url=url, rules=rules, **fields)


def run_harvest(task: SourceTask, today: date = TODAY) -> Harvest:
    async def go() -> Harvest:
        # A short backoff: the 5xx tests would otherwise wait for real retries.
        async with Fetcher(FetchPolicy(user_agent="veille-test", backoff=0.01)) as fetcher:
            return await harvest(task, fetcher, today=today)

    return asyncio.run(go())


def by_title(items: list[CollectedItem]) -> dict[str, CollectedItem]:
    return {item.title: item for item in items}


# --- the sites of SOURCES.md -------------------------------------------------------------


def serve_afd(server: LoopbackServer) -> None:
    server.add(
        AFD_LIST,
        fixture("afd_liste_page0.html"),
        etag='"afd-v1"',
        headers={"Cache-Control": "max-age=3600"},
    )
    server.add(AFD_PAGE_1, fixture("afd_liste_page1.html"))


def test_afd_list_over_two_pages(http_server: LoopbackServer) -> None:
    serve_afd(http_server)
    task = make_task(
        http_server.url(AFD_LIST + "?status%5Bongoing%5D=ongoing&status%5Bsoon%5D=soon"),
        AFD_RULES,
        item_kind="appel",
    )
    result = run_harvest(task)

    assert result.problem is None
    assert [i.title for i in result.items] == [
        "Initiatives OSC 2025 : appel à projets « Partenariats »",
        "FISONG 2024 – Santé mentale et soutien psychosocial",
        "Fonds climat Afrique : adaptation au changement climatique",
        "Facilité jeunesse Sahel",
        "Initiatives OSC 2023",
    ]
    osc, fisong, climat, sahel, osc_2023 = result.items
    # Absolute canonical links: tracking parameters and fragments dropped.
    assert osc.url == osc.guid == http_server.url("/fr/appels-a-projets/initiatives-osc-2025")
    assert climat.url == "https://www.afd.fr/fr/appels-a-projets/fonds-climat-afrique"
    assert sahel.url == http_server.url("/fr/appels-a-projets/facilite-jeunesse-sahel")
    # "17 décembre 2024 - 24 janvier 2025": the end of the range, end of day in Paris.
    assert osc.deadline == paris(2025, 1, 24, 23, 59)
    assert osc.extra["opens"] == paris(2024, 12, 17).isoformat()
    assert fisong.deadline == paris(2024, 4, 15, 23, 59)
    assert climat.deadline == paris(2024, 2, 29, 23, 59)
    assert [i.closed for i in result.items] == [False, False, False, False, True]
    assert osc_2023.deadline == paris(2023, 11, 30, 23, 59)
    assert osc.raw_tags == ["Société civile", "Gouvernance"]
    assert sahel.raw_tags == ["Jeunesse", "Emploi"]
    assert osc.summary.startswith("Le dispositif Initiatives OSC cofinance")
    assert "<strong>Initiatives OSC</strong>" in osc.body and "<article" not in osc.body
    assert {i.kind for i in result.items} == {"appel"}
    # Validators and the pacing hint come from the first page.
    assert (result.etag, result.hint_seconds) == ('"afd-v1"', 3600)
    # Each page once; the "previous" link of the last page is not followed.
    assert http_server.count(AFD_PAGE_1) == 1
    assert http_server.count(AFD_LIST) == 2


def test_coordination_sud_cards(http_server: LoopbackServer) -> None:
    http_server.add("/appels-doffres/", fixture("coordination_sud_appels.html"))
    task = make_task(http_server.url("/appels-doffres/?_sort=1_date_desc"), CSUD_RULES)
    items = by_title(run_harvest(task).items)

    assert len(items) == 3
    eau = items["Programme eau et assainissement en Casamance"]
    assert eau.url == (
        "https://www.coordinationsud.org/appel-doffre/programme-eau-et-assainissement-casamance/"
    )
    assert eau.funder == "Agence des micro-projets"
    assert eau.deadline == paris(2024, 2, 29, 23, 59)  # "Clôture le 29/02/2024"
    assert eau.closed is False
    assert eau.raw_tags == ["Sénégal"]  # "Pays : Sénégal", not the next "Montant" line
    assert eau.summary.startswith("Appel à propositions pour des projets d’accès")
    sahel = items["Fonds Sahel éducation : appel à projets 2024"]
    assert sahel.url == "https://www.coordinationsud.org/appel-doffre/fonds-sahel-education/"
    assert sahel.raw_tags == ["Mali", "Burkina Faso"]
    assert sahel.funder == "Fondation de France"
    consultant = items["Recrutement d’un·e consultant·e pour une évaluation finale"]
    # A relative link resolved against the page; Facebook's click id dropped.
    assert consultant.url == http_server.url(
        "/appel-doffre/recrutement-consultant-evaluation-finale/"
    )
    assert consultant.deadline == paris(2024, 2, 5, 23, 59)


def serve_reseau(server: LoopbackServer, *, broken: tuple[str, ...] = ()) -> None:
    server.add("/appel-projet", fixture("reseau_appels.html"))
    for path, name in RESEAU_DETAILS.items():
        if path in broken:
            server.add_status(path, 500)
        else:
            server.add(path, fixture(name))


def test_regional_network_labels_and_detail_pages(http_server: LoopbackServer) -> None:
    serve_reseau(http_server)
    task = make_task(
        http_server.url("/appel-projet"), RESEAU_RULES, detail=RESEAU_DETAIL, item_kind="appel"
    )
    result = run_harvest(task)
    items = by_title(result.items)

    assert result.problem is None
    # "À la une" repeats a call of the list: one item, completed from both places.
    assert len(result.items) == 4
    fonds = items["Fonds régional pour la coopération internationale 2024"]
    assert fonds.url == http_server.url("/appel-projet/fonds-regional-cooperation-2024")
    assert fonds.published_at == paris(2023, 11, 16)
    assert fonds.raw_tags == ["Éducation à la citoyenneté", "Jeunesse"]
    # The detail page wins where it says more: a time on the deadline, a second funder.
    assert fonds.deadline == paris(2024, 2, 2, 12, 0)
    assert fonds.funder == "Région Occitanie, Agence française de développement"
    # "aura lieu le 10 janvier" in prose and "Lieu :" in the footer are not the place.
    assert fonds.event_place is None
    assert "<strong>coopération internationale</strong>" in fonds.body
    assert "track(" not in fonds.body
    assert fonds.summary.startswith("La Région soutient les projets")

    jeunesse = items["Jeunesse et solidarité internationale 2019"]
    assert jeunesse.deadline == paris(2019, 6, 1, 23, 59)
    assert jeunesse.closed is True  # "Date de clôture : 1 juin 2019 Clôturé"
    assert jeunesse.funder == "Fonjep"

    micro = items["Programme Microprojets : session de mars"]
    assert micro.url == http_server.url("/appel-projet/programme-microprojets-session-mars")
    assert micro.deadline == paris(2024, 3, 31, 23, 59)  # only on the detail page
    assert micro.event_place == "en ligne"
    assert micro.raw_tags == ["Microprojets"]
    assert micro.published_at == paris(2024, 1, 3)

    prix = items["Prix de l’initiative solidaire"]
    assert prix.deadline == paris(2024, 2, 15, 23, 59)  # <dt>Date de clôture</dt><dd>...
    assert prix.event_place == "Toulouse"
    assert prix.closed is False
    assert {i.kind for i in result.items} == {"appel"}
    # Every detail page once, even the call listed twice.
    assert [http_server.count(path) for path in RESEAU_DETAILS] == [1, 1, 1, 1]


def test_follow_only_unknown_items_up_to_max_follow(http_server: LoopbackServer) -> None:
    serve_reseau(http_server)
    known = http_server.url("/appel-projet/fonds-regional-cooperation-2024")
    task = make_task(
        http_server.url("/appel-projet"),
        RESEAU_RULES,
        detail=RESEAU_DETAIL,
        max_follow=2,
        known_urls=frozenset({known}),
    )
    result = run_harvest(task)

    counts = {path: http_server.count(path) for path in RESEAU_DETAILS}
    assert counts == {
        "/appel-projet/fonds-regional-cooperation-2024": 0,  # already known
        "/appel-projet/jeunesse-solidarite-internationale-2019": 1,
        "/appel-projet/programme-microprojets-session-mars": 1,
        "/appel-projet/prix-initiative-solidaire": 0,  # over max_follow
    }
    items = by_title(result.items)
    assert len(items) == 4  # not followed is not dropped: the listing's values stay
    assert items["Prix de l’initiative solidaire"].deadline is None
    assert items["Prix de l’initiative solidaire"].funder == "Fondation partenaire"
    assert items["Programme Microprojets : session de mars"].deadline == paris(2024, 3, 31, 23, 59)
    assert items["Fonds régional pour la coopération internationale 2024"].deadline == paris(
        2024, 2, 2, 23, 59
    )


def test_follow_zero_fetches_no_detail(http_server: LoopbackServer) -> None:
    serve_reseau(http_server)
    task = make_task(
        http_server.url("/appel-projet"), RESEAU_RULES, detail=RESEAU_DETAIL, max_follow=0
    )
    assert len(run_harvest(task).items) == 4
    assert sum(http_server.count(path) for path in RESEAU_DETAILS) == 0


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            ("/appel-projet/programme-microprojets-session-mars",),
            "1 page de détail n'a pas pu être lue.",
        ),
        (
            (
                "/appel-projet/programme-microprojets-session-mars",
                "/appel-projet/prix-initiative-solidaire",
            ),
            "2 pages de détail n'ont pas pu être lues.",
        ),
    ],
)
def test_failing_detail_page_keeps_the_item(
    http_server: LoopbackServer, broken: tuple[str, ...], message: str
) -> None:
    serve_reseau(http_server, broken=broken)
    task = make_task(http_server.url("/appel-projet"), RESEAU_RULES, detail=RESEAU_DETAIL)
    result = run_harvest(task)

    assert result.problem == message
    items = by_title(result.items)
    assert len(items) == 4
    micro = items["Programme Microprojets : session de mars"]
    assert micro.deadline is None and micro.funder == "La Guilde"  # the listing's values
    assert items["Jeunesse et solidarité internationale 2019"].closed is True


def test_event_listing_by_labels(http_server: LoopbackServer) -> None:
    http_server.add("/evenement", fixture("reseau_agenda.html"))
    rules = {
        "item": "main div.col",
        "title": "h2",
        "link": "h2 a@href",
        "event": "label:Date",
        "place": "label:Lieu",
        "organizer": "label:Organisateur",  # not a field of its own: kept in `extra`
    }
    task = make_task(http_server.url("/evenement"), rules, item_kind="evenement")
    agora, festisol = run_harvest(task, today=date(2022, 1, 10)).items

    assert agora.event_start == paris(2022, 3, 8, 9, 30)
    assert agora.event_end == paris(2022, 3, 8, 12, 30)
    assert agora.event_place == "Maison des associations, Montpellier"
    assert agora.extra["organizer"] == "Occitanie Coopération"
    assert festisol.event_start == paris(2022, 11, 18)
    assert festisol.event_end == paris(2022, 11, 20, 23, 59)
    assert festisol.kind == "evenement"


# --- charsets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("encodage_utf8_annonce_latin1.html", "iso-8859-1"),
        ("encodage_latin1_annonce_utf8.html", "utf-8"),
    ],
)
def test_wrong_declared_charset(http_server: LoopbackServer, name: str, declared: str) -> None:
    http_server.add("/actualite", fixture(name), content_type=f"text/html; charset={declared}")
    rules = {"item": "ul.actus li", "title": "a", "link": "a@href", "date": "span.date"}
    items = run_harvest(make_task(http_server.url("/actualite"), rules)).items

    assert [i.title for i in items] == [
        "Éducation à la citoyenneté : l’appel « Jeunes solidaires » est ouvert",
        "Rencontre régionale à Montpellier – œuvrer ensemble",
    ]
    assert items[0].url == http_server.url("/actualite/%C3%A9ducation-citoyennet%C3%A9")
    assert items[1].published_at == paris(2024, 1, 8)


# --- pagination ----------------------------------------------------------------------------


def chain_page(number: int, next_href: str | None) -> str:
    pager = f'<li class="next"><a href="{next_href}">Suivant</a></li>' if next_href else ""
    return (
        f"<html><body><ul><li class='item'><a href='/appel/{number}'>Appel {number}</a></li>"
        f"</ul><ul class='pager'>{pager}</ul></body></html>"
    )


PAGED_RULES = {"item": "li.item", "title": "a", "link": "a@href", "next": "li.next a@href"}


def test_pagination_stops_at_max_pages(http_server: LoopbackServer) -> None:
    for n in range(1, 11):
        http_server.add(f"/liste/{n}", chain_page(n, f"/liste/{n + 1}"))
    task = make_task(http_server.url("/liste/1"), PAGED_RULES, max_pages=3)
    result = run_harvest(task)

    assert [i.title for i in result.items] == ["Appel 1", "Appel 2", "Appel 3"]
    assert [http_server.count(f"/liste/{n}") for n in range(1, 6)] == [1, 1, 1, 0, 0]


def test_pagination_default_is_five_pages(http_server: LoopbackServer) -> None:
    for n in range(1, 11):
        http_server.add(f"/liste/{n}", chain_page(n, f"/liste/{n + 1}"))
    result = run_harvest(make_task(http_server.url("/liste/1"), PAGED_RULES))
    assert len(result.items) == 5
    assert http_server.count("/liste/6") == 0


def test_pagination_never_loops(http_server: LoopbackServer) -> None:
    # A page that links to itself (with a tracking parameter), and a two-page cycle.
    http_server.add("/seul", chain_page(1, "/seul?utm_source=pager"))
    http_server.add("/a", chain_page(1, "/b"))
    http_server.add("/b", chain_page(2, "/a"))

    assert len(run_harvest(make_task(http_server.url("/seul"), PAGED_RULES)).items) == 1
    assert http_server.count("/seul") == 1
    assert len(run_harvest(make_task(http_server.url("/a"), PAGED_RULES)).items) == 2
    assert (http_server.count("/a"), http_server.count("/b")) == (1, 1)


def test_failing_second_page_keeps_the_first(http_server: LoopbackServer) -> None:
    http_server.add("/liste/1", chain_page(1, "/liste/2"))
    http_server.add_status("/liste/2", 404)
    result = run_harvest(make_task(http_server.url("/liste/1"), PAGED_RULES))

    assert [i.title for i in result.items] == ["Appel 1"]
    assert result.problem is not None and result.problem.startswith(
        "La page 2 de la liste n'a pas pu être lue"
    )


# --- conditional GET, layout changes, robots.txt --------------------------------------------


def test_not_modified_listing(http_server: LoopbackServer) -> None:
    serve_afd(http_server)
    task = make_task(http_server.url(AFD_LIST), AFD_RULES, etag='"afd-v1"')
    result = run_harvest(task)

    assert result.not_modified is True
    assert result.items == []
    assert http_server.count(AFD_LIST) == 1
    assert http_server.requests[-1].headers["if-none-match"] == '"afd-v1"'
    assert http_server.count(AFD_PAGE_1) == 0


def test_layout_change_is_reported(http_server: LoopbackServer) -> None:
    http_server.add(AFD_LIST, fixture("afd_liste_nouvelle_maquette.html"))
    result = run_harvest(make_task(http_server.url(AFD_LIST), AFD_RULES))

    assert result.items == []
    assert result.problem == (
        "Aucun élément trouvé avec le sélecteur « div.view-call-for-projects "
        "article.node--type-call-for-projects » : la page a peut-être changé."
    )


def test_robots_txt_forbidding_the_listing(http_server: LoopbackServer) -> None:
    http_server.add(
        "/robots.txt", "User-agent: *\nDisallow: /fr/appels-a-projets/\n", content_type="text/plain"
    )
    serve_afd(http_server)
    with pytest.raises(FetchError) as caught:
        run_harvest(make_task(http_server.url(AFD_LIST), AFD_RULES))

    assert caught.value.kind == "robots"
    assert http_server.count(AFD_LIST) == 0


def test_robots_txt_forbidding_a_detail_page(http_server: LoopbackServer) -> None:
    http_server.add(
        "/robots.txt",
        "User-agent: *\nDisallow: /appel-projet/prix-initiative-solidaire\n",
        content_type="text/plain",
    )
    serve_reseau(http_server)
    task = make_task(http_server.url("/appel-projet"), RESEAU_RULES, detail=RESEAU_DETAIL)
    result = run_harvest(task)

    assert http_server.count("/appel-projet/prix-initiative-solidaire") == 0
    assert result.problem == "1 page de détail n'a pas pu être lue."
    assert len(result.items) == 4


def test_document_links_are_not_followed(http_server: LoopbackServer) -> None:
    http_server.add(
        "/appels",
        "<main><div class='col'><h2><a href='/docs/reglement.pdf'>Règlement</a></h2></div></main>",
    )
    http_server.add("/docs/reglement.pdf", b"%PDF-1.4", content_type="application/pdf")
    task = make_task(http_server.url("/appels"), RESEAU_RULES, detail=RESEAU_DETAIL)
    result = run_harvest(task)

    assert [i.url for i in result.items] == [http_server.url("/docs/reglement.pdf")]
    assert http_server.count("/docs/reglement.pdf") == 0
    assert result.problem is None


# --- the pure functions ------------------------------------------------------------------------


def test_text_after_label() -> None:
    line = "Date de lancement : 1 avril 2019 | Date de clôture : 1 juin 2019 Clôturé"
    assert text_after_label(line, "Date de clôture", COMMON_LABELS) == "1 juin 2019 Clôturé"
    assert text_after_label(line, "DATE DE CLOTURE :", COMMON_LABELS) == "1 juin 2019 Clôturé"
    assert text_after_label(line, "date de lancement", COMMON_LABELS) == "1 avril 2019"
    # "Date" is not the start of "Date de lancement" / "Date de clôture".
    assert text_after_label(line, "Date", COMMON_LABELS) is None
    assert text_after_label("Financeurs : Région\nLieu : Albi", "Financeur(s)", []) == "Région"
    assert text_after_label("Publié le 08/09/2025", "Publié le", COMMON_LABELS) == "08/09/2025"
    # Without a colon, a label is only a label at the start of a segment.
    assert text_after_label("La rencontre aura lieu le 3 mai.", "Lieu", COMMON_LABELS) is None
    assert text_after_label("Lieu : salle B, date à confirmer", "Lieu", COMMON_LABELS) == (
        "salle B, date à confirmer"
    )
    # A few words may stand between the label and its colon.
    line = "La date limite de dépôt des candidatures : 15 mars 2027 à 12h"
    assert text_after_label(line, "Date limite de dépôt", []) == "15 mars 2027 à 12h"
    assert text_after_label("Lieu de la formation : Albi", "Lieu", COMMON_LABELS) == "Albi"
    assert text_after_label("Date de la rencontre : 3 mai", "Date", COMMON_LABELS) == "3 mai"
    # A label alone on its line (<dt>/<dd>) takes the next line.
    assert text_after_label("Lieu\nToulouse\nDate\n3 mai", "Lieu", COMMON_LABELS) == "Toulouse"
    assert text_after_label("Organisateur : X", "Lieu", COMMON_LABELS) is None


def test_extract_listing_defaults_and_base_href() -> None:
    page = """<html><head><base href="https://exemple.org/actus/"></head><body>
      <a class="carte" href="appel-1?utm_source=x"><h3>Appel 1</h3></a>
      <div class="carte"><p>Sans titre</p><a href="appel-2">Appel 2</a></div>
      <div class="carte"><p>Rien de lisible</p></div>
    </body></html>"""
    items = extract_listing(
        page, base_url="https://autre.org/", rules={"item": ".carte"}, today=TODAY
    )
    # No title/link rules: the item's own link (or its first link) and that link's text.
    assert [(i.title, i.url) for i in items] == [
        ("Appel 1", "https://exemple.org/actus/appel-1"),
        ("Appel 2", "https://exemple.org/actus/appel-2"),
    ]


def test_apply_detail_returns_a_completed_copy() -> None:
    item = CollectedItem(title="Appel", url="https://exemple.org/a", guid="https://exemple.org/a")
    page = "<main><h1>Appel à projets Eau</h1><p>Date limite : 15 mars 2024</p></main>"
    rules = {"title": "h1", "deadline": "label:Date limite", "link": "a@href"}
    done = apply_detail(item, page, base_url=item.url or "", rules=rules, today=TODAY)

    assert (done.title, done.deadline, done.kind) == (
        "Appel à projets Eau",
        paris(2024, 3, 15, 23, 59),
        "appel",
    )
    assert done.url == item.url and item.title == "Appel" and item.deadline is None


def test_nested_matches_are_one_item() -> None:
    page = "<div class='bloc'><div class='bloc'><a href='/a'>Appel A</a></div></div>"
    items = extract_listing(page, base_url="https://e.org/", rules={"item": ".bloc"}, today=TODAY)
    assert [i.url for i in items] == ["https://e.org/a"]


def test_too_broad_item_selector_is_capped(http_server: LoopbackServer) -> None:
    links = "".join(
        f"<li><a href='/a/{n}'>Appel {n}</a></li>" for n in range(MAX_ITEMS_PER_PAGE + 50)
    )
    http_server.add("/tout", f"<ul>{links}</ul>")
    result = run_harvest(make_task(http_server.url("/tout"), {"item": "li"}))

    assert len(result.items) == MAX_ITEMS_PER_PAGE
    assert result.problem == (
        f"{MAX_ITEMS_PER_PAGE + 50} éléments trouvés avec « li » : seuls les "
        f"{MAX_ITEMS_PER_PAGE} premiers de chaque page sont lus (sélecteur trop large ?)."
    )


def test_invalid_selector_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="Sélecteur CSS invalide"):
        extract_listing("<p>x</p>", base_url="https://e.org/", rules={"item": "div[["}, today=TODAY)
    with pytest.raises(RulesError):
        extract_listing("<p>x</p>", base_url="https://e.org/", rules={}, today=TODAY)


_TAGS = ["div", "p", "a", "h3", "span", "li", "ul", "article", "time", "br", "dl", "dt"]
_html_bits = st.one_of(
    st.sampled_from([f"<{t}>" for t in _TAGS] + [f"</{t}>" for t in _TAGS]),
    st.sampled_from(
        [
            '<a href="/x?utm_source=1">',
            '<a href="javascript:alert(1)">',
            "<a href=http://[::1",
            '<time datetime="2024-02-30">',
            "Date de clôture :",
            "Lieu :",
            "Financeur(s)",
            "Clôturé",
            "31/02/2024",
            " | ",
            "\n",
            "<!--",
            "<![CDATA[",
            "&eacute;&#0;&#xD800;",
            '<div class="item">',
        ]
    ),
    st.text(max_size=20),
)
_RULE_SETS: list[dict[str, Any]] = [
    AFD_RULES,
    CSUD_RULES,
    RESEAU_RULES,
    {"item": "div.item", "link": "@href", "date": "time@datetime", "event": "label:Date"},
    {"item": "*", "title": "", "tags": "a", "kind": "label:Lieu", "extra": "span@class"},
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_html_bits, max_size=60), rules=st.sampled_from(_RULE_SETS))
def test_extract_listing_never_raises(parts: list[str], rules: dict[str, Any]) -> None:
    items = extract_listing("".join(parts), base_url="https://e.org/l", rules=rules, today=TODAY)
    for item in items:
        assert item.title or item.url
        assert item.url is None or item.url.startswith(("http://", "https://"))


def test_css_that_cannot_be_evaluated_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="Sélecteur CSS invalide « p::before »"):
        extract_listing(
            "<p>x</p>",
            base_url="https://x.example/",
            rules={"item": "p::before", "title": "a", "link": "a@href"},
            today=TODAY,
        )
