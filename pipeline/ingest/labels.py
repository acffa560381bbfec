"""Speaker conventions no parsing library knows: labelled lines in plain text, Markdown, DOCX, ODT, HTML and
whole-interview cells.

Recognised, per line (Markdown emphasis such as ``**Name:**`` and escapes such as ``\\[04:22\\]`` removed first):

* ``Name: text``; ``Name:`` alone, the paragraph below
* ``[00:01:02] Name: text`` (brackets or parentheses optional); diarized ``[Speaker 1] [00:20] text``
* Rev: ``Name (00:01:02):`` or ``Name: [00:01:02]`` or ``Name [0:18] text``
* Otter: ``Name 0:03`` (one or more spaces, m:ss or h:mm:ss) alone on a line, text below
* a bare timestamp ``(00:20):`` or ``[00:06:00] text``: the same speaker goes on (the marker leaves the text)

Lines without a label continue the current turn. To avoid reading "The process included: ..." as a speaker, a
plain ``Name:`` label must state a role, recur, or look like a name. Nothing is dropped silently: text before the
first label becomes a turn of its own, and headings, front matter, footers and links are set aside with a reason.

When labels are rare (a think-aloud session with a few ``MODERATOR:`` lines), unlabelled lines belong to the
person the file is about (``P10_….odt`` → ``P10``), not to the last label seen; numbered task prompts
(``3.a Please explain…``) read out by the moderator become ``Prompt`` turns.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from ..errors import InputError
from ..escape import strip_terminal_sequences
from ..resources import language
from .normalise import count_words, remove_invisible, speaker_key
from .turns import LINK_LINE, LINK_REASON, RawTurn, ReadLog, parse_timestamp
from .vocabulary import (
    EXPORT_LINES,
    HEADER_FIELDS,
    INTERVIEWER,
    TRANSCRIPT_HEADINGS,
    filename_participant,
    label_role,
)

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
# A name, optionally with who it is in brackets: "Moderator (Jane)", "P3 (IT director)"; never a time.
_NAME = r"[^\W\d_][\w.'’\- \u00a0\u202f]{0,39}?(?:\s*\([^\W\d_][^()\d:]{0,29}\))?"  # no-break spaces: Word's


def _time_and_tab(group: str) -> str:
    """``00:01:05<TAB>``, the time captured as ``group``."""
    return rf"[\[(]?(?P<{group}>{_TS})[\])]?\t+"


_PATTERNS = [
    ("diarized", re.compile(rf"^\[(?P<name>{_NAME})\]\s*(?:[\[(]?(?P<ts>{_TS})[\])]?)?\s*:?\s*(?P<text>.*)$")),
    ("bracket", re.compile(rf"^[\[(]?(?P<ts>{_TS})[\])]?\s*(?:-\s*)?(?P<name>{_NAME})\s*:\s*(?P<text>.*)$")),
    ("rev", re.compile(rf"^(?P<name>{_NAME})\s*[\[(](?P<ts>{_TS})[\])]\s*:?\s*(?P<text>.*)$")),
    ("otter", re.compile(rf"^(?P<name>{_NAME})(?:\s+[–—-])?\s+(?P<ts>{_TS})\s*$")),  # "Jane  0:03", "Jane - 0:03"
    (
        "rev_after",
        re.compile(rf"^(?P<name>{_NAME})\s*:\s*(?:[\[(](?P<ts>{_TS})[\])]\s*(?P<text>.*)|(?P<ts2>{_TS})\s*)$"),
    ),
    ("plain", re.compile(rf"^(?P<name>{_NAME})\s*:\s+(?P<text>.*)$|^(?P<name2>{_NAME})\s*:$")),
    ("q_and_a", re.compile(r"^(?P<name>[QA])\.\s+(?P<text>\S.*)$")),  # depositions, oral histories: "Q. Why?"
    ("dash", re.compile(rf"^(?P<name>{_NAME})\s+[–—-]\s+(?P<text>\S.*)$")),  # "Interviewer – Why?": roles only
    (
        "tab",  # "Name<TAB>speech", Word's hanging-indent layout; a time may come before or after the name
        re.compile(rf"^(?:{_time_and_tab('ts')})?(?P<name>{_NAME}) *\t+(?:{_time_and_tab('ts2')})?(?P<text>\S.*)$"),
    ),
]
# Timed labels whose name comes after the time could be a continuation line with a colon in it.
_NAME_AFTER_TIME = {"bracket"}
_BARE_TIME = re.compile(rf"^(?:[\[(](?P<ts>{_TS})[\])]\s*:?\s*(?P<text>.*)|(?P<ts2>{_TS})\s*:?)$")
MAX_NAME_WORDS = 4  # a longer "name" before a colon is a sentence, not a speaker
_RULE = re.compile(r"^(?:-{3,}|\*{3,}|_{3,}|={3,})$")
_MD_HEADING = re.compile(r"^#{1,6}\s")
_MD_LABEL = re.compile(r"^(\*\*|__)(?P<label>[^*_]{1,60}?)\1\s*(?P<colon>:?)")
_QUOTE_MARK = re.compile(r"^>+\s+(?=\S)")  # ">> NAME: text" (closed captions' speaker change), "> " quoting
# f4transkript and MAXQDA write the time a paragraph ends after it: "… signed. #00:01:02-7#" (tenths after the dash)
_TIME_MARK = re.compile(r"\s*#(?P<ts>(?:\d{1,2}:)?\d{1,2}:\d{2})(?:[-.,](?P<f>\d{1,3}))?#\s*")
_MD_ESCAPE = re.compile(r"\\([\[\]()*_#>`])")
# Numbered discussion-guide items read out by a moderator: "3.a Please explain…", "c.i Data Provenance".
_PROMPT = re.compile(r"^(?:\d{1,2}(?:\.[a-z0-9]{1,4})*|[a-z]{1,2}\.[ivx]{1,4})[.)]?\s+\S")
SPARSE_LABEL_SHARE = 0.2  # below this share of labelled lines, labels mark interjections, not turns
UNLABELLED = "Unlabelled"
_LINE_NUMBER = re.compile(r"^(?P<n>\d{1,5})(?:[\t ]+|$)")
LINE_NUMBERED_SHARE = 0.8  # this share of lines opening with the number after the one before: numbered for citing
MAX_TITLE_WORDS = 12  # a longer line above the dialogue is speech that lost its label, not a head block
HEAD_LINES = 15  # a head block's fields are among a transcript's first lines
_FIELD = re.compile(r"^(?P<field>[^\W\d_][\w ]{0,30}?)\s*:")  # "Date: 12 March", "Interview date:"
PROMPT = "Prompt"


@dataclass
class _Candidate:
    line: int
    name: str
    text: str
    start_s: float | None
    strong: bool  # a timestamp next to the name: a label without doubt


def markdown_line(text: str) -> str:
    """A Markdown line as plain transcript text: ``**Name:** text`` → ``Name: text``, ``\\[04:22\\]`` → ``[04:22]``."""
    text = _MD_ESCAPE.sub(r"\1", text.strip())
    return _MD_LABEL.sub(lambda m: m["label"].strip() + m["colon"] + " ", text, count=1).strip()


def _match_label(text: str, line: int) -> _Candidate | None:
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        groups = match.groupdict()
        name = " ".join((groups.get("name") or groups.get("name2") or "").split())  # a no-break space is a space
        if not name or len(name.split()) > MAX_NAME_WORDS:
            continue
        if kind == "dash" and not label_role(speaker_key(name)):  # "So - yeah" is speech, not a speaker
            continue
        ts = groups.get("ts") or groups.get("ts2")
        strong = ts is not None and kind not in _NAME_AFTER_TIME or kind == "diarized"
        return _Candidate(line, name, (groups.get("text") or "").strip(), parse_timestamp(ts) if ts else None, strong)
    return None


def _plausible_name(name: str, count: int, both_roles_known: bool) -> bool:
    """Role labels always count; when labels already name both roles, other names must recur."""
    key = speaker_key(name)
    if label_role(key):
        return True
    words = name.split()
    if words[0].lower() in STOP_WORDS:
        return False
    return count >= 2 or (not both_roles_known and all(word[:1].isupper() for word in words))


_CLOCK = r"(?:\d{1,2}:){1,2}\d{1,2}(?:[.,]\d{1,3})?"
_CUE_TIMING = re.compile(rf"^(?P<start>{_CLOCK})\s*-->\s*{_CLOCK}$")  # a caption cue's timing in a text export


# "00:00:05 Jane Smith" (NVivo), "[00:00:05.12] - Jane Smith" (Happy Scribe)
_NAME_LINE = re.compile(rf"^(?:[\[(]?(?P<ts>{_TS})[\])]?(?:\s*[–—-])?\s+)?(?P<name>{_NAME})\s*:?$")


def _name_lines(lines: list[tuple[int, str]]) -> dict[int, _Candidate]:
    """Where no line is labelled, a speaker's name alone on the line before what they said ("Interviewer", then
    the question; a table pasted as text; "00:00:05 Jane Smith" as some editors export): a role label, or a name in
    capitals that recurs, followed by speech."""
    found = {}
    for line, text in lines[:-1]:
        match = _NAME_LINE.match(text)
        if match and len(match["name"].split()) <= MAX_NAME_WORDS:
            start = parse_timestamp(match["ts"]) if match["ts"] else None
            found[line] = _Candidate(line, " ".join(match["name"].split()), "", start, False)
    counts = Counter(speaker_key(c.name) for c in found.values())
    contentless = language().contentless_words
    return {
        line: c
        for line, c in found.items()
        if label_role(speaker_key(c.name))
        or (
            counts[speaker_key(c.name)] >= 2
            and all(word[:1].isupper() or word.isdigit() for word in c.name.split())  # "Speaker 2"
            and not {word.lower() for word in c.name.split()} & (contentless | STOP_WORDS)
        )
    }


def _structure(lines: list[tuple[int, str]], markdown: bool, log: ReadLog) -> list[tuple[int, str]]:
    """Lines that may carry speech; headings, rules, links and footers are set aside with a reason."""
    kept = []
    for line, raw in lines:
        text = strip_terminal_sequences(remove_invisible(raw)).strip()  # a hidden mark must not hide a label
        if not text:
            continue
        if markdown and _MD_HEADING.match(text) and not _is_transcript_heading(text):
            log.set_aside_text(line, "heading", text)
        elif _RULE.match(text):
            continue
        elif EXPORT_LINES.fullmatch(text) or LINK_LINE.match(text):
            log.set_aside_text(line, LINK_REASON, text)
        else:
            text = _QUOTE_MARK.sub("", markdown_line(text) if markdown else text)
            kept.append((line, text))
    return kept


def _mark_seconds(mark: re.Match) -> float | None:
    """An f4 mark's time: its tenths after the dash are a timestamp's fraction."""
    return parse_timestamp(f"{mark['ts']}.{mark['f']}" if mark["f"] else mark["ts"])


def _read_time_marks(turns: list[RawTurn]) -> None:
    """f4/MAXQDA time marks are not speech: they leave the text. A mark ending a turn is when it ends and the next
    turn starts; a mark before a turn's first word is its start. A turn's own label time wins."""
    for position, turn in enumerate(turns):
        marks = [(i, m) for i, (_, text) in enumerate(turn.fragments) for m in _TIME_MARK.finditer(text)]
        if not marks:
            continue
        first, last = marks[0], marks[-1]
        if first[0] == 0 and first[1].start() == 0 and turn.start_s is None:
            turn.start_s = _mark_seconds(first[1])
        if last[0] == len(turn.fragments) - 1 and last[1].end() == len(turn.fragments[-1][1]):
            turn.end_s = _mark_seconds(last[1])
            following = turns[position + 1] if position + 1 < len(turns) else None
            if following is not None and following.start_s is None:
                following.start_s = turn.end_s
        cleaned = [(line, _TIME_MARK.sub(" ", text).strip()) for line, text in turn.fragments]
        turn.fragments = [(line, text) for line, text in cleaned if text]


def _without_line_numbers(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A transcript numbered line by line for citing (thesis appendices, QDA exports: "12<TAB>R: text") reads
    without its numbers when nearly every line opens with the number after the one before; numbered prompts
    ("1. Open the app") are a few lines, never nearly all."""
    numbers = [_LINE_NUMBER.match(text) for _, text in lines]
    counted = [int(match["n"]) for match in numbers if match]
    steps = sum(after == before + 1 for before, after in zip(counted, counted[1:], strict=False))
    if len(lines) < 3 or steps < LINE_NUMBERED_SHARE * (len(lines) - 1):
        return lines
    unnumbered = [
        (line, text[match.end() :] if match else text) for (line, text), match in zip(lines, numbers, strict=True)
    ]
    return [(line, text) for line, text in unnumbered if text]


