"""The map of a study: every unit (or a seeded sample of a large study) placed in 2-D, for the report.

Input: the vectors the themes were found in (units read with their questions) and the unit table. Output: the
map table (``MAP_COLUMNS``): ``unit_id, x, y``. The layout is UMAP on the same neighbours the themes were found
from, so what lies together on the map is what the themes stage saw together; it is for reading, never for
analysis. A study above ``map_points`` units is sampled (seeded), so a 1,000-interview report still opens quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .config import StageParams
from .themes import ThemeParams, exact_knn, reduce

MAP_COLUMNS = ["unit_id", "x", "y"]


@dataclass(frozen=True)
class MapParams(StageParams):
    map_points: int  # most units drawn (0 = no map)
    seed: int


def unit_map(vectors: np.ndarray, units: pd.DataFrame, themes: ThemeParams, params: MapParams) -> pd.DataFrame:
    """``unit_id, x, y`` for the drawn units, in unit-table order (coordinates rounded: stable bytes)."""
    n = len(units)
    if params.map_points == 0 or n < 5:
        return pd.DataFrame(columns=MAP_COLUMNS)
    drawn = np.arange(n)
    if n > params.map_points:
        drawn = np.sort(np.random.default_rng(params.seed).choice(n, params.map_points, replace=False))
    sample = vectors[drawn]
    layout = replace(themes, n_components=2, n_neighbors=min(themes.n_neighbors, len(drawn) - 1))
    xy = reduce(sample, exact_knn(sample, layout.n_neighbors), layout)
    return pd.DataFrame(
        {"unit_id": units["unit_id"].to_numpy()[drawn], "x": np.round(xy[:, 0], 3), "y": np.round(xy[:, 1], 3)}
    )
