"""Atomic output: everything is written into a temporary sibling folder, then swapped in by rename.

A run that fails part-way (an error, a full disk, Ctrl-C, SIGTERM) leaves the previous results exactly as they were.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from .errors import InsightmapError
from .escape import escape_cells

STAGING, PREVIOUS, LOCK = ".tmp-", ".old-", ".lock"  # siblings of an output folder: .{name}{kind}...


def _sibling(target: Path, kind: str, tag: str = "") -> Path:
    return target.with_name(f".{target.name}{kind}{tag}")


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """A staging folder beside ``target``, renamed into its place when the block completes; on any failure
    (an error, Ctrl-C, SIGTERM) it is removed and ``target`` is left as it was. The folder gets the user's
    normal permissions (``mkdir`` honours the umask; ``mkdtemp`` would make it private)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(6)
    staging = _sibling(target, STAGING, tag)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = _sibling(target, PREVIOUS, tag)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def exclusive(target: str | Path) -> Iterator[None]:
    """Hold ``target``'s lock for a whole run: a second run on the same folder stops at once with a message
    instead of racing it. Holding the lock, staging and old folders left by a killed run are removed."""
    target = Path(target)
    lock = FileLock(_sibling(target, LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InsightmapError(f"{target}: another insightmap run is writing this folder; wait for it") from None
    try:
        for leftover in [
            *target.parent.glob(f".{target.name}{STAGING}*"),
            *target.parent.glob(f".{target.name}{PREVIOUS}*"),
        ]:
            shutil.rmtree(leftover, ignore_errors=True)
        yield
    finally:
        lock.release()


def write_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_csv_atomic(table: pd.DataFrame, path: Path) -> None:
    """One CSV a researcher opens in a spreadsheet (text cells formula-safe), renamed into place whole."""
    _atomic(path, lambda tmp: escape_cells(table).to_csv(tmp, index=False, lineterminator="\n"))


def write_text_atomic(text: str, path: Path) -> None:
    """One text file (a codebook the researcher will edit), renamed into place whole."""
    _atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _atomic(path: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file beside ``path`` and rename it into place: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
