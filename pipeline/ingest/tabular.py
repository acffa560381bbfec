"""Tables of transcript text: CSV, TSV, XLSX and JSONL, in either of two shapes.

* one row per turn: a speaker column and a text column, optional interview id (else the file stem) and start /
  end times (seconds, ``h:mm:ss`` or ``[0:18]``). A blank speaker means the previous speaker goes on;
* one row per interview: an id column and a text column holding the whole transcript, whose turns start with
  ``Speaker:`` labels.

Columns are taken from ``TableColumns`` (``--text-column`` and friends) or recognised by name; failing that, the
text column is the one with the longest cells. Source lines are physical lines of the file (XLSX: row numbers),
so a quote can be found where it is cited.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .decode import read_text
from .labels import parse_labelled_lines
from .normalise import count_words
from .turns import RawTurn, ReadLog, parse_seconds

ID_COLUMNS = ("interview_id", "transcript_id", "interview", "id", "session", "session_id", "file")
TEXT_COLUMNS = ("text", "transcript", "utterance", "content", "words", "speech", "caption", "body", "message",
                "verbatim", "dialogue", "response")  # fmt: skip
SPEAKER_COLUMNS = ("speaker", "speaker_name", "speaker_label", "speaker_id", "name", "who", "person")
# The speaker where its values repeat from row to row; a column of one value per row names the interview
REPEATING_SPEAKER_COLUMNS = ("participant", "respondent", "role", "speaker_role")
START_COLUMNS = ("start", "start_s", "start_time", "timestamp", "time", "timecode", "time_code", "begin", "start_ms")
END_COLUMNS = ("end", "end_s", "end_time", "stop", "end_ms")
Records = list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class TableColumns:
    """Column names a user gives for tables whose headers insightmap cannot guess (``--text-column`` …)."""

    text: str | None = None
    speaker: str | None = None
    interview_id: str | None = None
    time: str | None = None


def _column_key(name: str) -> str:
    """A header as the known names spell it: "Speaker Name", "speaker-name" and "speaker_name" are one."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def _pick(columns: list[str], names: tuple[str, ...], given: str | None, path: Path) -> str | None:
    lowered = {_column_key(c): c for c in columns}
    if given:
        if _column_key(given) not in lowered:
            raise InputError(path, f"no column {given!r} (columns: {', '.join(columns)})", 1)
        return lowered[_column_key(given)]
    return next((lowered[n] for n in names if n in lowered), None)


def _longest_column(records: Records, columns: list[str], taken: set[str]) -> str | None:
    """The free-text column: the one whose cells are longest on average (speech is longer than any label)."""
    free = [c for c in columns if c not in taken]
    lengths = {c: sum(len(row.get(c) or "") for _, row in records) / len(records) for c in free}
    best = max(free, key=lambda c: lengths[c], default=None)
    return best if best is not None and lengths[best] >= 20 else None


def _people_column(records: Records, columns: list[str], path: Path) -> tuple[str | None, str | None]:
    """(speaker column, interview column) from a ``Participant`` or ``Role`` column: who speaks when its values
    repeat (rows are turns of a few speakers); the interview when each row has its own (``Participant``: P1, P2,
    P3, each with a whole transcript)."""
    column = _pick(columns, REPEATING_SPEAKER_COLUMNS, None, path)
    said = [value for _, row in records if (value := (row.get(column) or "").strip())] if column else []
    if not said:
        return None, None
    if len(set(said)) <= len(said) / 2:
        return column, None
    return None, column if len(set(said)) == len(records) else None


def _csv_records(text: str, delimiter: str, path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with the physical line each starts on (quoted cells may span lines).

    Strict quoting: a stray quote would otherwise open a cell that swallows the rows after it into one
    speaker's turn; it is reported at the row where the cell opened instead."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 2
    try:
        for row in reader:
            yield start, {k: v for k, v in row.items() if k is not None}
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            path,
            f"a quoted cell opened in this row is not closed properly ({exc}); "
            "rows after it would be read into one cell: fix the stray quote",
            start,
        ) from exc


def _delimiter(path: Path, text: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return max((",", "\t", ";"), key=header.count) if header.count(",") == 0 else ","


def _jsonl_records(text: str, path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"invalid JSON ({exc.msg})", number) from exc
        if not isinstance(record, dict):
            raise InputError(path, "each line must be a JSON object", number)
        yield number, {str(k): "" if v is None else str(v) for k, v in record.items()}


def _xlsx_records(path: Path) -> Records:
    """First worksheet, first row as header; row numbers are what Excel shows."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for damaged files
        raise InputError(path, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from exc
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else f"column {i + 1}" for i, h in enumerate(next(rows, []) or [])]
    records = [
        (number, {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)})
        for number, row in enumerate(rows, start=2)
        if any(v is not None and str(v).strip() for v in row)
    ]
    book.close()
    return records


def read_tabular(path: Path, log: ReadLog, columns: TableColumns | None = None) -> list[RawTurn]:
    columns = columns or TableColumns()
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        records = _xlsx_records(path)
    else:
        text, decode_warnings = read_text(path)
        log.warnings.extend(decode_warnings)
        is_jsonl = suffix in {".jsonl", ".ndjson"}
        records = list(_jsonl_records(text, path) if is_jsonl else _csv_records(text, _delimiter(path, text), path))
    if not records:
        raise InputError(path, "no rows")
    names = list(dict.fromkeys(k for _, r in records for k in r))
    speaking, interviews = _people_column(records, names, path)
    id_col = _pick(names, ID_COLUMNS, columns.interview_id, path) or interviews
    speaker_col = _pick(names, SPEAKER_COLUMNS, columns.speaker, path) or speaking
    start_col = _pick(names, START_COLUMNS, columns.time, path)
    end_col = _pick(names, END_COLUMNS, None, path)
    text_col = _pick(names, TEXT_COLUMNS, columns.text, path) or _longest_column(
        records, names, {id_col, speaker_col, start_col, end_col}
    )
    if text_col is None:
        raise InputError(
            path,
            f"no text column (expected one of: {', '.join(TEXT_COLUMNS)}, or pass --text-column); "
            f"found: {', '.join(names)}",
            1,
        )
    if speaker_col:
        return _turn_rows(records, path, log, id_col, speaker_col, text_col, start_col, end_col)
    if id_col is None:
        raise InputError(
            path,
            f"one-row-per-interview shape needs an id column ({', '.join(ID_COLUMNS)}, or --id-column), "
            f"or a speaker column (--speaker-column) for one row per turn",
            1,
        )
    return _interview_rows(records, path, log, id_col, text_col, one_line_rows=suffix in {".jsonl", ".ndjson"})


def _turn_rows(records: Records, path: Path, log: ReadLog, id_col, speaker_col, text_col, start_col, end_col):
    """One row per turn; a row with a blank speaker continues the previous speaker of the same interview."""
    turns: list[RawTurn] = []
    millis = start_col is not None and start_col.lower().endswith("ms")
    for line, row in records:
        body = (row.get(text_col) or "").strip()
        log.words_in_file += count_words(body)
        if not body:
            continue
        interview_id = ((row.get(id_col) or "").strip() if id_col else "") or path.stem
        speaker = (row.get(speaker_col) or "").strip()
        if not speaker:
            previous = next((t for t in reversed(turns) if t.interview_id == interview_id), None)
            if previous is None:
                raise InputError(path, "row has text but no speaker, and no speaker before it", line)
            speaker = previous.speaker
        start, end = (parse_seconds(row.get(c)) if c else None for c in (start_col, end_col))
        if millis:
            start, end = (None if t is None else t / 1000 for t in (start, end))
        turns.append(RawTurn(interview_id, speaker, [(line, body)], start, end))
    if not turns:
        raise InputError(path, "no rows with text")
    return turns


def _interview_rows(records: Records, path: Path, log: ReadLog, id_col, text_col, one_line_rows: bool):
    turns: list[RawTurn] = []
    for line, row in records:
        interview_id = (row.get(id_col) or "").strip()
        body = row.get(text_col) or ""
        if not interview_id or not body.strip():
            log.warnings.append(f"line {line}: row without id or text skipped")
            log.set_aside_text(line, "row without id", body)
            log.words_in_file += count_words(body)
            continue
        # A quoted cell's first line is on the row's first physical line when the text column comes last,
        # the usual export shape; JSONL keeps a whole interview on one line.
        numbered = [(line if one_line_rows else line + i, part) for i, part in enumerate(body.split("\n"))]
        try:
            turns.extend(parse_labelled_lines(numbered, str(path), interview_id, log))
        except InputError as exc:
            log.warnings.append(f"line {line}: interview {interview_id!r} skipped: {exc.reason}")
            log.set_aside_text(line, "interview without speaker labels", body)
    if not turns:
        raise InputError(path, "no interview in this file has speaker-labelled turns")
    return turns
