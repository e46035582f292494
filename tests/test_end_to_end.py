"""One edition end to end, through the `veille` command as staff run it:
a recorded feed on a loopback HTTP server -> fetch -> accept -> draft -> approve -> render
-> send to a real SMTP server on loopback; a second send delivers nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest

from tests.conftest import SmtpSink, run
from tests.loopback import LoopbackServer
from veille.config import get_settings

FIXTURES = Path(__file__).parent / "fixtures"


def write_sources(path: Path, url: str) -> Path:
    path.write_text(
        f"""
[[source]]
slug = "meae-actualites"
name = "France Diplomatie — actualités"
kind = "rss"
url = "{url}"
bulletin = "bloc-note"
tags = ["coopération décentralisée"]
every = "6h"
""",
        encoding="utf-8",
    )
    return path


def test_one_edition_from_feed_to_inboxes(
    veille_env: Path,
    http_server: LoopbackServer,
    smtp_server: SmtpSink,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.add_file(
        "/spip.php?page=backend",
        FIXTURES / "feeds" / "bloc-note.xml",
        "application/rss+xml; charset=utf-8",
    )
    sources = write_sources(veille_env / "sources.toml", http_server.url("/spip.php?page=backend"))
    monkeypatch.setenv("VEILLE_SOURCES", str(sources))
    monkeypatch.setenv("VEILLE_SMTP_URL", smtp_server.url)
    get_settings.cache_clear()
    subscribers = veille_env / "abonnes.csv"
    subscribers.write_text(
        "email,name,organisation,bulletins\n"
        "claire@example.org,Claire Martin,Eau Vive,bloc-note;echos\n"
        "karim@example.org,Karim Benali,Mairie de Ramonville,bloc-note\n"
        "lea@example.org,Léa Dupont,Université,parcours\n",
        encoding="utf-8",
    )

    assert run(capsys, "init")[0] == 0
    assert run(capsys, "subscribers", "import", str(subscribers))[0] == 0
    code, out, err = run(capsys, "fetch")
    assert code == 0, err
    assert "3 lus, 3 nouveaux" in out

    code, out, _ = run(capsys, "items", "list", "--json")
    items = json.loads(out)
    assert len(items) == 3
    by_title = {i["title"]: i for i in items}
    call = by_title["Appel à projets « Jeunesse VI » pour l'action extérieure des collectivités"]
    assert call["deadline"].startswith("2099-03-15")
    assert call["url"] == "https://www.diplomatie.gouv.fr/fr/aap-jeunesse-vi"  # tracking cleaned
    assert (
        call["kind"] == "appel" and call["status"] == "new" and call["source"] == "meae-actualites"
    )
    assert call["tags"] == ["coopération décentralisée"]
    assert call["deadline_source"] == "meae-actualites"
    news = next(i for i in items if "CNCD" in i["title"])
    assert "<" not in news["summary"]  # plain text, no markup

    assert (
        run(
            capsys,
            "items",
            "accept",
            str(call["id"]),
            str(news["id"]),
            "--bulletin",
            "bloc-note",
            "--by",
            "Marie",
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "edition", "draft", "bloc-note")
    assert code == 0
    edition_id = out.strip()
    assert edition_id.isdigit()

    code, out, err = run(capsys, "edition", "send", edition_id)
    assert code == 1 and "doit être approuvé" in err and "Traceback" not in err
    assert smtp_server.messages == []

    assert run(capsys, "edition", "approve", edition_id, "--by", "Marie")[0] == 0
    code, html, _ = run(capsys, "edition", "render", edition_id, "--format", "html")
    assert code == 0 and "Jeunesse VI" in html
    code, text, _ = run(capsys, "edition", "render", edition_id, "--format", "text")
    assert "Date limite : 15 mars 2099" in text

    code, out, err = run(capsys, "edition", "send", edition_id)
    assert code == 0, err
    received = {str(m["To"]): m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 2  # Léa chose Parcours only
    assert set(received) == {
        "Claire Martin <claire@example.org>",
        "Karim Benali <karim@example.org>",
    }
    unsubscribe_urls = set()
    for msg in smtp_server.messages:
        assert msg["Subject"].startswith("Bloc note n° 1")
        html_part = msg.get_body(("html",)).get_content()
        text_part = msg.get_body(("plain",)).get_content()
        assert "Jeunesse VI" in html_part and "Jeunesse VI" in text_part
        header = msg["List-Unsubscribe"]
        url = header.strip("<>")
        assert url.startswith("https://veille.example.org/desabonnement/")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url in text_part
        tree = lxml.html.fromstring(html_part)
        assert url in tree.xpath("//a/@href")
        assert not tree.xpath("//script") and "alert(1)" not in html_part.replace(
            "&lt;script&gt;alert(1)&lt;/script&gt;", ""
        )
        unsubscribe_urls.add(url)
    assert len(unsubscribe_urls) == 2  # each subscriber has their own link

    code, out, _ = run(capsys, "edition", "send", edition_id, "--json")
    assert code == 0
    again = json.loads(out)
    assert again["sent"] == 0 and again["already_sent"] == 2
    assert len(smtp_server.messages) == 2  # nothing sent twice


def test_unknown_ids_give_one_line_errors(
    veille_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init")[0] == 0
    cases = [
        (("items", "accept", "999", "--bulletin", "bloc-note"), "Élément introuvable : n° 999"),
        (("edition", "draft", "gazette"), "Bulletin inconnu : « gazette »"),
        (("edition", "approve", "42"), "Numéro introuvable : n° 42"),
        (("edition", "render", "42"), "Numéro introuvable : n° 42"),
        (("edition", "send", "42"), "Numéro introuvable : n° 42"),
        (("items", "list", "--bulletin", "gazette"), "Bulletin inconnu"),
    ]
    for args, expected in cases:
        code, out, err = run(capsys, *args)
        assert code != 0, args
        assert expected in err, (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_commands_before_init_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        code, _, err = run(capsys, "items", "list")
    finally:
        get_settings.cache_clear()
    assert code == 1 and "lancez « veille init »" in err
