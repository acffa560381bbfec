"""The codebook round trip a researcher makes: export, merge two themes, rename one, add a seed code, rerun; and an
incremental study that keeps its theme ids when an interview is added."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from click.testing import CliRunner
from conftest import SAMPLE, run_cli, write

from pipeline.cli import main
from pipeline.codebook import read_codebook
from pipeline.errors import InputError
from pipeline.zones import load_taxonomy

SEED = {
    "name": "Security review",
    "description": "The security or compliance review a vendor must pass before the purchase",
    "zone": "buying_process",
    "examples": [
        "The security team had to review the vendor before we could sign.",
        "We needed their SOC 2 report and a data processing agreement first.",
    ],
}


def members(out: Path) -> dict[int, set[str]]:
    units = pd.read_parquet(out / "units.parquet")
    return {int(t): set(g["unit_id"]) for t, g in units[units["theme"] >= 0].groupby("theme")}


@pytest.fixture(scope="module")
def edited(themes_out, shared_cache, tmp_path_factory) -> tuple[Path, dict]:
    """The sample run's codebook with theme 2 merged into theme 1, theme 3 renamed and one seed code, applied."""
    base = tmp_path_factory.mktemp("codebook")
    book = base / "codebook.toml"
    run_cli("codebook", "export", themes_out, "-o", book)
    data = tomllib.loads(book.read_text(encoding="utf-8"))
    themes = {t["id"]: t for t in data["themes"]}
    themes[2]["merge_into"] = 1
    themes[3]["label"] = "Long, careful buying cycles"
    themes[3]["description"] = "How long the purchase took, and why"
    data["codes"] = [SEED]
    book.write_text(tomli_w.dumps(data), encoding="utf-8")
    out = base / "out"
    result = run_cli("themes", SAMPLE, "-o", out, "--cache-dir", shared_cache, "--codebook", book)
    return out, {"output": result.output, "book": data}


def test_export_lists_every_theme_with_what_a_researcher_edits(themes_out, tmp_path):
    book = tmp_path / "codebook.toml"
    run_cli("codebook", "export", themes_out, "-o", book)
    themes = pd.read_parquet(themes_out / "themes.parquet")
    quotes = pd.read_parquet(themes_out / "quotes.parquet")
    data = tomllib.loads(book.read_text(encoding="utf-8"))
    assert [t["id"] for t in data["themes"]] == sorted(themes["theme"])
    first = data["themes"][0]
    assert set(first) >= {"id", "label", "description", "zone", "keyphrases", "examples"}
    assert first["examples"] == quotes[quotes["theme"] == first["id"]]["text"].tolist()
    assert read_codebook(book, load_taxonomy("buyer-insight-map")).ids == set(themes["theme"])
    again = CliRunner().invoke(main, ["codebook", "export", str(themes_out), "-o", str(book)])
    assert again.exit_code == 2 and "--force" in again.output  # the researcher's edits are never overwritten


