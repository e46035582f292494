"""RSS 0.9x/1.0/2.0, Atom and JSON Feed into normalised items; ill-formed feeds kept."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veille.sources.rss import FeedError, parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
TODAY = date(2026, 11, 20)
PARIS = ZoneInfo("Europe/Paris")


def test_rss2_with_hostile_markup_and_tracking_links() -> None:
    feed = parse_feed((FEEDS / "bloc-note.xml").read_bytes(), url="https://x/", today=TODAY)
    assert feed.problem is None and len(feed.items) == 3
    call, news, _ = feed.items
    assert call.url == "https://www.diplomatie.gouv.fr/fr/aap-jeunesse-vi"
    assert call.guid == "meae-aap-jeunesse-vi"
    assert call.deadline == datetime(2099, 3, 15, 23, 59, tzinfo=PARIS)
    assert call.published_at is not None and call.published_at.year == 2026
    assert "<" not in news.summary and "onclick" not in news.body and "onerror" not in news.body
    assert news.title == "La CNCD se réunit en séance plénière"  # the script never survives


def test_rss1_rdf() -> None:
    [item] = parse_feed(
        (FEEDS / "rss1.rdf").read_bytes(), url="https://www.pseau.org/", today=TODAY
    ).items
    assert item.title.startswith("Appel à projets 1 % eau")
    assert item.deadline == datetime(2027, 4, 30, 23, 59, tzinfo=PARIS)


def test_an_ill_formed_feed_keeps_what_is_readable_and_says_so() -> None:
    feed = parse_feed((FEEDS / "bozo.xml").read_bytes(), url="https://x/", today=TODAY)
    assert [i.title for i in feed.items] == [
        "Rencontre Afrique & collectivités",
        "Fonds de soutien Liban",
    ]
    assert feed.problem is not None and feed.problem.startswith("Flux mal formé")
    assert feed.items[1].deadline == datetime(2027, 2, 1, 23, 59, tzinfo=PARIS)


def test_a_latin1_feed_declared_utf8_is_repaired() -> None:
    feed = parse_feed(
        (FEEDS / "latin1-declared-utf8.xml").read_bytes(),
        url="https://x/",
        today=TODAY,
        charset="utf-8",
    )
    [item] = feed.items
    assert item.title == "Programme JSI : dépôt des dossiers"
    assert item.deadline == datetime(2027, 1, 15, 23, 59, tzinfo=PARIS)


def test_json_feed() -> None:
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Membres",
        "items": [
            {
                "id": "1",
                "url": "/actualite/chantier?utm_source=nl",
                "title": "Chantier solidaire",
                "content_html": "<p>Au Sénégal</p><script>alert(1)</script>",
                "date_published": "2026-11-10T09:00:00Z",
            }
        ],
    }
    [item] = parse_feed(
        json.dumps(data).encode(), url="https://www.oc-cooperation.org/", today=TODAY
    ).items
    assert item.url == "https://www.oc-cooperation.org/actualite/chantier"
    assert item.summary == "Au Sénégal" and "script" not in item.body
    assert item.published_at == datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    "content",
    [
        b"<html><head><title>Erreur</title></head><body><p>Maintenance</p></body></html>",
        b"",
        b"\x00\xff\xfe garbage",
    ],
)
def test_what_is_not_a_feed_is_a_clear_error(content: bytes) -> None:
    with pytest.raises(FeedError, match="n'est pas un flux RSS/Atom lisible"):
        parse_feed(content, url="https://x/", today=TODAY)


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=2000)
    | st.text(max_size=2000).map(
        lambda t: (
            "<?xml version='1.0'?><rss version='2.0'><channel><item><title>"
            + t
            + "</title><description>"
            + t
            + "</description></item></channel></rss>"
        ).encode()
    )
)
def test_no_input_crashes_the_feed_parser(content: bytes) -> None:
    try:
        feed = parse_feed(content, url="https://x/", today=TODAY)
    except FeedError:
        return
    for item in feed.items:
        assert isinstance(item.title, str)
