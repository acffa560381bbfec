"""JSON transcripts: diarized speech-to-text output and turn lists, found by shape rather than by vendor.

Covered shapes: Deepgram (``results.utterances``), AssemblyAI (``utterances``, times in ms), Whisper/WhisperX and
generic ``segments`` (``speaker, start, end, text``), turn lists (``[{speaker, text, timestamp}]``), meeting
corpora (``meeting_transcripts: [{speaker, content}]``), Rev (``monologues``, each a speaker and the ``elements`` of
its words and punctuation), Amazon Transcribe (``results.items``, one word each, and the speaker of each word's
time in ``results.speaker_labels``) and objects keyed by ``"0"``, ``"1"``… The turn records
are the longest list of objects that carry text, preferring those that also name a speaker. Speaker numbers
become ``Speaker 0``…; a record without a speaker continues the previous speaker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from .decode import read_text
from .normalise import count_words
from .turns import RawTurn, ReadLog, parse_seconds

_TEXT_KEYS = ("text", "transcript", "content", "utterance", "sentence", "caption")
_SPEAKER_KEYS = ("speaker", "speaker_label", "speaker_name", "speakerName", "name", "channel_speaker")
_START_KEYS = ("start", "start_time", "startTime", "timestamp", "begin", "offset", "start_ms")
_END_KEYS = ("end", "end_time", "endTime", "stop", "end_ms")
_MILLISECOND_FLOOR = 20_000  # integer start times above this are milliseconds (AssemblyAI), not seconds


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in record and record[k] not in (None, "")), None)


def _candidate_lists(node: Any) -> list[list[dict[str, Any]]]:
    """Every list of objects in the document, plus objects keyed by consecutive integers ("0", "1"…)."""
    found: list[list[dict[str, Any]]] = []
    if isinstance(node, list):
        objects = [item for item in node if isinstance(item, dict)]
        if objects:
            found.append(objects)
        for item in node:
            found.extend(_candidate_lists(item))
    elif isinstance(node, dict):
        numbered = [node[k] for k in node if k.isdigit() and isinstance(node[k], dict)]
        if numbered:
            found.append(numbered)
        for value in node.values():
            found.extend(_candidate_lists(value))
    return found


def _with_joined_elements(node: Any) -> Any:
    """Records whose words come as ``elements`` (Rev: ``{"type": "text", "value": "We", "ts": 1.2}`` and
    ``{"type": "punct", "value": " "}``) given the ``text`` they spell and the ``start`` of their first word."""
    if isinstance(node, list):
        return [_with_joined_elements(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _with_joined_elements(value) for key, value in node.items()}
    elements = node.get("elements")
    if _first(node, _TEXT_KEYS) is None and isinstance(elements, list) and elements:
        pieces = [e for e in elements if isinstance(e, dict) and isinstance(e.get("value"), str)]
        timed = [e["ts"] for e in pieces if isinstance(e.get("ts"), int | float) and not isinstance(e["ts"], bool)]
        node["text"] = "".join(e["value"] for e in pieces).strip()
        if timed and _first(node, _START_KEYS) is None:
            node["start"] = float(timed[0])
    return node


def _word_records(document: Any) -> list[dict[str, Any]] | None:
    """Amazon Transcribe: ``results.items`` holds one word or punctuation mark each, the full text holds no speaker,
    and the speaker of each word is in ``results.speaker_labels.segments`` by its start time (or on the item, in
    newer output). Consecutive words of one speaker become one record; None for any other shape."""
    results = document.get("results") if isinstance(document, dict) else None
    labels = results.get("speaker_labels") if isinstance(results, dict) else None
    items = results.get("items") if isinstance(results, dict) else None
    if not isinstance(labels, dict) or not isinstance(items, list):
        return None
    speaker_at = {
        word.get("start_time"): word.get("speaker_label") or segment.get("speaker_label")
        for segment in labels.get("segments") or [] if isinstance(segment, dict)
        for word in segment.get("items") or [] if isinstance(word, dict)
    }  # fmt: skip
    records: list[dict[str, Any]] = []
    for item in items:
        alternatives = item.get("alternatives") if isinstance(item, dict) else None
        word = alternatives[0].get("content") if alternatives and isinstance(alternatives[0], dict) else None
        if not isinstance(word, str):
            continue
        if item.get("type") == "punctuation":
            if records:
                records[-1]["text"] += word
            continue
        speaker = item.get("speaker_label") or speaker_at.get(item.get("start_time"))
        if records and records[-1]["speaker"] == speaker:
            records[-1]["text"] += f" {word}"
        else:
            records.append({"speaker": speaker, "text": word, "start_time": item.get("start_time")})
    return records or None


def _turn_records(document: Any) -> list[dict[str, Any]]:
    def score(records: list[dict[str, Any]]) -> tuple[int, int]:
        with_text = [r for r in records if _first(r, _TEXT_KEYS) and isinstance(r[_first(r, _TEXT_KEYS)], str)]
        return (sum(_first(r, _SPEAKER_KEYS) is not None for r in with_text) > 0, len(with_text))

    lists = [records for records in _candidate_lists(document) if score(records)[1]]
    return max(lists, key=score, default=[])


def _times(records: list[dict[str, Any]], keys: tuple[str, ...]) -> list[float | None]:
    raw = [r.get(_first(r, keys) or "") for r in records]
    numbers = [v for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
    millis = bool(numbers) and all(isinstance(v, int) for v in numbers) and max(numbers) > _MILLISECOND_FLOOR

    def seconds(value: Any) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value / 1000 if millis else float(value)
        return parse_seconds(value) if isinstance(value, str) else None

    return [seconds(v) for v in raw]


def _speaker(value: Any) -> str:
    """Diarization numbers (``0``, ``"1"``) become ``Speaker 0``; names stay as written."""
    text = str(value).strip()
    return f"Speaker {text}" if text.isdigit() else text


def read_json(path: Path, log: ReadLog) -> list[RawTurn]:
    text, decode_warnings = read_text(path)
    log.warnings.extend(decode_warnings)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from exc
    records = _word_records(document) or _turn_records(_with_joined_elements(document))
    if not records:
        raise InputError(path, f"no list of turns with text (expected objects with one of: {', '.join(_TEXT_KEYS)})")
    starts, ends = _times(records, _START_KEYS), _times(records, _END_KEYS)
    turns: list[RawTurn] = []
    cursor, line, speaker, unnamed = 0, 1, "Speaker", 0
    for record, start, end in zip(records, starts, ends, strict=True):
        body = record.get(_first(record, _TEXT_KEYS) or "")
        if not isinstance(body, str) or not body.strip():
            continue
        log.words_in_file += count_words(body)
        key = _first(record, _SPEAKER_KEYS)
        if key is None:
            unnamed += 1
        else:
            speaker = _speaker(record[key])
        line, cursor = _line_of(text, body, cursor, line)
        turns.append(RawTurn(path.stem, speaker, [(line, body)], start, end))
    if unnamed:
        log.warnings.append(f"{unnamed} records without a speaker read as the previous speaker going on")
    if not turns:
        raise InputError(path, "no turn in this file has text")
    return turns


def _line_of(source: str, body: str, cursor: int, line: int) -> tuple[int, int]:
    """The line where ``body`` is written in the JSON source, searching forward from ``cursor`` (on ``line``).

    Records come in file order, so the file is scanned once; an encoded string holds no raw newline. Text the
    reader assembled (Rev's word elements) is not in the source as one string: its first word is."""
    first_word = word[0] if (word := re.search(r"\w+", body)) else body
    for encoded in (json.dumps(t, ensure_ascii=ascii)[1:-1] for t in (body, first_word) for ascii in (False, True)):
        found = source.find(encoded, cursor)
        if found >= 0:
            return line + source.count("\n", cursor, found), found + len(encoded)
    return line, cursor
