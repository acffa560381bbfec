"""The embedding cache with the real model: hits, misses, corruption and tampering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, requires_shared

from pipeline.config import Config
from pipeline.embed import Embedder, EmbeddingCache, EmbedParams

TEXTS = [
    "The CFO signed off on the annual contract.",
    "We were worried about hidden fees.",
    "The CFO signed off on the annual contract.",
]


def embedder_for(cache_dir, **settings) -> Embedder:
    """The pipeline's embedder with default settings; ``cache_dir`` None = no on-disk cache."""
    return Embedder(EmbedParams.from_config(Config(cache_dir=str(cache_dir or ""), **settings)))


@pytest.fixture
def fresh(tmp_path):
    embedder = embedder_for(tmp_path / "cache")
    vectors = embedder(TEXTS)
    embedder.save()  # as a run does at its end
    return tmp_path / "cache", vectors


def cache_file(folder):
    (path,) = (folder / "embeddings").glob("*.npz")
    return path


def test_miss_then_hit(fresh):
    folder, vectors = fresh
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2])
    warm = embedder_for(folder)
    again = warm(TEXTS + ["A new sentence about Terraform."])
    assert warm.stats == {"hits": 2, "misses": 1, "corrupt": 0}
    assert np.array_equal(again[:3], vectors)
    cold = embedder_for(folder)
    cold(TEXTS)
    assert cold.stats == {"hits": 2, "misses": 0, "corrupt": 0}  # an all-hit run embeds nothing new


def test_corrupt_file_is_discarded_and_recomputed(fresh):
    folder, vectors = fresh
    cache_file(folder).write_bytes(b"PK\x03\x04 definitely not a zip")
    embedder = embedder_for(folder)
    assert embedder.stats["corrupt"] == 1
    assert np.allclose(embedder(TEXTS), vectors, atol=1e-5)
    assert embedder.stats["misses"] == 2
    embedder.save()
    # The recomputed cache was written back whole: the next run trusts it and embeds nothing.
    again = embedder_for(folder)
    again(TEXTS)
    assert again.stats == {"hits": 2, "misses": 0, "corrupt": 0}


def test_tampered_vectors_fail_the_checksum(fresh):
    folder, _ = fresh
    path = cache_file(folder)
    with np.load(path) as data:
        keys, vectors, checksum = data["keys"], data["vectors"].copy(), data["checksum"]
    vectors[0, 0] += 0.5
    with open(path, "wb") as fh:
        np.savez(fh, keys=keys, vectors=vectors, checksum=checksum)
    embedder = embedder_for(folder)
    assert embedder.stats["corrupt"] == 1 and embedder.memory == {}


def test_shuffled_vectors_with_a_recomputed_checksum_are_caught(fresh):
    """The checksum proves the file is whole, not that each vector belongs to its text: a spot check re-encodes
    a few cached texts and discards a cache whose vectors were swapped."""
    from pipeline.embed import _checksum

    folder, vectors = fresh
    path = cache_file(folder)
    with np.load(path) as data:
        keys, stored = data["keys"], data["vectors"][::-1].copy()
    with open(path, "wb") as fh:
        np.savez(fh, keys=keys, vectors=stored, checksum=np.array(_checksum(keys, stored)))
    embedder = embedder_for(folder)
    assert embedder.stats["corrupt"] == 0  # the file itself passes its integrity check...
    assert np.allclose(embedder(TEXTS), vectors, atol=1e-5)  # ...but the vectors are recomputed, right
    assert embedder.stats["corrupt"] == 1


