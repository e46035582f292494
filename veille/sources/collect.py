"""One collection cycle: claim the due sources, fetch them concurrently, store, record health.

Claiming is a conditional UPDATE on `next_fetch_at`, so several worker processes (on
SQLite or PostgreSQL) never collect the same source at the same time. A failing source is
recorded in its health and never stops the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from veille import __version__
from veille.config import Settings
from veille.db import session_scope
from veille.errors import NotFound, VeilleError
from veille.models import Sighting, Source, utcnow
from veille.sources import health
from veille.sources.dedupe import StoreStats, store_items
from veille.sources.fetch import Fetcher, FetchError, FetchPolicy
from veille.sources.items import Harvest, SourceTask
from veille.sources.offload import parsing_pool, pool_size
from veille.sources.spec import SourceSpec

LEASE = timedelta(minutes=15)  # a worker that dies mid-cycle frees its sources after this

Method = Callable[[SourceTask, Fetcher], Awaitable[Harvest]]


class NeedsConfiguration(VeilleError):
    """A source that cannot run until an admin sets something (an API key...)."""


@dataclass(slots=True)
class SourceReport:
    slug: str
    ok: bool
    new: int = 0
    updated: int = 0
    seen: int = 0
    not_modified: bool = False
    message: str | None = None


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        user_agent=(
            f"veille/{__version__} (Occitanie Cooperation; +mailto:{settings.contact_email})"
        ),
        concurrency=settings.fetch_concurrency,
        per_host=settings.fetch_per_host,
    )


def sync_sources(
    session: Session,
    specs: list[SourceSpec],
    *,
    origin: str = "file",
    disable_missing: bool = True,
) -> list[Source]:
    """Create or update Source rows from specs; their health is kept. With the sources file
    (origin "file"), a source no longer listed is disabled, never deleted (its items keep it);
    sources added by `veille sources import` are left alone."""
    existing = {s.slug: s for s in session.scalars(select(Source))}
    listed = {spec.slug for spec in specs}
    for slug, row in existing.items():
        if disable_missing and row.origin == origin and slug not in listed:
            row.enabled = False
    rows = []
    for spec in specs:
        row = existing.get(spec.slug) or Source(slug=spec.slug, origin=origin)
        session.add(row)
        row.name, row.kind, row.url = spec.name, spec.kind, spec.url
        row.bulletin_slug, row.tags, row.every_seconds = spec.bulletin, spec.tags, spec.every
        row.rules, row.enabled = spec.rules(), spec.enabled
        rows.append(row)
    session.flush()
    return rows


def _task(source: Source, known_urls: frozenset[str] = frozenset()) -> SourceTask:
    return SourceTask(
        id=source.id,
        slug=source.slug,
        name=source.name,
        kind=source.kind,
        url=source.url,
        rules=dict(source.rules or {}),
        etag=source.etag,
        last_modified=source.last_modified,
        item_kind=(source.rules or {}).get("item_kind"),
        known_urls=known_urls,
    )


def _known_urls(session: Session, source: Source) -> frozenset[str]:
    if not (source.rules or {}).get("select", {}).get("follow"):
        return frozenset()
    urls = session.scalars(
        select(Sighting.canonical_url).where(
            Sighting.source_id == source.id,
            Sighting.canonical_url.is_not(None),
            Sighting.detail_read_at.is_not(None),
        )
    )
    return frozenset(u for u in urls if u)


def claim_sources(
    session: Session, *, now: datetime, slugs: list[str] | None = None
) -> list[SourceTask]:
    """Take the due sources (or the named ones, due or not) for this worker."""
    query = select(Source).where(Source.enabled.is_(True))
    if slugs:
        query = select(Source).where(Source.slug.in_(slugs))
        found = {s.slug for s in session.scalars(query)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise NotFound(f"Source inconnue : « {missing[0]} ».")
    else:
        query = query.where(or_(Source.next_fetch_at.is_(None), Source.next_fetch_at <= now))
    tasks = []
    for source in session.scalars(query.order_by(Source.next_fetch_at, Source.id)).all():
        previous = source.next_fetch_at
        guard = (
            Source.next_fetch_at.is_(None) if previous is None else Source.next_fetch_at == previous
        )
        claimed = session.execute(
            update(Source)
            .where(Source.id == source.id, guard)
            .values(next_fetch_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            tasks.append(_task(source, _known_urls(session, source)))
    session.commit()
    return tasks


def method_for(kind: str) -> Callable[..., Awaitable[Harvest]]:
    if kind == "rss":
        from veille.sources import rss

        return rss.harvest
    if kind == "ics":
        from veille.sources import ics

        return ics.harvest
    if kind == "html":
        from veille.sources import html

        return html.harvest
    if kind == "api":
        from veille.sources import api

        return api.harvest
    raise VeilleError(f"Méthode d'accès inconnue : « {kind} ».")


def paris_today(now: datetime) -> date:
    return now.astimezone(ZoneInfo("Europe/Paris")).date()


async def harvest_one(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    method = method_for(task.kind)
    return await method(task, fetcher, today=today)


def store_result(
    session: Session, task: SourceTask, outcome: Harvest | BaseException, *, now: datetime
) -> SourceReport:
    source = session.get(Source, task.id)
    if source is None:  # deleted while we fetched
        return SourceReport(task.slug, ok=False, message="source supprimée")
    if isinstance(outcome, NeedsConfiguration):
        health.record_needs_configuration(source, now=now, message=str(outcome))
        return SourceReport(task.slug, ok=False, message=str(outcome))
    if isinstance(outcome, BaseException):
        message = describe_failure(outcome)
        retry_after = outcome.retry_after if isinstance(outcome, FetchError) else None
        health.record_failure(source, now=now, message=message, retry_after=retry_after)
        return SourceReport(task.slug, ok=False, message=message)
    if outcome.etag or outcome.last_modified:
        source.etag, source.last_modified = outcome.etag, outcome.last_modified
    stats = StoreStats()
    if not outcome.not_modified:
        stats = store_items(session, source, outcome.items, now=now)
    health.record_success(
        source,
        now=now,
        items_seen=None if outcome.not_modified else len(outcome.items),
        problem=outcome.problem,
        hint_seconds=outcome.hint_seconds,
    )
    return SourceReport(
        task.slug,
        ok=True,
        new=stats.new,
        updated=stats.updated,
        seen=len(outcome.items),
        not_modified=outcome.not_modified,
        message=outcome.problem,
    )


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, VeilleError | FetchError | ValueError):
        return str(exc)
    # An unexpected bug in a parser: say so plainly, keep the type for the developers.
    return f"Erreur inattendue pendant la lecture de la source ({type(exc).__name__} : {exc})"


async def _run(
    tasks: list[SourceTask],
    sessions: sessionmaker[Session],
    policy: FetchPolicy,
    *,
    now: datetime,
    on_done: Callable[[SourceReport], None] | None,
) -> list[SourceReport]:
    today = paris_today(now)
    reports: list[SourceReport] = []
    with parsing_pool(pool_size(len(tasks))):
        async with Fetcher(policy) as fetcher:

            async def one(task: SourceTask) -> tuple[SourceTask, Harvest | BaseException]:
                try:
                    return task, await harvest_one(task, fetcher, today=today)
                except Exception as exc:  # contained: recorded in the source's health
                    return task, exc

            for next_done in asyncio.as_completed([one(t) for t in tasks]):
                task, outcome = await next_done
                with session_scope(sessions) as session:
                    report = store_result(session, task, outcome, now=utcnow())
                reports.append(report)
                if on_done:
                    on_done(report)
    return reports


def collect(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    slugs: list[str] | None = None,
    now: datetime | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Collect the due sources (or the named ones). Returns one report per source."""
    now = now or utcnow()
    with session_scope(sessions) as session:
        tasks = claim_sources(session, now=now, slugs=slugs)
    if not tasks:
        return []
    return asyncio.run(_run(tasks, sessions, fetch_policy(settings), now=now, on_done=on_done))


def check_source(
    sessions: sessionmaker[Session], settings: Settings, slug: str, *, now: datetime | None = None
) -> Harvest:
    """Fetch one source now and return what it would yield, storing nothing: how staff
    write and verify rules against the live site."""
    now = now or utcnow()
    with session_scope(sessions) as session:
        source = session.scalar(select(Source).where(Source.slug == slug))
        if source is None:
            raise NotFound(f"Source inconnue : « {slug} ».")
        task = _task(source)
    fresh = SourceTask(
        id=task.id,
        slug=task.slug,
        name=task.name,
        kind=task.kind,
        url=task.url,
        rules=task.rules,
        item_kind=task.item_kind,
    )  # no validators: a full fetch

    async def run() -> Harvest:
        async with Fetcher(fetch_policy(settings)) as fetcher:
            return await harvest_one(fresh, fetcher, today=paris_today(now))

    return asyncio.run(run())
