"""What segmentation sets aside, measured on real speech (`make bench`).

On ``../shared/data/zones-dev`` (299 real participant quotes, each labelled with a buyer-insight zone or ``other``
by two annotators who agreed): the share of zone-labelled quotes set aside whole (target ≤ 2 %), and of ``other``
quotes (small talk, logistics, background: the more the better). On the real interview corpora: the share of
participant words set aside, per reason, with examples to read; and, after themes are found, the units set aside
as talk about the conversation itself (a theme of greetings and goodbyes), with all of them to read. Written to
``benchmarks/results/units.json``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.embed import Embedder, EmbedParams
from pipeline.ingest import ingest
from pipeline.ingest.normalise import count_words
from pipeline.registry import load_spacy
from pipeline.runner import conversation_of, read_in_context, run_themes
from pipeline.segment import CONVERSATION, SegmentParams, segment
from pipeline.themes import centroids

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
CORPORA = {"scientists": SHARED / "interviews", "ml-interviews": SHARED / "ml-interviews"}
THEMED = {**CORPORA, "oral-history": SHARED / "oral-history", "podcasts": SHARED / "podcasts",
          "formats": SHARED / "formats", "usability sessions": SHARED / "usability-coded" / "transcripts"}  # fmt: skip


def labelled_quotes_set_aside(nlp, params: SegmentParams) -> dict:
    """Each labelled quote as a participant turn answering an interviewer: is any of it left as a unit?"""
    quotes = pd.read_csv(SHARED / "zones-dev" / "labelled.csv", keep_default_na=False)
    n = len(quotes)
    turns = pd.DataFrame(
        {
            "interview_id": [*quotes["id"], *quotes["id"]],
            "turn": [1] * n + [2] * n,
            "speaker": ["I"] * n + ["P"] * n,
            "role": ["interviewer"] * n + ["participant"] * n,
            "start_s": float("nan"),
            "text": ["Could you tell me more?"] * n + quotes["text"].tolist(),
            "source_file": "labelled.csv",
            "lines": [[i + 2] for i in range(n)] * 2,
        }
    ).sort_values(["interview_id", "turn"], kind="stable")
    units, _ = segment(turns, nlp, params)
    aside = ~quotes["id"].isin(units["interview_id"])
    zoned = quotes["label"] != "other"
    return {
        "zone_quotes": int(zoned.sum()),
        "zone_quotes_set_aside": int((aside & zoned).sum()),
        "zone_share_set_aside": round(float(aside[zoned].mean()), 4),
        "other_share_set_aside": round(float(aside[~zoned].mean()), 4),
        "zone_quotes_lost": quotes.loc[aside & zoned, "text"].tolist(),
        "other_quotes_kept": quotes.loc[~aside & ~zoned, "text"].tolist(),
    }


def corpus_set_aside(folder: Path, nlp, params: SegmentParams) -> dict:
    turns = ingest(folder).turns
    units, dropped = segment(turns, nlp, params)
    words = {"units": int(units["text"].map(count_words).sum())}
    by_reason = dropped.assign(words=dropped["text"].map(count_words)).groupby("reason")["words"].sum()
    total = words["units"] + int(by_reason.sum())
    return {
        "participant_words": total,
        "share_set_aside": round(float(by_reason.sum() / max(total, 1)), 4),
        "by_reason": {reason: round(float(n / max(total, 1)), 4) for reason, n in by_reason.items()},
        "examples": {
            reason: group["text"].drop_duplicates().head(8).tolist() for reason, group in dropped.groupby("reason")
        },
    }


def conversation_set_aside(folder: Path, config: Config) -> dict:
    """A whole run (``insightmap themes``): how many units were set aside as conversation, and which; and, from a
    run with the test off (``conversation_theme_above = 1``), the themes nearest the conversation centre, measured
    as the theme stage measures them (cosine of the centroid of the units' own vectors), and read in context as
    they were before session 35: what the threshold must split."""
    run = run_themes(folder, config)
    talk = run.dropped.loc[run.dropped["reason"] == CONVERSATION, "text"]
    unfiltered = run_themes(folder, replace(config, conversation_theme_above=1.0))
    units = unfiltered.units
    embedder = Embedder(EmbedParams.from_config(config))
    said = embedder(units["text"].tolist())
    in_context = read_in_context(units, said, embedder(units["question"].tolist()), config)
    centre = conversation_of(embedder)
    ids, centres = centroids(said, units["theme"].to_numpy())
    closeness = centres @ centre
    read_in_context_closeness = centroids(in_context, units["theme"].to_numpy())[1] @ centre
    label = unfiltered.themes.set_index("theme")["label"]
    return {
        "units_before": len(run.units) + len(talk),
        "set_aside": len(talk),
        "share": round(len(talk) / max(len(run.units) + len(talk), 1), 4),
        "threshold": config.conversation_theme_above,
        "nearest_themes": [
            {
                "label": label[int(ids[i])],
                "cosine": round(float(closeness[i]), 3),
                "cosine_in_context": round(float(read_in_context_closeness[i]), 3),
            }
            for i in np.argsort(-closeness)[:3]
        ],
        "texts": talk.tolist(),
    }


def main() -> None:
    config = Config()
    params = SegmentParams.from_config(config)
    nlp = load_spacy(config.spacy_model)
    report = {"zones_dev": labelled_quotes_set_aside(nlp, params)}
    report.update({name: corpus_set_aside(folder, nlp, params) for name, folder in CORPORA.items()})
    report["conversation"] = {name: conversation_set_aside(folder, config) for name, folder in THEMED.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "units.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    zones = report["zones_dev"]
    print(
        f"zones-dev: {zones['zone_quotes_set_aside']} of {zones['zone_quotes']} zone-labelled quotes set aside "
        f"({zones['zone_share_set_aside']:.1%}, target ≤ 2 %); 'other' quotes set aside: "
        f"{zones['other_share_set_aside']:.0%}"
    )
    for name in CORPORA:
        part = report[name]
        reasons = ", ".join(f"{r} {s:.1%}" for r, s in part["by_reason"].items())
        share, words = part["share_set_aside"], part["participant_words"]
        print(f"{name}: {share:.1%} of {words} participant words set aside ({reasons})")
    for name, part in report["conversation"].items():
        nearest = ", ".join(f"{t['cosine']:.2f} “{t['label']}”" for t in part["nearest_themes"])
        print(f"{name}: {part['set_aside']} of {part['units_before']} units set aside as conversation; nearest "
              f"the conversation centre with the test off: {nearest} (threshold {part['threshold']})")  # fmt: skip
    print(f"written to {RESULTS / 'units.json'}")


if __name__ == "__main__":
    main()
