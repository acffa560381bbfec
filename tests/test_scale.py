"""The paths a large study takes, on real text: approximate neighbours, and other seeds' layouts in worker
processes. Each must give what the small-study path gives (speed itself is measured by ``benchmarks.scale``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, requires_shared
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from pipeline import themes
from pipeline.config import Config
from pipeline.embed import Embedder, EmbedParams
from pipeline.themes import ThemeParams, approximate_knn, discover_themes, exact_knn

pytestmark = requires_shared


@pytest.fixture(scope="module")
def banking(tmp_path_factory):
    """Banking77's real utterances as units (one participant each), their intents and their vectors."""
    data = pd.read_csv(SHARED / "banking77" / "test.csv")
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i:05d}:1.1" for i in range(len(data))],
            "interview_id": [f"u{i:05d}" for i in range(len(data))],
            "speaker": "participant",
            "text": data["text"],
        }
    )
    cache = tmp_path_factory.mktemp("cache")
    vectors = Embedder(EmbedParams.from_config(Config(cache_dir=str(cache))))(units["text"].tolist())
    return units, data["category"], vectors


def test_approximate_neighbours_are_the_exact_ones_and_repeatable(banking):
    _, _, vectors = banking
    exact, _ = exact_knn(vectors, 15)
    approximate, distances = approximate_knn(vectors, 15)
    recall = np.mean([len(set(a) & set(e)) / 15 for a, e in zip(approximate, exact, strict=True)])
    assert recall > 0.95
    assert (approximate[:, 0] == np.arange(len(vectors))).all()  # each point first, as UMAP expects
    assert (np.diff(distances, axis=1) >= -1e-6).all()  # nearest first
    again, _ = approximate_knn(vectors, 15)
    assert np.array_equal(approximate, again)


def test_themes_keep_their_quality_with_approximate_neighbours(banking):
    """Banking77 intents recovered as well (NMI within 0.02) when neighbours are found approximately."""
    units, intents, vectors = banking
    params = ThemeParams.from_config(Config(stability_runs=0), len(units))
    nmi = {}
    for name, limit in (("exact", len(units)), ("approximate", 0)):
        labels = discover_themes(vectors, units, replace(params, exact_knn_max_units=limit))["theme"]
        nmi[name] = normalized_mutual_info_score(intents, labels)
    assert nmi["exact"] > 0.75
    assert nmi["approximate"] > nmi["exact"] - 0.02


@pytest.mark.parametrize("method", ["leiden", "hdbscan"])
def test_other_seeds_in_worker_processes_give_the_same_tables(banking, monkeypatch, method):
    units, _, vectors = banking
    units, vectors = units.iloc[:800].reset_index(drop=True), vectors[:800]
    params = ThemeParams.from_config(Config(stability_runs=2, leiden_runs=4, theme_method=method), len(units))
    alone = discover_themes(vectors, units, params)
    monkeypatch.setattr(themes, "PARALLEL_FROM", 0)  # a large study's path, on a small one
    assert themes._fork_safe_threads()  # so the worker processes do run here
    workers = discover_themes(vectors, units, params)
    pd.testing.assert_frame_equal(alone, workers)
    assert alone["theme_stability"].notna().any()


def test_a_study_too_large_for_the_consensus_keeps_its_themes_and_their_stability(banking):
    """Above ``consensus_max_units`` (for time) the themes are what the main seed and ``stability_runs`` others
    agree on, measured against those runs, with Banking77 intents still recovered."""
    units, intents, vectors = banking
    params = ThemeParams.from_config(Config(consensus_max_units=0, stability_runs=2), len(units))
    themed = discover_themes(vectors, units, params)
    assert normalized_mutual_info_score(intents, themed["theme"]) > 0.8
    stability = themed.loc[themed["theme"] >= 0].drop_duplicates("theme")["theme_stability"]
    assert stability.notna().all() and stability.mean() > 0.8
    assert set(stability) <= {0.0, 0.3333, 0.6667, 1.0}  # shares of the 3 runs that voted


def test_label_phrases_from_worker_processes_are_the_same(banking, monkeypatch):
    """Theme labels' candidate phrases parsed by forked workers (a large study) are those of one process."""
    from pipeline import invivo, registry

    labeller = registry.load_spacy(Config().spacy_model, with_ner=True)
    texts = banking[0]["text"].iloc[:300].tolist()
    alone = invivo.unit_phrases(labeller, texts, 8)
    monkeypatch.setattr(invivo, "PARSE_IN_WORKERS_FROM", 0)
    assert invivo.unit_phrases(labeller, texts, 8) == alone
    assert sum(map(len, alone)) > 100  # phrases were found, so the comparison says something


def test_themes_barely_move_under_floating_point_noise(banking):
    """Another machine's BLAS changes the last bits of every vector; 1e-6 noise stands in for it. One seeded UMAP
    layout is chaotic (themes moved by ARI 0.86 here, 0.91-0.94 for the consensus of five); what the Leiden runs
    agree on holds them (1.00 measured)."""
    units, _, vectors = banking
    params = ThemeParams.from_config(Config(), len(units))
    noisy = vectors + np.random.default_rng(1).normal(0, 1e-6, vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    before = discover_themes(vectors, units, params)["theme"]
    after = discover_themes(noisy, units, params)["theme"]
    assert adjusted_rand_score(before, after) >= 0.98


def test_the_command_line_never_imports_torch_on_the_default_path(tmp_path):
    """torch is 1.4 s of imports and 0.5 s of exit: a tenth of a 10k-unit run's fixed costs. On a CPU machine the
    command line segments, encodes (int8 ONNX) and finds themes without it; the torch encoder still imports it."""
    import subprocess
    import sys

    probe = (
        "import sys; from pipeline import cli; from pipeline.embed import resolve_device, _may_have_cuda; "
        "from pipeline.registry import load_spacy; from pipeline.themes import exact_knn; import numpy as np; "
        "load_spacy('en_core_web_sm'); exact_knn(np.eye(20, dtype=np.float32), 5); resolve_device('auto'); "
        "print(_may_have_cuda(), 'torch' in sys.modules); import torch; print(torch.zeros(2).sum().item())"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    may_have_cuda, imported = done.stdout.split("\n")[0].split()
    if may_have_cuda == "True":
        pytest.skip("a CUDA driver is present: device 'auto' asks torch")
    assert imported == "False", done.stdout
    assert done.stdout.split("\n")[1] == "0.0"  # torch itself still imports and works afterwards
