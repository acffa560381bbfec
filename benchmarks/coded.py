"""Themes against researchers' own codes (`make bench`), side by side with BERTopic on the same embeddings.

``../shared/data/usability-coded``: 1,930 quotes a research team highlighted in 17 think-aloud sessions, each with
one of 22 codes that mix topic and stance ("Query process clear" / "Query process complex"). Two measurements:

- quotes: each quote is one unit (no context): AMI/ARI of the themes against the codes (unassigned counted as one
  cluster), unassigned share, mean per-theme stability across seeds, and how far 1e-6 noise on the embeddings
  moves the assignment: the communities the default method's Leiden runs agree on and one seed's run alone, and
  HDBSCAN on UMAP layouts (their consensus and one layout alone).
- sessions: themes found on the transcripts as a user would run them (ingest → segment → embed → themes); each
  quote takes the theme of the unit holding most of its words (quotes that match no participant unit, mostly the
  moderator's, are left out and counted). Compares the unit read alone, read with its prompting question at the
  default weight, at 0.7 and at full weight, and BERTopic on the bare units.
- supervised ceiling: a logistic regression trained on the researchers' own codes, cross-validated with folds by
  session, on the same vectors (and with the quotes' words beside them). What the vectors can separate even when
  told the answer bounds what clustering without the codes can reach.
- stance: the issue's "split a theme by stance" measured. Each code's stance, read from its name (``STANCE``):
  against, for, or neither. Each theme split by the stance of its quotes as the researchers coded them (what a
  stance reader agreeing with them on every quote would give), by the zone head's concerns (what the pipeline
  knows without training), and by a stance head trained on this study's own codes, cross-validated with folds by
  session (the most favourable real case: no other study's stance head would know this tool's talk as well).

Written to ``benchmarks/results/coded.json``.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from benchmarks.run import bertopic
from pipeline.config import Config
from pipeline.embed import Embedder, EmbedParams
from pipeline.runner import conversation_of, run_segment
from pipeline.tables import CONVERSATION_THEME, UNASSIGNED
from pipeline.themes import ThemeParams, discover_themes, in_context, neighbour_rows

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT.parent / "shared" / "data" / "usability-coded"
TAGS = STUDY / "tags.csv"
MIN_OVERLAP = 0.4  # share of a quote's words a unit must hold for the quote to take the unit's theme
RESULTS = ROOT / "benchmarks" / "results"


def coded_units() -> tuple[pd.DataFrame, pd.Series]:
    """The quotes as a unit table (one participant per session document), and their codes."""
    tags = pd.read_csv(TAGS, keep_default_na=False)
    units = pd.DataFrame(
        {
            "unit_id": [f"q{i:05d}" for i in range(len(tags))],
            "interview_id": tags["document"],
            "speaker": "participant",
            "text": tags["content"],
        }
    )
    return units, tags["tag"]


def agreement(truth: pd.Series, labels: np.ndarray) -> dict:
    return {
        "ami": round(float(adjusted_mutual_info_score(truth, labels)), 4),
        "ari": round(float(adjusted_rand_score(truth, labels)), 4),
        "unassigned_share": round(float((labels == UNASSIGNED).mean()), 4),
        "themes": int(len(set(labels.tolist()) - {UNASSIGNED})),
    }


def ours(units: pd.DataFrame, vectors: np.ndarray, truth: pd.Series, config: Config) -> tuple[dict, np.ndarray]:
    """The figures of the themes found on the quotes, and the themes."""
    params = ThemeParams.from_config(config, len(units))
    themed = discover_themes(vectors, units, params)
    labels = themed["theme"].to_numpy()
    noisy = vectors + np.random.default_rng(0).normal(0, 1e-6, vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    per_theme = themed[themed["theme"] != UNASSIGNED].drop_duplicates("theme")["theme_stability"]
    one_run = replace(params, consensus_max_units=0, stability_runs=0)  # the main seed's run alone
    moved = adjusted_rand_score(labels, discover_themes(noisy, units, params)["theme"])
    moved_one_run = adjusted_rand_score(
        discover_themes(vectors, units, one_run)["theme"], discover_themes(noisy, units, one_run)["theme"]
    )
    return {
        **agreement(truth, labels),
        "mean_stability": round(float(per_theme.mean()), 4),
        "ari_under_1e-6_noise": round(float(moved), 4),
        "ari_under_1e-6_noise_one_run": round(float(moved_one_run), 4),
    }, labels


# A code's stance from its name: against ("not clear", "complex", "issue"), for ("useful", "clear", "simple",
# "positive"), else neither ("Moderator assist", "Additional feature suggestion").
STANCE = ((-1, re.compile(r"\b(?:not|complex|issue)\b", re.I)), (1, re.compile(r"useful|clear|simple|positive", re.I)))


def stance_of(code: str) -> int:
    return next((sign for sign, words in STANCE if words.search(code)), 0)


def stance_splits(
    units: pd.DataFrame, vectors: np.ndarray, truth: pd.Series, labels: np.ndarray, embedder: Embedder, config: Config
) -> dict:
    """AMI/ARI of the themes with each theme split by a stance (three ways), against the themes as they are."""
    from pipeline.registry import load_spacy
    from pipeline.zones import ZoneScorer, load_taxonomy

    coded = np.array([stance_of(code) for code in truth])
    texts = units["text"].tolist()
    zones = ZoneScorer(load_taxonomy(config.zones), embedder)
    filed = zones.classify(vectors, texts, nlp=load_spacy(config.spacy_model))["zone"].to_numpy()
    learned = by_session(with_words(units, vectors), coded, units, class_weight="balanced")
    report = {"themes as they are": agreement(truth, labels)}
    for name, stance in (
        ("split by the coded stance (upper bound)", coded),
        ("split by the zone head's concerns", np.where(filed == "concerns", -1, 0)),
        ("split by a stance head trained on this study, folds by session", learned),
    ):
        split = np.where(labels == UNASSIGNED, UNASSIGNED, labels * 3 + stance + 1)
        report[name] = agreement(truth, split)
    report["stance head accuracy"] = round(float((learned == coded).mean()), 4)
    return report


def with_words(units: pd.DataFrame, vectors: np.ndarray):
    """The vectors with TF-IDF of the quotes' words and word pairs beside them (a sparse matrix)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2)).fit_transform(units["text"])
    return hstack([csr_matrix(vectors), words]).tocsr()


