"""Hostile and careless input, and faults: each case ends in one line naming the file and why (never a traceback),
and a run that succeeds accounts for every word it was given. Files are small and generated here."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, OpenedPage, write
from markdown_it import MarkdownIt

from pipeline.cli import main
from pipeline.config import Config
from pipeline.ingest import ingest
from pipeline.ingest.normalise import count_words

INTERVIEW = (
    "Interviewer: What matters most when you choose a vendor?\n"
    "Participant: Honestly the integration with our existing systems matters most, because we cannot rebuild it.\n"
    "Interviewer: Why is that?\n"
    "Participant: Our security team reviews every vendor and the approval takes months, so we prefer approved tools.\n"
)


def invoke(*args: object, code: int | None = None):
    """Run the CLI in-process; it must end by exiting (never by an uncaught exception) and print no traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def folder(tmp_path: Path, files: dict[str, str | bytes], name: str = "in") -> Path:
    root = tmp_path / name
    root.mkdir()
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


def assert_words_accounted(root: Path) -> None:
    """Every word of every file read is in a turn, a speaker label or a set-aside block with its reason."""
    for report in ingest(root).reports:
        if not report.error:
            counted = report.words_in_turns + report.label_words + sum(report.set_aside.values())
            assert counted >= report.words_in_file - 1, (report.path, counted, report.words_in_file)


# --- files that cannot be read: reported by name and reason, the others still read -----------------------------


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "file is empty"),
        (bytes(range(256)) * 4, "binary file"),
        (INTERVIEW.replace("vendor", "ven\x00dor").encode(), "binary file"),
    ],
    ids=["empty", "binary", "nul-bytes"],
)
def test_unreadable_file_is_named_and_the_rest_is_read(tmp_path, data, why):
    root = folder(tmp_path, {"bad.txt": data, "good.txt": INTERVIEW})
    result = invoke("validate", root, code=1)
    assert f"bad.txt: {why}" in result.output
    assert "1 of 2 files read" in result.output


def test_a_file_of_labels_without_speech_is_reported_and_the_rest_is_read(tmp_path):
    """Speaker labels with nothing said after them give a file with no turns. Beside a file with turns, pandas'
    string columns summed that file's words to "" and ingest stopped with a traceback."""
    root = folder(tmp_path, {"labels-only.txt": "Interviewer:\nParticipant:\nInterviewer:\n", "good.txt": INTERVIEW})
    result = invoke("validate", root)
    assert "labels-only.txt" in result.output and "no participant speech" in result.output
    assert "Traceback" not in result.output and "2 of 2 files read" in result.output


def test_a_file_that_cannot_be_opened_is_reported(tmp_path, monkeypatch):
    root = folder(tmp_path, {"locked.txt": INTERVIEW, "good.txt": INTERVIEW.replace("vendor", "supplier")})
    opened = Path.open

    def deny(self, *args, **kwargs):
        if self.name == "locked.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    result = invoke("validate", root, code=1)
    assert "locked.txt: cannot read (Permission denied)" in result.output


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path, monkeypatch):
    root = folder(tmp_path, {"good.txt": INTERVIEW, "private/a.txt": INTERVIEW.replace("vendor", "supplier")})
    listing = os.scandir

    def deny(path="."):
        if Path(path).name == "private":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", deny)
    result = invoke("validate", root, code=1)
    assert "private: folder not read (Permission denied)" in result.output and "1 of 2 files read" in result.output


def test_decompression_bomb_is_refused_quickly_and_the_folder_still_read(tmp_path):
    root = folder(tmp_path, {"good.txt": INTERVIEW})
    with zipfile.ZipFile(root / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 24)
            for _ in range(64):  # 1 GiB inflated, about 1 MB on disk
                member.write(block)
    began = time.perf_counter()
    result = invoke("validate", root, code=1)
    assert time.perf_counter() - began < 5
    assert "bomb.docx: would inflate to 1,024.0 MB, above max_archive_mb" in result.output
    assert "1 of 2 files read" in result.output


def test_oversized_file_is_refused_with_the_setting_to_change(tmp_path):
    root = folder(tmp_path, {"big.txt": INTERVIEW * 400, "good.txt": INTERVIEW})
    (root.parent / "limits.toml").write_text("max_file_mb = 0.01\n")
    result = invoke("--config", root.parent / "limits.toml", "validate", root, code=1)
    assert "big.txt: file is 0.1 MB, above max_file_mb = 0.01" in result.output


