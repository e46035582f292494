"""The scheduler process: `python scheduler.py` runs veille's recurring work.

It only decides *when*; the work itself is the core's (`veille.sources.collect`), claimed
row by row in the database, so several scheduler or worker processes can run side by side.
Editions follow in a later wave (their cadence is already stored on each bulletin).
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from veille.config import Settings, get_settings
from veille.setup import initialise, load_and_sync_sources
from veille.sources.collect import SourceReport, collect

log = logging.getLogger("veille.scheduler")
COLLECT_EVERY_MINUTES = 5  # sources carry their own pace (next_fetch_at); this is the tick


def collect_due(settings: Settings) -> list[SourceReport]:
    """One tick: reload the sources file, collect whatever is due."""
    sessions = initialise(settings)
    load_and_sync_sources(sessions, settings)
    reports = collect(sessions, settings)
    for report in reports:
        if report.ok:
            log.info("%s : %d lus, %d nouveaux", report.slug, report.seen, report.new)
        else:
            log.warning("%s : %s", report.slug, report.message)
    return reports


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="Europe/Paris")
    scheduler.add_job(
        collect_due,
        IntervalTrigger(minutes=COLLECT_EVERY_MINUTES),
        args=[settings],
        id="collect",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    scheduler = build_scheduler(settings)
    collect_due(settings)  # at start, then every tick
    scheduler.start()


if __name__ == "__main__":
    main()
