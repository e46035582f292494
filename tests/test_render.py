"""Rendering of e-mail editions: Jinja2 -> MJML -> HTML and the plain-text twin."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veille.digest.render import (
    UNSUBSCRIBE_PLACEHOLDER,
    EditionView,
    EntryView,
    RenderedEdition,
    SectionView,
    format_date_fr,
    format_deadline_fr,
    format_event_fr,
    http_url,
    personalise,
    render_confirmation,
    render_edition,
    templates_path,
)
from veille.errors import NotFound

PARIS = ZoneInfo("Europe/Paris")
BASE_URL = "https://veille.oc-cooperation.org"
TITLES = {
    "bloc-note": "Bloc note",
    "echos": "Les Échos du Réseau",
    "parcours": "Parcours",
    "rendez-vous": "Rendez-vous",
    "info-flash": "Info Flash",
}
SLUGS = tuple(TITLES)
# Parcours words its deadlines for applicants; every other bulletin says "Date limite :".
DEADLINE_LABEL = {slug: "Date limite :" for slug in SLUGS} | {"parcours": "Candidater avant le"}

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '" onclick="alert(1)',
    "' onmouseover='alert(1)",
    "</mj-text><mj-raw><script>alert(1)</script></mj-raw>",
)

CALL = EntryView(
    title="Appel à projets « Jeunesse VI » : mobilité internationale des jeunes",
    url="https://www.diplomatie.gouv.fr/fr/appel-jeunesse-vi?utm_source=veille&lang=fr",
    summary=(
        "Le ministère de l'Europe et des Affaires étrangères soutient les collectivités "
        "territoriales qui font partir des jeunes en mobilité internationale.\n\n"
        "Dépôt des dossiers sur la plateforme de la DAECT."
    ),
    kind="appel",
    deadline=datetime(2027, 3, 15, 18, 0, tzinfo=PARIS),  # with a time
    funder="MEAE — DAECT",
    sources=("MEAE", "Cités Unies France"),
)
CALL_NO_TIME = EntryView(
    title="Coopération internationale au développement : appel de la Région Occitanie",
    url="https://www.laregion.fr/cooperation-internationale",
    summary="Subvention forfaitaire plafonnée à 5 000 € par an, jusqu'à trois ans.",
    kind="appel",
    deadline=datetime(2027, 4, 1, 23, 59, tzinfo=PARIS),  # a date without a time
    funder="Région Occitanie",
    sources=("Région Occitanie",),
)
CLOSED_CALL = EntryView(
    title="Initiatives OSC 2027 (AFD)",
    url=None,  # no link: the title is shown without one
    summary="La première phase est close ; la suivante ouvrira à l'automne.",
    kind="appel",
    deadline=datetime(2027, 2, 1, 12, 0, tzinfo=PARIS),
    closed=True,
    sources=("AFD",),
)
NEWS = EntryView(
    title="Le pS-Eau publie son guide du « 1 % eau »",
    url="https://www.pseau.org/fr/1pourcent",
    summary="Un guide pratique pour les collectivités et les agences de l'eau.",
    kind="actualite",
    deadline=None,
)
OFFER = EntryView(
    title="Volontariat de solidarité internationale (VSI) à Dakar, Sénégal",
    url="https://www.france-volontaires.org/offres/vsi-dakar",
    summary="Accompagnement d'une coopérative de maraîchères à Thiès.",
    kind="offre",
    deadline=datetime(2027, 3, 15, 12, 0, tzinfo=PARIS),
    sources=("France Volontaires",),
)
EVENT = EntryView(
    title="Agora d'Occitanie Coopération 2027",
    url="https://www.oc-cooperation.org/agora-2027",
    summary="La rencontre annuelle du réseau : ateliers, témoignages et assemblée générale.",
    kind="evenement",
    deadline=datetime(2027, 3, 30, 23, 59, tzinfo=PARIS),
    event_start=datetime(2027, 4, 3, 9, 30, tzinfo=PARIS),
    event_end=datetime(2027, 4, 3, 17, 0, tzinfo=PARIS),
    event_place="Montpellier, Maison des relations internationales",
)
ENTRIES = (CALL, CALL_NO_TIME, CLOSED_CALL, NEWS, OFFER, EVENT)
LINKED = tuple(e for e in ENTRIES if e.url)

INTRO = (
    "Bonjour à toutes et à tous,\n\n"
    "Voici la sélection de la semaine : deux appels à projets\n"
    "et l'Agora du réseau à Montpellier.\n\n"
    "Bonne lecture !"
)


def edition(slug: str, **changes) -> EditionView:
    fields = dict(
        bulletin_slug=slug,
        bulletin_title=TITLES[slug],
        number=42,
        date=date(2027, 3, 4),
        subject=f"{TITLES[slug]} n° 42 — appels à projets et Agora 2027",
        intro=INTRO,
        sections=(
            SectionView("Appels à projets", (CALL, CALL_NO_TIME, CLOSED_CALL)),
            SectionView("Rien cette semaine", ()),
            SectionView("Actualités", (NEWS,)),
            SectionView("Offres", (OFFER,)),
            SectionView("Événements", (EVENT,)),
        ),
        base_url=BASE_URL,
    )
    fields.update(changes)
    return EditionView(**fields)


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def flat(text: str) -> str:
    """Whitespace (no-break spaces included) collapsed, for comparing running text."""
    return " ".join(text.split())


def body_text(tree: lxml.html.HtmlElement) -> str:
    return flat(tree.body.text_content())


def links(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Readable link text -> href."""
    return {flat(a.text_content()): a.get("href") for a in tree.iter("a") if a.get("href")}


def assert_no_markup_injected(tree: lxml.html.HtmlElement) -> None:
    assert not tree.xpath("//script"), "a <script> element was emitted"
    assert not tree.xpath("//img|//iframe|//object|//embed"), "an embedded element was emitted"
    for element in tree.iter():
        if not isinstance(element.tag, str):  # comments (MSO conditionals)
            continue
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        assert not handlers, f"event handler attribute on <{element.tag}>: {handlers}"
        for name in ("href", "src", "action"):
            value = (element.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), value


@pytest.fixture(scope="module")
def rendered() -> dict[str, RenderedEdition]:
    return {slug: render_edition(edition(slug)) for slug in SLUGS}


# --------------------------------------------------------------------------- HTML


@pytest.mark.parametrize("slug", SLUGS)
def test_html_edition_has_the_content(slug: str, rendered: dict[str, RenderedEdition]) -> None:
    result = rendered[slug]
    assert result.subject == edition(slug).subject
    assert result.html.startswith("<!doctype html>")
    tree = parse(result.html)
    assert tree.get("lang") == "fr"
    assert tree.findtext(".//title") == edition(slug).subject
    text = body_text(tree)

    assert "Occitanie Coopération" in text
    assert TITLES[slug] in text
    assert "N° 42 — 4 mars 2027" in text
    for entry in ENTRIES:
        assert flat(entry.title) in text
    label = DEADLINE_LABEL[slug]
    assert f"{label} 15 mars 2027 à 18h00" in text  # a deadline with a time
    assert f"{label} 1er avril 2027" in text  # 23:59: the date alone
    assert f"{label} 1er avril 2027 à" not in text
    assert "Clôturé" in text
    assert "Le 3 avril 2027 de 9h30 à 17h00" in text
    assert "Montpellier, Maison des relations internationales" in text
    if slug == "echos":  # member announcements: who proposes them
        assert "Proposé par : MEAE, Cités Unies France" in text
    else:
        assert "Sources : MEAE, Cités Unies France" in text
        assert "Source : AFD" in text
    assert "Occitanie Coopération — Ramonville-Saint-Agne (Toulouse) et Montpellier" in text

    # Every entry with a URL is a link whose readable text is its title.
    found = links(tree)
    for entry in LINKED:
        assert found[flat(entry.title)] == entry.url
    assert found["Voir ce numéro en ligne"] == f"{BASE_URL}/bulletins/{slug}/42"
    assert found["Se désabonner"] == UNSUBSCRIBE_PLACEHOLDER
    # An entry without URL: its title is shown but is no link.
    assert flat(CLOSED_CALL.title) not in found
    assert_no_markup_injected(tree)


