"""The raw turn every reader produces, and the conversion of raw turns into the turn table.

Turn table columns (one row per speaker turn, in transcript order):

=============  ======================================================================
interview_id   str   interview identifier (file stem, or the id column of a CSV/JSONL)
turn           int   1-based position of the turn inside its interview
speaker        str   speaker label as written in the transcript
role           str   ``interviewer`` or ``participant``
start_s        float start time in seconds (NaN when the transcript has no timestamps)
end_s          float end time in seconds (NaN when unknown)
text           str   what was said; source lines are kept as ``\\n``-separated fragments
source_file    str   the transcript, relative to the input folder (a file given alone: its name)
line           int   line of the turn's first fragment in that file (DOCX: paragraph number)
lines          list  source line of each ``\\n``-separated fragment of ``text``
=============  ======================================================================
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from spacy.lang.en.stop_words import STOP_WORDS

from .normalise import clean_label, clean_text, count_words, speaker_key
from .vocabulary import MISSED_SPEECH, PSEUDO_SPEAKERS, TRANSCRIBER_NOTE

TURN_COLUMNS = ["interview_id", "turn", "speaker", "role", "start_s", "end_s", "text", "source_file", "line", "lines"]

# h:mm:ss (Teams writes its fields unpadded: "0:0:4.100"), or mm:ss / m:ss, each with an optional fraction
_TIMESTAMP = re.compile(
    r"^(?:(?P<h>\d{1,2}):(?P<hm>\d{1,2}):(?P<hs>\d{1,2})|(?P<m>\d{1,2}):(?P<s>\d{2}))(?:[.,](?P<f>\d{1,3}))?$"
)


def parse_timestamp(value: str) -> float | None:
    """``h:mm:ss``, ``mm:ss`` or ``m:ss`` with optional ``.mmm`` → seconds; None if not a timestamp."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    hours, minutes, seconds = match["h"] or 0, match["hm"] or match["m"], match["hs"] or match["s"]
    fraction = match["f"]
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (int(fraction.ljust(3, "0")) / 1000 if fraction else 0.0)


def parse_seconds(value: object) -> float | None:
    """A start or end time as tables and JSON write it: seconds (``12.5``, ``"12.5"``) or a timestamp
    (``"0:12"``, ``"[00:00:12]"``); None if it is neither."""
    text = "" if value is None else str(value).strip().strip("[]()")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return parse_timestamp(text)