def _is_transcript_heading(text: str) -> bool:
    return text.lstrip("#").strip().rstrip(":").casefold() in TRANSCRIPT_HEADINGS


def _after_transcript_heading(
    lines: list[tuple[int, str]], accepted: dict[int, _Candidate], log: ReadLog
) -> list[tuple[int, str]]:
    """An export's summary, keywords and title before a ``TRANSCRIPT`` heading are not speech: set them aside."""
    for position, (line, text) in enumerate(lines):
        if _is_transcript_heading(text) and any(later > line for later in accepted):
            for skipped_line, skipped in lines[: position + 1]:
                log.set_aside_text(skipped_line, "before the transcript heading", skipped)
            return lines[position + 1 :]
    return lines


def _time_alone(text: str) -> float | None:
    """The time of a line that holds a time and nothing else ("00:01:07", "[0:18]")."""
    bare = _BARE_TIME.match(text)
    return parse_timestamp(bare["ts"] or bare["ts2"]) if bare and not (bare["text"] or "").strip() else None


def _after_header_fields(lines: list[tuple[int, str]]) -> int:
    """The position after the last head-block field ("Date: 12 March") among the first short lines; 0 if none.
    Above it, even lines that name the speakers ("Interviewer: Maria Lopez") belong to the head block."""
    short = 0
    while short < min(len(lines), HEAD_LINES) and count_words(lines[short][1]) <= MAX_TITLE_WORDS:
        short += 1
    fields = [
        position
        for position, (_, text) in enumerate(lines[:short])
        if (match := _FIELD.match(text)) and match["field"].strip().casefold() in HEADER_FIELDS
    ]
    return fields[-1] + 1 if fields else 0


