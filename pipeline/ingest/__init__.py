"""Ingest: a folder (or file) of transcripts → one turn table, an interview table and a per-file report.

Readers are chosen by extension, then by sniffing the content (a ``.txt`` that is really WebVTT or SRT).
A file that cannot be read is reported with ``path:line`` and skipped; the other files still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .captions import read_srt, read_vtt
from .language import detect_languages
from .limits import InputLimits, check_limits
from .metadata import METADATA_FILE, join_metadata, read_metadata
from .normalise import count_words
from .roles import PARTICIPANT, ROLES_FILE, SPEAKER_COLUMNS, assign_roles, read_role_overrides
from .structured import read_json
from .tabular import TableColumns, read_tabular
from .text import (
    read_docx_transcript,
    read_html_transcript,
    read_markdown_transcript,
    read_odt_transcript,
    read_pdf_transcript,
    read_rtf_transcript,
    read_text_transcript,
)
from .turns import TURN_COLUMNS, RawTurn, ReadLog, to_turn_table

__all__ = ["TURN_COLUMNS", "FileReport", "IngestParams", "IngestResult", "TableColumns", "detect_format", "ingest"]

Reader = Callable[[Path, ReadLog], list[RawTurn]]
READERS: dict[str, Reader] = {
    "text": read_text_transcript,
    "markdown": read_markdown_transcript,
    "vtt": read_vtt,
    "srt": read_srt,
    "docx": read_docx_transcript,
    "odt": read_odt_transcript,
    "html": read_html_transcript,
    "pdf": read_pdf_transcript,
    "rtf": read_rtf_transcript,
    "json": read_json,
    "csv": read_tabular,
    "jsonl": read_tabular,
    "xlsx": read_tabular,
}
TABULAR = {"csv", "jsonl", "xlsx"}
EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".vtt": "vtt",
    ".srt": "srt",
    ".docx": "docx",
    ".odt": "odt",
    ".htm": "html",
    ".html": "html",
    ".pdf": "pdf",
    ".rtf": "rtf",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SRT_START = re.compile(r"^\s*\d+\s*\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s+-->")
SIDECARS = {METADATA_FILE, ROLES_FILE}
MAX_LOST_SHARE = 0.02  # a file that loses more of its words than this has failed, whatever else it read


@dataclass(frozen=True)
class IngestParams:
    """Everything ingest depends on, built from ``Config`` (see ``Config.ingest_params``)."""

    interviewers: tuple[str, ...] = ()
    columns: TableColumns = field(default_factory=TableColumns)
    languages: tuple[str, ...] = ("en",)
    limits: InputLimits = field(default_factory=InputLimits)


@dataclass
class FileReport(ReadLog):
    """What validate prints per file: the reader's log plus what the file contributed."""

    path: str = ""  # as the user sees it (relative to the working directory when possible)
    source_file: str = ""  # as the tables cite it (relative to the input folder)
    format: str = ""
    interviews: int = 0
    turns: int = 0
    participant_words: int = 0
    words_in_turns: int = 0
    error: str = ""
    sha256: str = ""  # of the bytes read, for the manifest

    @property
    def words_accounted(self) -> int:
        """Words found in turns, labels and set-aside blocks: at most the file's, unless text was read twice."""
        return self.words_in_turns + self.label_words + sum(self.set_aside.values())

    @property
    def words_lost(self) -> int:
        """Words of the file found in no turn, label or set-aside block (small drift comes from text repair)."""
        return max(self.words_in_file - self.words_accounted, 0)


@dataclass
class IngestResult:
    turns: pd.DataFrame
    interviews: pd.DataFrame
    reports: list[FileReport]
    messages: list[str]
    speakers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SPEAKER_COLUMNS))
    input_files: dict[str, str] = field(default_factory=dict)  # path relative to the input → SHA-256

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
    if fmt in ("text", "markdown"):
        head = path.read_bytes()[:2048].decode("utf-8", errors="ignore").lstrip("\ufeff")
        if head.lstrip().startswith("WEBVTT"):
            return "vtt"
        if _SRT_START.match(head):
            return "srt"
        if head.lstrip()[:1] in ("{", "["):
            return "json" if _looks_like_json(path) else fmt
    return fmt


def _looks_like_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


OUTPUT_MARKER = "manifest.json"  # a folder holding one is an insightmap output, never input


def discover(path: Path, notes: list[str], unread: list[OSError]) -> list[Path]:
    """Transcript files under ``path``, sorted, skipping the sidecars, READMEs, hidden files and insightmap output
    folders (a note each); a folder that cannot be listed goes to ``unread``, never skipped silently."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(path, "no such file or folder")
    found = []
    for folder, subfolders, files in os.walk(path, onerror=unread.append):
        here = Path(folder)
        if here != path and OUTPUT_MARKER in files:
            notes.append(f"{_display(here)}: an insightmap output folder; not read as transcripts")
            subfolders.clear()
            continue
        subfolders[:] = [d for d in subfolders if not d.startswith((".", "_"))]
        found += [
            here / name
            for name in files
            if not name.startswith((".", "_")) and name not in SIDECARS and not name.upper().startswith("README")
        ]
    return sorted(found)


def _display(path: Path) -> str:
    """Paths relative to the working directory when possible: what the user typed, and shorter to cite."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_file(path: Path, root: Path, seen: dict[str, str], params: IngestParams) -> tuple[pd.DataFrame, FileReport]:
    shown = _display(path)
    report = FileReport(path=shown, source_file=path.relative_to(root).as_posix() if root.is_dir() else path.name)
    try:
        check_limits(path, params.limits)
        with path.open("rb") as handle:
            report.sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        report.format = detect_format(path)
        reader = READERS[report.format]
        raw = reader(path, report, params.columns) if report.format in TABULAR else reader(path, report)
        table = to_turn_table(raw, report.source_file, report)
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


