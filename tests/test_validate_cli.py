"""`insightmap validate` on bad input: clear file:line messages, other files still read, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import SAMPLE, pdf_of, write

from pipeline.cli import main

GOOD = "Interviewer: Why?\nPat: Because of cost.\n"


def locked_pdf() -> bytes:
    """A transcript PDF that opens only with a password (RC4, which pypdf writes without extra packages)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_of([GOOD.splitlines()]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def run_validate(path, *args):
    result = CliRunner().invoke(main, ["validate", str(path), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty.txt: file is empty"),
        ("blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "blob.txt: binary file"),
        ("notes.pdf", b"%PDF-1.4", "notes.pdf: not a valid PDF file"),
        ("scan.pdf", pdf_of([[]]), "scan.pdf: PDF has no text layer"),
        ("locked.pdf", locked_pdf(), "locked.pdf: PDF is password-protected"),
        ("notes.doc", b"\xd0\xcf\x11\xe0", "notes.doc: unsupported file type '.doc'"),
        ("notes.rtf", b"Interviewer: hi", "notes.rtf: not an RTF file"),
        ("memo.txt", b"\nwe talked about the budget\nand the pricing\n", "memo.txt:2: no speaker labels found"),
        (
            "bad.vtt",
            b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nA: hi\n\n2\n00:00:05 --> 0:0:x\nB: yo\n",
            "bad.vtt:8: malformed cue timing",
        ),
        ("nohead.vtt", b"1\n00:00:01.000 --> 00:00:02.000\nA: hi\n", "nohead.vtt:1: not a WebVTT file"),
        (
            "bad.srt",
            b"1\n00:00:01,000 --> 00:00:02,000\nA: hi\n\n2\n00:00:03,000 -> 00:00:04,000\nB: yo\n",
            "bad.srt:5: malformed SRT block",
        ),
        ("fake.docx", b"this is not a zip", "fake.docx: not a valid DOCX file"),
        ("rows.csv", b"who,said\nx,y\n", "rows.csv:1: no text column"),
        ("rows.jsonl", b'{"speaker": "A", "text": "hi"}\n{oops\n', "rows.jsonl:2: invalid JSON"),
    ],
)
def test_bad_file_is_reported_and_others_still_read(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    write(tmp_path / "good.txt", GOOD)
    result = run_validate(tmp_path)
    assert result.exit_code == 1
    assert message in result.output
    assert "good.txt" in result.output and "1 of 2 files read" in result.output
    assert "Traceback" not in result.output


def test_cp1252_and_utf16_are_read_with_notice(tmp_path):
    write(tmp_path / "win.txt", "Interviewer: Café?\nRené: Oui — merci.\n", "cp1252")
    write(tmp_path / "wide.txt", "Interviewer: Why?\nAnn: Cost.\n", "utf-16")
    result = run_validate(tmp_path)
    assert result.exit_code == 0, result.output
    assert "win.txt: line 1: not UTF-8; read as cp1252" in result.output
    assert "2 of 2 files read" in result.output


def test_what_is_set_aside_is_counted_in_words_and_a_bare_timestamp_loses_none(tmp_path):
    """A transcriber's note is reported with its line and the words it held; a timestamp inside a turn holds no
    words, and the note says none were lost rather than "0 words set aside"."""
    write(tmp_path / "clock.txt", "Interviewer: Which data?\nAnn: Web data. Visited pages [00:19:00] over time.\n")
    write(tmp_path / "laughs.txt", "Interviewer: Why?\nBo: Cost (laughs) mostly.\n")
    result = run_validate(tmp_path)
    assert result.exit_code == 0, result.output
    assert "clock.txt:2: set aside, no words lost (transcriber's note" in result.output
    assert "laughs.txt:2: 1 word set aside (transcriber's note" in result.output
    assert "0 words" not in result.output


def test_sample_corpus_table(tmp_path):
    result = run_validate(SAMPLE)
    assert result.exit_code == 0, result.output
    assert "11 of 11 files read, 12 interviews" in result.output
    assert re.search(r"Dana Reyes\s+participant", result.output) and re.search(
        r"Sam Patel\s+interviewer", result.output
    )


def test_real_command_prints_no_traceback(tmp_path):
    """The installed console script, as a user runs it, on a folder with a broken file."""
    (tmp_path / "broken.vtt").write_bytes(b"WEBVTT\n\nnot a cue --> at all\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "broken.vtt:3: malformed cue timing" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_themes_with_nothing_readable_fails_and_keeps_old_output(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    out.mkdir()
    (out / "themes.csv").write_text("earlier results\n")
    (out / "manifest.json").write_text("{}\n")  # an earlier insightmap output
    result = CliRunner().invoke(main, ["themes", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 2
    assert "no participant speech to analyse" in result.output and "empty.txt: file is empty" in result.output
    assert (out / "themes.csv").read_text() == "earlier results\n"