def _before_first_label(
    lines: list[tuple[int, str]], accepted: dict[int, _Candidate], log: ReadLog
) -> list[tuple[int, str]]:
    """A labelled transcript's head block (a title, "Date: 12 March", "Participant: P3") above the first speaker
    who speaks again is not dialogue: set aside when every line of it is short. A longer line there may be speech
    whose label the export lost, and stays."""
    turns = Counter(speaker_key(c.name) for c in accepted.values())
    first = next(
        (
            position
            for position, (line, _) in enumerate(lines)
            if line in accepted and turns[speaker_key(accepted[line].name)] > 1
        ),
        0,
    )
    first = max(first, _after_header_fields(lines))
    if first and (_time_alone(lines[first - 1][1]) is not None or _CUE_TIMING.match(lines[first - 1][1])):
        first -= 1  # the first turn's time, or its caption cue's timing, on the line above it
    if not first or any(count_words(text) > MAX_TITLE_WORDS for _, text in lines[:first]):
        return lines
    for line, text in lines[:first]:
        log.set_aside_text(line, "heading above the dialogue", text)
    return lines[first:]


def parse_labelled_lines(
    lines: list[tuple[int, str]],
    path: str,
    interview_id: str,
    log: ReadLog,
    markdown: bool = False,
    file_stem: str | None = None,
) -> list[RawTurn]:
    """Labelled lines of one interview → raw turns. Raises InputError when no speaker can be told at all.

    Several lines may share a source line (a Word paragraph's line breaks, where each line may be a turn): lines
    are told apart by their position while they are read, and turns and set-aside text cite the source line."""
    log.words_in_file += sum(count_words(text) for _, text in lines)
    source = [line for line, _ in lines]
    reasons_before = set(log.set_aside_lines)
    turns = _read_turns(list(enumerate(text for _, text in lines)), source, path, interview_id, log, markdown,
                        file_stem)  # fmt: skip
    for turn in turns:
        turn.fragments = [(source[position], text) for position, text in turn.fragments]
    for reason in set(log.set_aside_lines) - reasons_before:
        log.set_aside_lines[reason] = source[log.set_aside_lines[reason]]
    return turns


