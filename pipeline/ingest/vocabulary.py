"""Speaker-label and transcript vocabulary (labels, headings, export lines, a transcriber's notes), read from
``models/roles.toml`` (data, not code)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..resources import read_toml

_DATA = read_toml("roles.toml")
INTERVIEWER, PARTICIPANT = "interviewer", "participant"


def _family(words: list[str]) -> re.Pattern[str]:
    """A label family: one of the words, then optionally a number or a short letter code ("Interviewer 2")."""
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"^(?:{alternatives})(?:\s*[-_#]?\s*\d{{1,3}}|\s+[a-z])?$")


ROLE_FAMILIES: dict[str, re.Pattern[str]] = {
    INTERVIEWER: _family(_DATA["labels"]["interviewer"]),
    PARTICIPANT: _family(_DATA["labels"]["participant"]),
}
PSEUDO_SPEAKERS = frozenset(_DATA["pseudo_speakers"])
TRANSCRIPT_HEADINGS = frozenset(_DATA["transcript_headings"])
HEADER_FIELDS = frozenset(_DATA["header_fields"])
EXPORT_LINES = re.compile("|".join(f"(?:{line})" for line in _DATA["export_lines"]), re.I)
FILENAME_PARTICIPANT = re.compile(_DATA["filename_participant"])
_NOTES = _DATA["transcriber_notes"]
_NOTED = "|".join(sorted((re.escape(w) for w in _NOTES["events"] + _NOTES["missed"]), key=len, reverse=True))
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# A transcriber's note and the space before it: "(laughs)", "[inaudible 00:05:14]", "{vocalsound}", "[00:19:00]",
# and a noted event with a word or two around it or a description after a colon: "(Intro music: Electro swing)",
# "[music playing]", "(laughs nervously)". Whether those words make it a note is ``turns.is_note``'s call.
TRANSCRIBER_NOTE = re.compile(
    rf"\s*(?:\{{(?P<braced>[a-z_]+)\}}|[\[(]\s*(?P<before>(?:[a-z'-]+\s+){{0,2}})(?P<noted>{_NOTED})"
    rf"(?:[\s,]+{_CLOCK}|(?P<after>(?:\s+[a-z'-]+){{1,2}}|\s*:[^\[\]()]{{1,60}}))?\s*[\])]|[\[(]{_CLOCK}[\])])",
    re.I,
)
MISSED_SPEECH = frozenset(_NOTES["missed"])  # a note of these leaves "…" where the words were


def _phrases(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


# What speakers say of their own role ("welcome to the show", "thanks for having me"), per role.
ROLE_CUES: dict[str, re.Pattern[str]] = {role: _phrases(patterns) for role, patterns in _DATA["cues"].items()}
# The host's words that open the programme and start a sponsor read.
OPENING, SPONSOR = _phrases(_DATA["spans"]["opening"]), _phrases(_DATA["spans"]["sponsor"])


@dataclass(frozen=True)
class RoleInference:
    """Weights and thresholds of role inference from behaviour (``[inference]`` in ``models/roles.toml``)."""

    question_tail: int
    prior_turns: float
    weight_partners: float
    weight_turns: float
    weight_words: float
    lead_min_turn_share: float
    co_interviewer_score: float
    co_interviewer_min_turns: int
    co_interviewer_min_partners: float
    cue_turns: int
    cue_confidence: float
    opening_confidence: float
    low_confidence: float


ROLE_INFERENCE = RoleInference(**_DATA["inference"])


_BRACKETED = re.compile(r"^(?P<outside>.*?)\s*\((?P<inside>[^()]*)\)$")  # "moderator (jane)", "jane (moderator)"


def label_role(key: str) -> str:
    """The role a speaker key states by itself (``interviewer 1``, ``moderator (jane)``, ``jane smith
    (interviewer)`` → interviewer), or '' when it says none."""
    bracketed = _BRACKETED.match(key)
    for part in (bracketed["outside"], bracketed["inside"]) if bracketed else (key,):
        for role, pattern in ROLE_FAMILIES.items():
            if pattern.match(part.strip()):
                return role
    return ""


def filename_participant(stem: str) -> str | None:
    """``P6 Transcript`` → ``P6``: the participant a file is named after, if any."""
    match = FILENAME_PARTICIPANT.search(stem)
    return match[1] if match else None
