"""Real transcripts nobody on the project wrote (../shared/data): every file read, roles right, no words lost.

Gold roles were written by reading each file (tests/data/gold_roles.csv); the figures come from the same scorer
that ``make bench`` reports (benchmarks/ingest.py).
"""

from __future__ import annotations

import fnmatch
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SHARED, requires_shared, write

from benchmarks.ingest import GOLD, score_corpus
from pipeline.cli import main
from pipeline.ingest import IngestParams, TableColumns, ingest
from pipeline.ingest.normalise import count_words

pytestmark = requires_shared


@pytest.fixture(scope="module")
def gold():
    return pd.read_csv(GOLD, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("corpus", ["ml-interviews", "oral-history", "podcasts", "usability-coded/transcripts"])
def test_interview_corpora_read_right(corpus, gold):
    figures = score_corpus(SHARED / corpus, gold)
    assert figures["files_read"] == figures["files"], figures["failed"]
    assert figures["role_accuracy"] == 1.0, figures["wrong_roles"]
    assert figures["participant_words_captured"] >= 0.98
    assert figures["interviewer_words_as_participant"] <= 0.02


def test_export_formats_all_read_with_few_role_errors(gold):
    """Podcasts, round tables and meetings in 19 real export formats: all read; hosts and guests told apart well
    enough that guests' words are captured and hosts' words stay out of the participants' speech."""
    figures = score_corpus(SHARED / "formats", gold)
    assert figures["files_read"] == figures["files"], figures["failed"]
    assert figures["words_lost"] == 0
    assert figures["role_accuracy"] == 1.0, figures["wrong_roles"]
    assert figures["participant_words_captured"] >= 0.98
    assert figures["interviewer_words_as_participant"] <= 0.02


@pytest.mark.parametrize(("corpus", "one_name"), [("interviews", True), ("interviews", False), ("ml-interviews", True)])
def test_roles_from_behaviour_alone_on_real_interviews_with_names_for_labels(corpus, one_name, tmp_path):
    """The same real interviews with every label replaced by a name (as an export with people's names has them):
    with no label to go by, behaviour and what speakers say still file ≥ 98 % of the participants' words as
    participant speech and ≤ 2 % of the interviewers' words.

    The scientists' interviewer greets as "Assistant" and asks as "AI". Given two names, the greeting's voice was
    taken for the lead and the voice that asks every question after it, often the main talker, for a participant
    (59 of 125 interviews): a greeting alone leads no interview."""
    source = ingest(SHARED / corpus)
    english = source.interviews.query("language == 'en'")["interview_id"]
    turns = source.turns[source.turns["interview_id"].isin(english)]
    same = {"Assistant": "AI"} if one_name else {}  # the scientists' interviewer appears under both labels
    names, gold_roles = [], []
    for interview_id, spoken in turns.groupby("interview_id", sort=False):
        people = list(dict.fromkeys(same.get(s, s) for s in spoken["speaker"]))
        named = [f"Name{people.index(same.get(s, s))}" for s in spoken["speaker"]]
        lines = [f"{name}: {text}" for name, text in zip(named, spoken["text"], strict=True)]
        write(tmp_path / f"{interview_id}.txt", "\n".join(lines) + "\n")
        names += named
        gold_roles += list(spoken["role"])
    words = turns["text"].map(count_words).to_numpy()
    speakers = ingest(tmp_path).speakers.set_index(["interview_id", "speaker"])["role"]
    found = speakers.reindex(list(zip(turns["interview_id"], names, strict=True))).to_numpy()
    gold_roles = np.array(gold_roles)
    participant, interviewer = gold_roles == "participant", gold_roles == "interviewer"
    assert words[participant & (found == "participant")].sum() >= 0.98 * words[participant].sum()
    assert words[interviewer & (found == "participant")].sum() <= 0.02 * words[interviewer].sum()


def test_numbered_labels_are_roles_and_never_overridden():
    """Interviewer 1 / Interviewer2 / Interviewee1 : are labels that state a role: no guess replaces them."""
    result = ingest(SHARED / "ml-interviews")
    speakers = result.speakers
    assert (speakers.loc[speakers["speaker"].str.lower().str.startswith("interviewer"), "role"] == "interviewer").all()
    assert (speakers.loc[speakers["speaker"].str.lower().str.startswith("interviewee"), "role"] == "participant").all()
    assert speakers.loc[speakers["speaker"].str.startswith("Interview"), "evidence"].str.startswith("label").all()


def test_french_interview_reported_and_left_out_of_analysis():
    from pipeline.config import Config
    from pipeline.runner import analysed_turns

    result = ingest(SHARED / "ml-interviews")
    languages = result.interviews.set_index("interview_id")["language"]
    assert languages["Interview 2"] == "fr" and (languages.drop("Interview 2") == "en").all()
    assert any("Interview 2" in m and "'fr'" in m for m in result.messages)
    assert "Interview 2" not in set(analysed_turns(result, Config())["interview_id"])
    assert "Interview 2" in set(analysed_turns(result, Config(keep_other_languages=True))["interview_id"])


def test_oral_history_csv_words_column_continuations_and_entities():
    result = ingest(SHARED / "oral-history" / "armantrout.csv")
    turns = result.turns
    assert set(turns["speaker"]) == {"DB", "RA"}  # "RA" and "RA:" are one person
    assert not turns["text"].str.contains("&#", regex=False).any()
    assert turns["text"].str.contains("\u2014", regex=False).any()  # &#8212; became an em dash
    assert result.reports[0].words_lost == 0


def test_podcast_markdown_front_matter_and_continuation_markers():
    result = ingest(SHARED / "podcasts")
    turns, report = result.turns, result.reports[0]
    assert "guest" in json.loads(result.interviews["front_matter"].iloc[0])
    assert report.set_aside["front matter"] > 0
    for read in result.reports:  # the front matter's words count in the file's words, as its other set-aside text
        assert abs(read.words_accounted - read.words_in_file) <= 0.005 * read.words_in_file, read.path
    assert not turns["speaker"].str.contains("---|title", regex=True).any()
    assert not turns["text"].str.contains(r"^\(\d\d:\d\d", regex=True).any()  # bare (00:20): markers removed
    lenny = turns[turns["speaker"] == "Lenny"]
    assert (lenny["role"] == "interviewer").all() and (
        turns.loc[turns["speaker"] != "Lenny", "role"] == "participant"
    ).all()


def test_otter_summary_before_transcript_is_set_aside():
    result = ingest(SHARED / "formats" / "otter_txt" / "fccps_ws-dps_otter_export.md")
    report = result.reports[0]
    assert report.set_aside["before the transcript heading"] > 300
    assert "Unlabelled" not in set(result.speakers["speaker"]) and report.words_lost == 0


def test_think_aloud_odt_prompts_and_filename_participant():
    result = ingest(SHARED / "usability-coded" / "transcripts" / "P10_GMT20211130.odt")
    roles = dict(zip(result.speakers["speaker"], result.speakers["role"], strict=True))
    assert roles["P10"] == "participant" and roles["Prompt"] == "interviewer"
    prompts = result.turns.loc[result.turns["speaker"] == "Prompt", "text"]
    assert prompts.str.match(r"^(\d|[a-z]\.)").all()
    # what the transcriber saw the participant do is kept: the researchers coded it ("Task sequence complex")
    said = result.turns.loc[result.turns["speaker"] == "P10", "text"]
    assert said.str.contains("(The participant reads", regex=False).any()


def test_a_field_a_think_aloud_participant_reads_out_once_is_not_a_speaker():
    """Where labels are rare (unlabelled lines are the participant's) and name the moderator, a name said once
    before a colon is the participant's words: "Location: Cork." was an 18th participant of 17 sessions."""
    result = ingest(SHARED / "usability-coded" / "transcripts" / "P6_GMT20211126.odt")
    assert set(result.speakers["speaker"]) == {"P6", "Prompt", "MODERATOR"}
    said = result.turns.loc[result.turns["speaker"] == "P6", "text"]
    assert said.str.contains("Location: Cork.", regex=False).any() and result.reports[0].words_lost == 0


def test_an_archive_link_in_html_is_neither_speech_nor_a_speaker():
    """The oral-history export's last row, "MORE INFO:" with "See the full interview at: <a target='_blank'
    href='…'>…</a>", was a participant whose tag attributes were quoted as a theme's evidence."""
    result = ingest(SHARED / "oral-history" / "mohammad.csv")
    assert "MORE INFO" not in set(result.speakers["speaker"])
    assert not result.turns["text"].str.contains("href|<a |https?://", regex=True).any()
    report = result.reports[0]
    assert report.set_aside["export footer or link"] == 13 and report.words_lost == 0  # its words, as counted


def test_validate_prints_evidence_and_words(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(SHARED / "oral-history")])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"armantrout\s+DB\s+interviewer\s+0\.\d\d\s+leads: \d+% of turns end in a question", result.output
    ), result.output
    # every word in a turn but the transcriber's "(Indiscernible, 55:05)", set aside; none lost
    words = re.search(r"armantrout\.csv\s+csv\s+1\s+\d+\s+(\d+)\s+(\d+)\s+1\s+0\s", result.output)
    assert words and int(words[1]) == int(words[2]) + 1, result.output
    assert "(Indiscernible" not in " ".join(ingest(SHARED / "oral-history" / "armantrout.csv").turns["text"])


