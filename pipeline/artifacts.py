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

import pandas as pd

from .config import Config
from .segment import DROPPED_COLUMNS, UNIT_COLUMNS

log = logging.getLogger(__name__)
SEGMENT_FORMAT = 1  # bump whenever segmentation would produce different units for the same input
_KEY_COLUMNS = ["interview_id", "turn", "speaker", "role", "start_s", "text", "source", "lines"]


def interview_key(turns: pd.DataFrame, config: Config, spacy_version: str) -> str:
    settings = [SEGMENT_FORMAT, config.spacy_model, spacy_version, config.min_unit_words, config.max_passage_words]
    payload = json.dumps([settings, turns[_KEY_COLUMNS].astype(str).to_numpy().tolist()])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _load_shards(folder: Path, wanted: set[str]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Cached units and dropped rows for the wanted interview keys, from every readable shard."""
    found: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for units_path in sorted(folder.glob("*.units.parquet")):
        try:
            units = pd.read_parquet(units_path)
            dropped = pd.read_parquet(units_path.with_name(units_path.name.replace(".units.", ".dropped.")))
        except Exception as exc:  # a truncated or foreign file: recompute what it held
            log.warning("segment cache shard %s unreadable (%s); ignoring it", units_path.name, exc)
            continue
        if list(units.columns) != [*UNIT_COLUMNS, "_key"] or list(dropped.columns) != [*DROPPED_COLUMNS, "_key"]:
            continue
        for key in wanted.intersection(units["_key"]).union(wanted.intersection(dropped["_key"])) - set(found):
            found[key] = (
                units.loc[units["_key"] == key, UNIT_COLUMNS],
                dropped.loc[dropped["_key"] == key, DROPPED_COLUMNS],
            )
    return found


def cached_segment(
    turns: pd.DataFrame,
    config: Config,
    segment_fn: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]],
    spacy_version: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Units and dropped rows for ``turns``, segmenting (in one batch) only interviews not cached before.

    Each run that parses something writes one shard holding those interviews, tagged by interview key.
    """
    folder = Path(config.cache_dir) / "segments"
    groups = {iid: group for iid, group in turns.groupby("interview_id", sort=False)}
    keys = {iid: interview_key(group, config, spacy_version) for iid, group in groups.items()}
    cached = _load_shards(folder, set(keys.values()))
    found = {iid: cached[key] for iid, key in keys.items() if key in cached}
    missing = [iid for iid in groups if iid not in found]
    if missing:
        units, dropped = segment_fn(turns[turns["interview_id"].isin(missing)])
        for iid in missing:
            found[iid] = (units[units["interview_id"] == iid], dropped[dropped["interview_id"] == iid])
        shard = hashlib.sha256(" ".join(sorted(keys[i] for i in missing)).encode()).hexdigest()[:24]
        tagged_units = units.assign(_key=units["interview_id"].map(keys))
        tagged_dropped = dropped.assign(_key=dropped["interview_id"].map(keys))
        _write_table(folder / f"{shard}.dropped.parquet", tagged_dropped)
        _write_table(folder / f"{shard}.units.parquet", tagged_units)
    ordered = [found[iid] for iid in groups]
    units = pd.concat([u for u, _ in ordered], ignore_index=True) if ordered else pd.DataFrame(columns=UNIT_COLUMNS)
    dropped = (
        pd.concat([d for _, d in ordered], ignore_index=True) if ordered else pd.DataFrame(columns=DROPPED_COLUMNS)
    )
    return units, dropped, {"hits": len(groups) - len(missing), "misses": len(missing)}


THEMES_FORMAT = 1  # bump whenever theme discovery would assign differently for the same input
_THEME_COLUMNS = ["unit_id", "theme", "theme_confidence", "parent"]


def cached_themes(
    units: pd.DataFrame,
    embeddings,
    params: dict,
    cache_dir: str | Path,
    discover: Callable[[], pd.DataFrame],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Theme assignments keyed by the exact embeddings, unit ids and clustering parameters.

    Discovery is deterministic, so a rerun on identical input may reuse its result; any change recomputes.
    """
    digest = hashlib.sha256(json.dumps([THEMES_FORMAT, params, units["unit_id"].tolist()]).encode("utf-8"))
    digest.update(embeddings.tobytes())
    path = Path(cache_dir) / "themes" / f"{digest.hexdigest()[:32]}.parquet"
    try:
        stored = pd.read_parquet(path)
        if list(stored.columns) == _THEME_COLUMNS and stored["unit_id"].tolist() == units["unit_id"].tolist():
            return units.assign(**{c: stored[c].to_numpy() for c in _THEME_COLUMNS[1:]}), {"hits": 1, "misses": 0}
    except FileNotFoundError:
        pass
    except Exception as exc:
        log.warning("theme cache entry %s unreadable (%s); recomputing", path.name, exc)
    themed = discover()
    _write_table(path, themed[_THEME_COLUMNS])
    return themed, {"hits": 0, "misses": 1}


def _write_table(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
