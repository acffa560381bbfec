"""Progress on long steps: a bar in a terminal, a few plain lines in a log (a bar's carriage returns would fill
a CI log or ``nohup.out`` with thousands of redraws)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
LOG_EVERY_S = 30.0  # a log gets a line at most this often, and at the end


def with_progress(items: Iterable[T], desc: str, total: int, unit: str, show: bool = True) -> Iterator[T]:
    """``items``, reporting how far along they are on stderr when ``show``."""
    if not show:
        yield from items
        return
    if sys.stderr.isatty():
        yield from tqdm(items, desc=desc, total=total, unit=unit)
        return
    began = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= LOG_EVERY_S:
            last = now
            print(f"{desc}: {done} of {total} ({done / max(total, 1):.0%})", file=sys.stderr, flush=True)
    if time.monotonic() - began >= LOG_EVERY_S:
        print(f"{desc}: {done} of {total}, done in {time.monotonic() - began:.0f} s", file=sys.stderr)
