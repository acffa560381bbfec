"""A zone classifier learned from real labelled quotes: a multinomial logistic-regression head on the unit's
embedding, its prompting question's embedding, and the taxonomy scorer's evidence (semantic, cue and question
scores, ``zones.ZoneScorer.scores``).

Shipped as plain numbers beside its taxonomy (``models/zones/<id>.head.json``: no pickle, readable anywhere) and
rebuilt by ``make models`` (``scripts/train_zones.py``); a user's own taxonomy is trained the same way from a small
labelled CSV with ``train_head``. Measured with cross-validation by interview (``benchmarks/results/zones_dev.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ZoneHead:
    classes: tuple[str, ...]  # zone ids, ``none`` included
    coef: np.ndarray  # classes × features
    intercept: np.ndarray  # classes
    question_weight: float  # how much the prompting question's vector counts among the features
    score_scale: float  # how much the scorer's evidence counts
    embedding_model: str  # the head only fits vectors of this model
    provenance: dict[str, Any]

    def features(self, vectors: np.ndarray, question_vectors: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return features(vectors, question_vectors, scores, self.question_weight, self.score_scale)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(features @ self.coef.T + self.intercept)

    def save(self, path: Path) -> None:
        data = {
            "classes": list(self.classes),
            "coef": np.round(self.coef, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
            "question_weight": self.question_weight,
            "score_scale": self.score_scale,
            "embedding_model": self.embedding_model,
            "provenance": self.provenance,
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ZoneHead:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            tuple(data["classes"]),
            np.asarray(data["coef"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            float(data["question_weight"]),
            float(data["score_scale"]),
            str(data["embedding_model"]),
            dict(data.get("provenance", {})),
        )


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise probabilities from scores (shifted by the row maximum, so large scores never overflow)."""
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def features(
    vectors: np.ndarray, question_vectors: np.ndarray, scores: np.ndarray, question_weight: float, score_scale: float
) -> np.ndarray:
    """[unit vector, weighted question vector (zeros without a question), scaled scorer evidence]."""
    return np.hstack([vectors, question_weight * question_vectors, score_scale * scores]).astype(np.float64)


def fit_head(
    features_: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], regularisation: float, **meta: Any
) -> ZoneHead:
    """Logistic regression (scikit-learn, class-balanced) on labelled feature rows; every class must be present."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=regularisation, max_iter=5000, class_weight="balanced")
    model.fit(features_, labels)
    order = [list(model.classes_).index(c) for c in classes]
    return ZoneHead(
        classes,
        model.coef_[order],
        model.intercept_[order],
        meta.pop("question_weight"),
        meta.pop("score_scale"),
        meta.pop("embedding_model"),
        meta,
    )
