"""`make bench-scale`: how insightmap scales (10k / 30k / 100k units), and what the fast encoder costs in quality.

Scale corpus: real text only, distinct texts only. The pool is every participant unit the pipeline finds in
``../shared/data`` (the scientists interviews, the ML interviews, oral histories, podcasts, the format samples, the
think-aloud sessions) plus Banking77 utterances and the coded and zone-labelled quotes. That is about 20k distinct
texts; the larger sizes add, in order, a unit joined with the one after it in its source, then with the two after
it (real speech that followed on), then two units of the same source one or more apart — each kept only while it
stays one unit (at most ``max_passage_words``) and is a text not yet used. Texts are dealt into interviews of 100
participant turns as one CSV (one row per turn, the shape of a large export), with a real interviewer question from
the scientists interviews before each turn (rows of one speaker in a row would be one turn).

Each size runs ``insightmap themes`` from a cold cache in its own process: wall time, per-stage times from the
manifest, and peak memory (the process tree's proportional set size, sampled). Beside it, in the same run: the bare
encode floor (a process that only loads the int8 encoder and encodes the same units; at 10k also
sentence-transformers' torch model, batch 64) and BERTopic 0.17's fit on the same embeddings, each in its own
process with its peak memory.

Quality (``--quality``): the fast path (``embedding_backend = "onnx"``, int8) against the torch model on Banking77
(NMI/ARI), the coded quotes (AMI/ARI) and the coded sessions (AMI), all else equal. Agreement (``--agreement``,
part of ``make bench``): each int8 vector's cosine to the torch model's, sentence and layer vector, on real texts,
and both encoders' time on them side by side. Writes ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

from pipeline.config import Config
from pipeline.embed import Embedder, EmbedParams, encode
from pipeline.ingest.roles import INTERVIEWER
from pipeline.registry import versions
from pipeline.runner import run_segment
from pipeline.segment import last_question
from pipeline.tables import UNASSIGNED
from pipeline.themes import ThemeParams, discover_themes, in_context, neighbour_rows

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / ".bench-scale"  # git-ignored: the corpora and caches of this benchmark
SOURCES = ("interviews", "ml-interviews", "oral-history", "podcasts", "formats", "usability-coded/transcripts")
QUOTES = (("banking77/test.csv", "text"), ("usability-coded/tags.csv", "content"), ("zones-dev/labelled.csv", "text"))
SIZES = (10_000, 30_000, 100_000)
MEMORY_SAMPLE_S = 0.2
TORCH_FLOOR_UP_TO = 10_000  # the torch model encodes 100k units in about 20 minutes: measured at 10k only
TURNS_PER_INTERVIEW = 100
QUESTION_EVERY = 1  # every answer its own turn: rows of one speaker in a row are one turn


def real_pool(config: Config) -> tuple[list[list[str]], list[str]]:
    """Participant units per source, in source order, and the scientists interviewers' questions."""
    sources, questions = [], []
    for name in SOURCES:
        run = run_segment(SHARED / name, config)
        for _, units in run.units.groupby("interview_id", sort=True):
            sources.append(units.sort_values(["turn", "char_start"])["text"].tolist())
        if name == "interviews":
            asked = run.turns[run.turns["role"] == INTERVIEWER]["text"]
            questions = list(dict.fromkeys(q for q in map(last_question, asked) if q.endswith("?")))
    for file, column in QUOTES:
        sources.append(pd.read_csv(SHARED / file, keep_default_na=False)[column].astype(str).tolist())
    return sources, questions


def distinct_texts(sources: list[list[str]], n: int, max_words: int) -> list[str]:
    """Up to ``n`` distinct texts: single units first, then units joined with what followed them (see above)."""
    seen: dict[str, None] = {}
    offsets = [(0, 1), (0, 1, 2)] + [(0, gap) for gap in range(2, 200)]
    for parts in [(0,), *offsets]:
        for units in sources:
            for i in range(len(units) - parts[-1]):
                text = " ".join(units[i + p] for p in parts)
                if len(text.split()) <= max_words:
                    seen.setdefault(text, None)
                if len(seen) >= n:
                    return list(seen)
    return list(seen)