def test_column_mapping_options(tmp_path):
    write(tmp_path / "survey.csv", "who,said,row\nMod,What matters most to you?,1\nAna,Keeping the bill flat.,2\n")
    result = ingest(tmp_path, IngestParams(interviewers=("Mod",), columns=TableColumns(text="said", speaker="who")))
    assert result.turns[["speaker", "role", "text"]].values.tolist() == [
        ["Mod", "interviewer", "What matters most to you?"],
        ["Ana", "participant", "Keeping the bill flat."],
    ]


def test_roles_csv_overrides_and_roles_command_writes_it(tmp_path):
    write(tmp_path / "a.txt", "Lena: What do you do?\nOmar: I run IT.\nLena: Why did you buy?\nOmar: The bill.\n")
    result = CliRunner().invoke(main, ["roles", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "roles.csv")
    assert dict(zip(written["speaker"], written["role"], strict=True)) == {"Lena": "interviewer", "Omar": "participant"}
    write(tmp_path / "roles.csv", "interview_id,speaker,role\na,lena,participant\n*,Omar,interviewer\n")
    swapped = ingest(tmp_path).speakers.set_index("speaker")
    assert swapped.loc["Lena", "role"] == "participant" and swapped.loc["Omar", "role"] == "interviewer"
    assert (swapped["evidence"] == "roles.csv").all()


def test_gold_file_names_only_existing_files(gold):
    """A gold row that matches no file would silently score nothing."""
    files = [str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.is_file()]
    for pattern in gold["file"].unique():
        assert fnmatch.filter(files, pattern), pattern
