"""Turn raw bytes into text: UTF-8 (with or without BOM), UTF-16 with BOM, cp1252 as a warned fallback."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import InputError

_SNIFF_BYTES = 8192


def decode_bytes(data: bytes, path: str | Path) -> tuple[str, list[str]]:
    """Return ``(text, warnings)``; raise InputError for empty or binary input."""
    if not data.strip():
        raise InputError(path, "file is empty")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise InputError(path, f"UTF-16 byte order mark but undecodable text ({exc.reason})") from exc
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise InputError(path, "binary file (NUL bytes), not a transcript; export it as text, VTT, SRT, DOCX or CSV")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc2:
            raise InputError(path, "not UTF-8, UTF-16 or cp1252 text", line) from exc2
        return text, [f"line {line}: not UTF-8; read as cp1252 (Windows) text — check accented characters"]


def read_text(path: str | Path) -> tuple[str, list[str]]:
    """Read and decode a text file; universal newlines so line numbers match what an editor shows."""
    text, warnings = decode_bytes(Path(path).read_bytes(), path)
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings
