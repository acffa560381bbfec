"""Caption files: WebVTT (Zoom ``Name: text`` cues, Teams ``<v Name>`` voices) and SRT.

Parsing is left to webvtt-py and srt; this module adds what they do not know: speaker prefixes,
merging a speaker's consecutive cues into one turn, and file:line locations for errors and quotes.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import srt
import webvtt

from ..errors import InputError
from .decode import read_text
from .turns import RawTurn, parse_timestamp

_CUE_TIMING = re.compile(r"^(\S+)\s+-->\s+(\S+)")
_SPEAKER_PREFIX = re.compile(r"^\s*(?:-\s*)?(?P<name>[^\W\d_][\w.'’\- ]{0,39}?)\s*:\s+(?P<text>\S.*)$", re.S)
UNKNOWN_SPEAKER = "Speaker"


def _split_speaker(text: str) -> tuple[str | None, str]:
    match = _SPEAKER_PREFIX.match(text)
    if match and len(match["name"].split()) <= 4:
        return match["name"].strip(), match["text"].strip()
    return None, text.strip()


def _timing_lines(text: str, path: Path, separator: str) -> list[int]:
    """Line number of every cue timing; a malformed timing is reported at its line."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line:
            continue
        match = _CUE_TIMING.match(line.strip())
        stamps = [match[1], match[2]] if match else []
        if not match or any(parse_timestamp(s.replace(separator, ".")) is None for s in stamps):
            raise InputError(
                path,
                f"malformed cue timing {line.strip()!r} (expected 00:00:01{separator}000 --> 00:00:04{separator}000)",
                number,
            )
        found.append(number)
    return found


def read_vtt(path: Path, warnings: list[str]) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    warnings.extend(decode_warnings)
    if not text.lstrip().startswith("WEBVTT"):
        raise InputError(path, "not a WebVTT file: the first line must be 'WEBVTT'", 1)
    timing_lines = _timing_lines(text, path, ".")
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except Exception as exc:  # webvtt-py's MalformedFileError and friends
        raise InputError(path, f"malformed WebVTT ({exc})") from exc
    turns = []
    speaker = UNKNOWN_SPEAKER
    for caption, line in zip(captions, timing_lines, strict=False):
        prefixed, body = _split_speaker(caption.text)
        speaker = caption.voice or prefixed or speaker
        if body:
            turns.append(
                RawTurn(
                    path.stem, speaker, [(line + 1, body)], parse_timestamp(caption.start), parse_timestamp(caption.end)
                )
            )
    if not turns:
        raise InputError(path, "WebVTT file has no caption text")
    return turns


def read_srt(path: Path, warnings: list[str]) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    warnings.extend(decode_warnings)
    timing_lines = _timing_lines(text, path, ",")
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line = text.count("\n", 0, exc.expected_start) + 1
        raise InputError(path, "malformed SRT block (expected 'index', 'start --> end', text)", line) from exc
    turns = []
    speaker = UNKNOWN_SPEAKER
    for subtitle, line in zip(subtitles, timing_lines, strict=False):
        prefixed, body = _split_speaker(subtitle.content)
        speaker = prefixed or speaker
        if body:
            turns.append(
                RawTurn(
                    path.stem, speaker, [(line + 1, body)], subtitle.start.total_seconds(), subtitle.end.total_seconds()
                )
            )
    if not turns:
        raise InputError(path, "SRT file has no subtitle text")
    return turns
