"""The output folder: one spec of what a run writes, used both to write a run and to read it back.

Everything is written into a staging folder and swapped in whole (``outputs.atomic_dir``), with a manifest
that records the input files' hashes, the effective configuration, package versions, counts and timings.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import qda, registry, render, report
from .config import Config
from .errors import InputError
from .escape import escape_cells, unescape_cells
from .ingest import OUTPUT_MARKER
from .outputs import atomic_dir, exclusive, write_json
from .parallel import PARALLEL_FROM, available_cores, run_all
from .result import Run
from .zones import load_taxonomy

SEGMENT, THEMES = "segment", "themes"
BOTH = frozenset({SEGMENT, THEMES})
TABLE_FORMATS = ("parquet", "csv")  # Parquet for notebooks (typed, verbatim), CSV for spreadsheets and diff


@dataclass(frozen=True)
class Output:
    """One file (or pair of files) of the output folder, holding one field of the run."""

    field: str
    file: str
    formats: tuple[str, ...] = TABLE_FORMATS  # read back from the first one present
    commands: frozenset[str] = frozenset({THEMES})
    export: Callable[[Run], pd.DataFrame] | None = None  # the table as written, when readers want more than data
    required: bool = True  # False: folders written before it existed are read without it


OUTPUTS = (
    Output("turns", "turns", commands=BOTH),
    Output("interviews", "interviews", commands=BOTH),
    Output("speakers", "speakers", ("csv",), commands=BOTH),
    Output("units", "units", commands=BOTH),
    Output("dropped", "dropped", commands=BOTH),
    Output("themes", "themes", export=lambda run: render.themes_with_quotes(run.themes, run.quotes)),
    Output("quotes", "quotes"),
    Output("theme_by_interview", "theme_by_interview", ("csv",)),
    Output("zones", "zones", ("csv",)),
    Output("theme_vectors", "theme_centroids", ("npy",)),
    Output("theme_runs", "theme_runs", ("npy",), required=False),
    Output("embeddings", "unit_vectors", ("npy",), required=False),  # what personas are regrouped from
    Output("unit_map", "unit_map", ("csv",)),
    Output("personas", "personas", ("csv",)),
    Output("persona_members", "persona_members", ("csv",)),
    Output("persona_evidence", "persona_evidence", ("csv",)),
    Output("persona_by_segment", "persona_by_segment", ("csv",)),
    Output("theme_by_segment", "theme_by_segment", ("csv",)),
)


@contextmanager
def claim_output(out: str | Path, source: str | Path | None = None) -> Iterator[Path]:
    """Check ``out`` can take a run, then hold it for the run's whole length (``outputs.exclusive``).

    Refused, in one line each: a file; a folder that is neither empty nor an insightmap output (a run replaces
    the folder whole, so pointing ``-o`` at the transcripts or a home folder must not delete them); a folder
    inside the input folder or holding it; a place that cannot be written.
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise InputError(target, "exists and is not a folder; choose an output folder")
    if target.is_dir() and any(target.iterdir()) and not (target / OUTPUT_MARKER).is_file():
        raise InputError(target, "is a folder with other files in it, not an insightmap output; a run replaces "
                         "its output folder whole, so choose a new or empty folder")  # fmt: skip
    if source is not None and Path(source).is_dir():  # a single file input: only that file is read
        where, read = target.resolve(), Path(source).resolve()
        if where == read or read in where.parents or where in read.parents:
            raise InputError(target, f"output folder overlaps the input {source}; write it beside the transcripts")
    held = ExitStack()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        held.enter_context(exclusive(target))
    except PermissionError as exc:
        raise InputError(exc.filename or target, "cannot write here (permission denied)") from None
    except (FileExistsError, NotADirectoryError) as exc:
        raise InputError(exc.filename or target, "a file stands where a folder is needed") from None
    with held:
        yield target


def _document_jobs(run: Run, source: str, folder: Path) -> list[Callable[[], None]]:
    """What people read, as independent jobs: the theme report and persona drafts, the workbook, the HTML report,
    the QDA project (on a large study each takes tens of seconds, so they are written side by side)."""
    title = f"Themes: {Path(source).name}"

    def markdown() -> None:
        (folder / "themes.md").write_text(
            render.theme_markdown(run.themes, run.quotes, run.units, run.taxonomy, title), encoding="utf-8"
        )
        (folder / "personas.md").write_text(render.overview_markdown(run), encoding="utf-8")
        drafts = folder / "personas"
        drafts.mkdir()
        for persona in run.personas.to_dict("records"):
            text = render.persona_markdown(run, pd.Series(persona))
            (drafts / f"persona-{persona['persona']}.md").write_text(text, encoding="utf-8")
        (folder / "themes.qdc").write_bytes(qda.codebook_xml(run))

    return [
        markdown,
        lambda: render.write_workbook(folder / "themes.xlsx", render.workbook_sheets(run)),
        lambda: (folder / "report.html").write_text(report.report_html(run, title), encoding="utf-8"),
        lambda: qda.write_qdpx(run, folder / "project.qdpx", Path(source).name),
    ]


def _write_tables(run: Run, folder: Path, command: str) -> None:
    for output in OUTPUTS:
        if command not in output.commands:
            continue
        value = output.export(run) if output.export else getattr(run, output.field)
        if value is None and not output.required:
            continue
        for fmt in output.formats:
            target = folder / f"{output.file}.{fmt}"
            if fmt == "csv":
                safe = escape_cells(value) if run.config.spreadsheet_safe_csv else value
                safe.to_csv(target, index=False, lineterminator="\n")
            elif fmt == "parquet":
                value.to_parquet(target, index=False)
            else:
                np.save(target, value)


def write_run(run: Run, source: str | Path, out: str | Path, command: str) -> Path:
    """Every output of ``command`` into a staging folder, swapped in only when complete; on a large study the
    files are written by worker processes side by side."""
    with atomic_dir(out) as folder:
        jobs = [lambda: _write_tables(run, folder, command)]
        if command == THEMES:
            jobs += _document_jobs(run, str(source), folder)
        run_all(jobs, available_cores() if len(run.units) >= PARALLEL_FROM else 1)
        write_json(manifest(run, source, command), folder / OUTPUT_MARKER)
    return Path(out)


def _read(path: Path, fmt: str, spreadsheet_safe: bool) -> Any:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        table = pd.read_csv(path, keep_default_na=False)
        return unescape_cells(table) if spreadsheet_safe else table
    return np.load(path, allow_pickle=False)


def load_run(out: str | Path, config: Config) -> tuple[Run, dict[str, Any]]:
    """A finished themes run read back from its folder (no transcript, model or cache needed), and its manifest."""
    folder = Path(out)
    values: dict[str, Any] = {}
    try:
        previous = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
        spreadsheet_safe = previous.get("config", {}).get("spreadsheet_safe_csv", False)
        for output in OUTPUTS:
            fmt = next((f for f in output.formats if (folder / f"{output.file}.{f}").is_file()), output.formats[0])
            if not output.required and not (folder / f"{output.file}.{fmt}").is_file():
                continue
            values[output.field] = _read(folder / f"{output.file}.{fmt}", fmt, spreadsheet_safe)
    except (OSError, ValueError) as exc:
        raise InputError(folder, f"not a complete insightmap themes output ({exc})") from exc
    run = Run(
        config,
        **values,
        taxonomy=load_taxonomy(previous.get("taxonomy", {}).get("path") or config.zones),
        input_files=dict(previous.get("input_files", {})),
        counts=dict(previous.get("counts", {})),
        timings=dict(previous.get("timings_s", {})),
        details=dict(previous.get("details", {})),
    )
    return replace(run, themes=run.themes.drop(columns=["quotes"], errors="ignore")), previous


def manifest(run: Run, source: str | Path, command: str) -> dict[str, Any]:
    """How to reproduce the run: inputs, effective configuration, versions; and what it found and how long it took."""
    return {
        "command": command,
        "input": str(source),
        "input_files": run.input_files,
        "config": run.config.to_dict(),
        "seed": run.config.seed,
        "versions": registry.versions(),
        "python": platform.python_version(),
        "counts": run.counts,
        "timings_s": run.timings,
        "taxonomy": {"id": run.taxonomy.id, "path": run.taxonomy.path, "weights": run.taxonomy.weights}
        if run.taxonomy
        else {},
        "details": run.details,
        "failed_files": [r.error for r in run.failed],
    }
