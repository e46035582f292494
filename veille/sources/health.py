"""Source health: what happened at the last attempts, and when to try again.

A failing source slows down (exponential backoff with jitter) but is never dropped; the
server's own hints (RSS ttl, Cache-Control max-age, Retry-After) are respected.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from veille.models import Source

MAX_BACKOFF = 7 * 86400  # a broken source is still retried at least weekly
LAYOUT_CHANGED = "La page a peut-être changé : elle ne donne plus aucun élément."


def _jitter(seconds: float, rng: random.Random) -> float:
    # +/-10 %: spreads the sources of one host instead of hitting it at the same second.
    return seconds * rng.uniform(0.9, 1.1)


def backoff_seconds(every: int, failures: int) -> float:
    if failures <= 0:
        return float(every)
    return float(min(every * 2 ** min(failures, 16), max(MAX_BACKOFF, every)))


def record_success(
    source: Source,
    *,
    now: datetime,
    items_seen: int | None,
    problem: str | None = None,
    hint_seconds: float | None = None,
    rng: random.Random | None = None,
) -> None:
    """`items_seen` is None when the server answered 304 (nothing new to count)."""
    rng = rng or random.Random()
    source.last_attempt_at = now
    source.last_success_at = now
    source.consecutive_failures = 0
    source.last_error = problem
    warning = None
    if items_seen is not None:
        if source.kind == "html" and items_seen == 0 and (source.items_last_seen or 0) > 0:
            warning = LAYOUT_CHANGED
        source.items_last_seen = items_seen
    elif source.warning == LAYOUT_CHANGED:
        warning = LAYOUT_CHANGED
    source.warning = warning
    delay = max(float(source.every_seconds), hint_seconds or 0.0)
    source.next_fetch_at = now + timedelta(seconds=_jitter(delay, rng))


def record_failure(
    source: Source,
    *,
    now: datetime,
    message: str,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> None:
    rng = rng or random.Random()
    source.last_attempt_at = now
    source.last_error = message
    source.consecutive_failures = (source.consecutive_failures or 0) + 1
    delay = backoff_seconds(source.every_seconds, source.consecutive_failures)
    delay = max(_jitter(delay, rng), retry_after or 0.0)
    source.next_fetch_at = now + timedelta(seconds=delay)


def record_needs_configuration(source: Source, *, now: datetime, message: str) -> None:
    """A missing key is not a failure: no backoff storm, one clear line for the admin."""
    source.last_attempt_at = now
    source.warning = message
    source.next_fetch_at = now + timedelta(seconds=source.every_seconds)


def status_label(source: Source) -> str:
    if not source.enabled:
        return "désactivée"
    if source.warning and source.warning.startswith("À configurer"):
        return "à configurer"
    if source.consecutive_failures:
        return f"en échec ({source.consecutive_failures})"
    if source.warning:
        return "à vérifier"
    if source.last_success_at is None:
        return "jamais collectée"
    return "ok"
