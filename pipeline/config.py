"""One configuration dataclass, loaded from TOML with defaults and overridden by CLI flags.

Every stage reads its parameters from here, and the manifest records the effective values,
so a run can be reproduced from its manifest alone.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_CONFIG_FILE = "insightmap.toml"
_DEVICE = re.compile(r"auto|cpu|cuda(?::\d{1,2})?|mps")
_LANGUAGE = re.compile(r"[a-z]{2,3}")


def _setting(default: Any, ge: float | None = None, le: float | None = None, *, auto: bool = False) -> Any:
    """A setting's default and its allowed range (``auto``: 0 also allowed, meaning "chosen for you")."""
    return field(default=default, metadata={"ge": ge, "le": le, "auto": auto})


_FRACTION = {"ge": 0.0, "le": 1.0}
_BIG = 10**9


@dataclass
class Config:
    """Every setting, with its default and allowed range; checked whenever a Config is made (TOML, CLI, Python)."""

    # models (names resolved through pipeline/models/models.toml, or any installed spaCy package / local directory)
    spacy_model: str = "en_core_web_sm"
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_backend: str = "onnx"  # onnx: the model quantised to int8 on CPU (about 2.7x faster); torch: as shipped
    # ingest
    interviewers: list[str] = field(default_factory=list)
    text_column: str = ""  # tables: column names, when headers are not recognised ("" = auto-detect)
    speaker_column: str = ""
    id_column: str = ""
    time_column: str = ""
    languages: list[str] = field(default_factory=lambda: ["en"])  # the embedding model's languages (ISO 639-1)
    keep_other_languages: bool = False  # analyse interviews in other languages too (a multilingual model)
    max_file_mb: float = _setting(100.0, 0.001, 100_000)  # a bigger input file is refused, not read whole
    max_archive_mb: float = _setting(500.0, 0.001, 100_000)  # DOCX/ODT/XLSX: most they may inflate to
    max_archive_ratio: float = _setting(200.0, 1, 1_000_000)  # ...and their highest compression ratio
    # segmentation
    min_unit_words: int = _setting(4, 1, 1000)
    max_passage_words: int = _setting(45, 0, _BIG)  # a short stretch of speech stays one unit (0 = never)
    spacy_batch_size: int = _setting(64, 1, 100_000)  # turns parsed at once, at most...
    spacy_batch_chars: int = _setting(64_000, 1000, _BIG)  # ...and about this much text (parser memory grows with it)
    max_parse_chars: int = _setting(5_000, 500, 1_000_000)  # a longer turn is parsed in pieces: cost stays linear
    spacy_n_process: int = _setting(0, 1, 512, auto=True)  # 0 = every core for a large study, else one
    # embedding
    embed_batch_size: int = _setting(8, 1, 100_000)  # fixed batch shape: vectors independent of batch-mates
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    cache_dir: str = ".insightmap-cache"
    # outputs
    spreadsheet_safe_csv: bool = True  # CSV text cells that start like a formula get a leading ' (Parquet: verbatim)
    # themes
    question_weight: float = _setting(0.5, **_FRACTION)  # units read with their prompting question (0 = alone)
    neighbour_weight: float = _setting(0.5, **_FRACTION)  # ...and with the sentence beside them in the turn (0 = alone)
    seed: int = _setting(42, 0, 2**32 - 1)
    # leiden: communities of the neighbour graph that leiden_runs seeds' runs agree on (consensus clustering);
    # hdbscan: HDBSCAN on seeded UMAP layouts, consensus of 1 + stability_runs seeds
    theme_method: str = "leiden"
    leiden_resolution: float = _setting(4.0, 0.01, 1000.0)  # higher: more, smaller themes
    leiden_runs: int = _setting(200, 1, 1000)  # seeds whose runs vote on the themes (more: steadier across machines)
    umap_n_neighbors: int = _setting(15, 2, 10_000)
    umap_n_components: int = _setting(5, 1, 1000)
    min_cluster_size: int = _setting(0, 2, _BIG, auto=True)  # 0 = scaled with corpus size
    min_samples: int = _setting(0, 1, _BIG, auto=True)  # 0 = scaled with min_cluster_size
    umap_n_epochs: int = _setting(200, 1, 100_000)
    stability_runs: int = _setting(4, 0, 100)  # other seeds (seed+1, ...) each theme is checked against (0 = off)
    stability_max_units: int = _setting(20000, 0, _BIG)  # above this many units stability is not measured
    exact_knn_max_units: int = _setting(20000, 0, _BIG)  # above this many units neighbours are found approximately
    consensus_max_units: int = _setting(6000, 0, _BIG)  # up to here: all leiden_runs seeds (hdbscan: consensus)
    min_theme_participants: int = _setting(2, 1, _BIG)  # a theme is voiced by this many participants (or all there are)
    reassign_threshold: float = _setting(0.4, **_FRACTION)
    # a theme whose centre is this near talk about the conversation itself (greetings, thanks, interruptions) is
    # set aside (1 = never); on real corpora such themes lie at 0.77-0.79, any other at most 0.60 (benchmarks/units.py)
    conversation_theme_above: float = _setting(0.7, **_FRACTION)
    merge_threshold: float = _setting(0.92, **_FRACTION)
    vote_neighbours: int = _setting(5, 1, 1000)  # a unit joins the theme holding most of its nearest neighbours
    max_parent_themes: int = _setting(20, 1, 10_000)
    # describing themes
    n_keyphrases: int = _setting(8, 1, 1000)
    label_units: int = _setting(10, 1, 100_000)  # a theme's label is a phrase from its most central units...
    label_max_words: int = _setting(8, 1, 100)
    label_shortlist: int = _setting(20, 1, 100_000)  # best-supported candidate phrases per theme that are scored
    label_support_weight: float = _setting(0.2, **_FRACTION)  # ...close to its centroid, and used by many
    parent_keyphrases: int = _setting(3, 1, 1000)
    keyphrase_pool: int = _setting(25, 1, 100_000)  # c-TF-IDF candidates per theme that MMR picks from
    mmr_diversity: float = _setting(0.5, **_FRACTION)
    n_quotes: int = _setting(4, 1, 1000)
    quote_min_words: int = _setting(6, 0, 1000)  # shorter units are quoted only when a theme has nothing longer
    quote_min_content: int = _setting(2, 0, 1000)  # ...and units with fewer words that say something; never evidence
    # the researcher's codebook (insightmap codebook export): a codebook.toml, or an earlier output folder
    codebook: str = ""
    codebook_match: float = _setting(0.7, **_FRACTION)  # a found theme is a codebook theme at this cosine or above
    seed_threshold: float = _setting(0.5, **_FRACTION)  # a unit joins a seed code this close, and closer than its theme
    # the HTML report
    map_points: int = _setting(3000, 0, 1_000_000)  # units drawn on the map; a larger study is sampled (0 = no map)
    report_voices: int = _setting(100, 0, 100_000)  # per theme, one quote from each of at most this many participants
    # zones: a taxonomy id from pipeline/models/zones/ or a path to a taxonomy TOML
    zones: str = "buyer-insight-map"
    zone_split_below: float = _setting(0.5, **_FRACTION)  # a theme whose top zone holds less is flagged as split
    # personas: 0 = choose k by silhouette between persona_min and persona_max
    personas: int = _setting(0, 2, 1000, auto=True)
    persona_min: int = _setting(2, 2, 1000)
    persona_max: int = _setting(8, 2, 1000)
    persona_defining_share: float = _setting(0.5, **_FRACTION)  # a defining theme is voiced by this share at least
    persona_defining_p: float = _setting(0.05, **_FRACTION)  # ...or more often than chance at this p-value or below
    persona_lift_smoothing: float = _setting(0.05, 0.0, 1000.0)
    persona_defining_themes: int = _setting(3, 1, 1000)
    persona_draft_themes: int = _setting(3, 1, 1000)  # themes cited per zone in a persona draft
    persona_draft_quotes: int = _setting(3, 1, 1000)  # quotes cited per theme in a persona draft
    persona_dominant_share: float = _setting(0.6, **_FRACTION)  # a persona holding more is common ground
    persona_tentative_below: int = _setting(20, 0, _BIG)  # with fewer participants any grouping is tentative
    # structure-free studies (each theme's counts shuffled across participants) the grouping must beat (0 = off)
    persona_chance_studies: int = _setting(19, 0, 1000)
    persona_chance_max: int = _setting(1000, 0, _BIG)  # larger studies are not tested against chance (cost)
    persona_chance_alpha: float = _setting(0.05, **_FRACTION)  # a grouping beats chance at this p-value or below
    persona_resamples: int = _setting(20, 0, 1000)  # draws of 80 % of participants a persona must survive (0 = off)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Types, ranges and relations, each failure named with the allowed values: a wrong setting stops the
        run before any work, rather than giving one theme or a traceback later."""
        for spec in fields(self):
            default = spec.default_factory() if spec.default is dataclasses.MISSING else spec.default
            value = _typed(spec.name, getattr(self, spec.name), default)
            setattr(self, spec.name, value)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{spec.name}: must be a finite number, got {value!r}")
            low, high, auto = spec.metadata.get("ge"), spec.metadata.get("le"), spec.metadata.get("auto")
            if low is None or (auto and value == 0) or low <= value <= high:
                continue
            allowed = f"0 (automatic) or {low} to {high}" if auto else f"{low} to {high}"
            raise ConfigError(f"{spec.name}: {value!r} is out of range (allowed: {allowed})")
        if self.persona_min > self.persona_max:
            raise ConfigError(f"persona_min ({self.persona_min}) is above persona_max ({self.persona_max})")
        if self.theme_method not in {"leiden", "hdbscan"}:
            raise ConfigError(f"theme_method: {self.theme_method!r} is not one of leiden, hdbscan")
        if self.embedding_backend not in {"onnx", "torch"}:
            raise ConfigError(f"embedding_backend: {self.embedding_backend!r} is not one of onnx, torch")
        if not _DEVICE.fullmatch(self.device):
            raise ConfigError(f"device: {self.device!r} is not one of auto, cpu, cuda, cuda:N, mps")
        if not self.languages or not all(isinstance(c, str) and _LANGUAGE.fullmatch(c) for c in self.languages):
            raise ConfigError(f"languages: {self.languages!r} must be ISO 639-1 codes such as ['en']")
        for name in ("spacy_model", "embedding_model", "zones"):
            if not getattr(self, name).strip():
                raise ConfigError(f"{name}: must not be empty")

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Config:
        """Defaults, then ``path`` (or ./insightmap.toml when present), then non-None overrides."""
        values: dict[str, Any] = {}
        if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
            path = DEFAULT_CONFIG_FILE
        if path is not None:
            values.update(_read_toml(Path(path)))
        values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
        return cls.from_dict(values, origin=str(path) if path else "settings")

    @classmethod
    def from_dict(cls, values: dict[str, Any], origin: str = "config") -> Config:
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(f"{origin}: {key}: unknown setting (known: {', '.join(sorted(known))})")
        try:
            return cls(**values)
        except ConfigError as exc:  # name the file or the flags the bad value came from
            raise ConfigError(f"{origin}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def ingest_params(self):
        """Parameters of the ingest stage (imported here: ingest imports no config)."""
        from .ingest import IngestParams, TableColumns
        from .ingest.limits import InputLimits

        columns = TableColumns(
            self.text_column or None, self.speaker_column or None, self.id_column or None, self.time_column or None
        )
        limits = InputLimits(self.max_file_mb, self.max_archive_mb, self.max_archive_ratio)
        return IngestParams(tuple(self.interviewers), columns, tuple(self.languages), limits)


def _typed(key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the setting's default (an int for a float is fine), or a ConfigError."""
    if isinstance(default, list):
        items = list(value) if isinstance(value, list | tuple) else [value]
        if not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{key}: expected a list of text, got {value!r}")
        return items
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default)):
        raise ConfigError(f"{key}: expected {type(default).__name__}, got {value!r}")
    return value


class StageParams:
    """Base of each stage's frozen parameters dataclass: every field is the ``Config`` setting of the same name,
    so a default lives in one place (``Config``) and the manifest's config records it."""

    @classmethod
    def from_config(cls, config: Config):
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from exc
    settings = data.get("insightmap", data)
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: [insightmap] must be a table of settings")
    return settings