def test_round_trip_shows_exactly_the_edits_and_keeps_every_other_id(themes_out, edited):
    out, info = edited
    before, after = members(themes_out), members(out)
    themes = pd.read_parquet(out / "themes.parquet").set_index("theme")
    old = pd.read_parquet(themes_out / "themes.parquet").set_index("theme")
    seed = themes[themes["origin"] == "seed"]
    assert list(seed["label"]) == ["Security review"] and seed["units"].iloc[0] >= 1
    seed_units = after[int(seed.index[0])]

    assert 2 not in after  # merged away...
    assert after[1] <= before[1] | before[2] and len(after[1]) >= 0.9 * len(before[1] | before[2])  # ...into 1
    assert themes.loc[3, "label"] == "Long, careful buying cycles"
    assert themes.loc[3, "description"] == "How long the purchase took, and why"
    for theme in set(before) - {1, 2}:  # every other theme keeps its id, label and units (some may go to the seed)
        assert themes.loc[theme, "label"] == (old.loc[theme, "label"] if theme != 3 else themes.loc[3, "label"])
        assert after[theme] <= before[theme] and before[theme] - after[theme] <= seed_units
    assert set(themes["origin"]) <= {"codebook", "seed"}  # nothing new: same transcripts
    assert "1 merged into" in info["output"] and "1 seed code" in info["output"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Long, careful buying cycles" in page and "Security review" in page and "merged into 1" in page
    applied = json.loads((out / "manifest.json").read_text())["details"]["codebook"]["entries"]
    assert {e["status"] for e in applied} == {"kept", "merged into 1", "seed code"}


def test_a_codebook_theme_that_matches_nothing_is_reported(edited, shared_cache, tmp_path):
    out, info = edited
    data = dict(info["book"])
    data["themes"] = [
        *data["themes"],
        {"id": 999, "label": "Quantum procurement", "examples": ["The qubits decohered during the auction."]},
    ]
    book = tmp_path / "codebook.toml"
    book.write_text(tomli_w.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["themes", str(SAMPLE), "-o", str(tmp_path / "out"), "--cache-dir", str(shared_cache),
               "--codebook", str(book)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "codebook theme 999 \u201cQuantum procurement\u201d matches no theme of this run" in result.output
    assert "matches no theme of this run" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_added_interview_keeps_the_study_s_theme_ids(themes_out, shared_cache, tmp_path):
    """An incremental study: the earlier output is the codebook; old themes keep their ids, labels and most of
    their units, and what the new interview adds joins them or is marked new."""
    root = tmp_path / "in"
    shutil.copytree(SAMPLE, root)
    lines = ["Interviewer: How did you choose your cost tool?"]
    lines += [
        "Participant: We ran a one month trial with two vendors on our billing export, then procurement took over.",
        "Interviewer: What worried you?",
        "Participant: Mostly the hidden costs, and whether their agent would slow our clusters down.",
        "Interviewer: Where did you hear about them?",
        "Participant: From the analyst reports, and a FinOps community thread comparing tools.",
    ]
    write(root / "int13.txt", "\n".join(lines) + "\n")
    out = tmp_path / "out"
    run_cli("themes", root, "-o", out, "--cache-dir", shared_cache, "--codebook", themes_out)
    before, after = members(themes_out), members(out)
    old = pd.read_parquet(themes_out / "themes.parquet").set_index("theme")["label"]
    themes = pd.read_parquet(out / "themes.parquet").set_index("theme")
    kept = [t for t in before if t in after and themes.loc[t, "label"] == old[t]]
    assert len(kept) >= 0.8 * len(before)
    same = sum(len(before[t] & after[t]) for t in kept) / sum(len(before[t]) for t in kept)
    assert same >= 0.99  # an earlier quote stays where the researcher saw it
    new_ids = set(themes.index) - set(before)
    assert (themes.loc[sorted(new_ids), "origin"] == "new").all()
    assert (themes.loc[kept, "origin"] == "codebook").all()
    assert min(new_ids, default=max(before) + 1) > max(before)  # new themes never reuse an old id
    added = pd.read_parquet(out / "units.parquet").query("interview_id == 'int13' and theme >= 0")
    assert len(added) and set(added["theme"]) <= set(before) | new_ids  # new speech joins a theme or a new one


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[[themes]]\nid = 1\nlabel = 'a'\nzone = 'wishes'\n", "zone 'wishes' is not one of"),
        ("[[themes]]\nid = 1\nlabel = 'a'\n[[themes]]\nid = 1\nlabel = 'b'\n", "theme id 1 appears 2 times"),
        ("[[themes]]\nid = 1\nlabel = 'a'\nmerge_into = 7\n", "merge_into = 7 is not another theme's id"),
        ("[[themes]]\nid = -3\nlabel = 'a'\n", "id must be a whole number"),
        (
            "[[themes]]\nid = 3\nlabel = 'a'\nmerge_into = 5\n[[themes]]\nid = 5\nlabel = 'b'\nmerge_into = 3\n",
            "merge_into makes a cycle (3 → 5 → 3)",
        ),
        ("[[themes]]\nid = 1\nlabel = ''\n", "label must be non-empty text"),
        ("[[themes]]\nid = 1\nlabel = 'a'\nsplit = [{ label = 'x' }]\n", "a split needs at least two parts"),
        ("[[codes]]\nexamples = ['x']\n", "code 1: name must be non-empty text"),
        ("[[themes]\nid = 1\n", "not a valid codebook TOML"),
    ],
)
def test_bad_codebook_is_one_line_naming_the_entry(tmp_path, text, why):
    book = write(tmp_path / "codebook.toml", text)
    with pytest.raises(InputError, match=re.escape(why)) as caught:
        read_codebook(book, load_taxonomy("buyer-insight-map"))
    assert str(caught.value).startswith(str(book))


def test_exclude_and_split_do_what_they_say(themes_out, shared_cache, tmp_path):
    book = tmp_path / "codebook.toml"
    run_cli("codebook", "export", themes_out, "-o", book)
    data = tomllib.loads(book.read_text(encoding="utf-8"))
    themes = {t["id"]: t for t in data["themes"]}
    themes[4]["exclude"] = True
    words = themes[5]["keyphrases"]
    themes[5]["split"] = [
        {"label": "first part", "phrases": words[:2]},
        {"label": "second part", "phrases": words[2:4]},
    ]
    book.write_text(tomli_w.dumps(data), encoding="utf-8")
    out = tmp_path / "out"
    run_cli("themes", SAMPLE, "-o", out, "--cache-dir", shared_cache, "--codebook", book)
    before, after = members(themes_out), members(out)
    table = pd.read_parquet(out / "themes.parquet").set_index("theme")
    units = pd.read_parquet(out / "units.parquet").set_index("unit_id")
    assert 4 not in after and (units.loc[sorted(before[4]), "theme"] == -1).all()  # excluded: unassigned
    parts = table[table["label"].isin(["first part", "second part"])]
    assert 5 in parts.index and set(parts["origin"]) <= {"codebook", "split"}
    assert set().union(*(after[t] for t in parts.index)) == before[5]  # the split shares out theme 5, no more
    assert set(parts["zone"]) <= {themes[5]["zone"]}  # the parts stay in the theme's zone
    applied = json.loads((out / "manifest.json").read_text())["details"]["codebook"]["entries"]
    assert {e["id"]: e["status"] for e in applied}[4] == "excluded"
