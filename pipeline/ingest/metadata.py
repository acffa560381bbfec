"""The ``metadata.csv`` sidecar: factual segment data (role, industry, company size...) per interview.

Interview table columns: ``interview_id, source_file, format`` plus every metadata column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

METADATA_FILE = "metadata.csv"


def read_metadata(folder: Path) -> pd.DataFrame | None:
    path = folder / METADATA_FILE
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"unreadable metadata ({exc})") from exc
    table.columns = [c.strip() for c in table.columns]
    if "interview_id" not in table.columns:
        raise InputError(path, "metadata needs an 'interview_id' column", 1)
    duplicated = table["interview_id"][table["interview_id"].duplicated()]
    if not duplicated.empty:
        raise InputError(path, f"interview_id {duplicated.iloc[0]!r} appears twice")
    return table


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