def scale_corpus(texts: list[str], questions: list[str], target: Path) -> Path:
    """One CSV, one row per turn: interviews of ``TURNS_PER_INTERVIEW`` participant turns with real questions."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))
    rows = []
    for position, index in enumerate(order):
        interview = f"s{position // TURNS_PER_INTERVIEW:05d}"
        if position % QUESTION_EVERY == 0:
            rows.append((interview, "Interviewer", questions[rng.integers(len(questions))]))
        rows.append((interview, "Participant", texts[index]))
    pd.DataFrame(rows, columns=["interview_id", "speaker", "text"]).to_csv(target, index=False)
    return target


def run_measured(command: list[str]) -> dict:
    """Run a command; its wall time and its peak memory: the largest sum, over its process tree (worker processes
    included), of proportional set sizes (shared pages split between the processes sharing them), sampled."""
    import psutil

    began, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:  # a full pipe would block it
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        process = psutil.Process(child.pid)
        while child.poll() is None:
            total = 0
            for member in [process, *process.children(recursive=True)]:
                try:
                    total += member.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            peak = max(peak, total)
            time.sleep(MEMORY_SAMPLE_S)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode:
        raise RuntimeError(f"{' '.join(command[:5])} failed:\n{stderr[-3000:]}")
    wall = round(time.perf_counter() - began, 1)
    return {"wall_s": wall, "peak_memory_gb": round(peak / 1024**3, 2), "stdout": stdout}


def helper(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.scale", *args]


def one_size(n: int, texts: list[str], questions: list[str], work: Path) -> dict:
    folder = work / f"{n}"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = scale_corpus(texts[:n], questions, folder / "turns.csv")
    cache, out = folder / "cache", folder / "out"
    for path in (cache, out):
        subprocess.run(["rm", "-rf", str(path)], check=True)
    ours = run_measured([sys.executable, "-m", "pipeline.cli", "themes", str(corpus), "-o", str(out),
                         "--cache-dir", str(cache)])  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    units = out / "units.parquet"
    floors = {
        backend: run_measured(helper("floor", str(units), backend))
        for backend in ("onnx", "torch")
        if backend == "onnx" or n <= TORCH_FLOOR_UP_TO
    }
    theirs = run_measured(helper("bertopic", str(units), str(cache)))
    return {
        "turns": n,
        "units": manifest["counts"]["units"],
        "themes": manifest["counts"]["themes"],
        "insightmap": {
            "wall_s": ours["wall_s"],
            "peak_memory_gb": ours["peak_memory_gb"],
            "stages_s": manifest["timings_s"],
        },  # fmt: skip
        **{
            f"encode_floor_{backend}": {"wall_s": floor["wall_s"], "peak_memory_gb": floor["peak_memory_gb"]}
            for backend, floor in floors.items()
        },
        "bertopic_fit": {**json.loads(theirs["stdout"]), "peak_memory_gb": theirs["peak_memory_gb"]},
    }


def encode_floor(units_file: str, backend: str) -> None:
    """A bare process that loads an encoder and encodes the units: the int8 encoder as the pipeline runs it, or the
    torch model as sentence-transformers runs it by default (padded batches of 64)."""
    from pipeline import registry
    from pipeline.onnx_encoder import onnx_encoder

    name = Config().embedding_model
    texts = pd.read_parquet(units_file, columns=["text"])["text"].tolist()
    if backend == "onnx":
        onnx_encoder(registry.embedding_model_path(name), registry.model_identity(name)).encode(texts)
        return
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(str(registry.embedding_model_path(name)), device="cpu").encode(texts, batch_size=64)


def bertopic_fit(units_file: str, cache: str) -> None:
    """BERTopic's fit on the embeddings insightmap cached (its default UMAP, seeded like ours), timed alone."""
    from benchmarks.run import bertopic

    texts = pd.read_parquet(units_file, columns=["text"])["text"].tolist()
    embeddings = Embedder(EmbedParams.from_config(Config(cache_dir=cache)))(texts)
    labels, seconds = bertopic(texts, embeddings, Config().seed)
    print(json.dumps({"fit_s": round(seconds, 1), "topics": int(labels.max() + 1),
                      "unassigned_share": round(float((labels == UNASSIGNED).mean()), 4)}))  # fmt: skip