@pytest.mark.parametrize("slug", SLUGS)
def test_intro_paragraphs_become_paragraphs(
    slug: str, rendered: dict[str, RenderedEdition]
) -> None:
    tree = parse(rendered[slug].html)
    paragraphs = [flat(p.text_content()) for p in tree.iter("p")]
    assert "Bonjour à toutes et à tous," in paragraphs
    assert "Bonne lecture !" in paragraphs
    second = next(p for p in tree.iter("p") if "sélection de la semaine" in p.text_content())
    assert len(second.findall("br")) == 1  # a single line break is kept inside its paragraph


@pytest.mark.parametrize("slug", SLUGS)
def test_empty_section_is_not_shown(slug: str, rendered: dict[str, RenderedEdition]) -> None:
    assert "Rien cette semaine" not in rendered[slug].html
    assert "RIEN CETTE SEMAINE" not in rendered[slug].text.upper()


@pytest.mark.parametrize("slug", ["bloc-note", "echos", "parcours", "rendez-vous"])
def test_section_headings(slug: str, rendered: dict[str, RenderedEdition]) -> None:
    tree = parse(rendered[slug].html)
    headings = [flat(h.text_content()) for h in tree.iter("h2")]
    assert headings == ["Appels à projets", "Actualités", "Offres", "Événements"]
    assert [flat(h.text_content()) for h in tree.iter("h1")] == [TITLES[slug]]


def heading_of(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement:
    return next(h for h in tree.iter("h3") if flat(h.text_content()).startswith(flat(title)))


def test_bloc_note_puts_a_calls_deadline_in_bold_under_its_title(
    rendered: dict[str, RenderedEdition],
) -> None:
    tree = parse(rendered["bloc-note"].html)
    under = heading_of(tree, CALL.title).getnext()
    assert flat(under.text_content()) == "Date limite : 15 mars 2027 à 18h00"
    assert "font-weight:bold" in under.get("style")
    # Not a call: the deadline comes after the summary.
    under_event = heading_of(tree, EVENT.title).getnext()
    assert "Date limite" not in under_event.text_content()


def test_parcours_says_when_to_apply(rendered: dict[str, RenderedEdition]) -> None:
    tree = parse(rendered["parcours"].html)
    under = heading_of(tree, OFFER.title).getnext()
    assert flat(under.text_content()) == "Candidater avant le 15 mars 2027 à 12h00"
    assert "Date limite" not in rendered["parcours"].html
    assert "Candidater avant le 15 mars 2027 à 12h00" in rendered["parcours"].text


def test_rendez_vous_puts_date_and_place_first(rendered: dict[str, RenderedEdition]) -> None:
    tree = parse(rendered["rendez-vous"].html)
    before = heading_of(tree, EVENT.title).getprevious()
    assert flat(" ".join(before.itertext())) == (
        "Le 3 avril 2027 de 9h30 à 17h00 Montpellier, Maison des relations internationales"
    )
    text = rendered["rendez-vous"].text
    assert text.index("Le 3 avril 2027 de 9h30 à 17h00") < text.index(EVENT.title)
    # Elsewhere the date comes after the title, and the place is labelled.
    other = rendered["echos"].text
    assert other.index(EVENT.title) < other.index("Le 3 avril 2027 de 9h30 à 17h00")
    assert "Lieu : Montpellier, Maison des relations internationales" in other


def test_echos_credits_the_member(rendered: dict[str, RenderedEdition]) -> None:
    assert "Proposé par : AFD" in body_text(parse(rendered["echos"].html))
    assert "Proposé par : AFD" in rendered["echos"].text


def test_info_flash_has_a_banner_and_no_section_headings(
    rendered: dict[str, RenderedEdition],
) -> None:
    tree = parse(rendered["info-flash"].html)
    banner = tree.xpath("//h1")[0]
    assert flat(banner.text_content()) == "Info Flash"
    # The banner sits on the accent color, written in white.
    assert "color:#ffffff" in banner.get("style")
    assert tree.xpath("//h1/ancestor::*[contains(@style, 'background')][1]")
    text = body_text(tree)
    for heading in ("Appels à projets", "Actualités", "Offres", "Événements"):
        assert heading not in text
    assert [flat(h.text_content()) for h in tree.iter("h2")] == [edition("info-flash").subject]
    assert "INFO FLASH" in rendered["info-flash"].text


def test_each_bulletin_has_its_own_accent(rendered: dict[str, RenderedEdition]) -> None:
    accents = {}
    for slug in SLUGS:
        tree = parse(rendered[slug].html)
        style = tree.xpath("//h3/following-sibling::p[1]|//h2")[0].get("style")
        accents[slug] = style.split("color:")[1].split(";")[0]
    assert len(set(accents.values())) == len(SLUGS), accents


# --------------------------------------------------------------------------- text twin


@pytest.mark.parametrize("slug", SLUGS)
def test_text_twin_has_the_same_content(slug: str, rendered: dict[str, RenderedEdition]) -> None:
    text = rendered[slug].text
    lines = text.splitlines()
    assert "OCCITANIE COOPÉRATION" in text
    for entry in ENTRIES:
        assert any(flat(entry.title) in line for line in lines), entry.title
    for entry in LINKED:
        assert entry.url in lines or f"  {entry.url}" in lines  # a URL on its own line
    label = DEADLINE_LABEL[slug]
    assert f"  {label} 15 mars 2027 à 18h00" in lines
    assert f"  {label} 1er avril 2027" in lines
    assert "Bonjour à toutes et à tous," in lines
    assert "Bonne lecture !" in lines
    assert "Voici la sélection de la semaine : deux appels à projets" in lines
    assert f"Se désabonner : {UNSUBSCRIBE_PLACEHOLDER}" in lines
    assert f"Voir ce numéro en ligne : {BASE_URL}/bulletins/{slug}/42" in lines
    assert "[Clôturé]" in text
    assert "Occitanie Coopération — Ramonville-Saint-Agne (Toulouse) et Montpellier" in lines
    assert "<" not in text.replace("<b>", "")  # no markup leaks into the text
    assert "&amp;" not in text and "&#" not in text  # nor HTML escaping
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in lines)
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_text_twin_wraps_prose_but_not_urls() -> None:
    long_url = "https://www.afd.fr/fr/" + "appel-a-projets-initiatives-osc-" * 4
    entry = EntryView(
        title="Un titre", url=long_url, summary="mot " * 60, kind="actualite", deadline=None
    )
    view = edition("bloc-note", sections=(SectionView("Actualités", (entry,)),))
    lines = render_edition(view).text.splitlines()
    assert f"  {long_url}" in lines
    summary = [line for line in lines if line.startswith("  mot")]
    assert len(summary) > 2 and all(len(line) <= 76 for line in summary)


# --------------------------------------------------------------------------- hostile input


