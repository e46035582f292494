"""A collection cycle over real loopback sources: a broken source never stops the others,
and every outcome shows in the source's health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import Database
from tests.loopback import LoopbackServer
from veille.config import Settings
from veille.models import Item, Source
from veille.sources import offload
from veille.sources.collect import check_source, claim_sources, collect, sync_sources
from veille.sources.health import LAYOUT_CHANGED, record_success, status_label
from veille.sources.spec import SourceSpec

FEED = (Path(__file__).parent / "fixtures" / "feeds" / "bloc-note.xml").read_bytes()
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def spec(slug: str, url: str, kind: str = "rss") -> SourceSpec:
    return SourceSpec(slug=slug, name=slug, kind=kind, url=url, bulletin="bloc-note", every="6h")


def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, fetch_per_host=4)


def setup_sources(db: Database, server: LoopbackServer) -> None:
    server.add("/ok.xml", FEED, content_type="application/rss+xml", etag='"v1"')
    server.add_status("/missing.xml", 404)
    server.add("/page.html", "<html><body><h1>Bienvenue</h1></body></html>")
    server.add_status("/broken.xml", 500)
    specs = [
        spec("ok", server.url("/ok.xml")),
        spec("missing", server.url("/missing.xml")),
        spec("html-instead", server.url("/page.html")),
        spec("broken", server.url("/broken.xml")),
        spec("refused", "http://127.0.0.1:9/feed.xml"),
    ]
    with db.sessions.begin() as session:
        sync_sources(session, specs)


def test_a_broken_source_never_stops_the_others(db: Database, http_server: LoopbackServer) -> None:
    setup_sources(db, http_server)
    reports = {r.slug: r for r in collect(db.sessions, settings(db), now=NOW)}
    assert set(reports) == {"ok", "missing", "html-instead", "broken", "refused"}
    assert reports["ok"].ok and reports["ok"].new == 3
    assert http_server.count("/broken.xml") == 3  # retried twice, then given up
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 3
        sources = {s.slug: s for s in session.scalars(select(Source))}
        ok = sources["ok"]
        assert ok.last_success_at is not None and ok.consecutive_failures == 0
        assert ok.items_last_seen == 3 and status_label(ok) == "ok"
        assert ok.next_fetch_at > ok.last_success_at + timedelta(hours=5)
        for slug, words in [
            ("missing", "404"),
            ("html-instead", "pas un flux"),
            ("broken", "500"),
            ("refused", "joindre"),
        ]:
            source = sources[slug]
            assert words in (source.last_error or ""), (slug, source.last_error)
            assert source.consecutive_failures == 1 and source.last_success_at is None
            assert status_label(source) == "en échec (1)"
            # backed off: later than a healthy source's next fetch, never dropped
            assert source.next_fetch_at > source.last_attempt_at + timedelta(hours=10)


def test_failures_back_off_and_nothing_is_due_twice(
    db: Database, http_server: LoopbackServer
) -> None:
    setup_sources(db, http_server)
    collect(db.sessions, settings(db), now=NOW)
    assert collect(db.sessions, settings(db), now=NOW + timedelta(minutes=1)) == []
    later = NOW + timedelta(days=30)
    reports = {r.slug: r for r in collect(db.sessions, settings(db), now=later)}
    assert reports["ok"].not_modified  # conditional GET answered 304
    with db.session() as session:
        broken = session.scalar(select(Source).where(Source.slug == "broken"))
        assert broken.consecutive_failures == 2
        ok = session.scalar(select(Source).where(Source.slug == "ok"))
        assert ok.items_last_seen == 3  # a 304 keeps the last count
    assert any(r.headers.get("if-none-match") == '"v1"' for r in http_server.requests)


def test_two_workers_never_claim_the_same_source(db: Database, http_server: LoopbackServer) -> None:
    setup_sources(db, http_server)
    with db.session() as first, db.session() as second:
        a = claim_sources(first, now=NOW)
        b = claim_sources(second, now=NOW)
    assert len(a) == 5 and b == []


def test_check_shows_what_a_source_would_yield_without_storing(
    db: Database, http_server: LoopbackServer
) -> None:
    setup_sources(db, http_server)
    harvest = check_source(db.sessions, settings(db), "ok", now=NOW)
    assert len(harvest.items) == 3
    assert harvest.items[0].deadline is not None
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 0
        assert session.scalar(select(Source).where(Source.slug == "ok")).last_attempt_at is None


def test_a_page_that_stops_yielding_items_is_flagged() -> None:
    source = Source(
        slug="afd",
        name="AFD",
        kind="html",
        url="https://x",
        every_seconds=3600,
        enabled=True,
        consecutive_failures=0,
        items_last_seen=None,
    )
    record_success(source, now=NOW, items_seen=12)
    assert source.warning is None
    record_success(source, now=NOW, items_seen=0)
    assert source.warning == LAYOUT_CHANGED and status_label(source) == "à vérifier"
    record_success(source, now=NOW, items_seen=None)  # a 304 keeps the flag
    assert source.warning == LAYOUT_CHANGED
    record_success(source, now=NOW, items_seen=9)
    assert source.warning is None


def test_server_hints_and_retry_after_are_respected(
    db: Database, http_server: LoopbackServer
) -> None:
    http_server.add(
        "/slow-down.xml",
        FEED,
        content_type="application/rss+xml",
        headers={"Cache-Control": "max-age=86400"},
    )
    http_server.add_status("/busy.xml", 429, headers={"Retry-After": "7200"})
    with db.sessions.begin() as session:
        sync_sources(
            session,
            [
                spec("hinted", http_server.url("/slow-down.xml")),
                spec("busy", http_server.url("/busy.xml")),
            ],
        )
    collect(db.sessions, settings(db), now=NOW)
    with db.session() as session:
        rows = {s.slug: s for s in session.scalars(select(Source))}
        hinted, busy = rows["hinted"], rows["busy"]
        assert hinted.next_fetch_at - hinted.last_success_at >= timedelta(hours=21)
        assert busy.next_fetch_at - busy.last_attempt_at >= timedelta(seconds=7200)
        assert http_server.count("/busy.xml") == 1  # a long Retry-After is not waited for


LISTING = """<html><body>
<article class="card"><h3><a href="/appel/a">Appel A</a></h3></article>
<article class="card"><h3><a href="/appel/b">Appel B</a></h3></article>
<article class="card"><h3><a href="/appel/c">Appel C</a></h3></article>
</body></html>"""


def detail(name: str) -> str:
    return (
        f"<html><body><main><h1>Appel {name}</h1><p>Date de clôture : 15 mars 2099</p>"
        "</main></body></html>"
    )


def test_detail_pages_over_the_cap_are_read_at_later_runs(
    db: Database, http_server: LoopbackServer
) -> None:
    http_server.add("/appels", LISTING)
    for name in "abc":
        http_server.add(f"/appel/{name}", detail(name.upper()))
    html_spec = SourceSpec.model_validate(
        {
            "slug": "reseau",
            "name": "Réseau",
            "kind": "html",
            "url": http_server.url("/appels"),
            "max_follow": 2,
            "select": {"item": "article.card", "title": "h3", "link": "a@href", "follow": True},
            "detail": {"deadline": "label:Date de clôture"},
        }
    )
    with db.sessions.begin() as session:
        sync_sources(session, [html_spec])
    collect(db.sessions, settings(db), now=NOW)
    assert sum(http_server.count(f"/appel/{n}") for n in "abc") == 2
    collect(db.sessions, settings(db), slugs=["reseau"], now=NOW + timedelta(days=1))
    assert [http_server.count(f"/appel/{n}") for n in "abc"] == [1, 1, 1]  # each read once
    with db.session() as session:
        deadlines = session.scalars(select(Item.deadline)).all()
        assert len(deadlines) == 3 and all(d is not None for d in deadlines)


def test_a_big_cycle_parses_in_worker_processes_with_the_same_result(
    db: Database, http_server: LoopbackServer
) -> None:
    sources = offload.MIN_SOURCES_FOR_POOL + 1
    assert offload.pool_size(sources) >= 2  # the machines have two cores
    for n in range(sources):
        # Distinct calls (a number of their own), or dedupe would rightly merge them.
        feed = (
            FEED.replace(b"meae-", f"s{n}-".encode())
            .replace(b"/fr/", f"/fr/{n}/".encode())
            .replace(b"</title>", f" n{n} {n}</title>".encode())
        )
        http_server.add(f"/feed{n}.xml", feed, content_type="application/rss+xml")
    with db.sessions.begin() as session:
        sync_sources(
            session, [spec(f"s{n}", http_server.url(f"/feed{n}.xml")) for n in range(sources)]
        )
    reports = collect(db.sessions, settings(db), now=NOW)
    assert len(reports) == sources and all(r.ok and r.new == 3 for r in reports)
    with db.session() as session:
        deadlines = session.scalars(select(Item.deadline).where(Item.deadline.is_not(None)))
        assert len(deadlines.all()) == sources  # one dated call per feed, parsed in a worker
