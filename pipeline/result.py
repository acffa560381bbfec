"""What a run produced: every table of the output folder as a DataFrame, for notebooks and for the writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import Config
from .ingest import FileReport
from .zones import Taxonomy


def _table() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class Run:
    """Built from the stages' return values (``runner``); written and read back by ``store``."""

    config: Config
    # ingest
    turns: pd.DataFrame = field(default_factory=_table)
    interviews: pd.DataFrame = field(default_factory=_table)
    speakers: pd.DataFrame = field(default_factory=_table)
    reports: tuple[FileReport, ...] = ()
    messages: tuple[str, ...] = ()
    # segment
    units: pd.DataFrame = field(default_factory=_table)
    dropped: pd.DataFrame = field(default_factory=_table)
    # embed, themes, describe, zones
    embeddings: np.ndarray | None = None
    themes: pd.DataFrame = field(default_factory=_table)
    quotes: pd.DataFrame = field(default_factory=_table)
    theme_vectors: np.ndarray | None = None  # theme centroids, rows in themes-table order
    theme_runs: np.ndarray | None = None  # runs × units: the runs the themes were voted from (``themes.find_themes``)
    theme_by_interview: pd.DataFrame = field(default_factory=_table)
    unit_map: pd.DataFrame = field(default_factory=_table)  # 2-D positions of the units drawn in the report
    taxonomy: Taxonomy | None = None
    zones: pd.DataFrame = field(default_factory=_table)
    # personas and segments
    personas: pd.DataFrame = field(default_factory=_table)
    persona_members: pd.DataFrame = field(default_factory=_table)
    persona_evidence: pd.DataFrame = field(default_factory=_table)
    persona_by_segment: pd.DataFrame = field(default_factory=_table)
    theme_by_segment: pd.DataFrame = field(default_factory=_table)
    # for the manifest
    input_files: dict[str, str] = field(default_factory=dict)  # path relative to the input → SHA-256 of what was read
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[FileReport]:
        return [r for r in self.reports if r.error]