# --- speech that used to be lost or misattributed silently ---------------------------------------------------------


@pytest.mark.parametrize(
    "mark", ["\u200b", "\u202e", "\u2066", "\x1b[31m"], ids=["zero-width", "rtl", "isolate", "ansi"]
)
def test_hidden_characters_in_a_label_do_not_merge_speakers(tmp_path, mark):
    root = folder(tmp_path, {"a.txt": INTERVIEW.replace("Participant:", f"Parti{mark}cipant:")})
    turns = ingest(root).turns
    assert len(turns) == 4
    assert turns["speaker"].tolist() == ["Interviewer", "Participant"] * 2
    assert_words_accounted(root)


def test_terminal_escapes_never_reach_tables_or_the_terminal(tmp_path):
    said = "\x1b]0;owned\x07\x1b[2J\x1b[31mHonestly\x1b[0m"
    root = folder(
        tmp_path, {"a.txt": INTERVIEW.replace("Honestly", said).replace("Participant:", "\x1b[1mPat\x1b[0m:")}
    )
    result = invoke("validate", root, code=0)
    assert "\x1b" not in result.output and "\x07" not in result.output
    text = " ".join(ingest(root).turns["text"])
    assert "\x1b" not in text and "owned" not in text and "Honestly the integration" in text


def test_one_windows_line_does_not_garble_the_utf8_lines(tmp_path):
    data = (
        INTERVIEW.encode()
        + "Participant: café was the word.\n".encode("cp1252")
        + "Participant: ünïcödé too.\n".encode()
    )
    root = folder(tmp_path, {"a.txt": data})
    result = invoke("validate", root, code=0)
    assert "line 5: not UTF-8 unlike the rest of the file" in result.output
    text = " ".join(ingest(root).turns["text"])
    assert "café" in text and "ünïcödé" in text


def test_caption_cue_without_timing_is_counted_not_dropped(tmp_path):
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>What matters most?\n\n"
        "00:00:05.000 00:00:09.000\n<v Participant>The integration matters most to our team.\n\n"
        "00:00:10.000 --> 00:00:14.000\n<v Participant>Security reviews take months.\n"
    )
    root = folder(tmp_path, {"a.vtt": vtt})
    result = invoke("validate", root, code=0)
    assert "a.vtt: line 6: caption block without a 'start --> end' timing line" in result.output
    assert_words_accounted(root)


def test_stray_csv_quote_is_an_error_at_its_row_not_a_swallowed_turn(tmp_path):
    csv_text = (
        'speaker,text\nInterviewer,"What matters most?\nParticipant,The integration matters most.\n'
        "Participant,Security reviews take months.\n"
    )
    root = folder(tmp_path, {"a.csv": csv_text, "good.txt": INTERVIEW})
    result = invoke("validate", root, code=1)
    assert "a.csv:2: a quoted cell opened in this row is not closed properly" in result.output


def test_speech_in_another_script_is_never_a_backchannel(tmp_path):
    chinese = (
        "Interviewer: 你最看重什么？\n"
        "Participant: 老实说，最重要的是与我们现有系统的集成，因为我们无法重建一切。\n"
        "Interviewer: 为什么？\n"
        "Participant: 我们的安全团队审查每个供应商，审批需要几个月，所以我们更喜欢已经通过审查的工具。\n"
    )
    root = folder(tmp_path, {"zh.txt": chinese, "en.txt": INTERVIEW})
    left_out = invoke("segment", root, "-o", tmp_path / "out", code=0)
    assert "zh: participants speak 'zh'" in left_out.output  # reported, not mixed into English themes
    invoke("segment", root, "-o", tmp_path / "kept", "--keep-other-languages", code=0)
    (root / "en.txt").unlink()
    alone = invoke("themes", root, "-o", tmp_path / "themes", code=2)
    assert "no participant speech to analyse; interviews in zh were left out" in alone.output
    units = pd.read_parquet(tmp_path / "kept" / "units.parquet")
    assert (units["interview_id"] == "zh").sum() == 2


def test_bad_metadata_row_is_skipped_alone(tmp_path):
    meta = 'interview_id,segment\na,Enterprise\n"b,SMB\nc,Public sector\n'
    files = {"a.txt": INTERVIEW, "c.txt": INTERVIEW.replace("vendor", "supplier"), "metadata.csv": meta}
    result = ingest(folder(tmp_path, files))
    assert any("metadata.csv:3: row skipped: broken quoting" in m for m in result.messages)
    assert result.interviews.set_index("interview_id")["segment"].to_dict() == {"a": "Enterprise", "c": "Public sector"}


