"""What fine-tuning the encoder would add to zone filing: a probe, not part of the pipeline or of `make bench`.

On ``../shared/data/zones-dev``, folds by interview (``GroupKFold``, 5), for the first ``--folds`` folds: a logistic
regression on each quote's vector alone, from the packaged encoder and from a copy fine-tuned on the training fold
only, SetFit's recipe (pairs of same-zone and different-zone quotes, ``--pairs`` of each per quote, cosine loss, one
epoch). ``--last-layer`` tunes only the top transformer layer, the one a zone encoder could keep apart while
sharing the rest with the theme encoder. About 5 minutes per fold on 2 cores; figures go to
``benchmarks/results/zones_finetune.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
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


def encode(model, texts: list[str]) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


def macro_f1(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray) -> float:
    """The head's logistic regression (its C, class-balanced) on the vectors alone."""
    model = LogisticRegression(C=HeadSettings().regularisation, max_iter=5000, class_weight="balanced")
    return float(f1_score(test_labels, model.fit(train, train_labels).predict(test), average="macro"))


def fine_tuned(base, texts: list[str], labels: np.ndarray, pairs: int, last_layer: bool, learning_rate: float):
    """A copy of ``base`` trained on same-zone pairs (target cosine 1) and different-zone pairs (0)."""
    import torch

    model = copy.deepcopy(base)
    model.train()
    by_zone: dict[str, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        by_zone.setdefault(label, []).append(text)
    examples = []
    for text, label in zip(texts, labels, strict=True):
        for _ in range(pairs):
            examples.append((text, random.choice(by_zone[label]), 1.0))
            other = random.choice([zone for zone in by_zone if zone != label])
            examples.append((text, random.choice(by_zone[other]), 0.0))
    random.shuffle(examples)
    trained = model.parameters()
    if last_layer:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        top = model[0].auto_model.encoder.layer[-1]
        for parameter in top.parameters():
            parameter.requires_grad_(True)
        trained = top.parameters()
    optimiser = torch.optim.AdamW(trained, lr=learning_rate)
    for start in range(0, len(examples), 16):
        batch = examples[start : start + 16]
        left = model(model.tokenize([a for a, _, _ in batch]))["sentence_embedding"]
        right = model(model.tokenize([b for _, b, _ in batch]))["sentence_embedding"]
        target = torch.tensor([t for _, _, t in batch])
        loss = torch.nn.functional.mse_loss(torch.nn.functional.cosine_similarity(left, right), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=2, help="how many of the 5 folds to run")
    parser.add_argument("--pairs", type=int, default=10, help="same-zone and different-zone pairs per quote")
    parser.add_argument("--last-layer", action="store_true", help="tune the top layer only")
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    data = pd.read_csv(SHARED / "zones-dev" / "labelled.csv", keep_default_na=False)
    texts, labels = data["text"].tolist(), data["label"].to_numpy()
    base = SentenceTransformer(str(embedding_model_path(Config().embedding_model)), device="cpu")
    frozen = encode(base, texts)
    folds = []
    for fold, (train, test) in enumerate(GroupKFold(5).split(texts, labels, data["interview_id"])):
        if fold >= args.folds:
            break
        tuned = fine_tuned(base, [texts[i] for i in train], labels[train], args.pairs, args.last_layer,
                           args.learning_rate)  # fmt: skip
        vectors = encode(tuned, texts)
        row = {
            "fold": fold,
            "frozen": round(macro_f1(frozen[train], labels[train], frozen[test], labels[test]), 4),
            "fine_tuned": round(macro_f1(vectors[train], labels[train], vectors[test], labels[test]), 4),
        }
        folds.append(row)
        print(json.dumps(row), flush=True)
    report = {
        "settings": vars(args),
        "folds": folds,
        "frozen_macro_f1": round(float(np.mean([f["frozen"] for f in folds])), 4),
        "fine_tuned_macro_f1": round(float(np.mean([f["fine_tuned"] for f in folds])), 4),
    }
    name = "zones_finetune_last_layer.json" if args.last_layer else "zones_finetune.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