def hostile_edition(slug: str, payload: str) -> EditionView:
    entry = EntryView(
        title=f"Titre {payload}",
        url=f"https://example.org/?q={payload}",
        summary=f"Résumé {payload}",
        kind="appel",
        deadline=datetime(2027, 3, 15, 18, 0, tzinfo=PARIS),
        event_start=datetime(2027, 4, 3, 9, 30, tzinfo=PARIS),
        event_place=f"Lieu {payload}",
        funder=f"Financeur {payload}",
        sources=(f"Source {payload}",),
    )
    return edition(
        slug,
        bulletin_title=f"{TITLES[slug]} {payload}",
        subject=f"Sujet {payload}",
        intro=f"Intro {payload}\n\nSuite {payload}",
        sections=(SectionView(f"Section {payload}", (entry,)),),
    )


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("slug", SLUGS)
def test_hostile_text_never_becomes_markup(slug: str, payload: str) -> None:
    result = render_edition(hostile_edition(slug, payload))
    tree = parse(result.html)
    assert_no_markup_injected(tree)
    text = body_text(tree)
    for label in ("Titre", "Résumé", "Intro", "Suite", "Lieu", "Financeur", "Source"):
        assert f"{label} {payload}" in text  # shown literally, as text
    if slug != "info-flash":
        assert f"Section {payload}" in text
    # The link keeps the URL as a value: quotes cannot close the attribute.
    url = f"https://example.org/?q={payload}".replace(" ", "%20")
    assert url in [a.get("href") for a in tree.iter("a")]
    assert tree.findtext(".//title") == f"Sujet {payload}"
    # The plain-text twin shows it literally too.
    assert f"Titre {payload}" in result.text
    assert f"Intro {payload}" in result.text


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
        min_size=1,
        max_size=80,
    ).filter(lambda s: s.strip())
)
def test_any_title_is_shown_as_text(title: str) -> None:
    entry = EntryView(
        title=title, url="https://example.org/", summary=title, kind="actualite", deadline=None
    )
    view = edition("bloc-note", intro=title, sections=(SectionView("Actualités", (entry,)),))
    result = render_edition(view)
    tree = parse(result.html)
    assert_no_markup_injected(tree)
    assert flat(tree.xpath("//h3")[0].text_content()) == flat(title)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example.org/path",
        "/bulletins/relative",
        "ftp://example.org/file",
        "https:///no-host",
        "",
    ],
)
def test_only_http_links_are_emitted(url: str) -> None:
    entry = EntryView(title="Lien douteux", url=url, summary="…", kind="appel", deadline=None)
    view = edition("bloc-note", sections=(SectionView("Appels à projets", (entry,)),))
    result = render_edition(view)
    tree = parse(result.html)
    assert_no_markup_injected(tree)
    assert "Lien douteux" in body_text(tree)
    assert "Lien douteux" not in links(tree)  # the title is shown without a link
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert hrefs == [f"{BASE_URL}/bulletins/bloc-note/42", UNSUBSCRIBE_PLACEHOLDER]
    if url.strip():
        assert url.strip() not in result.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.afd.fr/fr/appels", "https://www.afd.fr/fr/appels"),
        ("  HTTP://Example.org/a?b=1&c=2 ", "HTTP://Example.org/a?b=1&c=2"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        ("https://example.org/\nx", None),
        ("mailto:contact@oc-cooperation.org", None),
        (None, None),
    ],
)
def test_http_url(url: str | None, expected: str | None) -> None:
    assert http_url(url) == expected


def test_placeholder_in_content_is_not_personalised() -> None:
    entry = EntryView(
        title=f"Piège {UNSUBSCRIBE_PLACEHOLDER}",
        url=None,
        summary=UNSUBSCRIBE_PLACEHOLDER,
        kind="actualite",
        deadline=None,
    )
    view = edition("echos", sections=(SectionView("Actualités", (entry,)),))
    result = render_edition(view)
    assert result.html.count(UNSUBSCRIBE_PLACEHOLDER) == 1  # only the unsubscribe link
    assert result.text.count(UNSUBSCRIBE_PLACEHOLDER) == 1
    assert "Piège" in result.html


# --------------------------------------------------------------------------- personalise


