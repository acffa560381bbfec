"""The codebook on a real study (`make bench`): the 125 scientists interviews in ``../shared/data/interviews``.

- round trip: a run's own exported codebook applied to the same transcripts; every theme should keep its id
  (kept), none should be new or lost, and each unit should keep its theme.
- incremental: the first 100 interviews, then all 125 with the earlier output as the codebook; the earlier units
  should keep their themes and ids, and the 25 new interviews' units should join themes or form new ones.

Written to ``benchmarks/results/codebook.json``.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline.codebook import export_codebook
from pipeline.config import Config
from pipeline.runner import run_themes
from pipeline.store import write_run

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT.parent / "shared" / "data" / "interviews" / "anthropic-interviewer-scientists.csv"
RESULTS = ROOT / "benchmarks" / "results"
FIRST = 100


def themed(run) -> pd.Series:
    units = run.units
    return units.set_index("unit_id")["theme"]


def applied(run) -> dict:
    entries = run.details["codebook"]["entries"]
    origins = Counter(run.details["codebook"]["origin"].values())
    return {"statuses": dict(Counter(e["status"].split(" ")[0] for e in entries)), "origins": dict(origins)}


def main() -> None:
    config = Config(cache_dir=str(ROOT / ".insightmap-cache"))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        full = run_themes(STUDY, config)
        book = tmp / "codebook.toml"
        book.write_text(export_codebook(full), encoding="utf-8")
        again = run_themes(STUDY, replace(config, codebook=str(book)))
        same = (themed(full) == themed(again).reindex(themed(full).index)).mean()
        result["round_trip"] = {"themes": len(full.themes), **applied(again), "units_same_theme": round(same, 4)}

        table = pd.read_csv(STUDY, dtype=str, keep_default_na=False)
        first = tmp / "first" / STUDY.name
        first.parent.mkdir()
        table.head(FIRST).to_csv(first, index=False)
        earlier = run_themes(first, config)
        write_run(earlier, first, tmp / "earlier", "themes")
        grown = run_themes(STUDY, replace(config, codebook=str(tmp / "earlier")))
        before, after = themed(earlier), themed(grown)
        kept = (before == after.reindex(before.index)).mean()
        added = grown.units[~grown.units["unit_id"].isin(before.index)]
        new_ids = set(grown.themes.loc[grown.themes["origin"] == "new", "theme"])
        result["incremental"] = {
            "interviews": [FIRST, len(table)],
            "themes_before": len(earlier.themes),
            "themes_after": len(grown.themes),
            **applied(grown),
            "earlier_units_same_theme": round(kept, 4),
            "new_units": len(added),
            "new_units_in_earlier_themes": int(added["theme"].isin(set(before[before >= 0])).sum()),
            "new_units_in_new_themes": int(added["theme"].isin(new_ids).sum()),
            "new_units_unassigned": int((added["theme"] < 0).sum()),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "codebook.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
