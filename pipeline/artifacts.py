"""On-disk caches of stage results, so a rerun does only the work whose input changed.

Segmentation is cached per interview (a run with one more interview parses only that one), keyed by the
interview's turns and every setting that shapes units; theme assignments are keyed by the exact embeddings and
parameters. A file that will not read is recomputed, never trusted."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .resources import language_fingerprint
from .segment import SegmentParams
from .tables import DROPPED_COLUMNS, UNIT_COLUMNS

log = logging.getLogger(__name__)
SEGMENT_FORMAT = 8  # bump whenever segmentation would produce different units for the same input
_KEY_COLUMNS = ["interview_id", "turn", "speaker", "role", "start_s", "text", "source_file", "lines"]


def interview_keys(turns: pd.DataFrame, params: SegmentParams, spacy_version: str) -> dict[str, str]:
    """One key per interview: a hash of its turns and of every setting that shapes its units.

    Files are named relative to the input folder, so the same study read from another working directory hits.
    """
    settings = json.dumps(
        [
            SEGMENT_FORMAT,
            params.spacy_model,
            spacy_version,
            params.min_unit_words,
            params.max_passage_words,
            params.max_parse_chars,
            language_fingerprint(),
        ]  # fmt: skip
    )
    rows = turns[_KEY_COLUMNS].astype(str).to_numpy().tolist()
    keys = {}
    for interview_id, positions in turns.groupby("interview_id", sort=False).indices.items():
        payload = settings + json.dumps([rows[i] for i in positions])
        keys[interview_id] = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
    return keys


def _load_shards(folder: Path, wanted: set[str]) -> tuple[list[pd.DataFrame], list[pd.DataFrame], set[str]]:
    """Cached rows (tagged ``_key``) for the wanted interview keys from every readable shard, and the keys found."""
    units_found, dropped_found, found = [], [], set()
    for units_path in sorted(folder.glob("*.units.parquet")):
        try:
            units = pd.read_parquet(units_path)
            dropped = pd.read_parquet(units_path.with_name(units_path.name.replace(".units.", ".dropped.")))
        except Exception as exc:  # a truncated or foreign file: recompute what it held
            log.warning("segment cache shard %s unreadable (%s); ignoring it", units_path.name, exc)
            continue
        if list(units.columns) != [*UNIT_COLUMNS, "_key"] or list(dropped.columns) != [*DROPPED_COLUMNS, "_key"]:
            continue
        new = (wanted - found) & (set(units["_key"]) | set(dropped["_key"]))
        units_found.append(units[units["_key"].isin(new)])
        dropped_found.append(dropped[dropped["_key"].isin(new)])
        found |= new
    return units_found, dropped_found, found


def cached_segment(
    turns: pd.DataFrame,
    params: SegmentParams,
    cache_dir: str | Path,
    segment_fn: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]],
    spacy_version: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Units and dropped rows for ``turns``, segmenting (in one batch) only interviews not cached before.

    Each run that parses something writes one shard holding those interviews' rows, tagged by interview key;
    rows come back in interview order (a stable sort keeps each interview's own order). ``cache_dir`` "" = no
    cache, as for embeddings (it wrote a ``segments`` folder into the working directory).
    """
    folder = Path(cache_dir) / "segments" if cache_dir else None
    keys = interview_keys(turns, params, spacy_version)
    unit_parts, dropped_parts, found = _load_shards(folder, set(keys.values())) if folder else ([], [], set())
    missing = [iid for iid, key in keys.items() if key not in found]
    if missing:
        new_units, new_dropped = segment_fn(turns[turns["interview_id"].isin(missing)])
        new_units = new_units.assign(_key=new_units["interview_id"].map(keys))
        new_dropped = new_dropped.assign(_key=new_dropped["interview_id"].map(keys))
        shard = hashlib.sha256(" ".join(sorted(keys[i] for i in missing)).encode()).hexdigest()[:24]
        if folder:
            _write_table(folder / f"{shard}.dropped.parquet", new_dropped)
            _write_table(folder / f"{shard}.units.parquet", new_units)
        unit_parts.append(new_units)
        dropped_parts.append(new_dropped)
    position = {key: i for i, key in enumerate(keys.values())}

    def in_order(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
        parts = [p for p in parts if len(p)]
        if not parts:
            return pd.DataFrame(columns=columns)
        table = pd.concat(parts, ignore_index=True)
        order = table["_key"].map(position).to_numpy()
        return table.iloc[order.argsort(kind="stable")][columns].reset_index(drop=True)

    stats = {"hits": len(keys) - len(missing), "misses": len(missing)}
    return in_order(unit_parts, UNIT_COLUMNS), in_order(dropped_parts, DROPPED_COLUMNS), stats


THEMES_FORMAT = 11  # bump whenever theme discovery would assign or measure differently for the same input
_THEME_COLUMNS = ["unit_id", "theme", "theme_confidence", "theme_stability", "parent"]
_RUN_PREFIX = "run_"  # the runs the themes were voted from, one column each, beside the assignments


def cached_themes(
    units: pd.DataFrame,
    embeddings,
    params: dict,
    cache_dir: str | Path,
    discover: Callable[[], tuple[pd.DataFrame, np.ndarray]],
) -> tuple[tuple[pd.DataFrame, np.ndarray], dict[str, int]]:
    """Theme assignments and the runs they were voted from (``themes.find_themes``), keyed by the exact
    embeddings, unit ids and clustering parameters.

    Discovery is deterministic, so a rerun on identical input may reuse its result; any change recomputes.
    ``cache_dir`` "" = no cache.
    """
    if not cache_dir:
        return discover(), {"hits": 0, "misses": 1}
    digest = hashlib.sha256(json.dumps([THEMES_FORMAT, params, units["unit_id"].tolist()]).encode("utf-8"))
    digest.update(embeddings.tobytes())
    path = Path(cache_dir) / "themes" / f"{digest.hexdigest()[:32]}.parquet"
    try:
        stored = pd.read_parquet(path)
        run_columns = [c for c in stored.columns if c.startswith(_RUN_PREFIX)]
        columns = [c for c in stored.columns if c not in run_columns]
        if columns == _THEME_COLUMNS and stored["unit_id"].tolist() == units["unit_id"].tolist():
            themed = units.assign(**{c: stored[c].to_numpy() for c in _THEME_COLUMNS[1:]})
            return (themed, stored[run_columns].to_numpy(dtype=np.int32).T), {"hits": 1, "misses": 0}
    except FileNotFoundError:
        pass
    except Exception as exc:
        log.warning("theme cache entry %s unreadable (%s); recomputing", path.name, exc)
    themed, runs = discover()
    found = pd.DataFrame(runs.T, columns=[f"{_RUN_PREFIX}{i}" for i in range(len(runs))], index=themed.index)
    table = pd.concat([themed[_THEME_COLUMNS], found], axis=1)
    _write_table(path, table)
    return (themed, runs), {"hits": 0, "misses": 1}


def _write_table(path: Path, table: pd.DataFrame) -> None:
    """One cache file, renamed into place whole; a cache that cannot be written (full disk, a file where its folder
    belongs) only costs time next run, so it is a warning, never a failed run."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(handle)
        table.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cache not saved to %s (%s); the run goes on without it", path, exc)
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
