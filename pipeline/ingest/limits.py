"""What one input file may cost before it is read: its size on disk, and for ZIP-based documents (DOCX, ODT,
XLSX) what it would inflate to. One hostile file (a decompression bomb, a 1 GB log) is refused in milliseconds
with the reason, and the folder's other files are still read.

Checking the archive's directory is enough: Python's ``zipfile``, which python-docx, odfpy and openpyxl use,
never inflates a member past its declared size.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

_MB = 1024 * 1024


@dataclass(frozen=True)
class InputLimits:
    max_file_mb: float = 100.0
    max_archive_mb: float = 500.0
    max_archive_ratio: float = 200.0


def check_limits(path: Path, limits: InputLimits) -> None:
    """Raise InputError when ``path`` is larger, or would inflate larger or faster, than ``limits`` allow."""
    size = path.stat().st_size
    if size > limits.max_file_mb * _MB:
        raise InputError(
            path,
            f"file is {size / _MB:,.1f} MB, above max_file_mb = {limits.max_file_mb:g}; split it, or raise the "
            "limit in insightmap.toml",
        )
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"damaged ZIP container ({exc})") from exc
    inflated = sum(m.file_size for m in members)
    if inflated > limits.max_archive_mb * _MB:
        raise InputError(
            path,
            f"would inflate to {inflated / _MB:,.1f} MB, above max_archive_mb = {limits.max_archive_mb:g} "
            "(a decompression bomb, or a document with huge embedded files); not read",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _MB and ratio > limits.max_archive_ratio:
            raise InputError(
                path,
                f"member {member.filename!r} is compressed {ratio:,.0f} to 1, above max_archive_ratio = "
                f"{limits.max_archive_ratio:g} (a decompression bomb); not read",
            )
