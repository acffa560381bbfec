"""CSV and JSONL transcripts, in either of two shapes.

* one row per turn: ``speaker`` and ``text`` columns, optional ``interview_id`` (else the file stem),
  optional ``start`` / ``end`` (seconds or h:mm:ss);
* one row per interview: an id column (``interview_id`` or ``transcript_id``) and a ``text`` column holding
  the whole transcript, whose turns start with ``Speaker:`` labels.

Source lines are physical lines of the file, so a quote can be found where it is cited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from .decode import read_text
from .labels import parse_labelled_lines
from .turns import RawTurn, parse_timestamp

ID_COLUMNS = ("interview_id", "transcript_id", "interview", "id")
TEXT_COLUMNS = ("text", "transcript", "utterance", "content")


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _seconds(value: object) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return parse_timestamp(str(value))


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with the physical line each starts on (quoted cells may span lines)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    start = 2
    for row in reader:
        yield start, row
        start = reader.line_num + 1


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


def read_tabular(path: Path, warnings: list[str]) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    warnings.extend(decode_warnings)
    is_jsonl = path.suffix.lower() in {".jsonl", ".ndjson"}
    records = list(_jsonl_records(text, path) if is_jsonl else _csv_records(text))
    if not records:
        raise InputError(path, "no rows")
    columns = list(dict.fromkeys(k for _, r in records for k in r if k is not None))
    text_col = _pick(columns, TEXT_COLUMNS)
    if text_col is None:
        raise InputError(
            path, f"no text column (expected one of: {', '.join(TEXT_COLUMNS)}); found: {', '.join(columns)}", 1
        )
    id_col = _pick(columns, ID_COLUMNS)
    speaker_col = _pick(columns, ("speaker", "speaker_name", "name"))
    if speaker_col:
        return _turn_rows(records, path, id_col, speaker_col, text_col, columns)
    if id_col is None:
        raise InputError(
            path,
            f"one-row-per-interview shape needs an id column ({', '.join(ID_COLUMNS)}), "
            f"or add a 'speaker' column for one row per turn",
            1,
        )
    return _interview_rows(records, path, id_col, text_col, warnings, one_line_rows=is_jsonl)


def _turn_rows(records, path: Path, id_col, speaker_col, text_col, columns) -> list[RawTurn]:
    start_col = _pick(columns, ("start", "start_s", "start_time", "timestamp"))
    end_col = _pick(columns, ("end", "end_s", "end_time"))
    turns = []
    for line, row in records:
        speaker = (row.get(speaker_col) or "").strip()
        body = (row.get(text_col) or "").strip()
        if not body:
            continue
        if not speaker:
            raise InputError(path, "row has text but no speaker", line)
        interview_id = (row.get(id_col) or "").strip() if id_col else path.stem
        turns.append(
            RawTurn(
                interview_id or path.stem,
                speaker,
                [(line, body)],
                _seconds(row.get(start_col)) if start_col else None,
                _seconds(row.get(end_col)) if end_col else None,
            )
        )
    if not turns:
        raise InputError(path, "no rows with text")
    return turns


def _interview_rows(records, path: Path, id_col, text_col, warnings: list[str], one_line_rows: bool) -> list[RawTurn]:
    turns: list[RawTurn] = []
    for line, row in records:
        interview_id = (row.get(id_col) or "").strip()
        body = row.get(text_col) or ""
        if not interview_id or not body.strip():
            warnings.append(f"line {line}: row without id or text skipped")
            continue
        # A quoted cell's first line is on the row's first physical line when the text column comes last,
        # the usual export shape; JSONL keeps a whole interview on one line.
        numbered = [(line if one_line_rows else line + i, part) for i, part in enumerate(body.split("\n"))]
        try:
            turns.extend(parse_labelled_lines(numbered, str(path), interview_id, warnings))
        except InputError as exc:
            warnings.append(f"line {line}: interview {interview_id!r} skipped: {exc.reason}")
    if not turns:
        raise InputError(path, "no interview in this file has speaker-labelled turns")
    return turns