def test_long_monologue_and_repeated_lines_are_read_whole(tmp_path, nlp):
    """5,000 identical lines in one turn: parsed in pieces (linear cost), every word in a unit or set aside."""
    from pipeline.segment import SegmentParams, segment

    line = "We need the integration to work with everything we already run.\n"
    root = folder(tmp_path, {"a.txt": "Interviewer: Tell me.\nParticipant: " + line * 5000})
    turns = ingest(root).turns
    units, dropped = segment(turns, nlp, SegmentParams.from_config(Config()))
    spoken = turns.loc[turns["role"] == "participant", "text"].map(count_words).sum()
    assert units["text"].map(count_words).sum() + dropped["text"].map(count_words).sum() == spoken
    assert units["line"].max() == 5001  # citations still point at the right line of the file


def test_interview_ids_never_become_paths(tmp_path):
    csv_text = (
        "interview_id,speaker,text\n../../escape,Interviewer,What matters most?\n"
        "../../escape,Participant,The integration matters most because we cannot rebuild everything.\n"
    )
    root = folder(tmp_path, {"a.csv": csv_text})
    result = invoke("themes", root, "-o", tmp_path / "out", "--cache-dir", tmp_path / "cache", code=0)
    assert "note: no theme found: a theme needs at least 3 units" in result.output  # one unit: said plainly
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["cache", "in", "out"]
    assert not (tmp_path.parent / "escape").exists()


# --- settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--min-cluster-size", "-1"], "min_cluster_size: -1 is out of range (allowed: 0 (automatic) or 2 to"),
        (["--seed", str(2**66)], "seed: 73786976294838206464 is out of range (allowed: 0 to 4294967295)"),
        (["--device", "tpu"], "device: 'tpu' is not one of auto, cpu, cuda, cuda:N, mps"),
        (["--personas", "1"], "personas: 1 is out of range"),
    ],
    ids=["negative-cluster", "huge-seed", "tpu", "one-persona"],
)
def test_bad_flag_is_one_line_naming_the_setting(tmp_path, args, why):
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    result = invoke("themes", root, "-o", tmp_path / "out", *args, code=2)
    assert why in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("toml", "why"),
    [
        ("embed_batch_size = 0", "embed_batch_size: 0 is out of range (allowed: 1 to"),
        ("umap_n_components = 0", "umap_n_components: 0 is out of range"),
        ("merge_threshold = -1", "merge_threshold: -1.0 is out of range (allowed: 0.0 to 1.0)"),
        ("n_quotes = -1", "n_quotes: -1 is out of range"),
        ("question_weight = nan", "question_weight: must be a finite number"),
        ("persona_min = 6\npersona_max = 3", "persona_min (6) is above persona_max (3)"),
        ("seed = 'seven'", "seed: expected int, got 'seven'"),
        ("seed = 7\nseed = 8", "not valid TOML"),
    ],
)
def test_bad_config_file_is_one_line_naming_the_setting(tmp_path, toml, why):
    (tmp_path / "insightmap.toml").write_text(toml + "\n")
    result = invoke("--config", tmp_path / "insightmap.toml", "config", "show", code=2)
    assert f"insightmap.toml: {why}" in result.output


def test_binary_config_and_python_api_are_checked_too(tmp_path):
    (tmp_path / "bad.toml").write_bytes(b"\x00\xff\xfe binary")
    assert "bad.toml: not valid TOML" in invoke("--config", tmp_path / "bad.toml", "config", "show", code=2).output
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="min_unit_words: 0 is out of range"):
        Config(min_unit_words=0)


def test_malformed_taxonomy_is_one_line(tmp_path):
    (tmp_path / "zones.toml").write_text("[[zones]\nid = 'x'\n")
    result = invoke("zones", "list", "--zones", tmp_path / "zones.toml", code=2)
    assert "zones.toml" in result.output


def test_cuda_without_a_gpu_fails_before_any_work(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    result = invoke("themes", root, "-o", tmp_path / "out", "--device", "cuda", code=2)
    assert "device: 'cuda' asked for, but torch finds no CUDA GPU here" in result.output


# --- the output folder and faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("file", "is a file"),
        ("inside", "output folder overlaps the input"),
        ("foreign", "is a folder with other files in it, not an insightmap output"),
        ("under-file", "a file stands where a folder is needed"),
    ],
)
def test_unusable_output_folder_is_refused_before_any_work(tmp_path, where, why):
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    (tmp_path / "file").write_text("keep me\n")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.docx").write_text("years of work\n")
    out = {"file": tmp_path / "file", "inside": root / "out", "foreign": tmp_path / "foreign",
           "under-file": tmp_path / "file" / "out"}[where]  # fmt: skip
    result = invoke("segment", root, "-o", out, code=2)
    assert why in result.output
    assert (tmp_path / "foreign" / "thesis.docx").read_text() == "years of work\n"
    assert (tmp_path / "file").read_text() == "keep me\n"


