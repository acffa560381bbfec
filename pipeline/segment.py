"""Segment participant speech into analysis units with spaCy.

Units are sentences; a sentence shorter than ``min_unit_words`` is merged into the unit before it in the
same turn (or the one after), and backchannel sentences ("yeah", "mm-hmm", "right, right") are dropped with
a recorded reason. Every character of participant speech is accounted for: units plus dropped rows cover
each participant turn.

Unit table columns:

==============  ====================================================================
unit_id         str   ``interview_id:turn.k`` — stable across runs
interview_id    str
turn            int   turn number in the turn table
unit            int   1-based position of the unit inside its interview
speaker         str
text            str   the verbatim sentence(s), whitespace normalised
start_s         float start of the turn (NaN when the transcript has no timestamps)
source          str   ``path:line`` of the line the unit starts on
char_start/end  int   span inside the turn's text
lemmas          str   lower-cased lemmas of the unit's words, for keyword extraction
noun_chunks     str   ``|``-separated lemmatised noun chunks
terms           str   ``|``-separated keyphrase candidates (noun/adjective runs ending in a noun, lemmatised)
question        str   the interviewer question that prompted the answer ("" if none)
question_turn   int   turn number of that question (0 if none)
==============  ====================================================================

Dropped table columns: ``interview_id, turn, speaker, text, reason, source, char_start, char_end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from tqdm.auto import tqdm

from .ingest.roles import INTERVIEWER, PARTICIPANT

UNIT_COLUMNS = [
    "unit_id",
    "interview_id",
    "turn",
    "unit",
    "speaker",
    "text",
    "start_s",
    "source",
    "char_start",
    "char_end",
    "lemmas",
    "noun_chunks",
    "terms",
    "question",
    "question_turn",
]
DROPPED_COLUMNS = ["interview_id", "turn", "speaker", "text", "reason", "source", "char_start", "char_end"]

BACKCHANNEL = "backchannel"
_FILLER_PHRASES = re.compile(
    r"\b(you know|i mean|i see|i guess|kind of|sort of|that's right|that's true|makes sense|got it|"
    r"mm[- ]?hmm+|uh[- ]?huh|thank you|of course|for sure|fair enough|no worries)\b"
)
_FILLER_WORDS = frozenset(
    [
        "yeah",
        "yes",
        "yep",
        "yup",
        "yah",
        "ya",
        "no",
        "nope",
        "nah",
        "ok",
        "okay",
        "k",
        "right",
        "sure",
        "uh",
        "um",
        "uhm",
        "umm",
        "er",
        "erm",
        "ah",
        "ahh",
        "oh",
        "hmm",
        "hm",
        "mm",
        "mhm",
        "huh",
        "well",
        "so",
        "like",
        "totally",
        "exactly",
        "absolutely",
        "cool",
        "great",
        "good",
        "gotcha",
        "true",
        "fair",
        "definitely",
        "indeed",
        "wow",
        "alright",
        "anyway",
        "haha",
        "thanks",
        "and",
        "but",
        "or",
        "sorry",
        "interesting",
        "nice",
        "perfect",
        "correct",
        "agreed",
        "wait",
        "hey",
        "hi",
    ]
)
_WORD = re.compile(r"[a-z']+")


def is_backchannel(text: str) -> bool:
    """True when the text is only fillers and acknowledgements ("Yeah, yeah. Right, you know.")."""
    lowered = _FILLER_PHRASES.sub(" ", text.lower().replace("’", "'"))
    words = _WORD.findall(lowered)
    if re.search(r"\d", lowered):
        return False
    return all(word in _FILLER_WORDS for word in words)


def participant_key(table: pd.DataFrame) -> pd.Series:
    """One key per participant (interview id + speaker): prevalence counts these, not units."""
    return table["interview_id"].astype(str) + "\x1f" + table["speaker"].astype(str)


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
    kind: str  # "unit" | BACKCHANNEL


def _spans(doc, min_words: int, max_passage_words: int = 0) -> list[_Span]:
    """Sentence spans of one turn, with short sentences merged and backchannels marked."""
    spans: list[_Span] = []
    pending: _Span | None = None  # a short sentence waiting to be prefixed to the next unit
    for sent in doc.sents:
        words = sum(1 for t in sent if not (t.is_punct or t.is_space))
        if words == 0 and spans:
            spans[-1].end = sent.end_char
            continue
        if is_backchannel(sent.text):
            if pending:
                spans.append(pending)
                pending = None
            spans.append(_Span(sent.start_char, sent.end_char, words, BACKCHANNEL))
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


def _lemma(token) -> str:
    lemma = token.lemma_.lower()
    return _LEMMA_FIXES.get(lemma, lemma)


def _terms(span, max_n: int = 3) -> str:
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
                    found.append(" ".join(_lemma(t) for t in gram))
        run = []
    return "|".join(dict.fromkeys(found))


def _chunks(span) -> str:
    chunks = []
    for chunk in span.noun_chunks:
        words = [_lemma(t) for t in chunk if not (t.is_stop or t.is_punct or t.is_space or t.pos_ == "PRON")]
        if words:
            chunks.append(" ".join(words))
    return "|".join(chunks)


def segment(
    turns: pd.DataFrame,
    nlp,
    min_unit_words: int = 4,
    max_passage_words: int = 45,
    batch_size: int = 64,
    n_process: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn table → (unit table, dropped table). Interviewer turns are context, never units."""
    questions = _question_context(turns)
    participant = turns[turns["role"] == PARTICIPANT]
    units, dropped = [], []
    counters: dict[str, int] = {}
    docs = nlp.pipe(participant["text"].tolist(), batch_size=batch_size, n_process=n_process)
    rows = participant.itertuples(index=False)
    for row, doc in tqdm(
        zip(rows, docs, strict=True), total=len(participant), desc="segment", unit="turn", disable=None
    ):
        question, question_turn = questions.get((row.interview_id, row.turn), ("", 0))
        path = row.source.rsplit(":", 1)[0]
        for k, span in enumerate(_spans(doc, min_unit_words, max_passage_words), start=1):
            text = " ".join(doc.text[span.start : span.end].split())
            line = row.lines[min(doc.text.count("\n", 0, span.start), len(row.lines) - 1)]
            base = {
                "interview_id": row.interview_id,
                "turn": row.turn,
                "speaker": row.speaker,
                "text": text,
                "source": f"{path}:{line}",
                "char_start": span.start,
                "char_end": span.end,
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
                    "lemmas": " ".join(_lemma(t) for t in sub if not (t.is_punct or t.is_space)),
                    "noun_chunks": _chunks(sub),
                    "terms": _terms(sub),
                    "question": question,
                    "question_turn": question_turn,
                }
            )
    unit_table = pd.DataFrame(units, columns=UNIT_COLUMNS)
    dropped_table = pd.DataFrame(dropped, columns=DROPPED_COLUMNS)
    return unit_table, dropped_table


def _question_context(turns: pd.DataFrame) -> dict[tuple[str, int], tuple[str, int]]:
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
