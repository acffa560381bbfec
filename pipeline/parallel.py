"""Cores and worker processes for large studies, in one place.

Workers are forked: they share the parent's loaded models and data, and need no ``if __name__ == "__main__"``
guard in a user's script (spawned workers re-import it). Where fork is not available, work stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
PARALLEL_FROM = 2_000  # rows of work (turns, units); below, the work is over before worker processes would be busy
PARSE_IN_WORKERS_FROM = 500  # texts for a full parse with NER: about 8 ms each (2,840 central units took 24 CPU-s
# at 100k), so 500 keep two workers busy for seconds; a 10k-unit study labels about 1,100, which ran on one core


def available_cores() -> int:
    """CPU cores this process may use (a container's or ``taskset``'s limit, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def forked_workers(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` forked processes, or None (do the work here) for fewer than two or without fork."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


_FORKED_JOBS: list[Callable[[], Any]] = []  # what forked workers run, inherited at fork rather than pickled


def _forked_job(index: int) -> Any:
    return _FORKED_JOBS[index]()


def run_all(jobs: list[Callable[[], T]], workers: int) -> list[T]:
    """Each job's result, the jobs (closures over large data: a run's tables, a loaded model) run in ``workers``
    forked processes, or here in order. Jobs reach the workers by fork, not by pickling, so nothing is copied on
    the way out; results are pickled back, so they should be small. The first error is raised."""
    with forked_workers(min(workers, len(jobs))) as pool:
        if pool is None:
            return [job() for job in jobs]
        _FORKED_JOBS[:] = jobs
        try:
            return [done.result() for done in [pool.submit(_forked_job, index) for index in range(len(jobs))]]
        finally:
            _FORKED_JOBS.clear()
