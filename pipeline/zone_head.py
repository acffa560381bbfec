"""A zone classifier learned from real labelled quotes: two logistic-regression heads whose probabilities are
blended.

- The **semantic head** reads the unit's layer vector (``registry.LAYER_VECTOR``) and its sentence vector (the
  same encoder pass), its prompting question's layer vector and the taxonomy scorer's evidence among layer vectors
  (semantic, cue and question scores; ``zones.ZoneScorer.head_inputs``). It once read the unit's turn too (the mean
  of the turn's unit vectors); once it read the sentence vector, the turn no longer helped (``zones_dev.json``).
- The **lexical head** reads the unit's words (TF-IDF of words and word pairs, lower case): the embedding says what
  a unit is about, the words often say what it does ("I'd love", "because", "we trialled").

Shipped as plain numbers beside its taxonomy (``models/zones/<id>.head.json``: no pickle, readable anywhere) and
rebuilt by ``make models`` (``scripts/train_zones.py``); a user's own taxonomy is trained the same way from a small
labelled CSV with ``train_head``. Measured with cross-validation by interview (``benchmarks/results/zones_dev.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .registry import LAYER_VECTOR


@dataclass(frozen=True)
class HeadSettings:
    """How the head weighs its inputs; chosen by the cross-validated figures of ``scripts/train_zones.py``."""

    unit_weight: float = 1.4  # the unit's layer vector among the semantic features
    sentence_weight: float = 0.5  # the unit's sentence vector (0 = not read, as heads written before it)
    question_weight: float = 1.0  # the prompting question's vector among the semantic features
    score_scale: float = 3.0  # the scorer's evidence among the semantic features
    regularisation: float = 4.0  # C of both logistic regressions
    lexical_share: float = 0.5  # the lexical head's share of the blended probabilities (0 = semantic only)
    lexical_min_df: int = 2  # a word or pair must occur in this many training texts (1,083 of 6,106 terms)
    layer: int = LAYER_VECTOR  # the encoder layer whose vectors it reads (``registry.LAYER_VECTOR``)


@dataclass(frozen=True)
class LexicalHead:
    vocabulary: tuple[str, ...]
    idf: np.ndarray  # terms
    coef: np.ndarray  # classes × terms
    intercept: np.ndarray  # classes

    @cached_property
    def _vectorizer(self):
        vectorizer = _tfidf(min_df=1)
        vectorizer.vocabulary = {term: i for i, term in enumerate(self.vocabulary)}
        vectorizer.idf_ = self.idf  # scikit-learn's own way to restore a fitted TF-IDF
        return vectorizer

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return softmax(np.asarray(self._vectorizer.transform(texts) @ self.coef.T) + self.intercept)


@dataclass(frozen=True)
class ZoneHead:
    classes: tuple[str, ...]  # zone ids, ``none`` included
    coef: np.ndarray  # classes × semantic features
    intercept: np.ndarray  # classes
    settings: HeadSettings
    embedding_model: str  # the head only fits vectors of this model
    lexical: LexicalHead | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def reads(self, embed) -> bool:
        """Whether ``embed`` (an ``embed.Embedder``) gives the vectors this head was trained on: the same model,
        and layer vectors from the same layer. Any other embedder falls back to the taxonomy's weighted scores."""
        model = getattr(getattr(embed, "params", None), "embedding_model", None)
        return model == self.embedding_model and hasattr(embed, "layer_vectors") and self.settings.layer == LAYER_VECTOR

    def features(
        self, vectors: np.ndarray, sentence_vectors: np.ndarray, question_vectors: np.ndarray, scores: np.ndarray
    ) -> np.ndarray:
        return features(vectors, sentence_vectors, question_vectors, scores, self.settings)

    def probabilities(self, features: np.ndarray, texts: list[str]) -> np.ndarray:
        semantic = softmax(features @ self.coef.T + self.intercept)
        if self.lexical is None or not self.settings.lexical_share:
            return semantic
        share = self.settings.lexical_share
        return (1 - share) * semantic + share * self.lexical.probabilities(texts)

    def save(self, path: Path) -> None:
        data = {
            "classes": list(self.classes),
            "coef": np.round(self.coef, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
            "settings": asdict(self.settings),
            "embedding_model": self.embedding_model,
            "lexical": None
            if self.lexical is None
            else {
                "vocabulary": list(self.lexical.vocabulary),
                "idf": np.round(self.lexical.idf, 6).tolist(),
                "coef": np.round(self.lexical.coef, 6).tolist(),
                "intercept": np.round(self.lexical.intercept, 6).tolist(),
            },
            "provenance": self.provenance,
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ZoneHead:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "turn_weight" in data["settings"]:
            raise ValueError("it reads each unit's turn, which this version no longer gives it")
        lexical = data.get("lexical")
        return cls(
            tuple(data["classes"]),
            np.asarray(data["coef"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            # heads written before layer vectors read none; before sentence vectors, their unit at weight 1
            HeadSettings(**{"layer": -1, "unit_weight": 1.0, "sentence_weight": 0.0, **data["settings"]}),
            str(data["embedding_model"]),
            None
            if lexical is None
            else LexicalHead(
                tuple(lexical["vocabulary"]),
                np.asarray(lexical["idf"], dtype=np.float64),
                np.asarray(lexical["coef"], dtype=np.float64),
                np.asarray(lexical["intercept"], dtype=np.float64),
            ),
            dict(data.get("provenance", {})),
        )


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise probabilities from scores (shifted by the row maximum, so large scores never overflow)."""
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def features(
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    question_vectors: np.ndarray,
    scores: np.ndarray,
    settings: HeadSettings,
) -> np.ndarray:
    """[weighted unit layer vector, weighted question vector (zeros without a question), scaled scorer evidence,
    weighted unit sentence vector (only where the head reads it)]."""
    s = settings
    parts = [s.unit_weight * vectors, s.question_weight * question_vectors, s.score_scale * scores]
    if s.sentence_weight:
        parts.append(s.sentence_weight * sentence_vectors)
    return np.hstack(parts).astype(np.float64)


def _tfidf(min_df: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, dtype=np.float64)


def _logistic(rows, labels: np.ndarray, classes: tuple[str, ...], settings: HeadSettings):
    """Logistic regression (scikit-learn, class-balanced): coefficients and intercepts in ``classes`` order."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=settings.regularisation, max_iter=5000, class_weight="balanced")
    model.fit(rows, labels)
    order = [list(model.classes_).index(c) for c in classes]
    return model.coef_[order], model.intercept_[order]


def train_head(
    features_: np.ndarray,
    texts: list[str],
    labels: np.ndarray,
    classes: tuple[str, ...],
    settings: HeadSettings,
    embedding_model: str = "",
    **provenance: Any,
) -> ZoneHead:
    """Both heads from labelled rows (``features`` of each text, the text, its zone); every class must be present."""
    coef, intercept = _logistic(features_, labels, classes, settings)
    lexical = None
    if settings.lexical_share:
        vectorizer = _tfidf(settings.lexical_min_df)
        counts = vectorizer.fit_transform(texts)
        lexical_coef, lexical_intercept = _logistic(counts, labels, classes, settings)
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        lexical = LexicalHead(tuple(vocabulary), vectorizer.idf_, lexical_coef, lexical_intercept)
    return ZoneHead(classes, coef, intercept, settings, embedding_model, lexical, provenance)
