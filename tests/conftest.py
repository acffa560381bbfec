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


def chromium_path() -> str | None:
    """Debian's Chromium (``make test`` installs it), or the one named by INSIGHTMAP_CHROMIUM."""
    import os
    import shutil

    return os.environ.get("INSIGHTMAP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright. ``make test`` requires it (INSIGHTMAP_REQUIRE_BROWSER=1); a bare
    ``pytest`` without Chromium skips the browser tests and says why."""
    import os

    path = chromium_path()
    if not path:
        if os.environ.get("INSIGHTMAP_REQUIRE_BROWSER"):
            pytest.fail("Chromium not found: `make browser` installs Debian's chromium package")
        pytest.skip("Chromium not found (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield launched
        launched.close()


class OpenedPage:
    """A page opened from a file with networking off, recording what a reader would never want to see."""

    def __init__(self, browser, path: Path, width: int = 1280):
        import time

        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else self.requests.append(r.url))
        began = time.perf_counter()
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)
        self.seconds = time.perf_counter() - began

    def close(self) -> None:
        self.context.close()


def pdf_of(pages: list[list[str]]) -> bytes:
    """A minimal PDF whose pages hold ``pages``' lines as text (Helvetica, one line per row), as a transcript
    exported to PDF has them: enough for any PDF reader's text layer, written here so no PDF writer is needed."""

    def escaped(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]  # fmt: skip
    for i, lines in enumerate(pages):
        stream = "BT /F1 9 Tf 11 TL 40 800 Td " + " ".join(f"({escaped(line)}) Tj T*" for line in lines) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {5 + 2 * i} 0 R >>")  # fmt: skip
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
