"""Ingest on real transcripts: every file read, every speaker's role right, no participant words lost.

Gold roles were written by reading each file (``tests/data/gold_roles.csv``: file glob, speaker glob, role; ``?``
where the file has no interviewer or the voices are anonymous, and those speakers are not scored). Per corpus:

* files read / files;
* role accuracy over scored speakers, and the speakers got wrong;
* participant words captured: words in turns filed as participant whose speaker is a gold participant, over the
  gold participants' words plus every word the reader could not account for (a lost word counts against us);
* interviewer words filed as participant, over the gold interviewers' words;
* role accuracy with the labels hidden: each interview's speakers renamed ``Voice 1``, ``Voice 2``… in order of
  first turn (as a diarizer names them), so behaviour alone decides; a speaker with one or two turns (a second
  interviewer's greeting) gives it little to go on.

Run: ``python -m benchmarks.ingest`` (part of ``make bench``); writes ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from pathlib import Path

import pandas as pd

from pipeline.ingest import IngestParams, ingest
from pipeline.ingest.normalise import count_words
from pipeline.ingest.roles import assign_roles

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
GOLD = ROOT / "tests" / "data" / "gold_roles.csv"
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"
CORPORA = {
    "ml-interviews": "ml-interviews",
    "oral-history": "oral-history",
    "podcasts": "podcasts",
    "scientists (one row per interview)": "interviews",
    "usability think-aloud (.odt)": "usability-coded/transcripts",
    "export formats": "formats",
}


def gold_role(relative: str, speaker: str, gold: pd.DataFrame) -> str | None:
    """The first gold row whose file and speaker globs match; None when the file has no gold."""
    for row in gold.itertuples(index=False):
        if fnmatch.fnmatch(relative, row.file) and fnmatch.fnmatch(speaker, row.speaker):
            return row.role
    return None


def roles_with_labels_hidden(turns: pd.DataFrame) -> list[str]:
    """Each turn's role as behaviour alone assigns it: speakers renamed by order of first turn in their interview."""
    order = turns.groupby("interview_id", sort=False)["speaker"].transform(
        lambda speakers: speakers.map({name: i for i, name in enumerate(dict.fromkeys(speakers), start=1)})
    )
    anonymous, _, _ = assign_roles(turns.drop(columns="role").assign(speaker="Voice " + order.astype(str)))
    return anonymous["role"].tolist()


def score_corpus(folder: Path, gold: pd.DataFrame) -> dict:
    result = ingest(folder, IngestParams())
    reports = [r for r in result.reports if not r.path.endswith("SOURCES.csv")]
    turns = result.turns.assign(words=result.turns["text"].map(count_words))
    turns["file"] = [os.path.join(folder, f) for f in turns["source_file"]]
    turns["hidden"] = roles_with_labels_hidden(result.turns)
    per_speaker = (
        turns.groupby(["file", "interview_id", "speaker", "role"], sort=False)
        .agg(words=("words", "sum"), hidden=("hidden", "first"))
        .reset_index()
    )
    per_speaker["gold"] = [
        gold_role(os.path.relpath(os.path.abspath(f), SHARED), s, gold)
        for f, s in zip(per_speaker["file"], per_speaker["speaker"], strict=True)
    ]
    scored = per_speaker[per_speaker["gold"].isin(["interviewer", "participant"])]
    wrong = scored[scored["role"] != scored["gold"]]
    lost = sum(r.words_lost for r in reports)
    gold_participant = scored[scored["gold"] == "participant"]
    gold_interviewer = scored[scored["gold"] == "interviewer"]
    captured = int(gold_participant.loc[gold_participant["role"] == "participant", "words"].sum())
    misfiled = int(gold_interviewer.loc[gold_interviewer["role"] == "participant", "words"].sum())
    return {
        "files": len(reports),
        "files_read": sum(not r.error for r in reports),
        "failed": [r.error for r in reports if r.error],
        "speakers_scored": len(scored),
        "role_accuracy": round(1 - len(wrong) / max(len(scored), 1), 3),
        "wrong_roles": [f"{Path(r.file).name}: {r.speaker} → {r.role} (gold {r.gold})" for r in wrong.itertuples()],
        "role_accuracy_labels_hidden": round(float((scored["hidden"] == scored["gold"]).mean()), 3),
        "participant_words_captured": round(captured / max(int(gold_participant["words"].sum()) + lost, 1), 4),
        "interviewer_words_as_participant": round(misfiled / max(int(gold_interviewer["words"].sum()), 1), 4),
        "words_lost": lost,
        "words_set_aside": sum(sum(r.set_aside.values()) for r in reports),
        "unscored_speakers": int((per_speaker["gold"] == "?").sum()),
    }


def main() -> int:
    if not SHARED.is_dir():
        print(f"no real data at {SHARED}; nothing to measure", file=sys.stderr)
        return 1
    gold = pd.read_csv(GOLD, dtype=str, keep_default_na=False)
    figures = {name: score_corpus(SHARED / folder, gold) for name, folder in CORPORA.items()}
    header = f"{'corpus':<36} {'files':>9} {'roles':>7} {'hidden':>7} {'captured':>9} {'I→P':>7} {'lost':>6}"
    print(header)
    for name, f in figures.items():
        print(
            f"{name:<36} {f['files_read']:>4}/{f['files']:<4} {f['role_accuracy']:>7.3f} "
            f"{f['role_accuracy_labels_hidden']:>7.3f} "
            f"{f['participant_words_captured']:>9.4f} {f['interviewer_words_as_participant']:>7.4f} "
            f"{f['words_lost']:>6}"
        )
        for line in f["wrong_roles"] + f["failed"]:
            print(f"    {line}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
