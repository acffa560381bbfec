"""Which encoder layer tells zones apart: a probe behind ``registry.LAYER_VECTOR``, not part of the pipeline.

On ``../shared/data/zones-dev`` (folds by interview, ``GroupKFold``, 5): a logistic regression (the zone head's C,
class-balanced) on each quote's own vector alone, for the mean of its token states after every layer of the
packaged encoder (torch, one text at a time), the sentence vector's pooling of the last layer included. Figures go
to ``benchmarks/results/zone_layers.json``; the whole head per layer is measured by rebuilding it
(``scripts/train_zones.py`` after changing ``LAYER_VECTOR``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.registry import embedding_model_path  # noqa: E402
from pipeline.zone_head import HeadSettings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def layer_means(texts: list[str]) -> np.ndarray:
    """texts × layers (the embedding layer first) × dimension: unit-length means of the token states."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(embedding_model_path(Config().embedding_model))
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            states = model(**tokenizer([text], return_tensors="pt", truncation=True), output_hidden_states=True)
            rows.append(np.stack([h[0].mean(dim=0).numpy() for h in states.hidden_states]))
    means = np.stack(rows)
    return means / np.linalg.norm(means, axis=2, keepdims=True)


def macro_f1(vectors: np.ndarray, labels: np.ndarray, groups: pd.Series) -> float:
    scores = []
    for train, test in GroupKFold(5).split(vectors, labels, groups):
        model = LogisticRegression(C=HeadSettings().regularisation, max_iter=5000, class_weight="balanced")
        scores.append(f1_score(labels[test], model.fit(vectors[train], labels[train]).predict(vectors[test]),
                               average="macro"))  # fmt: skip
    return round(float(np.mean(scores)), 4)


def main() -> None:
    data = pd.read_csv(SHARED / "zones-dev" / "labelled.csv", keep_default_na=False)
    labels = data["label"].to_numpy()
    means = layer_means(data["text"].tolist())
    report = {f"layer {layer}": macro_f1(means[:, layer], labels, data["interview_id"]) for layer in
              range(1, means.shape[1])}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "zone_layers.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
