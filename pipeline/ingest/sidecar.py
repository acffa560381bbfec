"""Small CSV files a researcher keeps beside the transcripts (``metadata.csv``, ``roles.csv``), read row by row.

A damaged row (a stray quote, a wrong number of cells, a repeated id) is reported at its line and skipped; the
other rows still count, so one typo never makes a whole sidecar vanish from the report.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..escape import unescape_cell
from .decode import read_text


def read_sidecar(path: Path, required: tuple[str, ...], key: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """``(table, problems)``: every well-formed row as text (indexed by its line), and one ``path:line: why`` per
    row skipped.

    Raises InputError only when the file as a whole is unusable (unreadable, no header, a required column
    missing). Required columns are matched whatever their case and come back under their own name; cells written
    spreadsheet-safe by insightmap (``'=…``) read back as they were.
    """
    header, rows, problems = _rows(read_text(path)[0].split("\n"), path)
    header = [h.strip() for h in header]
    named = {h.lower(): h for h in header}
    missing = [c for c in required if c not in named]
    if missing:
        raise InputError(path, f"needs columns {', '.join(required)} (missing: {', '.join(missing)})", 1)
    header = [h.lower() if h.lower() in required else h for h in header]  # required columns by their own name
    kept, at, seen = [], [], {}
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(f"{path}:{line}: row skipped: {len(cells)} cells, the header has {len(header)}")
            continue
        record = [unescape_cell(c) for c in cells]
        if key is not None:
            value = record[header.index(key)].strip()
            if value in seen:
                problems.append(f"{path}:{line}: row skipped: {key} {value!r} already given at line {seen[value]}")
                continue
            seen[value] = line
        kept.append(record)
        at.append(line)
    return pd.DataFrame(kept, columns=header, index=pd.Index(at, name="line"), dtype=str), problems


def _rows(lines: list[str], path: Path) -> tuple[list[str], list[tuple[int, list[str]]], list[str]]:
    """Header and ``(line, cells)`` rows; a row whose quoting breaks is reported and parsing resumes below it."""
    rows: list[tuple[int, list[str]]] = []
    problems: list[str] = []
    offset = 0
    while offset < len(lines):
        reader = csv.reader(io.StringIO("\n".join(lines[offset:]), newline=""), strict=True)
        start = offset + 1
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    rows.append((start, cells))
                start = offset + reader.line_num + 1
            break
        except csv.Error as exc:
            problems.append(f"{path}:{start}: row skipped: broken quoting ({exc})")
            offset = start  # resume on the line after the damaged row's first line
    if not rows or rows[0][0] != 1:
        raise InputError(path, "no header row", 1)
    return rows[0][1], rows[1:], problems