@pytest.mark.parametrize("slug", SLUGS)
def test_personalise_replaces_every_placeholder(
    slug: str, rendered: dict[str, RenderedEdition]
) -> None:
    url = "https://veille.oc-cooperation.org/desabonnement/Zm9vYmFyLTEyMw_x-Y"
    for body in (rendered[slug].html, rendered[slug].text):
        assert UNSUBSCRIBE_PLACEHOLDER in body
        mine = personalise(body, url)
        assert UNSUBSCRIBE_PLACEHOLDER not in mine
        assert "%%" not in mine
        assert mine.count(url) == body.count(UNSUBSCRIBE_PLACEHOLDER)
    tree = parse(personalise(rendered[slug].html, url))
    assert links(tree)["Se désabonner"] == url
    assert f"Se désabonner : {url}" in personalise(rendered[slug].text, url).splitlines()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        'https://example.org/" onclick="alert(1)',
        "https://example.org/<script>",
        "https://example.org/a b",
        "",
    ],
)
def test_personalise_refuses_urls_that_would_need_escaping(url: str) -> None:
    with pytest.raises(ValueError):
        personalise(f"<a href='{UNSUBSCRIBE_PLACEHOLDER}'>x</a>", url)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2027, 1, 1), "1er janvier 2027"),
        (date(2027, 2, 2), "2 février 2027"),
        (date(2027, 3, 15), "15 mars 2027"),
        (date(2027, 4, 1), "1er avril 2027"),
        (date(2027, 5, 31), "31 mai 2027"),
        (date(2027, 6, 10), "10 juin 2027"),
        (date(2027, 7, 14), "14 juillet 2027"),
        (date(2027, 8, 15), "15 août 2027"),
        (date(2027, 9, 21), "21 septembre 2027"),
        (date(2027, 10, 11), "11 octobre 2027"),
        (date(2027, 11, 11), "11 novembre 2027"),
        (date(2027, 12, 31), "31 décembre 2027"),
        # Late evening UTC is already the next day in Paris (UTC+1 in winter, +2 in summer).
        (datetime(2027, 3, 15, 23, 30, tzinfo=UTC), "16 mars 2027"),
        (datetime(2027, 7, 31, 22, 30, tzinfo=UTC), "1er août 2027"),
        (datetime(2027, 12, 31, 23, 0, tzinfo=UTC), "1er janvier 2028"),
        (datetime(2027, 7, 31, 21, 59, tzinfo=UTC), "31 juillet 2027"),
        (datetime(2027, 3, 15, 8, 0, tzinfo=PARIS), "15 mars 2027"),
    ],
)
def test_format_date_fr(value: date | datetime, expected: str) -> None:
    assert format_date_fr(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2027, 3, 15, 17, 0, tzinfo=UTC), "15 mars 2027 à 18h00"),
        (datetime(2027, 3, 15, 22, 59, tzinfo=UTC), "15 mars 2027"),  # 23:59 in Paris
        (datetime(2027, 6, 30, 21, 59, 59, tzinfo=UTC), "30 juin 2027"),  # 23:59:59, summer
        (datetime(2027, 6, 30, 7, 30, tzinfo=UTC), "30 juin 2027 à 9h30"),
        (datetime(2027, 3, 31, 22, 0, tzinfo=UTC), "1er avril 2027 à 0h00"),
    ],
)
def test_format_deadline_fr(value: datetime, expected: str) -> None:
    assert format_deadline_fr(value) == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        format_date_fr(datetime(2027, 3, 15, 12, 0))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(2027, 4, 3, 9, 30), None, "Le 3 avril 2027 à 9h30"),
        (at(2027, 4, 3, 9, 30), at(2027, 4, 3, 17, 0), "Le 3 avril 2027 de 9h30 à 17h00"),
        (at(2027, 4, 3, 0, 0), None, "Le 3 avril 2027"),
        (at(2027, 4, 3, 0, 0), at(2027, 4, 4, 0, 0), "Le 3 avril 2027"),  # exclusive end
        (at(2027, 4, 1, 0, 0), at(2027, 4, 3, 23, 59), "Du 1er au 3 avril 2027"),
        (at(2027, 3, 30, 0, 0), at(2027, 4, 2, 0, 0), "Du 30 mars 2027 au 1er avril 2027"),
        (
            at(2027, 4, 3, 14, 0),
            at(2027, 4, 4, 12, 0),
            "Du 3 avril 2027 à 14h00 au 4 avril 2027 à 12h00",
        ),
        (at(2027, 4, 3, 14, 0), at(2027, 4, 3, 10, 0), "Le 3 avril 2027 à 14h00"),  # end < start
        (datetime(2027, 10, 5, 16, 0, tzinfo=UTC), None, "Le 5 octobre 2027 à 18h00"),
        (None, None, ""),
    ],
)
def test_format_event_fr(start: datetime | None, end: datetime | None, expected: str) -> None:
    assert format_event_fr(start, end) == expected


