"""The scheduler's tick collects what is due, through the same core as `veille fetch`."""

from __future__ import annotations

from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from scheduler import build_scheduler, collect_due
from tests.conftest import Database
from tests.loopback import LoopbackServer
from veille.config import Settings
from veille.models import Item

FEED = (Path(__file__).parent / "fixtures" / "feeds" / "bloc-note.xml").read_bytes()


def test_a_tick_collects_due_sources_once(
    db: Database, http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.add("/feed.xml", FEED, content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nslug = "meae"\nname = "MEAE"\nkind = "rss"\n'
        f'url = "{http_server.url("/feed.xml")}"\n',
        encoding="utf-8",
    )
    settings = Settings(database_url=db.url, sources=sources)
    assert [r.new for r in collect_due(settings)] == [3]
    assert collect_due(settings) == []  # not due again before its pace
    assert http_server.count("/feed.xml") == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 3


def test_the_collect_job_is_registered_without_overlap(db: Database) -> None:
    scheduler = build_scheduler(Settings(database_url=db.url))
    job = scheduler.get_job("collect")
    assert isinstance(job.trigger, IntervalTrigger) and job.max_instances == 1 and job.coalesce
