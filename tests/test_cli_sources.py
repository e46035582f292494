"""`veille sources ...`: health table, checking a source live, import and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run
from tests.loopback import LoopbackServer
from veille.config import get_settings
from veille.sources.spec import load_sources

FEED = (Path(__file__).parent / "fixtures" / "feeds" / "bloc-note.xml").read_bytes()


def use_sources(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("VEILLE_SOURCES", str(path))
    get_settings.cache_clear()


def test_list_check_import_export(
    veille_env: Path,
    http_server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.add("/feed.xml", FEED, content_type="application/rss+xml")
    use_sources(
        monkeypatch,
        veille_env / "sources.toml",
        f"""
[[source]]
slug = "meae"
name = "France Diplomatie"
kind = "rss"
url = "{http_server.url("/feed.xml")}"
bulletin = "bloc-note"
""",
    )
    assert run(capsys, "init")[0] == 0

    code, out, err = run(capsys, "sources", "check", "meae")
    assert code == 0, err
    assert "3 élément(s) extrait(s) de meae" in out and "15/03/2099" in out
    code, out, _ = run(capsys, "items", "list", "--json")
    assert json.loads(out) == []  # check stores nothing

    opml = veille_env / "flux.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="Rendez-vous">'
        '<outline text="Agenda pS-Eau" type="rss" xmlUrl="https://www.pseau.org/'
        'spip.php?page=backend"/></outline></body></opml>',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "sources", "import", str(opml))
    assert code == 0 and "1 source(s) importée(s)" in out

    assert run(capsys, "fetch", "--source", "meae")[0] == 0
    code, out, _ = run(capsys, "sources", "list", "--json")
    rows = {r["slug"]: r for r in json.loads(out)}
    assert rows["meae"]["status"] == "ok" and rows["meae"]["items_last_seen"] == 3
    assert rows["agenda-ps-eau"]["status"] == "jamais collectée"
    assert rows["agenda-ps-eau"]["bulletin"] == "rendez-vous"
    code, out, _ = run(capsys, "sources", "list")
    assert "meae" in out and "agenda-ps-eau" in out

    exported = veille_env / "export.toml"
    assert run(capsys, "sources", "export", str(exported))[0] == 0
    assert {s.slug for s in load_sources(exported)} == {"meae", "agenda-ps-eau"}
    code, out, _ = run(capsys, "sources", "export", str(veille_env / "export.opml"))
    assert code == 0 and "2 flux exporté(s)" in out
    code, _, err = run(capsys, "sources", "export", str(veille_env / "export.csv"))
    assert code == 1 and "attendu .toml ou .opml" in err


def test_a_bad_sources_file_is_one_clear_line(
    veille_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = veille_env / "sources.toml"
    use_sources(
        monkeypatch,
        path,
        '[[source]]\nslug = "afd"\nname = "AFD"\nkind = "rss"\n'
        'url = "https://www.afd.fr/rss"\nbulletin = "gazette"\n',
    )
    assert run(capsys, "init")[0] == 0
    code, out, err = run(capsys, "fetch")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert f"{path}, source « afd », champ « bulletin » : bulletin inconnu « gazette »" in err
    code, _, err = run(capsys, "sources", "check", "inconnue")
    assert code == 1


def test_check_reports_a_broken_source_plainly(
    veille_env: Path,
    http_server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.add_status("/gone.xml", 404)
    use_sources(
        monkeypatch,
        veille_env / "sources.toml",
        f'[[source]]\nslug = "gone"\nname = "Partie"\nkind = "rss"\n'
        f'url = "{http_server.url("/gone.xml")}"\n',
    )
    assert run(capsys, "init")[0] == 0
    code, _, err = run(capsys, "sources", "check", "gone")
    assert code == 1 and "404" in err and "Traceback" not in err


def test_fetch_json_and_splitting_a_wrong_merge(
    veille_env: Path,
    http_server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.add("/a.xml", FEED, content_type="application/rss+xml")
    # A second site relays the call under another address and a longer title.
    relay = (
        FEED.replace(b"https://www.diplomatie.gouv.fr/fr/", b"https://relais.example/")
        .replace(b"meae-", b"relais-")
        .replace(b"collectivit\xc3\xa9s</title>", b"collectivit\xc3\xa9s (relais)</title>")
    )
    http_server.add("/b.xml", relay, content_type="application/rss+xml")
    use_sources(
        monkeypatch,
        veille_env / "sources.toml",
        "".join(
            f'[[source]]\nslug = "{slug}"\nname = "{slug}"\nkind = "rss"\n'
            f'url = "{http_server.url(path)}"\n\n'
            for slug, path in (("a", "/a.xml"), ("b", "/b.xml"))
        ),
    )
    assert run(capsys, "init")[0] == 0
    code, out, _ = run(capsys, "fetch", "--source", "a", "--json")
    assert code == 0 and json.loads(out)[0] == {
        "slug": "a",
        "ok": True,
        "new": 3,
        "updated": 0,
        "seen": 3,
        "not_modified": False,
        "message": None,
    }
    run(capsys, "fetch", "--source", "b")
    items = json.loads(run(capsys, "items", "list", "--json")[1])
    call = next(i for i in items if "Jeunesse VI" in i["title"])
    assert [s["source"] for s in call["sightings"]] == ["a", "b"]

    code, out, _ = run(capsys, "items", "split", str(call["id"]), "--source", "b")
    assert code == 0
    new_id = int(out.strip())
    items = {i["id"]: i for i in json.loads(run(capsys, "items", "list", "--json")[1])}
    assert [s["source"] for s in items[call["id"]]["sightings"]] == ["a"]
    assert [s["source"] for s in items[new_id]["sightings"]] == ["b"]
    code, _, err = run(capsys, "items", "split", str(call["id"]), "--source", "b")
    assert code == 1 and "n'a pas été vu dans la source « b »" in err
