"""Caption files: WebVTT (Zoom ``Name: text`` cues, Teams ``<v Name>`` voices) and SRT.

Parsing is left to webvtt-py and srt; this module adds what they do not know: speaker prefixes,
merging a speaker's consecutive cues into one turn, and file:line locations for errors and quotes.
"""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import srt
import webvtt

from ..errors import InputError
from .decode import read_text
from .normalise import count_words
from .turns import RawTurn, ReadLog, parse_timestamp

_CUE_TIMING = re.compile(r"^(\S+)\s+-->\s+(\S+)")
_SPEAKER_PREFIX = re.compile(r"^\s*(?:-\s*)?(?P<name>[^\W\d_][\w.'’\- ]{0,39}?)\s*:\s+(?P<text>\S.*)$", re.S)
UNKNOWN_SPEAKER = "Speaker"
# YouTube-style captions mark a change of (unnamed) speaker with ">>", sometimes twice in one cue.
_CHANGE_MARK = re.compile(r"(?:^|\s)>>\s*")


def _split_speaker(text: str) -> tuple[str | None, str]:
    match = _SPEAKER_PREFIX.match(text)
    if match and len(match["name"].split()) <= 4:
        return match["name"].strip(), match["text"].strip()
    return None, text.strip()


Cue = tuple[int, str, str | None, float | None, float | None]  # line, text, voice, start, end


def _cue_turns(path: Path, cues: list[Cue], log: ReadLog) -> list[RawTurn]:
    """Cues (line, text, voice, start, end) → raw turns: a named cue starts a speaker; unnamed cues continue it.

    Unnamed speaker changes (``>>``) start a new unnamed voice each time: who speaks is unknown, and the file
    is flagged so the researcher can name them in ``roles.csv`` rather than have one voice take every word.
    """
    turns: list[RawTurn] = []
    speaker, unnamed = UNKNOWN_SPEAKER, 0
    for line, text, voice, start, end in _unrolled(cues, log):
        log.words_in_file += count_words(text)
        pieces = _CHANGE_MARK.split(text) if ">>" in text else [text]
        for index, piece in enumerate(pieces):
            if index > 0:
                unnamed += 1
                speaker = f"{UNKNOWN_SPEAKER} {chr(ord('A') + (unnamed - 1) % 2)}"
            prefixed, body = _split_speaker(piece)
            if prefixed:
                log.label_words += count_words(prefixed)
            speaker = voice or prefixed or speaker
            if body:
                turns.append(RawTurn(path.stem, speaker, [(line, body)], start, end))
    if unnamed:
        log.warnings.append(
            f"{unnamed} unnamed speaker changes ('>>'): voices alternate as '{UNKNOWN_SPEAKER} A'/'B', a guess; "
            "name them in roles.csv"
        )
    return turns


ROLLING_SHARE = 0.3  # this share of cues opening with the line the cue before ended on: captions that roll


def _unrolled(cues: list[Cue], log: ReadLog) -> list[Cue]:
    """YouTube's automatic captions roll: each cue shows again the line the cue before it ended on (and a 10 ms
    cue shows a finished line alone), so every word would be read two or three times. In captions that roll, a
    line the previous cue showed is counted as set aside, not read again."""
    shown = [[part.strip() for part in text.split("\n") if part.strip()] for _, text, *_ in cues]
    rolled = sum(bool(before and now and now[0] == before[-1]) for before, now in itertools.pairwise(shown))
    if rolled < ROLLING_SHARE * max(len(cues) - 1, 1):
        return cues
    unrolled, before = [], []
    for (line, _, voice, start, end), now in zip(cues, shown, strict=True):
        repeated = [part for part in now if part in before]
        if repeated:
            log.words_in_file += count_words(" ".join(repeated))
            log.set_aside_text(line, "caption line repeated by rolling captions", " ".join(repeated))
        unrolled.append((line, "\n".join(part for part in now if part not in before), voice, start, end))
        before = now
    return unrolled


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


_VTT_NON_CUE = ("WEBVTT", "NOTE", "STYLE", "REGION")


def _untimed_blocks(text: str, log: ReadLog) -> None:
    """Blocks with no ``start --> end`` line that are not a header, note or style: a cue whose timing line was
    damaged. Captions libraries skip them; their words are counted as set aside, with a warning at the line."""
    lines = enumerate(text.split("\n"), start=1)
    # a block ends at an empty line: a line of spaces belongs to it, as WebVTT (and webvtt-py) define it
    for filled, group in itertools.groupby(lines, key=lambda numbered: bool(numbered[1].rstrip("\r"))):
        block = list(group)
        body = "\n".join(line for _, line in block).strip()
        if filled and "-->" not in body and not body.startswith(_VTT_NON_CUE) and count_words(body):
            first = block[0][0]
            log.words_in_file += count_words(body)
            log.set_aside_text(first, "caption block without a timing line", body)
            log.warnings.append(f"line {first}: caption block without a 'start --> end' timing line; set aside")


def read_vtt(path: Path, log: ReadLog) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    log.warnings.extend(decode_warnings)
    if not text.lstrip().startswith("WEBVTT"):
        raise InputError(path, "not a WebVTT file: the first line must be 'WEBVTT'", 1)
    timing_lines = _timing_lines(text, path, ".")
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except Exception as exc:  # webvtt-py's MalformedFileError and friends
        raise InputError(path, f"malformed WebVTT ({exc})") from exc
    cues = [
        (line + 1, caption.text, caption.voice, parse_timestamp(caption.start), parse_timestamp(caption.end))
        for caption, line in zip(captions, timing_lines, strict=False)
    ]
    turns = _cue_turns(path, cues, log)
    _untimed_blocks(text, log)
    if not turns:
        raise InputError(path, "WebVTT file has no caption text")
    return turns


def read_srt(path: Path, log: ReadLog) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    log.warnings.extend(decode_warnings)
    timing_lines = _timing_lines(text, path, ",")
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line = text.count("\n", 0, exc.expected_start) + 1
        raise InputError(path, "malformed SRT block (expected 'index', 'start --> end', text)", line) from exc
    cues = [
        (line + 1, subtitle.content, None, subtitle.start.total_seconds(), subtitle.end.total_seconds())
        for subtitle, line in zip(subtitles, timing_lines, strict=False)
    ]
    turns = _cue_turns(path, cues, log)
    if not turns:
        raise InputError(path, "SRT file has no subtitle text")
    return turns
