"""Zone classification quality on tests/data/zones_labelled.csv (175 interview-style quotes, 7 labels).

Weights are tuned on a stratified half (grid search, macro-F1) and reported on the other half, against a pure
zero-shot baseline (cosine to zone descriptions only) in the same run. Writes benchmarks/results/zones.json.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import train_test_split

from pipeline.config import Config
from pipeline.embed import Embedder, EmbedParams
from pipeline.registry import load_spacy
from pipeline.zones import NONE, ZoneScorer, load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "zones_labelled.csv"
RESULTS = ROOT / "benchmarks" / "results"
GRID = {
    "examples": [0.0, 0.25, 0.5, 0.75, 1.0],
    "cue": [0.0, 0.05, 0.1, 0.15, 0.2],
    "question": [0.0, 0.05, 0.1, 0.2],
    "none_margin": [-0.05, 0.0, 0.05],
}


def lemmatise(texts: list[str]) -> list[str]:
    nlp = load_spacy(Config().spacy_model)
    return [" ".join(t.lemma_.lower() for t in doc if not t.is_punct) for doc in nlp.pipe(texts)]


def evaluate(truth: list[str], predicted: list[str], labels: list[str]) -> dict:
    per_zone = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    matrix = confusion_matrix(truth, predicted, labels=labels)
    g, m = labels.index("goals"), labels.index("motivations")
    return {
        "macro_f1": round(float(np.mean(per_zone)), 4),
        "per_zone_f1": {label: round(float(f), 4) for label, f in zip(labels, per_zone, strict=True)},
        "goals_as_motivations": int(matrix[g, m]),
        "motivations_as_goals": int(matrix[m, g]),
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
    }


def main() -> None:
    data = pd.read_csv(LABELLED, keep_default_na=False)
    taxonomy = load_taxonomy(Config().zones)
    labels = [*taxonomy.ids, NONE]
    with tempfile.TemporaryDirectory() as cache:
        embedder = Embedder(EmbedParams.from_config(Config(cache_dir=cache)))
        vectors = embedder(data["text"].tolist())
        scorer = ZoneScorer(taxonomy, embedder)
    lemmas = lemmatise(data["text"].tolist())
    tune, held = train_test_split(np.arange(len(data)), test_size=0.5, stratify=data["zone"], random_state=0)

    def predict(index: np.ndarray, weights: dict) -> list[str]:
        scorer.weights = {**taxonomy.weights, **weights}
        rows = data.iloc[index]
        result = scorer.classify(
            vectors[index], rows["text"].tolist(), [lemmas[i] for i in index], rows["question"].tolist()
        )
        return result["zone"].tolist()

    best, best_f1 = {}, -1.0
    for values in itertools.product(*GRID.values()):
        weights = dict(zip(GRID, values, strict=True))
        f1 = f1_score(data["zone"].iloc[tune], predict(tune, weights), labels=labels, average="macro", zero_division=0)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = weights, f1
    zero_shot = [labels[i] for i in scorer.zero_shot(vectors[held]).argmax(axis=1)]
    report = {
        "labelled_quotes": len(data),
        "tuned_on": len(tune),
        "held_out_size": len(held),
        "chosen_weights": best,
        "tuning_macro_f1": round(best_f1, 4),
        "in_file_weights": taxonomy.weights,
        "held_out": {
            "insightmap_tuned": evaluate(data["zone"].iloc[held].tolist(), predict(held, best), labels),
            "insightmap_file_weights": evaluate(data["zone"].iloc[held].tolist(), predict(held, {}), labels),
            "zero_shot_descriptions": evaluate(data["zone"].iloc[held].tolist(), zero_shot, labels),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "zones.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nZones: {len(held)} held-out quotes (tuned on {len(tune)}); chosen weights {best}")
    for name, result in report["held_out"].items():
        print(
            f"  {name:26} macro-F1 {result['macro_f1']:.3f}  goals→motivations {result['goals_as_motivations']}"
            f"  motivations→goals {result['motivations_as_goals']}"
        )
    print(
        "  per-zone F1 (file weights): "
        + ", ".join(f"{k} {v:.2f}" for k, v in report["held_out"]["insightmap_file_weights"]["per_zone_f1"].items())
    )
    print(f"written to {RESULTS / 'zones.json'}")


if __name__ == "__main__":
    main()
