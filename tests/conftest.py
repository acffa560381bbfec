"""Shared fixtures: the real spaCy pipeline, one themes run on the sample corpus, and the shared real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "transcripts"
SHARED = ROOT.parent / "shared" / "data"

# Real data lives beside the repository (../shared), never inside it; without it these tests say why they skip.
requires_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real data not found at {SHARED}")


@pytest.fixture(scope="session")
def nlp():
    from pipeline.registry import load_spacy

    return load_spacy("en_core_web_sm")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def run_cli(*args: object):
    from pipeline.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the session: the sample corpus is embedded once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def themes_runs(tmp_path_factory, shared_cache) -> tuple[Path, Path]:
    """``insightmap themes`` on the sample corpus twice, cold cache then warm: every output test reads these."""
    base = tmp_path_factory.mktemp("themes")
    for name in ("first", "second"):
        run_cli("themes", SAMPLE, "-o", base / name, "--cache-dir", shared_cache)
    return base / "first", base / "second"


@pytest.fixture(scope="session")
def themes_out(themes_runs) -> Path:
    return themes_runs[0]


def source_line(root: Path, source_file: str, line: int) -> str:
    """The text at a citation's ``file:line`` (DOCX: paragraph number), relative to the input folder ``root``."""
    import docx

    from pipeline.ingest.decode import read_text

    path = root / source_file
    if path.suffix == ".docx":
        return docx.Document(path).paragraphs[line - 1].text
    text, _ = read_text(path)
    return text.split("\n")[line - 1]
