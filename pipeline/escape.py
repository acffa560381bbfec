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

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTE = re.compile(r"^'*[=+\-@\t\r]")
_QUOTED = re.compile(r"^'+[=+\-@\t\r]")
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


def _text_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])]


def escape_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (and column name) of ``table`` made safe to open in a spreadsheet."""
    columns = _text_columns(table)
    safe = table.assign(**{c: table[c].map(spreadsheet_cell) for c in columns}) if columns else table
    return safe.rename(columns=spreadsheet_cell)


def unescape_cells(table: pd.DataFrame) -> pd.DataFrame:
    """A table read from one of our CSVs, with every text cell as it was before ``escape_cells``."""
    columns = _text_columns(table)
    plain = table.assign(**{c: table[c].map(unescape_cell) for c in columns}) if columns else table
    return plain.rename(columns=unescape_cell)


def markdown_text(value: object) -> str:
    """Untrusted text as Markdown that renders exactly as the text: one line, every special character escaped."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def terminal_text(value: object) -> str:
    """Text safe to print: no escape sequences (colours, titles, cursor moves), no control characters."""
    return _CONTROL.sub("", _TERMINAL_SEQUENCE.sub("", str(value)))


def strip_terminal_sequences(text: str) -> str:
    """Transcript text without terminal escape sequences; they are never speech."""
    return _TERMINAL_SEQUENCE.sub("", text)
