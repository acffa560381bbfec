"""Segment participant speech into analysis units with spaCy.

Units are sentences; a sentence shorter than ``min_unit_words`` is merged into the unit before it in the
same turn (or the one after). Sentences that carry nothing to analyse (backchannels, no content, small talk,
questions put back to the interviewer: ``set_aside_reason``) are set aside with the reason, so they never form a
theme. Every character of participant speech is accounted for: units plus dropped rows cover each participant
turn.

Unit and dropped tables: see ``tables``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import registry
from .config import StageParams
from .ingest.roles import INTERVIEWER, PARTICIPANT
from .parallel import PARALLEL_FROM, available_cores, forked_workers
from .progress import with_progress
from .resources import language
from .tables import DROPPED_COLUMNS, UNIT_COLUMNS


@dataclass(frozen=True)
class SegmentParams(StageParams):
    """What shapes units; the model and word limits are part of the segment cache key."""

    spacy_model: str
    min_unit_words: int
    max_passage_words: int  # a short stretch of speech stays one unit
    spacy_batch_size: int
    spacy_batch_chars: int
    max_parse_chars: int  # part of the cache key too: pieces can change where a long turn's sentences end
    spacy_n_process: int  # worker processes; 0 = every core once there are ``PARALLEL_FROM`` participant turns


# Why participant speech is set aside instead of becoming a unit (the ``reason`` of the dropped table).
BACKCHANNEL = "backchannel"
NO_CONTENT = "no content"
SMALL_TALK = "small talk"
QUESTION_BACK = "question to the interviewer"
CONVERSATION = "conversation"  # of a theme of greetings, thanks and interruptions, and fits no other theme
_WORD = re.compile(r"[a-z']+")
_OTHER_LETTERS = re.compile(r"[^\W\da-z_]")  # letters of other scripts (汉字, кириллица, é): never a filler


def is_backchannel(text: str) -> bool:
    """True when the text is only fillers and acknowledgements ("Yeah, yeah. Right, you know.")."""
    filler = language()
    lowered = filler.filler_phrases.sub(" ", text.lower().replace("’", "'"))
    words = _WORD.findall(lowered)
    if re.search(r"\d", lowered) or _OTHER_LETTERS.search(lowered):  # numbers, or words the lists cannot judge
        return False
    return all(word in filler.filler_words for word in words)


def set_aside_reason(sent, interviewed: bool) -> str | None:
    """Why a sentence (a spaCy span) carries nothing to analyse, or None when it does.

    Backchannels ("Yeah, right."); no content, only stop words, fillers and hedges ("I don't know.", "That's about
    it."); small talk and logistics, every content word a small-talk word ("Sounds good. Ready when you are!");
    a question put back to the interviewer ("How detailed should you want my answers?"), only once an interviewer
    has spoken (``interviewed``): a customer's question in a support log or survey is content. Word lists are data
    (``models/language/en.toml``); measured on real quotes by ``benchmarks/units.py``.
    """
    if is_backchannel(sent.text):
        return BACKCHANNEL
    words = language()
    tokens = [t for t in sent if not (t.is_punct or t.is_space)]
    content = [lemma(t) for t in tokens if _is_content(t, words)]
    if not content and not any(t.like_num for t in tokens):
        return NO_CONTENT
    if content and len(tokens) <= words.small_talk_max_words and all(w in words.small_talk_words for w in content):
        return SMALL_TALK
    if interviewed and _asks_the_interviewer(sent.text, tokens, words):
        return QUESTION_BACK
    return None


def _is_content(token, words) -> bool:
    """A word that can carry content: letters, not a stop word, filler or hedge, and not a lone small letter (a
    typo or a broken clitic: "Im ready" parses as "I", "m"; "R", the language, may be content)."""
    return (
        any(c.isalpha() for c in token.text)
        and not (len(token.text) == 1 and token.text.islower())
        and not token.is_stop
        and token.lower_ not in words.contentless_words
        and lemma(token) not in words.contentless_words
    )


def _asks_the_interviewer(text: str, tokens: list, words) -> bool:
    """A short direct question (opening with an auxiliary or wh-word after fillers) that names the listener;
    "you know" and other filler phrases do not count ("Why would I pay for that, you know?" is content)."""
    if not text.rstrip().endswith("?") or len(tokens) > words.question_max_words:
        return False
    said = _WORD.findall(words.filler_phrases.sub(" ", text.lower()))  # "So I guess, does that..." opens on "does"
    opening = next((w for w in said if w not in words.filler_words), "")
    return opening in words.question_openers and bool(set(said) & words.second_person)


def last_question(text: str) -> str:
    """The interviewer's last question sentence — the prompt an answer responds to."""
    sentences = re.split(r"(?<=[.?!])\s+", " ".join(text.split()))
    questions = [s for s in sentences if "?" in s]
    return questions[-1] if questions else " ".join(text.split())


@dataclass
class _Span:
    start: int
    end: int
    words: int
    kind: str  # "unit", or why it is set aside (BACKCHANNEL, NO_CONTENT, ...)


def _spans(doc, min_words: int, max_passage_words: int, interviewed: bool) -> list[_Span]:
    """Sentence spans of one turn, with short sentences merged and what carries no content marked."""
    spans: list[_Span] = []
    pending: _Span | None = None  # a short sentence waiting to be prefixed to the next unit
    for sent in doc.sents:
        words = sum(1 for t in sent if not (t.is_punct or t.is_space))
        if words == 0 and spans:
            spans[-1].end = sent.end_char
            continue
        reason = set_aside_reason(sent, interviewed)
        if reason:
            if pending:
                spans.append(pending)
                pending = None
            spans.append(_Span(sent.start_char, sent.end_char, words, reason))
            continue
        current = _Span(
            pending.start if pending else sent.start_char,
            sent.end_char,
            words + (pending.words if pending else 0),
            "unit",
        )
        pending = None
        previous = spans[-1] if spans else None
        if current.words < min_words and previous and previous.kind == "unit":
            previous.end, previous.words = current.end, previous.words + current.words
        elif current.words < min_words:
            pending = current
        elif previous and previous.kind == "unit" and previous.words < min_words:
            previous.end, previous.words = current.end, previous.words + current.words
        else:
            spans.append(current)
    if pending:
        spans.append(pending)
    return _short_passages(spans, max_passage_words)


def _short_passages(spans: list[_Span], max_words: int) -> list[_Span]:
    """A run of adjacent units totalling at most ``max_words`` stays one passage: a brief answer is one thought."""
    merged: list[_Span] = []
    run: list[_Span] = []

    def flush() -> None:
        words = sum(s.words for s in run)
        if len(run) > 1 and words <= max_words:
            merged.append(_Span(run[0].start, run[-1].end, words, "unit"))
        else:
            merged.extend(run)
        run.clear()

    for span in spans:
        if span.kind == "unit":
            run.append(span)
        else:
            flush()
            merged.append(span)
    flush()
    return merged


_TERM_POS = {"NOUN", "PROPN", "ADJ"}
_LEMMA_FIXES = {"datum": "data"}  # the English lemmatizer's plural of "data"


def lemma(token) -> str:
    """A token's lemma as every table holds it: lower case, spaCy's slips mended (``_LEMMA_FIXES``)."""
    found = token.lemma_.lower()
    return _LEMMA_FIXES.get(found, found)


def lemma_string(tokens) -> str:
    """The ``lemmas`` column of a unit: its words' lemmas, lower case, punctuation left out."""
    return " ".join(lemma(t) for t in tokens if not (t.is_punct or t.is_space))


MAX_TERM_WORDS = 3  # the longest keyphrase candidate, in words


def _terms(span, max_n: int = MAX_TERM_WORDS) -> str:
    """Keyphrase candidates: runs of nouns/adjectives (no stop word inside) ending in a noun, as lemmas."""
    found: list[str] = []
    run: list = []
    for token in [*span, None]:
        if token is not None and token.pos_ in _TERM_POS and token.is_alpha and not token.is_stop:
            run.append(token)
            continue
        for n in range(1, max_n + 1):
            for i in range(len(run) - n + 1):
                gram = run[i : i + n]
                if gram[-1].pos_ in {"NOUN", "PROPN"}:
                    found.append(" ".join(lemma(t) for t in gram))
        run = []
    return "|".join(dict.fromkeys(found))


def _doc_chunks(doc) -> list[tuple[int, int, str]]:
    """Every noun chunk of a parsed piece once, as ``(first token, end token, lemmas)``: asking each unit's span
    for its chunks walks the whole piece each time (quadratic in a long turn)."""
    chunks = []
    for chunk in doc.noun_chunks:
        words = [lemma(t) for t in chunk if not (t.is_stop or t.is_punct or t.is_space or t.pos_ == "PRON")]
        if words:
            chunks.append((chunk.start, chunk.end, " ".join(words)))
    return chunks


def _chunks(chunks: list[tuple[int, int, str]], starts: list[int], span) -> str:
    """The ``|``-separated noun chunks that lie inside ``span`` (``starts``: each chunk's first token)."""
    first = bisect.bisect_left(starts, span.start)
    inside = []
    for start, end, words in chunks[first:]:
        if start >= span.end:
            break
        if end <= span.end:
            inside.append(words)
    return "|".join(inside)


_PIECE_ENDS = (re.compile(r"\n"), re.compile(r"[.!?…]\s+"), re.compile(r"\s+"))  # preferred cuts, best first


def pieces(text: str, max_chars: int) -> list[tuple[int, str]]:
    """``(offset, piece)`` covering ``text``: a long turn cut at line breaks, else sentence ends, else spaces
    (a single unbroken run is cut hard), so no parse ever sees a monologue whole."""
    found, start = [], 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        ends = (max((m.end() for m in end.finditer(window)), default=0) for end in _PIECE_ENDS)
        cut = next((cut for cut in ends if cut > max_chars // 2), max_chars)
        found.append((start, window[:cut]))
        start += cut
    found.append((start, text[start:]))
    return found


def segment(turns: pd.DataFrame, nlp, params: SegmentParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn table → (unit table, dropped table). Interviewer turns are context, never units.

    Interviews are independent, so a large study (``PARALLEL_FROM`` participant turns) is cut into chunks of whole
    interviews that forked worker processes segment exactly as one process would, one per core (``spacy_n_process``):
    spaCy's own ``n_process`` parallelises the parse only, and left the rest of this stage on one core.
    """
    participant_turns = int((turns["role"] == PARTICIPANT).sum())
    processes = params.spacy_n_process or (available_cores() if participant_turns >= PARALLEL_FROM else 1)
    chunks = interview_chunks(turns, processes * 4) if processes > 1 else [turns]
    with forked_workers(processes if len(chunks) > 1 else 0) as pool:
        if pool is None:
            return _segment(turns, nlp, params, progress=True)
        done = pool.map(_segment_chunk, chunks, [params] * len(chunks))
        results = list(with_progress(done, "segment", len(chunks), "chunk"))
    return (
        pd.concat([units for units, _ in results], ignore_index=True),
        pd.concat([dropped for _, dropped in results], ignore_index=True),
    )


def interview_chunks(turns: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """At most ``n`` runs of whole interviews, in order, each holding about as much participant text."""
    sizes = turns["text"].str.len().where(turns["role"] == PARTICIPANT, 0).groupby(turns["interview_id"], sort=False)
    totals = sizes.sum()
    bounds = np.searchsorted(totals.cumsum().to_numpy(), np.linspace(0, totals.sum(), n + 1)[1:-1], side="right")
    groups = np.split(totals.index.to_numpy(), bounds)
    return [turns[turns["interview_id"].isin(ids)] for ids in groups if len(ids)]


def _segment_chunk(turns: pd.DataFrame, params: SegmentParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A worker's share: forked, it finds the parent's loaded model in ``registry``'s cache."""
    return _segment(turns, registry.load_spacy(params.spacy_model), params, progress=False)


def _segment(turns: pd.DataFrame, nlp, params: SegmentParams, progress: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    questions = question_context(turns)
    participant = list(turns[turns["role"] == PARTICIPANT].itertuples(index=False))
    parts = [
        (i, offset, piece)
        for i, row in enumerate(participant)
        for offset, piece in pieces(row.text, params.max_parse_chars)
    ]
    mean_chars = sum(len(piece) for _, _, piece in parts) / max(len(parts), 1)
    batch = max(1, min(params.spacy_batch_size, int(params.spacy_batch_chars // max(mean_chars, 1))))
    docs = nlp.pipe((piece for _, _, piece in parts), batch_size=batch)
    units, dropped = [], []
    counters: dict[str, int] = {}
    spans_in_turn: dict[int, int] = {}
    for (i, offset, _), doc in with_progress(zip(parts, docs, strict=True), "segment", len(parts), "passage", progress):
        row = participant[i]
        question, question_turn = questions.get((row.interview_id, row.turn), ("", 0))
        if offset == 0:  # a turn's first piece: where its source lines break
            breaks = [m.start() for m in re.finditer("\n", row.text)]
        chunks = _doc_chunks(doc)
        chunk_starts = [start for start, _, _ in chunks]
        for span in _spans(doc, params.min_unit_words, params.max_passage_words, question_turn > 0):
            spans_in_turn[i] = k = spans_in_turn.get(i, 0) + 1
            start, end = offset + span.start, offset + span.end
            base = {
                "interview_id": row.interview_id,
                "turn": row.turn,
                "speaker": row.speaker,
                "text": " ".join(row.text[start:end].split()),
                "source_file": row.source_file,
                "line": row.lines[min(bisect.bisect_left(breaks, start), len(row.lines) - 1)],
                "char_start": start,
                "char_end": end,
            }
            if span.kind != "unit":
                dropped.append({**base, "reason": span.kind})
                continue
            counters[row.interview_id] = counters.get(row.interview_id, 0) + 1
            sub = doc.char_span(span.start, span.end, alignment_mode="expand")
            units.append(
                {
                    **base,
                    "unit_id": f"{row.interview_id}:{row.turn}.{k}",
                    "unit": counters[row.interview_id],
                    "start_s": row.start_s,
                    "lemmas": lemma_string(sub),
                    "noun_chunks": _chunks(chunks, chunk_starts, sub),
                    "terms": _terms(sub),
                    "question": question,
                    "question_turn": question_turn,
                }
            )
    unit_table = pd.DataFrame(units, columns=UNIT_COLUMNS)
    dropped_table = pd.DataFrame(dropped, columns=DROPPED_COLUMNS)
    return unit_table, dropped_table


def set_aside(
    units: pd.DataFrame, dropped: pd.DataFrame, rows: np.ndarray, reason: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The units at ``rows`` (a mask) moved to the dropped table with ``reason``; dropped rows stay in reading
    order (interviews as they come, then turn and position), so every character is still accounted for."""
    moved = units.loc[rows].assign(reason=reason)[DROPPED_COLUMNS]
    merged = pd.concat([dropped, moved], ignore_index=True)
    interviews = {i: n for n, i in enumerate(pd.unique(pd.concat([dropped["interview_id"], units["interview_id"]])))}
    order = merged.assign(_interview=merged["interview_id"].map(interviews))
    order = order.sort_values(["_interview", "turn", "char_start"], kind="stable").index
    return units.loc[~rows].reset_index(drop=True), merged.loc[order].reset_index(drop=True)


def question_context(turns: pd.DataFrame) -> dict[tuple[str, int], tuple[str, int]]:
    """For each participant turn, the latest interviewer question before it in the same interview."""
    context: dict[tuple[str, int], tuple[str, int]] = {}
    for interview_id, group in turns.groupby("interview_id", sort=False):
        latest = ("", 0)
        for row in group.itertuples(index=False):
            if row.role == INTERVIEWER:
                latest = (last_question(row.text), row.turn)
            else:
                context[(interview_id, row.turn)] = latest
    return context
