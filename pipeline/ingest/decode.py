"""Turn raw bytes into text: UTF-8 (with or without BOM), UTF-16 with BOM, cp1252 as a warned fallback per line."""

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
    except UnicodeDecodeError:
        return _mixed(data)


def _mixed(data: bytes) -> tuple[str, list[str]]:
    """A file that is not all UTF-8: lines that are UTF-8 stay so; the others are read as cp1252 (Windows),
    so one pasted Windows line does not garble every accented word around it."""
    lines, windows, accented = [], [], 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        accented += not raw.isascii()
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))  # 5 bytes cp1252 leaves undefined
            windows.append(number)
    if len(windows) == accented:  # a Windows file throughout
        return "\n".join(lines), [f"line {windows[0]}: not UTF-8; read as cp1252 (Windows) text — check accents"]
    shown = ", ".join(map(str, windows[:5])) + (f" and {len(windows) - 5} more" if len(windows) > 5 else "")
    return "\n".join(lines), [
        f"line{'s' if len(windows) > 1 else ''} {shown}: not UTF-8 unlike the rest of the file; read as cp1252 "
        "(Windows) text — check accents"
    ]


def read_text(path: str | Path) -> tuple[str, list[str]]:
    """Read and decode a text file; universal newlines so line numbers match what an editor shows."""
    text, warnings = decode_bytes(Path(path).read_bytes(), path)
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings
