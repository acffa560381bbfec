"""Persona structure on real corpora (`make bench`): does grouping find groups, or say there are none?

For the 12 ML interviews, the 125 scientists interviews and the sample corpus: personas shown, their sizes, the
largest persona's share of participants (target ≤ 60 % unless the draft says there is no distinct structure),
the structure reported (silhouette and Kaufman & Rousseeuw's reading, against the best silhouettes of 19
structure-free studies with each theme shuffled across participants, and its p-value), and interviewer members
(target 0).
Written to ``benchmarks/results/personas.json``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pipeline

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
CORPORA = {
    "ml-interviews": SHARED / "ml-interviews",
    "scientists": SHARED / "interviews",
    "sample": ROOT / "transcripts",
}


def persona_figures(path: Path, cache: str) -> dict:
    run = pipeline.run(path, cache_dir=cache)
    members = run.persona_members
    interviewers = run.speakers[run.speakers["role"] == "interviewer"][["interview_id", "speaker"]]
    as_members = members.merge(interviewers, on=["interview_id", "speaker"])
    return {
        "participants": len(members),
        "personas": len(run.personas),
        "sizes": run.personas["size"].tolist(),
        "stability": run.personas["stability"].tolist(),
        "fit_none": int((members["persona"] < 0).sum()),
        "interviewer_members": len(as_members),
        **run.details["persona_structure"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        report = {name: persona_figures(path, cache) for name, path in CORPORA.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "personas.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, row in report.items():
        print(
            f"{name:14} {row['personas']} personas {row['sizes']} of {row['participants']} (stability "
            f"{row['stability']}, largest "
            f"{row['largest_share']:.0%}, {row['fit_none']} fit none); structure {row['strength']} "
            f"(silhouette {row['silhouette']:.2f}, k = {row['k']}; structure-free studies "
            f"{row['chance_silhouette']:.2f}, p = {row['p_value']:.2f}); "
            f"interviewer members {row['interviewer_members']}"
        )
    print(f"written to {RESULTS / 'personas.json'}")


if __name__ == "__main__":
    main()
