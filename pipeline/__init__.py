"""insightmap: offline qualitative analysis of buyer interviews.

Notebook use::

    import pipeline
    result = pipeline.run("transcripts", out="out", seed=7)
    result.themes, result.units, result.quotes   # pandas DataFrames
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import Run

__all__ = ["run"]


def run(
    path: str | Path, out: str | Path | None = None, config_path: str | Path | None = None, **overrides: Any
) -> Run:
    """Run the themes pipeline on ``path``; write outputs to ``out`` when given; return the tables."""
    from .config import Config
    from .runner import run_themes
    from .store import THEMES, claim_output, write_run

    config = Config.load(config_path, **overrides)
    if out is None:
        return run_themes(path, config)
    with claim_output(out, path):
        result = run_themes(path, config)
        write_run(result, path, out, THEMES)
    return result