def format_timestamp(seconds: float | None) -> str:
    """Seconds → ``h:mm:ss`` (empty when unknown), the form researchers cite."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass
class ReadLog:
    """What a reader noticed besides turns: warnings, what it set aside and why, and the words it saw.

    ``words_in_file`` counts the words of the speech-bearing text the reader was given (letter runs, see
    ``normalise.count_words``); every one of them must end in a turn, a speaker label or ``set_aside``.
    """

    warnings: list[str] = field(default_factory=list)
    set_aside: Counter = field(default_factory=Counter)  # reason → words
    set_aside_lines: dict[str, int] = field(default_factory=dict)  # reason → first line
    metadata: dict[str, str] = field(default_factory=dict)  # e.g. YAML front matter
    words_in_file: int = 0
    label_words: int = 0

    def set_aside_text(self, line: int, reason: str, text: str) -> None:
        self.set_aside[reason] += count_words(text)
        self.set_aside_lines.setdefault(reason, line)


@dataclass
class RawTurn:
    """One speaker turn as a reader found it, before roles and numbering."""

    interview_id: str
    speaker: str
    fragments: list[tuple[int, str]] = field(default_factory=list)  # (source line, text)
    start_s: float | None = None
    end_s: float | None = None

    @property
    def line(self) -> int:
        return self.fragments[0][0] if self.fragments else 0

    def extend(self, other: RawTurn) -> None:
        self.fragments.extend(other.fragments)
        if other.end_s is not None:
            self.end_s = other.end_s
        elif other.start_s is not None and self.end_s is not None:
            self.end_s = max(self.end_s, other.start_s)


def merge_consecutive(turns: list[RawTurn]) -> list[RawTurn]:
    """Consecutive turns of one speaker in one interview become one turn (caption cues, repeated headers)."""
    merged: list[RawTurn] = []
    for turn in turns:
        if not any(text.strip() for _, text in turn.fragments):
            continue
        previous = merged[-1] if merged else None
        if previous and (previous.interview_id, previous.speaker) == (turn.interview_id, turn.speaker):
            previous.extend(turn)
        else:
            merged.append(turn)
    return merged


def to_turn_table(turns: list[RawTurn], source_file: str, log: ReadLog | None = None) -> pd.DataFrame:
    """Raw turns of one file → turn table rows (role is filled in later by ``roles.assign_roles``).

    Text is repaired (``normalise.clean_text``) and a transcriber's notes are set aside (``without_notes``), speaker
    labels are normalised, and the spellings of one speaker
    (``DB`` / ``DB:`` / ``db``) become its most frequent one. Turns of pseudo-speakers (``Break:``) are set aside.
    """
    log = log or ReadLog()
    spelling = _canonical_spellings(turns)
    kept = []
    for raw in turns:
        raw.speaker = spelling[(raw.interview_id, speaker_key(raw.speaker))]
        if speaker_key(raw.speaker) in PSEUDO_SPEAKERS:
            log.set_aside_text(raw.line, f"pseudo-speaker '{raw.speaker}'", " ".join(t for _, t in raw.fragments))
        else:
            kept.append(raw)
    rows = []
    counters: dict[str, int] = {}
    for raw in merge_consecutive(kept):
        fragments = []
        for line, raw_text in raw.fragments:
            text = " ".join(without_notes(clean_text(raw_text), line, log).split())
            if LINK_LINE.match(text):  # a table's row or a caption is only read here, and may hold a link alone
                log.set_aside_text(line, LINK_REASON, text)
            elif text:
                fragments.append((line, text))
        if not fragments:
            continue
        counters[raw.interview_id] = counters.get(raw.interview_id, 0) + 1
        rows.append(
            {
                "interview_id": raw.interview_id,
                "turn": counters[raw.interview_id],
                "speaker": raw.speaker,
                "role": "",
                "start_s": math.nan if raw.start_s is None else float(raw.start_s),
                "end_s": math.nan if raw.end_s is None else float(raw.end_s),
                "text": "\n".join(text for _, text in fragments),
                "source_file": source_file,
                "line": fragments[0][0],
                "lines": [line for line, _ in fragments],
            }
        )
    return pd.DataFrame(rows, columns=TURN_COLUMNS)


NOTE_REASON = "transcriber's note such as (laughs) or [inaudible]"
LINK_REASON = "export footer or link"
# A line that only points elsewhere: a link, alone or after a short lead-in ("See the full interview at: https://…")
LINK_LINE = re.compile(r"^(?:[^\s:][^:.!?]{0,58}:\s*)?<?https?://\S+>?$")


def without_notes(text: str, line: int, log: ReadLog) -> str:
    """What was said, without what a transcriber noted inside it (``TRANSCRIBER_NOTE``): an event ("(laughs)")
    goes, a note that words were missed ("[inaudible 00:05:14]") leaves "…". On the formats corpus, 80
    "{disfmarker}" and 59 "{vocalsound}" of an AMI export had become keyphrases and a parent label."""
    if "(" not in text and "[" not in text and "{" not in text:
        return text

    def replace(note: re.Match) -> str:
        if not is_note(note):
            return note.group()
        log.set_aside_text(line, NOTE_REASON, note.group())
        missed = (note["noted"] or note["braced"] or "").casefold() in MISSED_SPEECH  # "{gap}" too
        return " …" if missed else ""

    return TRANSCRIBER_NOTE.sub(replace, text).lstrip()


def is_note(match: re.Match) -> bool:
    """Whether a ``TRANSCRIBER_NOTE`` match is a transcriber's note rather than a speaker's own brackets: the words
    beside its event word are not function words ("(the music industry)", "(music is my life)" stay; "(Intro music:
    Electro swing)", "[soft music playing]" and "(laughs nervously)" go)."""
    beside = f"{match['before'] or ''} {match['after'] or ''}".split()
    return not any(word.lower() in STOP_WORDS for word in beside)


def _canonical_spellings(turns: list[RawTurn]) -> dict[tuple[str, str], str]:
    """(interview, speaker key) → the label spelling used most often (first seen on a tie)."""
    counts: Counter = Counter((t.interview_id, speaker_key(t.speaker), clean_label(t.speaker)) for t in turns)
    best: dict[tuple[str, str], str] = {}
    for (interview_id, key, shown), _ in counts.most_common():
        best.setdefault((interview_id, key), shown)
    # One person under a full name and its initials ("Devin Becker:" then "DB:") is one speaker.
    by_initials: dict[tuple[str, str], list[str]] = {}
    for (interview_id, _key), shown in best.items():
        words = shown.split()
        if len(words) >= 2:
            initials = "".join(w[0] for w in words).casefold()
            by_initials.setdefault((interview_id, initials), []).append(shown)
    for (interview_id, key), shown in best.items():
        full = by_initials.get((interview_id, key), [])
        if shown.isupper() and 2 <= len(shown) <= 4 and len(full) == 1:
            best[(interview_id, key)] = full[0]
    return best