def ingest(path: str | Path, params: IngestParams | None = None) -> IngestResult:
    """Read every transcript under ``path`` into the turn table (see ``turns.TURN_COLUMNS``).

    Also returns the interview table (with ``language`` and any ``metadata.csv`` columns), the speaker table
    (each speaker's role with its evidence, see ``roles.SPEAKER_COLUMNS``) and one report per file.
    """
    params = params or IngestParams()
    root = Path(path)
    messages: list[str] = []
    unread: list[OSError] = []
    files = discover(root, messages, unread)
    seen: dict[str, str] = {}
    tables, reports = [], []
    for error in unread:  # a folder that cannot be listed fails like a file that cannot be read
        shown = _display(Path(error.filename))
        reports.append(FileReport(path=shown, error=f"{shown}: folder not read ({error.strerror or error})"))
    for file in files:
        table, report = _read_file(file, root, seen, params)
        reports.append(report)
        if not table.empty:
            tables.append(table)
    turns = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TURN_COLUMNS)
    first = turns.drop_duplicates("interview_id")
    stems = {iid: Path(f).stem for iid, f in zip(first["interview_id"], first["source_file"], strict=True)}
    overrides = {}
    if root.is_dir():
        try:
            overrides, problems = read_role_overrides(root)
            messages.extend(problems)
        except InputError as exc:
            messages.append(f"{exc}; roles inferred instead")
    turns, speakers, role_messages = assign_roles(turns, params.interviewers, overrides, stems)
    messages.extend(role_messages)
    for report in reports:
        _summarise(report, turns[turns["source_file"] == report.source_file])
    interviews = _interview_table(turns, reports)
    interviews, language_messages = detect_languages(interviews, turns, params.languages)
    messages.extend(language_messages)
    if root.is_dir():
        try:
            metadata, problems = read_metadata(root)
            interviews, joined = join_metadata(interviews, metadata)
            messages.extend([*problems, *joined])
        except InputError as exc:
            messages.append(str(exc))
    return IngestResult(turns, interviews, reports, messages, speakers, _input_files(root, reports))


def _input_files(root: Path, reports: list[FileReport]) -> dict[str, str]:
    """SHA-256 of every file read (and of the sidecars), by path relative to the input: what reproduces the run."""
    hashes = {r.source_file: r.sha256 for r in reports if r.sha256}
    for name in sorted(SIDECARS) if root.is_dir() else []:
        sidecar = root / name
        try:
            hashes[name] = hashlib.sha256(sidecar.read_bytes()).hexdigest()
        except OSError:
            continue  # absent (the usual case) or unreadable, which reading it has already reported
    return dict(sorted(hashes.items()))


def _summarise(report: FileReport, turns: pd.DataFrame) -> None:
    """Counts per file, and the loss check: a file that lost words it cannot account for has failed."""
    if report.error:
        return
    report.interviews = turns["interview_id"].nunique()
    report.turns = len(turns)
    words = turns["text"].map(count_words).astype("int64")  # a file without turns: pandas' str dtype sums to ""
    report.words_in_turns = int(words.sum())
    report.participant_words = int(words[turns["role"] == PARTICIPANT].sum())
    if report.participant_words == 0:
        report.warnings.append("no participant speech")
    surplus = report.words_accounted - report.words_in_file
    if surplus > MAX_LOST_SHARE * report.words_in_file:
        report.warnings.append(
            f"{surplus} more words were read than the file holds ({report.words_in_file}): some text was read twice; "
            "please report this file's convention"
        )
    if report.words_in_file and report.words_lost > MAX_LOST_SHARE * report.words_in_file:
        report.error = (
            f"{report.path}: {report.words_lost} of {report.words_in_file} words were not read into any turn "
            f"(limit {MAX_LOST_SHARE:.0%}); check the file's speaker convention"
        )


def _interview_table(turns: pd.DataFrame, reports: list[FileReport]) -> pd.DataFrame:
    """One row per interview: its file, format and any front matter the file carried (as JSON)."""
    by_path = {r.source_file: r for r in reports}
    first = turns.drop_duplicates("interview_id")
    files = first["source_file"]
    return pd.DataFrame(
        {
            "interview_id": first["interview_id"].to_numpy(),
            "source_file": files.to_numpy(),
            "format": files.map(lambda f: by_path[f].format).to_numpy(),
            "front_matter": files.map(
                lambda f: (
                    json.dumps(by_path[f].metadata, ensure_ascii=False, sort_keys=True) if by_path[f].metadata else ""
                )
            ).to_numpy(),
        }
    )
