"""Personas on the sample corpus: intended persona types recovered, every quote verbatim at its citation."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLE, SHARED, requires_shared, source_line
from sklearn.metrics import adjusted_rand_score

from pipeline.cli import main
from pipeline.personas import adjusted_rand

INTENDED = pd.read_csv(ROOT / "tests" / "data" / "sample_personas.csv").set_index("interview_id")["persona"]
CITATION = re.compile(
    r"\u201c(?P<text>.+?)\u201d \u2014 (?P<speaker>[^,]+), (?P<iid>\S+)(?: @ \S+)? \((?P<file>[^)]+):(?P<line>\d+)\)"
)


@pytest.fixture
def out(themes_out):
    return themes_out


# The intended personas were recovered at ARI 0.32 until session 17 (the typical Leiden run chosen among steady
# runs; 0.18 before). With each Leiden run iterated until its partition no longer changes: ARI 0.63 (3 personas),
# the same under 1e-6 noise (three draws) and 1e-5 (two draws); the same again once the theme of greetings and
# goodbyes all 12 voiced was set aside as conversation (session 18), when the grouping became weak structure
# rather than none (p = 0.05 against 0.10, ``python -m benchmarks.personas``).
def test_intended_personas_are_recovered(out):
    members = pd.read_csv(out / "persona_members.csv")
    assert adjusted_rand(members, INTENDED) >= 0.6


def test_persona_outputs_exist(out):
    personas = pd.read_csv(out / "personas.csv")
    assert 2 <= len(personas) <= 6
    assert personas["size"].sum() + (pd.read_csv(out / "persona_members.csv")["persona"] < 0).sum() == 12
    for persona in personas["persona"]:
        assert (out / "personas" / f"persona-{persona}.md").is_file()
    assert {"persona_by_segment.csv", "theme_by_segment.csv", "personas.md"} <= {p.name for p in out.iterdir()}
    assert "Where personas cut across segments" in (out / "personas.md").read_text()


def test_every_draft_quote_is_verbatim_at_its_citation(out):
    checked = 0
    for draft in sorted((out / "personas").glob("persona-*.md")):
        text = draft.read_text()
        assert "## Goals" in text and "## Motivations" in text and "## Concerns & barriers" in text
        for match in CITATION.finditer(text):
            first_sentence = re.split(r"(?<=[.?!])\s", match["text"])[0]
            cited = source_line(SAMPLE, match["file"], int(match["line"]))
            assert " ".join(first_sentence.split()[:4]) in " ".join(cited.split()), match[0]
            checked += 1
    assert checked >= 10


def test_every_claim_line_has_evidence(out):
    """A theme line in a draft is always followed by at least one cited quote, or the zone says it is a gap."""
    for draft in (out / "personas").glob("persona-*.md"):
        lines = draft.read_text().split("\n")
        for i, line in enumerate(lines):
            if line.startswith("- **"):
                assert lines[i + 1].startswith("  - \u201c"), (draft.name, line)


def assert_cited_units_say_something(units: pd.DataFrame, quotes: pd.DataFrame, evidence: pd.DataFrame) -> None:
    """Every unit a draft cites holds at least ``quote_min_content`` words that say something, and a theme quotes a
    slight unit only when nothing fuller from it is at hand."""
    from pipeline.config import Config
    from pipeline.describe import slight, substance

    config = Config()
    units = units.set_index("unit_id", drop=False)
    cited = units.loc[evidence["unit_id"]]
    assert len(cited) >= 20 and (substance(cited) >= config.quote_min_content).all(), cited["text"].tolist()
    short = pd.Series(slight(units, config.quote_min_words, config.quote_min_content), units.index)
    for theme, rows in quotes.groupby("theme"):
        fuller = int((~short[units.index[units["theme"] == theme]]).sum())
        assert short[rows["unit_id"]].sum() <= max(0, len(rows) - fuller), (theme, rows["text"].tolist())


def test_drafts_cite_quotes_that_say_something(out):
    """A persona's claim rests on what its participants said, not on filler: before, the drafts cited "That's just
    my opinion."."""
    assert_cited_units_say_something(
        pd.read_parquet(out / "units.parquet"),
        pd.read_csv(out / "quotes.csv"),
        pd.read_csv(out / "persona_evidence.csv"),
    )


@requires_shared
def test_drafts_of_real_spoken_interviews_cite_quotes_that_say_something(shared_cache):
    """On the real ML interviews the drafts cited "We were running sort of a." (6 of 96 cited units said one thing
    or less) and 15 of 276 theme quotes were slight ("Um, so we can either optimize that, um, or uh,")."""
    from dataclasses import replace

    from pipeline.config import Config
    from pipeline.runner import run_themes

    run = run_themes(SHARED / "ml-interviews", replace(Config(), cache_dir=str(shared_cache)))
    assert_cited_units_say_something(run.units, run.quotes, run.persona_evidence)


def test_segment_crosstabs(out):
    by_segment = pd.read_csv(out / "persona_by_segment.csv")
    assert {"industry", "segment"} <= set(by_segment["column"])
    assert by_segment.groupby("column")["participants"].sum().eq(12).all()
    themes = pd.read_csv(out / "theme_by_segment.csv")
    assert themes["share"].between(0, 1).all()


def test_personas_command_regroups_without_reembedding(out, tmp_path):
    """Asking for 2 personas regroups the participants from the saved tables: themes untouched, at most 2 personas,
    and the line printed names the personas written. On another machine a lone participant was once cut off, so
    the command may show 1 of the 2 asked for; it must then say so."""
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    result = CliRunner().invoke(main, ["personas", str(copy), "--personas", "2"])
    assert result.exit_code == 0, result.output
    written = len(pd.read_csv(copy / "personas.csv"))
    assert 1 <= written <= 2
    assert result.output.startswith(f"{written} persona")
    assert (written == 2) != ("1 of the 2 held no one who fits it" in result.output)
    assert (copy / "themes.csv").read_bytes() == (out / "themes.csv").read_bytes()