# --------------------------------------------------------------------------- confirmation


def test_render_confirmation() -> None:
    url = "https://veille.oc-cooperation.org/confirmation/abc123?b=1&c=2"
    result = render_confirmation("Aminata Diallo", url, ["Bloc note", "Les Échos du Réseau"])
    assert isinstance(result, RenderedEdition)
    assert "Confirmez" in result.subject
    tree = parse(result.html)
    assert tree.get("lang") == "fr"
    assert_no_markup_injected(tree)
    text = body_text(tree)
    assert "Bonjour Aminata Diallo," in text
    assert [flat(li.text_content()) for li in tree.iter("li")] == [
        "Bloc note",
        "Les Échos du Réseau",
    ]
    found = links(tree)
    assert found["Confirmer mon inscription"] == url
    assert found[url] == url  # the address, readable, for those whose button does not work
    assert "Occitanie Coopération — Ramonville-Saint-Agne (Toulouse) et Montpellier" in text
    assert UNSUBSCRIBE_PLACEHOLDER not in result.html  # not subscribed yet
    lines = result.text.splitlines()
    assert "Bonjour Aminata Diallo," in lines
    assert "* Bloc note" in lines and "* Les Échos du Réseau" in lines
    assert url in lines


def test_render_confirmation_escapes_and_refuses_bad_urls() -> None:
    result = render_confirmation(
        "<script>alert(1)</script>", "https://example.org/c/1", ["<img src=x onerror=alert(1)>"]
    )
    tree = parse(result.html)
    assert_no_markup_injected(tree)
    assert "Bonjour <script>alert(1)</script>," in body_text(tree)
    assert "Bonjour," in render_confirmation("", "https://example.org/c/1", ["Parcours"]).text
    with pytest.raises(ValueError):
        render_confirmation("X", "javascript:alert(1)", ["Parcours"])


# --------------------------------------------------------------------------- templates


def test_templates_path_holds_every_template() -> None:
    folder = templates_path()
    for slug in (*SLUGS, "confirmation", "base"):
        assert (folder / f"{slug}.mjml").is_file()
        assert (folder / f"{slug}.txt").is_file()


def test_templates_dir_can_be_overridden(tmp_path: Path) -> None:
    folder = tmp_path / "emails"
    shutil.copytree(templates_path(), folder)
    (folder / "echos.txt").write_text(
        '{% extends "base.txt" %}\n{% block intro %}Édition spéciale\n{% endblock %}\n'
    )
    result = render_edition(edition("echos"), templates_dir=folder)
    assert result.text.splitlines()[4] == "Édition spéciale"
    assert "Bonjour à toutes et à tous," not in result.text
    assert "Bonjour à toutes et à tous," in result.html


def test_unknown_bulletin_is_reported() -> None:
    with pytest.raises(NotFound, match="inconnu|introuvable"):
        render_edition(edition("echos", bulletin_slug="gazette"))


def test_edition_without_entries_or_intro_still_renders() -> None:
    view = edition("bloc-note", intro="  \n\n ", sections=(SectionView("Vide", ()),))
    result = render_edition(view)
    tree = parse(result.html)
    assert "Vide" not in body_text(tree)
    assert links(tree)["Se désabonner"] == UNSUBSCRIBE_PLACEHOLDER
    assert UNSUBSCRIBE_PLACEHOLDER in result.text
