"""Plain-text and DOCX transcripts: both are lines under speaker-label conventions."""

from __future__ import annotations

from pathlib import Path
from zipfile import BadZipFile

from ..errors import InputError
from .decode import read_text
from .labels import parse_labelled_lines
from .turns import RawTurn


def read_text_transcript(path: Path, warnings: list[str]) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    warnings.extend(decode_warnings)
    lines = list(enumerate(text.split("\n"), start=1))
    return parse_labelled_lines(lines, str(path), path.stem, warnings)


def read_docx_transcript(path: Path, warnings: list[str]) -> list[RawTurn]:
    """Paragraph numbers stand in for line numbers (what Word's navigation and python-docx both count)."""
    import docx  # python-docx; imported lazily because most corpora have no DOCX

    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    try:
        document = docx.Document(str(path))
    except (BadZipFile, KeyError, ValueError) as exc:
        raise InputError(path, f"not a valid DOCX file ({exc})") from exc
    except Exception as exc:  # python-docx raises its own PackageNotFoundError for non-zip input
        raise InputError(path, f"not a valid DOCX file ({type(exc).__name__}: {exc})") from exc
    lines = [
        (number, part)
        for number, paragraph in enumerate(document.paragraphs, start=1)
        for part in paragraph.text.split("\n")
    ]
    if not any(text.strip() for _, text in lines):
        raise InputError(path, "DOCX has no text paragraphs")
    return parse_labelled_lines(lines, str(path), path.stem, warnings)
