"""Ingest: a folder (or file) of transcripts → one turn table, an interview table and a per-file report.

Readers are chosen by extension, then by sniffing the content (a ``.txt`` that is really WebVTT or SRT).
A file that cannot be read is reported with ``path:line`` and skipped; the other files still load.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .captions import read_srt, read_vtt
from .metadata import METADATA_FILE, join_metadata, read_metadata
from .roles import PARTICIPANT, assign_roles
from .tabular import read_tabular
from .text import read_docx_transcript, read_text_transcript
from .turns import TURN_COLUMNS, RawTurn, to_turn_table

__all__ = ["TURN_COLUMNS", "FileReport", "IngestResult", "detect_format", "ingest"]

Reader = Callable[[Path, list[str]], list[RawTurn]]
READERS: dict[str, Reader] = {
    "text": read_text_transcript,
    "vtt": read_vtt,
    "srt": read_srt,
    "docx": read_docx_transcript,
    "csv": read_tabular,
    "jsonl": read_tabular,
}
EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".vtt": "vtt",
    ".srt": "srt",
    ".docx": "docx",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SRT_START = re.compile(r"^\s*\d+\s*\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s+-->")


@dataclass
class FileReport:
    """What validate prints per file."""

    path: str
    format: str = ""
    interviews: int = 0
    speakers: str = ""
    turns: int = 0
    participant_words: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class IngestResult:
    turns: pd.DataFrame
    interviews: pd.DataFrame
    reports: list[FileReport]
    messages: list[str]

    @property
    def failed(self) -> list[FileReport]:
        return [r for r in self.reports if r.error]


def detect_format(path: Path) -> str:
    """Format name for ``path``; raises InputError for unsupported types."""
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise InputError(
            path, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(sorted(EXTENSIONS))}"
        )
    fmt = EXTENSIONS[suffix]
    if fmt == "text":
        head = path.read_bytes()[:2048].decode("utf-8", errors="ignore").lstrip("\ufeff")
        if head.lstrip().startswith("WEBVTT"):
            return "vtt"
        if _SRT_START.match(head):
            return "srt"
    return fmt


def discover(path: Path) -> list[Path]:
    """Transcript files under ``path``, sorted, skipping the sidecar, READMEs and hidden files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(path, "no such file or folder")
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        and p.name != METADATA_FILE
        and not p.name.upper().startswith("README")
    )


def _display(path: Path) -> str:
    """Paths relative to the working directory when possible: what the user typed, and shorter to cite."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_file(path: Path, seen: dict[str, str]) -> tuple[pd.DataFrame, FileReport]:
    shown = _display(path)
    report = FileReport(shown)
    try:
        report.format = detect_format(path)
        raw = READERS[report.format](path, report.warnings)
        table = to_turn_table(raw, shown)
        clashes = sorted(set(table["interview_id"]) & set(seen))
        if clashes:
            raise InputError(path, f"interview id {clashes[0]!r} already read from {seen[clashes[0]]}")
    except InputError as exc:
        report.error = str(exc).replace(str(path), shown, 1)
        return pd.DataFrame(columns=TURN_COLUMNS), report
    except OSError as exc:
        report.error = f"{shown}: cannot read ({exc.strerror or exc})"
        return pd.DataFrame(columns=TURN_COLUMNS), report
    seen.update(dict.fromkeys(table["interview_id"], shown))
    return table, report


def ingest(path: str | Path, interviewers: list[str] | tuple[str, ...] = ()) -> IngestResult:
    """Read every transcript under ``path`` into the turn table (see ``turns.TURN_COLUMNS``)."""
    root = Path(path)
    files = discover(root)
    seen: dict[str, str] = {}
    tables, reports, messages = [], [], []
    for file in files:
        table, report = _read_file(file, seen)
        reports.append(report)
        if not table.empty:
            tables.append(table)
    turns = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TURN_COLUMNS)
    turns, role_messages = assign_roles(turns, interviewers)
    messages.extend(role_messages)
    for report in reports:
        _summarise(report, turns[turns["source"].str.rsplit(":", n=1).str[0] == report.path])
    interviews = _interview_table(turns, reports)
    metadata_messages: list[str] = []
    if root.is_dir():
        try:
            interviews, metadata_messages = join_metadata(interviews, read_metadata(root))
        except InputError as exc:
            metadata_messages = [str(exc)]
    messages.extend(metadata_messages)
    return IngestResult(turns, interviews, reports, messages)


def _summarise(report: FileReport, turns: pd.DataFrame) -> None:
    if report.error:
        return
    report.interviews = turns["interview_id"].nunique()
    pairs = turns[["speaker", "role"]].drop_duplicates()
    report.speakers = ", ".join(f"{s} ({r[0].upper()})" for s, r in pairs.itertuples(index=False))
    report.turns = len(turns)
    participant = turns.loc[turns["role"] == PARTICIPANT, "text"]
    report.participant_words = int(participant.str.split().str.len().sum())
    if report.participant_words == 0:
        report.warnings.append("no participant speech")


def _interview_table(turns: pd.DataFrame, reports: list[FileReport]) -> pd.DataFrame:
    formats = {r.path: r.format for r in reports}
    first = turns.drop_duplicates("interview_id")
    files = first["source"].str.rsplit(":", n=1).str[0]
    return pd.DataFrame(
        {
            "interview_id": first["interview_id"].to_numpy(),
            "source_file": files.to_numpy(),
            "format": files.map(formats).to_numpy(),
        }
    )
