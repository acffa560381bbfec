"""The ``metadata.csv`` sidecar: factual segment data (role, industry, company size...) per interview.

Interview table columns: ``interview_id, source_file, format`` plus every metadata column.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from .normalise import loose_id
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
    """Left-join metadata onto interviews; report ids on either side with no partner. A row whose id names no
    interview exactly joins the one interview its id names loosely (``P01.docx`` or ``p01`` → ``P01``), said."""
    if metadata is None:
        return interviews, []
    known = set(interviews["interview_id"])
    by_loose: dict[str, list[str]] = {}
    for interview_id in sorted(known):
        by_loose.setdefault(loose_id(interview_id), []).append(interview_id)
    taken = set(metadata["interview_id"]) & known
    loose = {
        row: by_loose[loose_id(row)][0]
        for row in metadata["interview_id"]
        if row not in known and len(by_loose.get(loose_id(row), [])) == 1 and by_loose[loose_id(row)][0] not in taken
    }
    claims = Counter(loose.values())
    renamed = {row: interview for row, interview in loose.items() if claims[interview] == 1}  # two rows: neither
    metadata = metadata.assign(interview_id=metadata["interview_id"].replace(renamed))
    described = set(metadata["interview_id"])
    messages = []
    if renamed:
        shown = [f"{row!r} → {interview!r}" for row, interview in renamed.items()]
        ids = f"{len(renamed)} id{'s' if len(renamed) > 1 else ''}"
        messages.append(f"{METADATA_FILE}: {ids} matched loosely ({', '.join(shown[:3])}{', …' * (len(shown) > 3)})")
    if missing := sorted(described - known):
        messages.append(f"{METADATA_FILE}: no transcript for: {', '.join(missing)}")
    if undescribed := sorted(known - described):
        messages.append(f"{METADATA_FILE}: no row for: {', '.join(undescribed)}")
    return interviews.merge(metadata, on="interview_id", how="left"), messages
