"""Errors that users see: one line, with the file and line at fault, never a traceback."""

from __future__ import annotations

from pathlib import Path


class InsightmapError(Exception):
    """Base class for every error insightmap reports to the user as a one-line message."""


class InputError(InsightmapError):
    """A problem with one input file, located as ``path:line`` so the user can open it there."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(InsightmapError):
    """A bad configuration value or file (``file: field: why``)."""


class ModelMissingError(InsightmapError):
    """A model named in the config is not installed; the message says what to install."""