def test_output_beside_a_single_input_file_is_fine(tmp_path):
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    invoke("segment", root / "a.txt", "-o", root / "out", code=0)
    assert (root / "out" / "units.csv").is_file()


def test_second_run_on_a_locked_folder_stops_and_leftovers_are_cleaned(tmp_path):
    from filelock import FileLock

    root = folder(tmp_path, {"a.txt": INTERVIEW})
    out = tmp_path / "out"
    with FileLock(tmp_path / ".out.lock"):
        assert "another insightmap run is writing this folder" in invoke("segment", root, "-o", out, code=2).output
    (tmp_path / ".out.tmp-killed").mkdir()  # a run killed mid-write left its staging folder
    invoke("segment", root, "-o", out, code=0)
    assert not (tmp_path / ".out.tmp-killed").exists()
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_disk_full_is_one_line_and_keeps_the_previous_output(tmp_path, monkeypatch):
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    out = tmp_path / "out"
    invoke("segment", root, "-o", out, code=0)
    before = (out / "units.csv").read_text()

    def full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    (root / "b.txt").write_text(INTERVIEW.replace("vendor", "supplier"))
    result = invoke("segment", root, "-o", out, code=2)
    assert "No space left on device; earlier output left as it was" in result.output
    assert (out / "units.csv").read_text() == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_a_defect_is_one_line_with_the_traceback_kept_for_the_report(tmp_path, monkeypatch):
    from pipeline import runner

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(runner, "segment", broken)
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    (tmp_path / "fresh.toml").write_text(f"cache_dir = '{tmp_path / 'cache'}'\n")  # nothing cached: segment runs
    result = invoke("--config", tmp_path / "fresh.toml", "segment", root, "-o", tmp_path / "out", code=3)
    assert "internal error: ValueError: a bug" in result.output
    log = Path(result.output.split("details in ")[1].split(",")[0])
    assert "Traceback" in log.read_text()


def test_sigterm_mid_run_leaves_the_previous_output(tmp_path):
    root = folder(tmp_path, {"a.txt": INTERVIEW})
    out = tmp_path / "out"
    invoke("segment", root, "-o", out, code=0)
    before = sorted(p.name for p in out.iterdir())
    (root / "long.txt").write_text("Interviewer: Tell me.\nParticipant: " + "We need the integration to work. " * 20000)
    command = [sys.executable, "-m", "pipeline.cli", "segment", str(root), "-o", str(out)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(6)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert "interrupted: nothing written" in stderr
    assert sorted(p.name for p in out.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


# --- what people open: spreadsheets and Markdown -------------------------------------------------------------------

CRAFTED_CSV = (
    "speaker,text\n"
    "Interviewer,What matters most when you choose?\n"
    '"=HYPERLINK(""http://evil.example"",""click"")","=cmd|\' /C calc\'!A0 we need integration with everything"\n'
    '+Participant,"+1+2 the integration matters most because we cannot rebuild everything"\n'
    'Participant,"@SUM(1,2) our security review takes months so we prefer approved tools"\n'
    'Participant,"-2+3 we prefer tools that already passed our review, honestly"\n'
)
MARKUP = INTERVIEW.replace(
    "Honestly",
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) "
    "![](http://evil.example/beacon.png) Honestly",
)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory) -> Path:
    """This module's own cache: the session's shared one must stay cold for the tests that measure caching."""
    return tmp_path_factory.mktemp("hostile-cache")


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory, module_cache) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "in"
    shutil.copytree(SAMPLE, root)
    write(root / "crafted.csv", CRAFTED_CSV)
    write(root / "markup.txt", MARKUP)
    invoke("themes", root, "-o", base / "out", "--cache-dir", module_cache, code=0)
    return base / "out"


