"""Atomic output and configuration: a failed run never clobbers results; config comes from TOML and flags."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipeline import outputs
from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ConfigError


def test_failed_write_leaves_previous_results_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "themes.csv").write_text("previous results\n")
    with pytest.raises(RuntimeError), outputs.atomic_dir(out) as staging:
        (staging / "themes.csv").write_text("half of a new ")
        raise RuntimeError("disk full")
    assert (out / "themes.csv").read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_successful_write_replaces_results_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.csv").write_text("from an older run\n")
    with outputs.atomic_dir(out) as staging:
        (staging / "themes.csv").write_text("new\n")
    assert sorted(p.name for p in out.iterdir()) == ["themes.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_crash_while_writing_a_run_keeps_earlier_output(tmp_path, monkeypatch):
    """A crash inside the real writer (here: the manifest, written last) leaves the earlier folder as it was."""
    from pipeline import runner, store

    out = tmp_path / "out"
    out.mkdir()
    (out / "themes.csv").write_text("earlier\n")
    transcripts = tmp_path / "t"
    transcripts.mkdir()
    (transcripts / "a.txt").write_text("Q: Why did you buy it?\nA: The bill kept growing every month.\n")
    run = runner.run_segment(transcripts, Config())

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "manifest", explode)  # the last file written: every table is already staged
    with pytest.raises(OSError):
        store.write_run(run, transcripts, out, store.SEGMENT)
    assert (out / "themes.csv").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "t"]


def test_toml_then_flags(tmp_path):
    path = tmp_path / "insightmap.toml"
    path.write_text('[insightmap]\nseed = 7\nmin_cluster_size = 9\ninterviewers = ["Lena Ortiz"]\n')
    config = Config.load(path, seed=11, interviewers=())
    assert (config.seed, config.min_cluster_size, config.interviewers) == (11, 9, ["Lena Ortiz"])
    assert Config.load(path).seed == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [("sede = 3\n", "sede: unknown setting"), ("seed = 'x'\n", "seed: expected int"), ("seed = \n", "not valid TOML")],
)
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        Config.load(path)


def test_config_show_prints_effective_values(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("seed = 5\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "show"])
    assert result.exit_code == 0, result.output
    assert "seed = 5" in result.output and 'embedding_model = "all-MiniLM-L6-v2"' in result.output


def test_bad_config_via_cli_has_no_traceback(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("colour = 'blue'\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "show"])
    assert result.exit_code == 2 and "colour: unknown setting" in result.output


def test_python_api_returns_dataframes(tmp_path):
    import pipeline

    transcripts = tmp_path / "t"
    transcripts.mkdir()
    (transcripts / "a.txt").write_text("Q: Why did you buy it?\nA: The bill kept growing every month.\n")
    result = pipeline.run(transcripts, cache_dir=str(tmp_path / "cache"))
    assert result.units["text"].tolist() == ["The bill kept growing every month."]
    assert result.units["theme"].tolist() == [-1]  # one unit is no theme: explicit unassigned, not an error
    assert result.themes.empty


def test_missing_model_is_one_line_with_install_hint(tmp_path):
    transcripts = tmp_path / "t"
    transcripts.mkdir()
    (transcripts / "a.txt").write_text("Q: Why?\nA: Cost.\n")
    config = tmp_path / "c.toml"
    config.write_text('spacy_model = "xx_missing_model"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "segment", str(transcripts), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: spaCy model 'xx_missing_model' is not installed")
    config.write_text('embedding_model = "no-such-model"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "themes", str(transcripts), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "embedding model 'no-such-model'" in result.output


def test_worker_processes_write_the_same_files(themes_out, tmp_path, monkeypatch):
    """A large study's files are written side by side by forked workers; what they write is what one process
    writes (the workbook compared cell by cell: its zip records the time it was written)."""
    import pandas as pd

    from pipeline import store

    run, _ = store.load_run(themes_out, Config())
    monkeypatch.setattr(store, "PARALLEL_FROM", 10**9)
    store.write_run(run, "sample", tmp_path / "alone", store.THEMES)
    monkeypatch.setattr(store, "PARALLEL_FROM", 0)
    store.write_run(run, "sample", tmp_path / "workers", store.THEMES)

    def listing(folder):
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())

    files = listing(tmp_path / "alone")
    assert files == listing(tmp_path / "workers")
    assert {"themes.xlsx", "report.html", "project.qdpx", "themes.md"} <= {str(f) for f in files}
    for file in files:
        alone, workers = tmp_path / "alone" / file, tmp_path / "workers" / file
        if file.suffix == ".xlsx":
            for sheet, table in pd.read_excel(alone, sheet_name=None).items():
                pd.testing.assert_frame_equal(table, pd.read_excel(workers, sheet_name=sheet))
        elif file.name != "manifest.json":
            assert alone.read_bytes() == workers.read_bytes(), file


def test_a_failing_writer_in_a_worker_fails_the_run_and_keeps_earlier_output(themes_out, tmp_path, monkeypatch):
    from pipeline import qda, store

    run, _ = store.load_run(themes_out, Config())
    out = tmp_path / "out"
    out.mkdir()
    (out / "themes.csv").write_text("earlier\n")

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "PARALLEL_FROM", 0)
    monkeypatch.setattr(qda, "write_qdpx", explode)
    with pytest.raises(OSError, match="disk full"):
        store.write_run(run, "sample", out, store.THEMES)
    assert sorted(p.name for p in out.iterdir()) == ["themes.csv"]