def by_session(rows, labels, units: pd.DataFrame, **options) -> np.ndarray:
    """Each quote's label as a logistic regression predicts it when shown only the other sessions' labels (5 folds
    by session)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict

    model = LogisticRegression(C=4.0, max_iter=3000, **options)
    return cross_val_predict(model, rows, labels, groups=units["interview_id"], cv=GroupKFold(5))


def supervised_ceiling(units: pd.DataFrame, vectors: np.ndarray, truth: pd.Series) -> dict:
    """AMI/ARI of codes predicted by logistic regressions that were shown the codes of the other sessions (5 folds
    by session): on the vectors alone, and on the vectors with TF-IDF of the quotes' words and word pairs."""
    report = {}
    for name, rows in (("vectors", vectors), ("vectors and words", with_words(units, vectors))):
        predicted = by_session(rows, truth, units)
        report[name] = {**agreement(truth, predicted), "accuracy": round(float((predicted == truth).mean()), 4)}
    return report


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def quote_units(units: pd.DataFrame, tags: pd.DataFrame) -> np.ndarray:
    """Row of the unit holding most of each quote's words (in the quote's own session), or -1."""
    words = [_words(t) for t in units["text"]]
    rows_of = units.groupby("interview_id").indices
    found = []
    for document, content in zip(tags["document"], tags["content"], strict=True):
        quote = _words(content)
        scored = [(len(quote & words[r]) / max(len(quote), 1), -r) for r in rows_of.get(Path(document).stem, [])]
        best = max(scored, default=(0.0, 1))
        found.append(-best[1] if best[0] >= MIN_OVERLAP else -1)
    return np.array(found)


