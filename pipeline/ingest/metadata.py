"""The ``metadata.csv`` sidecar: factual segment data (role, industry, company size...) per interview.

Interview table columns: ``interview_id, source_file, format`` plus every metadata column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .sidecar import read_sidecar

METADATA_FILE = "metadata.csv"


def read_metadata(folder: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """The sidecar (None when there is none) and one message per row that had to be skipped."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return None, []
    table, problems = read_sidecar(path, ("interview_id",), key="interview_id")
    table["interview_id"] = table["interview_id"].str.strip()
    return table.reset_index(drop=True), problems


def join_metadata(interviews: pd.DataFrame, metadata: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """Left-join metadata onto interviews; report ids on either side with no partner."""
    if metadata is None:
        return interviews, []
    known = set(interviews["interview_id"])
    described = set(metadata["interview_id"])
    messages = []
    if missing := sorted(described - known):
        messages.append(f"{METADATA_FILE}: no transcript for: {', '.join(missing)}")
    if undescribed := sorted(known - described):
        messages.append(f"{METADATA_FILE}: no row for: {', '.join(undescribed)}")
    return interviews.merge(metadata, on="interview_id", how="left"), messages
