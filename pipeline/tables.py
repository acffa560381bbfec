"""The tables that flow between stages: their columns, and the participant key prevalence counts.

The turn table and the speaker table are documented with ingest (``ingest.turns``, ``ingest.roles``).

Unit table (``segment``; ``themes`` adds ``theme, theme_confidence, theme_stability, parent``; ``zones`` adds ``zone,
zone_confidence``):

==============  ====================================================================
unit_id         str   ``interview_id:turn.k`` — stable across runs
interview_id    str
turn            int   turn number in the turn table
unit            int   1-based position of the unit inside its interview
speaker         str
text            str   the verbatim sentence(s), whitespace normalised
start_s         float start of the turn (NaN when the transcript has no timestamps)
source_file     str   the transcript, relative to the input folder
line            int   the line (DOCX: paragraph) the unit starts on
char_start/end  int   span inside the turn's text
lemmas          str   lower-cased lemmas of the unit's words, for keyword extraction
noun_chunks     str   ``|``-separated lemmatised noun chunks
terms           str   ``|``-separated keyphrase candidates (noun/adjective runs ending in a noun, lemmatised)
question        str   the interviewer question that prompted the answer ("" if none)
question_turn   int   turn number of that question (0 if none)
==============  ====================================================================

Dropped table: participant speech set aside, with the reason (``DROPPED_COLUMNS``).

Theme table (``describe``; ``zones`` adds ``zone, zone_confidence, zone_runner_up, zone_split``):

=================  =============================================================================
theme              int   theme id (0 = voiced by most participants)
parent             int   parent theme id (themes grouped for reading at a coarser level)
parent_label       str   label of the parent theme
label              str   short label: the two best keyphrases
keyphrases         str   5–10 keyphrases, ``; ``-separated, best first
units              int   analysis units in the theme
participants       int   distinct participants voicing it
interviews         int   distinct interviews voicing it
participant_share  float participants / all participants in the corpus
stability          float share of the seeds' runs (Leiden; HDBSCAN: UMAP layouts) that reproduce it (Jaccard > 0.5)
description        str   the researcher's description, from a codebook ("" otherwise)
origin             str   found (no codebook); codebook, new, split or seed with ``--codebook``
=================  =============================================================================

Quote table: the most representative units of each theme, ranked (``QUOTE_COLUMNS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNASSIGNED = -1  # the theme (and persona) of what fits none
CONVERSATION_THEME = -2  # the theme stage's mark on talk about the conversation itself; the runner sets it aside

UNIT_COLUMNS = [
    "unit_id",
    "interview_id",
    "turn",
    "unit",
    "speaker",
    "text",
    "start_s",
    "source_file",
    "line",
    "char_start",
    "char_end",
    "lemmas",
    "noun_chunks",
    "terms",
    "question",
    "question_turn",
]
DROPPED_COLUMNS = ["interview_id", "turn", "speaker", "text", "reason", "source_file", "line", "char_start", "char_end"]
THEME_COLUMNS = [
    "theme",
    "parent",
    "parent_label",
    "label",
    "label_form",
    "keyphrases",
    "units",
    "participants",
    "interviews",
    "participant_share",
    "stability",
]
# A theme's ``label_form``: how its label came about. A persona's archetype phrases a label by it (a zone's verb
# takes a noun phrase, not a verb phrase: ``personas.archetype``).
VERB_PHRASE, NOUN_PHRASE = "verb phrase", "noun phrase"  # in the participants' words (``invivo``)
KEYPHRASES, OPENING_WORDS = "keyphrases", "opening words"  # the fallbacks (``describe.describe_themes``)
CODEBOOK_LABEL = "codebook"  # named by the researcher's codebook (``codebook.edited_themes``)
QUOTE_COLUMNS = [
    "theme",
    "rank",
    "unit_id",
    "interview_id",
    "speaker",
    "timestamp",
    "start_s",
    "source_file",
    "line",
    "similarity",
    "text",
]


KEY_SEPARATOR = "\x1f"  # never in an interview id or a speaker name (control characters are stripped on ingest)


def participant_key(table: pd.DataFrame) -> pd.Series:
    """One key per participant (interview id + speaker): prevalence counts these, not units."""
    return table["interview_id"].astype(str) + KEY_SEPARATOR + table["speaker"].astype(str)


def said_before(texts: pd.Series) -> np.ndarray:
    """Per text, whether the same words (case and spacing aside) came earlier in ``texts``: evidence that repeats
    itself (one meeting in two exports) shows nothing new."""
    return texts.astype(str).str.casefold().str.split().str.join(" ").duplicated().to_numpy()


def participant_of(row) -> str:
    """``participant_key`` of one unit or quote row."""
    return f"{row.interview_id}{KEY_SEPARATOR}{row.speaker}"