def sessions(config: Config, embedder: Embedder) -> dict:
    """Themes found on the transcripts, scored on the quotes the researchers coded in them."""
    units = run_segment(STUDY / "transcripts", config).units
    tags = pd.read_csv(TAGS, keep_default_na=False)
    rows = quote_units(units, tags)
    mapped = rows >= 0
    truth = tags.loc[mapped, "tag"]
    params = replace(ThemeParams.from_config(config, len(units)), stability_runs=0)
    report = {"units": len(units), "quotes_mapped": round(float(mapped.mean()), 4)}
    bare = embedder(units["text"].tolist())
    questions = embedder(units["question"].tolist())
    asked, beside = (units["question"] != "").to_numpy(), neighbour_rows(units)
    settings = [(weight, 0.0) for weight in sorted({0.0, config.question_weight, 0.7, 1.0})]
    settings += [(config.question_weight, weight) for weight in sorted({0.25, config.neighbour_weight, 0.75})]
    talk = conversation_of(embedder)  # as the runner passes it
    for weight, neighbour_weight in settings:
        vectors = in_context(bare, questions, asked, weight, beside, neighbour_weight)
        labels = discover_themes(vectors, units, params, talk)["theme"].to_numpy()
        labels = np.where(labels == CONVERSATION_THEME, UNASSIGNED, labels)  # set aside: counted as unassigned
        name = f"insightmap, question weight {weight:g}, neighbour weight {neighbour_weight:g}"
        report[name] = agreement(truth, labels[rows[mapped]])
    their_labels, _ = bertopic(units["text"].tolist(), bare, config.seed)
    report["bertopic"] = agreement(truth, np.asarray(their_labels)[rows[mapped]])
    return report


def main() -> None:
    config = Config()
    units, truth = coded_units()
    with tempfile.TemporaryDirectory() as cache:
        embedder = Embedder(EmbedParams.from_config(replace(config, cache_dir=cache)))
        vectors = embedder(units["text"].tolist())
        their_labels, _ = bertopic(units["text"].tolist(), vectors, config.seed)
        session_report = sessions(replace(config, cache_dir=cache), embedder)
        found, labels = ours(units, vectors, truth, config)
        stance = stance_splits(units, vectors, truth, labels, embedder, config)
    report = {
        "quotes": len(units),
        "codes": int(truth.nunique()),
        "insightmap": found,
        "insightmap (hdbscan)": ours(units, vectors, truth, replace(config, theme_method="hdbscan"))[0],
        "bertopic": agreement(truth, their_labels),
        "sessions": session_report,
        "supervised_ceiling": supervised_ceiling(units, vectors, truth),
        "stance": stance,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "coded.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"coded quotes ({report['quotes']} quotes, {report['codes']} codes) — target AMI ≥ 0.40, ARI ≥ 0.20")
    for name in ("insightmap", "insightmap (hdbscan)", "bertopic"):
        row = report[name]
        extra = (
            f"  stability {row['mean_stability']:.2f}, ARI under 1e-6 noise {row['ari_under_1e-6_noise']:.2f} "
            f"(one seed's run: {row['ari_under_1e-6_noise_one_run']:.2f})"
            if name != "bertopic"
            else ""
        )
        print(
            f"  {name:20} AMI {row['ami']:.3f}  ARI {row['ari']:.3f}  unassigned {row['unassigned_share']:.1%}  "
            f"themes {row['themes']}{extra}"
        )
    part = report["sessions"]
    print(f"sessions: {part['units']} units, {part['quotes_mapped']:.0%} of quotes matched to a participant unit")
    for name, row in part.items():
        if isinstance(row, dict):
            print(f"  {name:29} AMI {row['ami']:.3f}  ARI {row['ari']:.3f}  unassigned {row['unassigned_share']:.1%}")
    print("supervised ceiling (told the other sessions' codes; 5 folds by session):")
    for name, row in report["supervised_ceiling"].items():
        print(f"  {name:29} AMI {row['ami']:.3f}  ARI {row['ari']:.3f}  accuracy {row['accuracy']:.1%}")
    print(f"stance (themes split three ways; stance head accuracy {report['stance']['stance head accuracy']:.1%}):")
    for name, row in report["stance"].items():
        if isinstance(row, dict):
            print(f"  {name:62} AMI {row['ami']:.3f}  ARI {row['ari']:.3f}  themes {row['themes']}")
    print(f"written to {RESULTS / 'coded.json'}")


if __name__ == "__main__":
    main()
