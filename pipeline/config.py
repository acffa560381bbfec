"""One configuration dataclass, loaded from TOML with defaults and overridden by CLI flags.

Every stage reads its parameters from here, and the manifest records the effective values,
so a run can be reproduced from its manifest alone.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_CONFIG_FILE = "insightmap.toml"


@dataclass
class Config:
    # models (names resolved through pipeline/models/models.toml, or any installed spaCy package / local directory)
    spacy_model: str = "en_core_web_sm"
    embedding_model: str = "all-MiniLM-L6-v2"
    # ingest
    interviewers: list[str] = field(default_factory=list)
    text_column: str = ""  # tables: column names, when headers are not recognised ("" = auto-detect)
    speaker_column: str = ""
    id_column: str = ""
    time_column: str = ""
    languages: list[str] = field(default_factory=lambda: ["en"])  # the embedding model's languages (ISO 639-1)
    keep_other_languages: bool = False  # analyse interviews in other languages too (a multilingual model)
    # segmentation
    min_unit_words: int = 4
    max_passage_words: int = 45  # a short stretch of speech stays one unit
    spacy_batch_size: int = 64
    spacy_n_process: int = 1
    # embedding
    embed_batch_size: int = 8  # fixed batch shape: vectors independent of batch-mates (see embed.encode)
    device: str = "auto"
    cache_dir: str = ".insightmap-cache"
    # themes
    question_weight: float = 0.5  # themes read a unit with its prompting question at this weight (0 = alone)
    seed: int = 42
    umap_n_neighbors: int = 15
    umap_n_components: int = 5
    min_cluster_size: int = 0  # 0 = scaled with corpus size
    min_samples: int = 0  # 0 = scaled with min_cluster_size
    umap_n_epochs: int = 200
    stability_runs: int = 4  # other seeds (seed+1, ...) each theme is checked against (0 = not measured)
    stability_max_units: int = 20000  # above this many units stability is not measured (each run costs a UMAP)
    reassign_threshold: float = 0.4
    merge_threshold: float = 0.92
    vote_neighbours: int = 5  # a unit joins the theme holding most of its nearest neighbours
    max_parent_themes: int = 20
    # describing themes
    n_keyphrases: int = 8
    label_units: int = 10  # a theme's label is a phrase from its most central units...
    label_max_words: int = 8
    label_shortlist: int = 20  # best-supported candidate phrases per theme that are embedded and scored
    label_support_weight: float = 0.2  # ...close to its centroid, and used by many of its participants
    parent_keyphrases: int = 3
    keyphrase_pool: int = 25  # c-TF-IDF candidates per theme that MMR picks from
    mmr_diversity: float = 0.5
    n_quotes: int = 4
    quote_min_words: int = 6  # shorter units are quoted only when a theme has nothing longer
    # zones: a taxonomy id from pipeline/models/zones/ or a path to a taxonomy TOML
    zones: str = "buyer-insight-map"
    zone_split_below: float = 0.5  # a theme whose top zone holds less than this share is flagged as split
    # personas: 0 = choose k by silhouette between persona_min and persona_max
    personas: int = 0
    persona_min: int = 2
    persona_max: int = 8
    persona_defining_share: float = 0.5  # a defining theme is voiced by at least this share of the persona
    persona_lift_smoothing: float = 0.05
    persona_defining_themes: int = 3
    persona_draft_themes: int = 3  # themes cited per zone in a persona draft
    persona_draft_quotes: int = 3  # quotes cited per theme in a persona draft
    persona_dominant_share: float = 0.6  # a persona holding more of the participants is common ground
    persona_tentative_below: int = 20  # with fewer participants any grouping is tentative

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Config:
        """Defaults, then ``path`` (or ./insightmap.toml when present), then non-None overrides."""
        values: dict[str, Any] = {}
        if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
            path = DEFAULT_CONFIG_FILE
        if path is not None:
            values.update(_read_toml(Path(path)))
        values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
        return cls.from_dict(values, origin=str(path) if path else "options")

    @classmethod
    def from_dict(cls, values: dict[str, Any], origin: str = "config") -> Config:
        known = {f.name: f for f in fields(cls)}
        config = cls()
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{origin}: {key}: unknown setting (known: {', '.join(sorted(known))})")
            default = getattr(config, key)
            if isinstance(default, list):
                value = list(value) if isinstance(value, list | tuple) else [value]
            elif isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default)):
                if isinstance(default, float) and isinstance(value, int):
                    value = float(value)
                else:
                    raise ConfigError(f"{origin}: {key}: expected {type(default).__name__}, got {value!r}")
            setattr(config, key, value)
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def ingest_params(self):
        """Parameters of the ingest stage (imported here: ingest imports no config)."""
        from .ingest import IngestParams, TableColumns

        columns = TableColumns(
            self.text_column or None, self.speaker_column or None, self.id_column or None, self.time_column or None
        )
        return IngestParams(tuple(self.interviewers), columns, tuple(self.languages))


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
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return data.get("insightmap", data)