def quality(backend: str, exact_knn_max_units: int, work: Path) -> dict:
    """Banking77, coded quotes and coded sessions with one embedding backend and neighbour search (0 = always
    approximate), everything else at defaults."""
    from benchmarks.coded import STUDY, coded_units, quote_units
    from benchmarks.run import banking_as_interviews, utterance_labels

    config = Config(embedding_backend=backend, cache_dir=str(work / f"cache-{backend}"), stability_runs=0,
                    exact_knn_max_units=exact_knn_max_units)  # fmt: skip
    embedder = Embedder(EmbedParams.from_config(config))
    (work / "b77").mkdir(parents=True, exist_ok=True)
    data = banking_as_interviews(work / "b77")
    units = run_segment(work / "b77", config).units
    vectors = embedder(units["text"].tolist())
    labels = discover_themes(vectors, units, ThemeParams.from_config(config, len(units)))["theme"].to_numpy()
    by_utterance = utterance_labels(units, labels, data["interview_id"])
    report = {
        "backend": embedder.backend,
        "banking77_nmi": round(float(normalized_mutual_info_score(data["category"], by_utterance)), 4),
        "banking77_ari": round(float(adjusted_rand_score(data["category"], by_utterance)), 4),
    }
    quotes, truth = coded_units()
    vectors = embedder(quotes["text"].tolist())
    labels = discover_themes(vectors, quotes, ThemeParams.from_config(config, len(quotes)))["theme"].to_numpy()
    report["coded_quotes_ami"] = round(float(adjusted_mutual_info_score(truth, labels)), 4)
    report["coded_quotes_ari"] = round(float(adjusted_rand_score(truth, labels)), 4)
    units = run_segment(STUDY / "transcripts", config).units
    tags = pd.read_csv(STUDY / "tags.csv", keep_default_na=False)
    rows = quote_units(units, tags)
    vectors = in_context(embedder(units["text"].tolist()), embedder(units["question"].tolist()),
                         (units["question"] != "").to_numpy(), config.question_weight, neighbour_rows(units),
                         config.neighbour_weight)  # fmt: skip
    labels = discover_themes(vectors, units, ThemeParams.from_config(config, len(units)))["theme"].to_numpy()
    mapped = rows >= 0
    ami = adjusted_mutual_info_score(tags["tag"][mapped], labels[rows[mapped]])
    report["coded_sessions_ami"] = round(float(ami), 4)
    return report


BACKENDS = ("onnx", "torch")
AGREEMENT_TEXTS = (("banking77/test.csv", "text"), ("zones-dev/labelled.csv", "text"), ("interviews", None))


def agreement() -> dict:
    """Per source of real text: the int8 encoder's cosine to the torch model's vectors (mean, 1st percentile and
    min; sentence and layer vector) and the seconds each took on the same texts, in one process, each encoding as
    the pipeline does (``embed.encode``; no cache)."""
    from pipeline.onnx_encoder import view_cosines

    config = Config(cache_dir="")
    fast, exact = (Embedder(EmbedParams.from_config(Config(cache_dir="", embedding_backend=b))) for b in BACKENDS)
    report = {}
    for source, column in AGREEMENT_TEXTS:
        if column:
            texts = pd.read_csv(SHARED / source, keep_default_na=False)[column].astype(str).tolist()
        else:
            texts = run_segment(SHARED / source, config).units["text"].tolist()
        vectors, seconds = {}, {}
        for name, embedder in (("int8", fast), ("torch", exact)):
            began = time.perf_counter()
            vectors[name] = encode(embedder.encoder, texts, config.embed_batch_size, progress=False)
            seconds[name] = round(time.perf_counter() - began, 2)
        cosines = view_cosines(vectors["int8"], vectors["torch"])
        report[source] = {
            "texts": len(texts),
            **{
                f"{view}_cosine_{name}": round(float(statistic(cosines[:, i])), 4)
                for i, view in enumerate(("sentence", "layer"))
                for name, statistic in (("mean", np.mean), ("p1", lambda c: np.percentile(c, 1)), ("min", np.min))
            },
            "int8_s": seconds["int8"],
            "torch_s": seconds["torch"],
        }
        print(source, report[source], flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--quality", action="store_true", help="also compare the onnx and torch backends")
    parser.add_argument("--agreement", action="store_true", help="the int8 vectors against torch's on real texts")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    target = RESULTS / "scale.json"
    report = json.loads(target.read_text()) if target.is_file() else {}
    report.update({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "versions": versions()})
    if args.quality:
        exact = Config().exact_knn_max_units
        with tempfile.TemporaryDirectory(dir=WORK) as work:
            rows = {
                "torch": quality("torch", exact, Path(work)),
                "onnx": quality("onnx", exact, Path(work)),
                "onnx, approximate neighbours": quality("onnx", 0, Path(work)),
            }
        for name in ("onnx", "onnx, approximate neighbours"):
            rows[f"drop: {name}"] = {k: round(v - rows[name][k], 4) for k, v in rows["torch"].items() if k != "backend"}
        report["quality"] = rows
        print(json.dumps(rows, indent=2))
    if args.agreement:
        report["agreement"] = agreement()
    if args.sizes:
        config = Config(cache_dir=str(WORK / "pool-cache"))
        sources, questions = real_pool(config)
        texts = distinct_texts(sources, max(args.sizes), config.max_passage_words)
        report["pool"] = {"sources": len(sources), "distinct_texts": len(texts)}
        curve = report.setdefault("curve", {})
        for n in args.sizes:
            curve[str(n)] = row = one_size(n, texts, questions, WORK)
            print(json.dumps(row))
    RESULTS.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {target}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        encode_floor(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "bertopic":
        bertopic_fit(sys.argv[2], sys.argv[3])
    else:
        main()
