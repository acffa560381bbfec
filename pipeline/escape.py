"""Transcript text is untrusted input: made inert for each place it is written, and kept verbatim as text.

* Spreadsheets (OWASP, CSV injection): a cell that starts with ``= + - @`` or a tab/carriage return would run as
  a formula (``=cmd|' /C calc'!A0`` is a DDE payload). CSV cells get a leading ``'``, which spreadsheets read as
  "this is text" and ``unescape_cells`` removes again, so reading our own CSVs back gives the original.
* Markdown: HTML, links, images and emphasis in what a participant said render as the characters they typed
  (CommonMark backslash escapes), so a report never carries a script, a ``javascript:`` link or a remote image.
* Terminals: escape sequences and control characters in names and text are removed before printing.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_TRIGGERS = "=+-@\t\r"  # a cell starting with one of these is evaluated by spreadsheets
_TRIGGER = f"[{re.escape(FORMULA_TRIGGERS)}]"
_NEEDS_QUOTE = re.compile(f"^'*{_TRIGGER}")  # quotes already there are doubled, so escaping is reversible
_QUOTED = re.compile(f"^'+{_TRIGGER}")
# Characters with a meaning in CommonMark/GFM inline syntax (and table cells); each is escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # not &: an entity only ever makes text
_TERMINAL_SEQUENCE = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def spreadsheet_cell(value: object) -> object:
    """A text cell a spreadsheet shows as text, never evaluates; other values unchanged. Reversible."""
    if isinstance(value, str) and _NEEDS_QUOTE.match(value):
        return "'" + value
    return value


def unescape_cell(value: object) -> object:
    """The original of a ``spreadsheet_cell``."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value


def starts_like_formula(value: object) -> bool:
    """True for text a spreadsheet would evaluate (the workbook marks it with Excel's quote prefix)."""
    return isinstance(value, str) and bool(value) and value[0] in FORMULA_TRIGGERS


def _map_text(table: pd.DataFrame, cell) -> pd.DataFrame:
    """``cell`` applied to every text cell and column name of ``table``."""
    columns = [c for c in table.columns if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])]
    mapped = table.assign(**{c: table[c].map(cell) for c in columns}) if columns else table
    return mapped.rename(columns=cell)


def escape_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (and column name) of ``table`` made safe to open in a spreadsheet."""
    return _map_text(table, spreadsheet_cell)


def unescape_cells(table: pd.DataFrame) -> pd.DataFrame:
    """A table read from one of our CSVs, with every text cell as it was before ``escape_cells``."""
    return _map_text(table, unescape_cell)


def markdown_text(value: object) -> str:
    """Untrusted text as Markdown that renders exactly as the text: one line, every special character escaped."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def terminal_text(value: object) -> str:
    """Text safe to print: no escape sequences (colours, titles, cursor moves), no control characters."""
    return _CONTROL.sub("", strip_terminal_sequences(str(value)))


def strip_terminal_sequences(text: str) -> str:
    """Transcript text without terminal escape sequences; they are never speech."""
    return _TERMINAL_SEQUENCE.sub("", text)