def _read_turns(
    lines: list[tuple[int, str]],
    source: list[int],
    path: str,
    interview_id: str,
    log: ReadLog,
    markdown: bool,
    file_stem: str | None,
) -> list[RawTurn]:
    """``parse_labelled_lines`` on lines keyed by position (``source``: each position's line, for errors)."""
    structural = _without_line_numbers(_structure(lines, markdown, log))
    candidates = {line: c for line, text in structural if (c := _match_label(text, line))}
    counts = Counter(speaker_key(c.name) for c in candidates.values())
    roles = {label_role(key) for key in counts} - {""}
    accepted = {
        line: c
        for line, c in candidates.items()
        if c.strong or _plausible_name(c.name, counts[speaker_key(c.name)], len(roles) == 2)
    }
    if not accepted:
        accepted = _name_lines(structural)
    structural = _after_transcript_heading(structural, accepted, log)
    named = filename_participant(file_stem or interview_id)
    sparse = len(accepted) < SPARSE_LABEL_SHARE * len(structural)
    if sparse and INTERVIEWER in roles:
        # Unlabelled lines are the participant's and a label names the interviewer: both roles are accounted for,
        # so another name must recur to be a speaker. Said once, it is a field the participant read out or typed
        # ("Location: Cork. Time window from day 1…" in a think-aloud was an 18th participant of 17 sessions).
        accepted = {
            line: c
            for line, c in accepted.items()
            if c.strong or _plausible_name(c.name, counts[speaker_key(c.name)], both_roles_known=True)
        }
    if not sparse:
        structural = _before_first_label(structural, accepted, log)
    prompts = sparse and sum(bool(_PROMPT.match(text)) for line, text in structural if line not in accepted) >= 3
    if not accepted and not named and not prompts:
        first = source[structural[0][0]] if structural else 1
        raise InputError(
            path,
            "no speaker labels found (expected lines like 'Name: text', '[00:01:02] Name: text', "
            "'Name (00:01:02):' or 'Name  0:03')",
            first,
        )
    default = named or UNLABELLED
    if sparse:
        log.warnings.append(
            f"few speaker labels ({len(accepted)} of {len(structural)} lines): unlabelled lines read as '{default}'"
            + (", numbered prompts as the moderator's" if prompts else "")
        )
    turns: list[RawTurn] = []
    cue_start: float | None = None  # "0:0:4.100 --> 0:0:9.200" before a name (Teams' Word export): its start
    for position, (line, text) in enumerate(structural):
        label = accepted.get(line)
        if label:
            log.label_words += count_words(label.name)
            start = label.start_s if label.start_s is not None else cue_start
            turns.append(RawTurn(interview_id, label.name, [(line, label.text)] if label.text else [], start))
            cue_start = None
            continue
        cue = _CUE_TIMING.match(text)
        if cue:
            cue_start = parse_timestamp(cue["start"])
            continue
        following = structural[position + 1][0] if position + 1 < len(structural) else None
        if following in accepted and (alone := _time_alone(text)) is not None:  # "00:01:07", then "Jane: …"
            cue_start = alone
            continue
        bare = _BARE_TIME.match(text)
        if bare and turns and not sparse:
            start = parse_timestamp(bare["ts"] or bare["ts2"])
            body = (bare["text"] or "").strip()
            turns.append(RawTurn(interview_id, turns[-1].speaker, [(line, body)] if body else [], start))
        elif prompts and _PROMPT.match(text):
            turns.append(RawTurn(interview_id, PROMPT, [(line, text)]))
        elif turns and not (sparse and turns[-1].speaker != default):
            turns[-1].fragments.append((line, text))
        else:
            turns.append(RawTurn(interview_id, default, [(line, text)]))
    _read_time_marks(turns)
    return turns
