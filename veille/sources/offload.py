"""Parsing off the event loop, on the other cores: a process pool for one collection cycle.

Parsing feeds and pages is pure CPU work in Python; with it in worker processes, the main
process keeps fetching and storing while the other cores parse. Starting a pool costs
about a second, so a small cycle (or `veille sources check`) parses in place.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_POOL: ContextVar[Executor | None] = ContextVar("veille_parse_pool", default=None)
MIN_SOURCES_FOR_POOL = 20
# Imported once by the pool's server process, so that each worker starts ready to parse.
_PRELOAD = ["veille.sources.rss", "veille.sources.html", "veille.sources.ics"]


def pool_size(sources: int) -> int:
    cores = os.cpu_count() or 1
    return 0 if cores < 2 or sources < MIN_SOURCES_FOR_POOL else cores


@contextmanager
def parsing_pool(workers: int) -> Iterator[None]:
    """Within this block, `parse` runs in `workers` processes (in place when 0)."""
    if workers <= 0:
        yield
        return
    # forkserver: workers are forked from a clean server, never from this threaded process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        token = _POOL.set(pool)
        try:
            yield
        finally:
            _POOL.reset(token)


async def parse(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a pure parsing function in the pool if there is one, else here."""
    pool = _POOL.get()
    if pool is None:
        return fn(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool, partial(fn, *args, **kwargs))
