"""Speaker conventions no parsing library knows: labelled lines in plain text, DOCX and whole-interview cells.

Recognised, per line:

* ``Name: text``
* ``[00:01:02] Name: text`` (brackets or parentheses optional)
* Rev: ``Name (00:01:02):`` alone on a line, the paragraph on the following lines
* Otter: ``Name  0:03`` (two or more spaces, then m:ss or h:mm:ss) alone on a line, text below

Lines without a label continue the current turn. To avoid reading "The process included: ..." as a
speaker, a plain ``Name:`` label must be a known role label, recur, or look like a name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from ..errors import InputError
from .roles import KNOWN_LABELS
from .turns import RawTurn, parse_timestamp

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_NAME = r"[^\W\d_][\w.'’\- ]{0,39}?"

_PATTERNS = [
    ("bracket", re.compile(rf"^[\[(]?(?P<ts>{_TS})[\])]?\s*(?:-\s*)?(?P<name>{_NAME})\s*:\s*(?P<text>.*)$")),
    ("rev", re.compile(rf"^(?P<name>{_NAME})\s*[\[(](?P<ts>{_TS})[\])]\s*:?\s*(?P<text>.*)$")),
    ("otter", re.compile(rf"^(?P<name>{_NAME}) {{2,}}(?P<ts>{_TS})\s*$")),
    ("plain", re.compile(rf"^(?P<name>{_NAME})\s*:\s+(?P<text>.*)$|^(?P<name2>{_NAME}):$")),
]
_MAX_NAME_WORDS = 4
# Lines transcription services append to exports; they are not speech.
_EXPORT_FOOTERS = re.compile(r"^(transcribed by https?://otter\.ai|transcribed by otter\.ai)\s*$", re.I)


@dataclass
class _Candidate:
    line: int
    name: str
    text: str
    start_s: float | None
    timed: bool


def _match_label(text: str, line: int) -> _Candidate | None:
    stripped = text.strip()
    for _kind, pattern in _PATTERNS:
        match = pattern.match(stripped)
        if not match:
            continue
        groups = match.groupdict()
        name = (groups.get("name") or groups.get("name2") or "").strip()
        if not name or len(name.split()) > _MAX_NAME_WORDS:
            continue
        ts = groups.get("ts")
        return _Candidate(
            line, name, (groups.get("text") or "").strip(), parse_timestamp(ts) if ts else None, ts is not None
        )
    return None


def _plausible_name(name: str, count: int, both_roles_known: bool) -> bool:
    """Known labels always count; when known labels already name both roles, other names must recur."""
    if name.lower() in KNOWN_LABELS:
        return True
    words = name.split()
    if words[0].lower() in STOP_WORDS:
        return False
    return count >= 2 or (not both_roles_known and all(word[:1].isupper() for word in words))


def parse_labelled_lines(
    lines: list[tuple[int, str]], path: str, interview_id: str, warnings: list[str] | None = None
) -> list[RawTurn]:
    """Labelled lines of one interview → raw turns. Raises InputError when no speaker label is found."""
    candidates = {line: c for line, text in lines if (c := _match_label(text, line))}
    counts = Counter(c.name for c in candidates.values())
    both_roles_known = len({KNOWN_LABELS.get(name.lower()) for name in counts} - {None}) == 2
    accepted = {
        line: c
        for line, c in candidates.items()
        if c.timed or _plausible_name(c.name, counts[c.name], both_roles_known)
    }
    if not accepted:
        first = next((line for line, text in lines if text.strip()), 1)
        raise InputError(
            path,
            "no speaker labels found (expected lines like 'Name: text', '[00:01:02] Name: text', "
            "'Name (00:01:02):' or 'Name  0:03')",
            first,
        )
    turns: list[RawTurn] = []
    preamble: list[int] = []
    for line, text in lines:
        label = accepted.get(line)
        if label:
            turns.append(RawTurn(interview_id, label.name, [(line, label.text)] if label.text else [], label.start_s))
        elif text.strip() and not _EXPORT_FOOTERS.match(text.strip()):
            if turns:
                turns[-1].fragments.append((line, text.strip()))
            else:
                preamble.append(line)
    if preamble and warnings is not None:
        warnings.append(f"lines {preamble[0]}-{preamble[-1]}: text before the first speaker label ignored")
    return turns
