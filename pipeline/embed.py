"""Embed analysis units with the sentence-transformers model (on CPU by default through its int8 ONNX export,
``onnx_encoder``), through an on-disk cache keyed by model, backend and text.

Each text gets two vectors from one forward pass: its sentence vector (themes, labels, codebooks) and its layer
vector (``registry.LAYER_VECTOR``: what the zone head reads). The cache is one ``.npz`` file per model identity (a
fingerprint of the weights, the layer and the backend) holding text hashes, both vectors of each text side by side
and a checksum of the vectors. A rerun, or a run with one more interview, embeds only texts not
seen before. A cache file that fails to load, fails its checksum or holds vectors of the wrong shape is discarded
with a warning and recomputed — never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import registry
from .config import StageParams
from .errors import ConfigError
from .onnx_encoder import (
    RECIPE,
    VIEWS,
    OnnxEncoder,
    OnnxExportError,
    onnx_encoder,
    torch_views,
    view_cosines,
    with_hidden_states,
)
from .progress import with_progress

log = logging.getLogger(__name__)
SPOT_CHECKS = 3  # cached vectors re-encoded per run to prove the cache still matches its texts
SAVE_FROM = 256  # unsaved vectors that make a cache write worth its cost (``Embedder.save``)
SPOT_CHECK_COSINE = 0.99  # same model, other batch-mates or CPU: > 0.999; another text: far below


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _checksum(keys: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256(vectors.tobytes())
    digest.update("\n".join(keys.tolist()).encode())
    return digest.hexdigest()


@dataclass
class EmbeddingCache:
    """Vectors by text hash for one model; ``stats`` records hits, misses and discarded files."""

    path: Path
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {"hits": 0, "misses": 0, "corrupt": 0})

    @classmethod
    def open(cls, cache_dir: str | Path, identity: str) -> EmbeddingCache:
        name = hashlib.sha256(identity.encode()).hexdigest()[:16]
        cache = cls(Path(cache_dir) / "embeddings" / f"{name}.npz")
        cache._load()
        return cache

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors, checksum = data["keys"], data["vectors"], str(data["checksum"])
            valid = (
                vectors.ndim == 2
                and len(keys) == len(vectors)
                and np.isfinite(vectors).all()
                and checksum == _checksum(keys, vectors)
            )
        except Exception as exc:  # zip, pickle and value errors all mean the same: do not trust it
            log.warning("embedding cache %s unreadable (%s); recomputing", self.path, exc)
            valid = False
        if not valid:
            self.stats["corrupt"] += 1
            log.warning("embedding cache %s failed its integrity check; recomputing", self.path)
            self.path.unlink(missing_ok=True)
            return
        self.vectors = dict(zip(keys.tolist(), vectors, strict=True))

    def save(self) -> None:
        if not self.vectors:
            return
        keys = np.array(sorted(self.vectors))
        vectors = np.stack([self.vectors[k] for k in keys]).astype(np.float32)
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz.tmp")
            with os.fdopen(handle, "wb") as fh:
                np.savez(fh, keys=keys, vectors=vectors, checksum=np.array(_checksum(keys, vectors)))
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache only saves time: a full disk or a file in its place must not stop the run
            log.warning("embedding cache not saved to %s (%s); the run goes on without it", self.path, exc)
        finally:
            if tmp:
                Path(tmp).unlink(missing_ok=True)


@dataclass(frozen=True)
class EmbedParams(StageParams):
    """Which model embeds, where its vectors are cached, and the batch shape."""

    embedding_model: str
    embedding_backend: str  # "onnx": the int8 encoder on CPU (``onnx_encoder``); "torch": the model as shipped
    cache_dir: str  # "" = no on-disk cache
    embed_batch_size: int  # torch: fixed batch shape, so vectors are independent of batch-mates (see ``encode``)
    device: str


def _may_have_cuda() -> bool:
    """Whether torch could find a CUDA GPU, known without importing torch (1.4 s): on Linux a GPU needs the NVIDIA
    driver (``/proc/driver/nvidia``) or WSL's GPU bridge (``/dev/dxg``); macOS has no CUDA; elsewhere ask torch."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia").exists() or Path("/dev/dxg").exists()
    return True


def resolve_device(device: str) -> str:
    """The torch device to encode on: ``auto`` picks CUDA when present; an unavailable device is a one-line error."""
    if device == "cpu" or (device == "auto" and not _may_have_cuda()):
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} asked for, but torch finds no CUDA GPU here; use --device cpu or auto")
    if device.startswith("cuda") and device != "cuda" and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise ConfigError(f"device: {device!r} asked for, but torch finds {torch.cuda.device_count()} CUDA GPU(s)")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device: 'mps' asked for, but this machine has no Apple GPU; use --device cpu or auto")
    return device


def load_encoder(model_name: str, device: str):
    registry.offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the weight-loading bar is noise; encoding has its own
    model = SentenceTransformer(str(registry.embedding_model_path(model_name)), device=resolve_device(device))
    return with_hidden_states(model)


def backend(params: EmbedParams) -> str:
    """The backend that encodes: ONNX int8 is a CPU path; on a GPU the torch model is faster and exact."""
    return "onnx" if params.embedding_backend == "onnx" and resolve_device(params.device) == "cpu" else "torch"


def _dimension(encoder) -> int:
    """The sentence vector's length (sentence-transformers renamed this method in 5.x; accept both)."""
    if isinstance(encoder, OnnxEncoder):
        return encoder.dimension
    getter = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(getter())


def encode(encoder, texts: list[str], batch_size: int, progress: bool | None = None) -> np.ndarray:
    """texts × (sentence vector ⊕ layer vector), float32, each half of unit length (cosine similarity = dot
    product), independent of the other texts.

    The int8 encoder runs each text alone (``onnx_encoder``). For the torch model, a plain batched encode pads
    each batch to its longest text and lets the batch's shape pick the BLAS kernels, so a text's vector changes in
    the last bits with its batch-mates — and a cached vector from one run differs from a fresh one in another,
    which is enough to move UMAP. Here texts are grouped by token length
    and encoded ``batch_size`` at a time, the last batch of a group filled by repetition: no padding, one GEMM
    shape, bit-identical vectors whatever else is encoded (``tests/test_embed_cache.py`` asserts it), at a
    small cost in speed against padded batches of 64.
    """
    dimension = VIEWS * _dimension(encoder)
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    show = progress if progress is not None else len(texts) > 256
    if isinstance(encoder, OnnxEncoder):
        return encoder.encode(texts, show)
    lengths = [
        len(ids) for ids in encoder.tokenizer(texts, truncation=True, max_length=encoder.max_seq_length)["input_ids"]
    ]
    by_length: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        by_length.setdefault(length, []).append(index)
    batches = [
        members[k : k + batch_size]
        for _, members in sorted(by_length.items())
        for k in range(0, len(members), batch_size)
    ]
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    for batch in with_progress(batches, "embed", len(batches), "batch", show):
        chunk = [texts[i] for i in batch]
        chunk += [chunk[-1]] * (batch_size - len(chunk))
        vectors[batch] = torch_views(encoder, chunk)[: len(batch)]
    return vectors


class Embedder:
    """Embeds texts through the cache. The int8 encoder is opened (built once, if need be) up front, because
    whether this model exports decides which cache its vectors belong to; the torch model, slow to load, loads on
    the first encode only."""

    def __init__(self, params: EmbedParams):
        self.params = params
        self.backend = backend(params)
        self._encoder = self._onnx_encoder() if self.backend == "onnx" else None
        # Vectors depend on the layer read, the backend, and (in the last bits) on device and batch shape: all are in
        # the identity.
        identity = f"{registry.model_identity(params.embedding_model)}|layer={registry.LAYER_VECTOR}"
        if self.backend == "onnx":
            identity = f"{identity}|{RECIPE}"
        else:
            identity = f"{identity}|{resolve_device(params.device)}|batch={params.embed_batch_size}"
        self.cache = EmbeddingCache.open(params.cache_dir, identity) if params.cache_dir else None
        self.memory: dict[str, np.ndarray] = self.cache.vectors if self.cache else {}
        self.stats = {"hits": 0, "misses": 0, "corrupt": self.cache.stats["corrupt"] if self.cache else 0}
        self._checked = False
        self._unsaved = 0  # vectors encoded since the cache file was last written

    def save(self) -> None:
        """Write what was encoded since the last save: a large batch is saved at once (so a failed run keeps it),
        the many small ones of labelling themes once at the end of the run (each save rewrites the whole file)."""
        if self.cache and self._unsaved:
            self.cache.save()
        self._unsaved = 0

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.params.embedding_model, self.params.device)
        return self._encoder

    def _onnx_encoder(self) -> OnnxEncoder | None:
        """The int8 encoder, or None (with a warning; torch encodes instead) when this model cannot be exported."""
        model = self.params.embedding_model
        try:
            return onnx_encoder(registry.embedding_model_path(model), registry.model_identity(model))
        except OnnxExportError as exc:
            log.warning('%s; encoding with torch instead (embedding_backend = "torch" skips this)', exc)
            self.backend = "torch"
            return None

    def _spot_check(self, keys: list[str], texts: list[str]) -> None:
        """Re-encode a few cached texts; vectors that no longer match their texts (a cache edited or shuffled
        with a recomputed checksum) discard the whole cache. Runs once, on the first call with cache hits."""
        self._checked = True
        cached = sorted({k: t for k, t in zip(keys, texts, strict=True) if k in self.memory}.items())[:SPOT_CHECKS]
        if not cached:
            return
        fresh = encode(self.encoder, [t for _, t in cached], self.params.embed_batch_size, progress=False)
        stored = np.stack([self.memory[k] for k, _ in cached])
        if (view_cosines(fresh, stored) >= SPOT_CHECK_COSINE).all():
            return
        log.warning("embedding cache %s: cached vectors do not match their texts; discarding it", self.cache.path)
        self.memory.clear()
        self.stats["corrupt"] += 1

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors: what themes, labels and codebooks compare."""
        return self._view(texts, 0)

    def layer_vectors(self, texts: list[str]) -> np.ndarray:
        """Layer vectors (``registry.LAYER_VECTOR``): what the zone head reads. Texts already embedded cost a
        look-up: both views come from one pass and are cached together."""
        return self._view(texts, 1)

    def _view(self, texts: list[str], view: int) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        if self.cache and not self._checked:
            self._spot_check(keys, texts)
        missing = list(dict.fromkeys(k for k in keys if k not in self.memory))
        self.stats["misses"] += len(missing)
        self.stats["hits"] += len(set(keys)) - len(missing)
        if missing:
            first_text = dict(zip(keys, texts, strict=True))
            fresh = encode(self.encoder, [first_text[k] for k in missing], self.params.embed_batch_size)
            self.memory.update(zip(missing, fresh, strict=True))
            self._unsaved += len(missing)
            if self._unsaved >= SAVE_FROM:
                self.save()
        if not keys:
            return np.zeros((0, _dimension(self.encoder)), dtype=np.float32)
        dimension = len(self.memory[keys[0]]) // VIEWS
        part = slice(view * dimension, (view + 1) * dimension)
        return np.stack([self.memory[k][part] for k in keys]).astype(np.float32)
