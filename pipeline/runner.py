"""The thin runner: wires the stages, times them, and writes outputs atomically with a manifest."""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from . import models
from .config import Config
from .ingest import IngestResult, discover, ingest
from .outputs import atomic_dir, write_json, write_table
from .segment import segment

T = TypeVar("T")


@dataclass
class Run:
    """What a run produced, as DataFrames for notebooks, plus timings and counts for the manifest."""

    config: Config
    ingest: IngestResult
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def turns(self) -> pd.DataFrame:
        return self.ingest.turns

    def timed(self, stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings[stage] = round(time.perf_counter() - began, 3)
        return result


def run_segment(path: str | Path, config: Config) -> Run:
    """Ingest + segment: the front half of every run."""
    run = Run(config, ingest=IngestResult(pd.DataFrame(), pd.DataFrame(), [], []))
    run.ingest = run.timed("ingest", ingest, path, config.interviewers)
    nlp = run.timed("load_spacy", models.load_spacy, config.spacy_model)
    run.units, run.dropped = run.timed(
        "segment", segment, run.turns, nlp, config.min_unit_words, config.spacy_batch_size, config.spacy_n_process
    )
    run.counts.update(
        files=len(run.ingest.reports),
        failed_files=len(run.ingest.failed),
        interviews=int(run.turns["interview_id"].nunique()),
        turns=len(run.turns),
        units=len(run.units),
        dropped=len(run.dropped),
    )
    return run


def input_hashes(path: str | Path) -> dict[str, str]:
    root = Path(path)
    files = discover(root)
    sidecar = root / "metadata.csv"
    if root.is_dir() and sidecar.is_file():
        files.append(sidecar)
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(files)}


def manifest(run: Run, path: str | Path, command: str) -> dict[str, Any]:
    return {
        "command": command,
        "input": str(path),
        "input_files": input_hashes(path),
        "config": run.config.to_dict(),
        "seed": run.config.seed,
        "versions": models.versions(),
        "python": platform.python_version(),
        "counts": run.counts,
        "timings_s": run.timings,
        "failed_files": [r.error for r in run.ingest.failed],
    }


def write_segment_outputs(run: Run, path: str | Path, out: str | Path) -> Path:
    with atomic_dir(out) as folder:
        write_table(run.turns, folder, "turns")
        write_table(run.ingest.interviews, folder, "interviews")
        write_table(run.units, folder, "units")
        write_table(run.dropped, folder, "dropped")
        write_json(manifest(run, path, "segment"), folder / "manifest.json")
    return Path(out)