def test_no_formula_cell_in_the_workbook(hostile_out):
    book = openpyxl.load_workbook(hostile_out / "themes.xlsx")
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    triggers = [c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@"))]
    assert any(c.value.startswith("=cmd|") for c in triggers)  # the payload is there, as text
    assert all(c.data_type == "s" and c.quotePrefix for c in triggers)


def test_csv_cells_are_spreadsheet_safe_and_read_back_verbatim(hostile_out):
    from pipeline.store import load_run

    raw = (hostile_out / "units.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in raw and "\n=" not in raw and ",=" not in raw and ",+" not in raw and ",@" not in raw
    assert pd.read_parquet(hostile_out / "units.parquet")["speaker"].str.startswith("=HYPERLINK(").any()  # verbatim
    run, _ = load_run(hostile_out, Config())
    assert '=HYPERLINK("http://evil.example","click")' in set(run.speakers["speaker"])


def test_markdown_outputs_carry_no_markup_from_transcripts(hostile_out):
    from pipeline import render
    from pipeline.store import load_run

    documents = [hostile_out / "themes.md", hostile_out / "personas.md", *(hostile_out / "personas").glob("*.md")]
    run, _ = load_run(hostile_out, Config())
    hostile = MARKUP.split("\n")[1].split(": ", 1)[1]
    quotes = run.quotes.assign(text=hostile, speaker="<img src=x onerror=alert(4)>")  # every quote hostile
    report = render.theme_markdown(run.themes, quotes, run.units, run.taxonomy, "<b>study</b>")
    markdown = "\n".join([report, *(p.read_text(encoding="utf-8") for p in documents)])
    assert "onerror=alert(2)" in report and "javascript:alert(3)" in report  # hostile speech is quoted...
    html = MarkdownIt("commonmark", {"html": True}).render(markdown)  # as a viewer that allows raw HTML shows it
    for live in ("<script", "<img", "<b>", 'href="javascript:', 'src="http'):
        assert live not in html  # ...but only ever as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_carries_no_markup_from_transcripts(hostile_out, browser, tmp_path):
    """Every quote, speaker and the title hostile: the browser shows them as text, runs nothing, fetches nothing."""
    from pipeline import report
    from pipeline.store import load_run

    run, _ = load_run(hostile_out, Config())
    hostile = MARKUP.split("\n")[1].split(": ", 1)[1]
    speaker = "<img src=x onerror=alert(4)>"
    units = run.units.assign(text=hostile, speaker=speaker)
    run = replace(run, units=units, quotes=run.quotes.assign(text=hostile, speaker=speaker))
    page_file = tmp_path / "report.html"
    page_file.write_text(report.report_html(run, "<b>study</b></title><script>alert(5)</script>"), encoding="utf-8")
    opened = OpenedPage(browser, page_file)
    try:
        page = opened.page
        assert opened.dialogs == [] and opened.requests == [] and opened.errors == []
        assert page.locator("main img, main b, a[href^='javascript']").count() == 0
        assert page.locator("script:not([type])").count() == 2  # Plotly and the report's own script, nothing else
        assert "<script>alert(1)</script>" in page.locator("#zones").inner_text()  # the words, shown as text
        assert page.title() == "<b>study</b></title><script>alert(5)</script>"
        page.locator("#figure-map .scatterlayer .point").first.hover(force=True)
        assert page.locator("main img").count() == 0 and opened.dialogs == []
    finally:
        opened.close()


def test_markdown_escaping_keeps_the_words():
    from pipeline.escape import markdown_text, terminal_text

    said = "<script>x</script> [a](javascript:b) ![](http://e/x.png) *we* don't | pay"
    assert markdown_text(said) == (
        "\\<script\\>x\\</script\\> \\[a\\](javascript:b) !\\[\\](http://e/x.png) \\*we\\* don't \\| pay"
    )
    assert terminal_text("\x1b]0;title\x07a\x1b[31mb\x1b[0m\rc") == "abc"


# --- offline -------------------------------------------------------------------------------------------------------


def test_themes_runs_with_networking_cut(tmp_path, module_cache, hostile_out, monkeypatch):
    """Offline at run time: with no network namespace (``unshare -n``) or, failing that, a socket guard."""
    out = tmp_path / "out"
    args = ["themes", str(SAMPLE), "-o", str(out), "--cache-dir", str(module_cache)]  # warm: hostile_out ran
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        insightmap = Path(sys.executable).with_name("insightmap")
        done = subprocess.run(["unshare", "-n", str(insightmap), *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    else:
        import socket

        def refuse(*_args, **_kwargs):
            raise OSError("network access attempted")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        invoke(*args, code=0)
    assert (out / "themes.csv").is_file()