def test_personas_command_on_an_older_folder_says_how_to_regroup(out, tmp_path):
    """A folder written before personas were read from the units' vectors cannot be regrouped: one line naming
    the missing file and what to run, and the folder left as it was."""
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "unit_vectors.npy").unlink()
    result = CliRunner().invoke(main, ["personas", str(copy), "--personas", "2"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "unit_vectors.npy" in result.output and "insightmap themes" in result.output, result.output
    assert (copy / "personas.csv").read_bytes() == (out / "personas.csv").read_bytes()


def test_regrouping_with_the_same_settings_gives_the_same_personas(out, tmp_path):
    """Personas are read in the runs the themes were voted from (``theme_runs.npy``): the personas command finds
    them in the folder and regroups exactly as the run did. A folder written before the runs were kept regroups
    on the themes alone, and says nothing is missing."""
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    assert CliRunner().invoke(main, ["personas", str(copy)]).exit_code == 0
    assert (copy / "persona_members.csv").read_bytes() == (out / "persona_members.csv").read_bytes()
    (copy / "theme_runs.npy").unlink()
    result = CliRunner().invoke(main, ["personas", str(copy)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(copy / "persona_members.csv")) == 12 and not (copy / "theme_runs.npy").exists()


def test_the_k_reported_is_the_k_shown(out):
    """The overview names the personas it shows; where the grouping was cut into more groups than it shows (a
    group left with fewer than two participants who fit it), it says so rather than reporting the larger k."""
    from pipeline.render import cut_sentence

    shown = len(pd.read_csv(out / "personas.csv"))
    assert f"into {shown} personas" in (out / "personas.md").read_text(encoding="utf-8")
    assert (
        cut_sentence({"k": 5}, 3)
        == "cut into 5 groups by silhouette, of which 2 kept fewer than two participants who fit them"
    )
    assert cut_sentence({"k": 3}, 3) == "k = 3 chosen by silhouette"
    # a reader of "k=5: 0.76, k=6: 0.77" must learn why 5 was chosen, and that --personas chose it where it did
    assert cut_sentence({"k": 5, "highest_k": 6}, 5) == (
        "k = 5 chosen by silhouette, the fewest groups within 0.02 of the highest silhouette (k = 6)"
    )
    assert cut_sentence({"k": 4, "highest_k": 6, "asked": True}, 4) == "k = 4 chosen as asked (--personas)"
    from pipeline.config import Config
    from pipeline.personas import PersonaParams, structure

    members = pd.DataFrame({"persona": [1, 1, 2, 2, 3]})
    flat = {2: 0.50, 3: 0.51, 4: 0.40}  # 2 and 3 tie within 0.02: the fewer groups are kept
    assert {k: v for k, v in structure(flat, members, PersonaParams.from_config(Config())).items()
            if k in ("k", "highest_k", "asked")} == {"k": 2, "highest_k": 3, "asked": False}  # fmt: skip
    assert structure({3: 0.4}, members, PersonaParams.from_config(Config(personas=3)))["asked"]


def test_a_study_too_small_to_group_says_so(tmp_path, shared_cache):
    """Two participants cannot be grouped (the oral histories): the overview read "cut into 0 groups by
    silhouette, of which -1 kept fewer than two participants" and "silhouette 0.00 at k = 0"."""
    import shutil

    from conftest import run_cli

    (tmp_path / "two").mkdir()
    for name in ("int01.txt", "int02.txt"):
        shutil.copy(SAMPLE / name, tmp_path / "two" / name)
    result = run_cli("themes", tmp_path / "two", "-o", tmp_path / "out", "--cache-dir", shared_cache)
    assert "1 persona → personas.md, personas/ (structure: none, too few to group)" in result.output
    overview = (tmp_path / "out" / "personas.md").read_text(encoding="utf-8")
    assert "**No persona structure sought** in 2 participants" in overview
    assert "One draft describes all 2 participants together." in overview
    assert "k = 0" not in overview and "of which -1" not in overview


def test_impossible_persona_count_is_a_clear_error(out, tmp_path):
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    result = CliRunner().invoke(main, ["personas", str(copy), "--personas", "20"])
    assert result.exit_code == 2 and "cannot form 20 personas from 12 participants" in result.output
    assert (copy / "personas.csv").read_bytes() == (out / "personas.csv").read_bytes()


def test_themes_and_personas_hold_under_floating_point_noise(out, shared_cache):
    """Another machine's BLAS moves the last bits of every vector; 1e-6 noise stands in for it. This draw moved
    the sample's themes to ARI 0.89 and its personas to 0.24 while the most typical Leiden run could be one that
    moves (issues 10 and 11: ≥ 0.98)."""
    import pipeline
    from benchmarks.personas import embeddings_moved

    with embeddings_moved(seed=1):
        noisy = pipeline.run(SAMPLE, cache_dir=str(shared_cache))
    units = pd.read_parquet(out / "units.parquet").merge(noisy.units, on="unit_id", suffixes=("", "_moved"))
    assert adjusted_rand_score(units["theme"], units["theme_moved"]) >= 0.98
    members = pd.read_csv(out / "persona_members.csv").merge(
        noisy.persona_members, on=["interview_id", "speaker"], suffixes=("", "_moved")
    )
    assert len(members) == 12 and adjusted_rand_score(members["persona"], members["persona_moved"]) >= 0.98