def test_other_model_identity_does_not_share_entries(fresh, tmp_path):
    folder, _ = fresh
    assert EmbeddingCache.open(folder, "some-other-model@0000").vectors == {}
    # The backend is part of the identity: the torch model's vectors are not the int8 encoder's.
    torch = embedder_for(folder, embedding_backend="torch")
    assert torch.backend == "torch"
    torch(TEXTS)
    assert torch.stats["misses"] == 2 and torch.stats["hits"] == 0
    # For torch, batch shape is part of the identity too: vectors from another shape are not reused.
    other_shape = embedder_for(folder, embedding_backend="torch", embed_batch_size=16)
    other_shape(TEXTS)
    assert other_shape.stats["misses"] == 2 and other_shape.stats["hits"] == 0


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_vectors_do_not_depend_on_batch_mates(backend):
    """A text embedded alone, or among others, gets the same bits: cache history cannot change results."""
    texts = [
        f"We compared {n} vendors on price, support and how the agent behaves in production." * (n % 3 + 1)
        for n in range(20)
    ]
    together = embedder_for(None, embedding_backend=backend)(texts)
    alone = np.vstack([embedder_for(None, embedding_backend=backend)([t]) for t in texts[:5]])
    assert np.array_equal(together[:5], alone)


@requires_shared
def test_int8_encoder_keeps_the_models_meaning(tmp_path):
    """The default int8 encoder against the torch model on real quotes: each vector points the same way, closer
    than with every weight product in int8 (its feed-forward output projections stay in float), and each quote's
    nearest other quote under torch is among its 3 nearest under int8 (the quality figures are in
    ``benchmarks.scale``)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from pipeline import registry
    from pipeline.onnx_encoder import OnnxEncoder, narrowing_matmuls

    quotes = pd.read_csv(SHARED / "zones-dev" / "labelled.csv", keep_default_na=False)["text"].tolist()[:150]
    embedder = embedder_for(None)
    fast, exact = embedder(quotes), embedder_for(None, embedding_backend="torch")(quotes)
    agreement = np.einsum("ij,ij->i", fast, exact)
    assert narrowing_matmuls(embedder.encoder.model_file)  # still float products in the graph
    all_int8 = tmp_path / "all-int8.onnx"  # the same graph with those quantised too
    quantize_dynamic(embedder.encoder.model_file, all_int8, weight_type=QuantType.QInt8, per_channel=True)
    model_dir = registry.embedding_model_path(Config().embedding_model)
    coarse = OnnxEncoder(all_int8, model_dir).encode(quotes)[:, : fast.shape[1]]
    coarse_agreement = np.einsum("ij,ij->i", coarse, exact)
    # Relative, so an instruction set whose int8 products round differently moves both alike. Measured: mean 0.9957
    # against 0.9922 (session 24).
    assert agreement.min() > 0.95 and agreement.mean() > coarse_agreement.mean() + 0.002
    fast_similarity, exact_similarity = fast @ fast.T, exact @ exact.T
    np.fill_diagonal(fast_similarity, -1.0)
    np.fill_diagonal(exact_similarity, -1.0)
    nearest, fast_three = exact_similarity.argmax(axis=1), np.argsort(-fast_similarity, axis=1)[:, :3]
    assert (fast_three == nearest[:, None]).any(axis=1).mean() > 0.9


def test_an_unreadable_int8_encoder_is_rebuilt(tmp_path, monkeypatch, caplog):
    """A truncated encoder file in the machine-wide cache is rebuilt from the installed model, not trusted."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    first = embedder_for(None)(TEXTS)
    (model,) = (tmp_path / "home-cache" / "insightmap" / "onnx").glob("*/model-int8.onnx")
    model.write_bytes(model.read_bytes()[:1000])
    again = embedder_for(None)
    assert again.backend == "onnx" and "rebuilding" in caplog.text
    assert np.array_equal(again(TEXTS), first)


def test_no_cache_dir_means_no_cache_anywhere(tmp_path, monkeypatch):
    """``cache_dir = ""`` turns every cache off, as it does for embeddings; segmentation and themes wrote their
    caches into the working directory instead."""
    from conftest import SAMPLE

    from pipeline import run

    monkeypatch.chdir(tmp_path)
    result = run(SAMPLE, cache_dir="")
    assert len(result.units) > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == []
