"""Cores and worker processes for large studies, in one place.

Workers are forked: they share the parent's loaded models and data, and need no ``if __name__ == "__main__"``
guard in a user's script (spawned workers re-import it). Where fork is not available, work stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager


def available_cores() -> int:
    """CPU cores this process may use (a container's or ``taskset``'s limit, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_start_forks() -> bool:
    """Whether a library that starts processes its own way (spaCy's ``n_process``) forks them. The first of
    ``get_all_start_methods`` is the platform default; asking this way does not fix the method for good."""
    method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    return method == "fork"


@contextmanager
def forked_workers(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` forked processes, or None (do the work here) for fewer than two or without fork."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool
