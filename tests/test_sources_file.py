"""The sources file: errors name the file, the source and the field, in French."""

from __future__ import annotations

from pathlib import Path

import pytest

from veille.errors import SourcesFileError
from veille.sources.exchange import parse_opml
from veille.sources.spec import load_sources, parse_duration

GOOD = """
[[source]]
slug = "afd-appels"
name = "AFD — appels à projets"
kind = "html"
url = "https://www.afd.fr/fr/appels-a-projets"
bulletin = "bloc-note"
tags = ["financement"]
every = "6h"
[source.select]
item = "article.card"
title = "h3"
link = "a@href"
deadline = "label:Date de clôture"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads(tmp_path: Path) -> None:
    [spec] = load_sources(write(tmp_path, GOOD))
    assert spec.slug == "afd-appels" and spec.every == 6 * 3600
    assert spec.rules()["select"]["deadline"] == "label:Date de clôture"


@pytest.mark.parametrize(
    ("change", "source", "field", "message"),
    [
        (('kind = "html"', 'kind = "ftp"'), "afd-appels", "kind", "Input should be"),
        (
            ('bulletin = "bloc-note"', 'bulletin = "gazette"'),
            "afd-appels",
            "bulletin",
            "bulletin inconnu « gazette »",
        ),
        (('every = "6h"', 'every = "souvent"'), "afd-appels", "every", "durée illisible"),
        (
            ('url = "https://www.afd.fr/fr/appels-a-projets"', 'url = "www.afd.fr"'),
            "afd-appels",
            "url",
            "doit commencer par http",
        ),
        (
            ('name = "AFD — appels à projets"\n', ""),
            "afd-appels",
            "name",
            "champ obligatoire manquant",
        ),
        (('item = "article.card"\n', ""), "afd-appels", "?", "[source.select] avec item"),
        (
            ('tags = ["financement"]', 'tags = ["financement"]\ncolour = "red"'),
            "afd-appels",
            "colour",
            "champ inconnu",
        ),
    ],
)
def test_errors_name_the_file_the_source_and_the_field(
    tmp_path: Path, change: tuple[str, str], source: str, field: str, message: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(SourcesFileError) as caught:
        load_sources(path)
    error = caught.value
    assert error.path == str(path) and error.source == source
    text = str(error)
    assert str(path) in text and f"source « {source} »" in text and message in text
    if field != "?":
        assert error.field == field and f"champ « {field} »" in text


def test_broken_toml_and_duplicates_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError, match="TOML invalide"):
        load_sources(write(tmp_path, GOOD + "\n[[source]\n"))
    with pytest.raises(SourcesFileError, match="identifiant en double"):
        load_sources(write(tmp_path, GOOD + GOOD))
    with pytest.raises(SourcesFileError, match="fichier introuvable"):
        load_sources(tmp_path / "absent.toml")


def test_durations() -> None:
    assert [parse_duration(x) for x in ("30m", "6h", "1d", "2j", "45s")] == [
        1800,
        21600,
        86400,
        172800,
        45,
    ]


def test_opml_round_trip_keeps_feeds_and_bulletins(tmp_path: Path) -> None:
    opml = tmp_path / "flux.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
        <outline text="Parcours"><outline text="Coordination SUD — offres" type="rss"
          xmlUrl="https://www.coordinationsud.org/?post_type=job_listing&amp;feed=rss2"/></outline>
        <outline text="France Diplomatie" type="rss" category="bloc-note"
          xmlUrl="https://www.diplomatie.gouv.fr/spip.php?page=backend-fd"/>
        </body></opml>""",
        encoding="utf-8",
    )
    specs = parse_opml(opml)
    assert [(s.slug, s.bulletin) for s in specs] == [
        ("coordination-sud-offres", "parcours"),
        ("france-diplomatie", "bloc-note"),
    ]
    with pytest.raises(SourcesFileError, match="OPML illisible"):
        bad = tmp_path / "bad.opml"
        bad.write_text("<opml><body>", encoding="utf-8")
        parse_opml(bad)
