"""Describe themes: keyphrase labels (class-based TF-IDF, diversified by MMR), prevalence and cited quotes.

Theme table columns:

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
quotes             str   representative quotes with citations, one per line
=================  =============================================================================

The zones stage (``zones.file_zones``) then adds ``zone, zone_confidence, zone_runner_up, zone_split``.

Quote table columns: ``theme, rank, unit_id, interview_id, speaker, timestamp, start_s, source, similarity, text``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from spacy.lang.en.stop_words import STOP_WORDS

from .ingest.turns import format_timestamp
from .segment import participant_key
from .themes import UNASSIGNED, centroids

THEME_COLUMNS = [
    "theme",
    "parent",
    "parent_label",
    "label",
    "keyphrases",
    "units",
    "participants",
    "interviews",
    "participant_share",
    "quotes",
]
QUOTE_COLUMNS = [
    "theme",
    "rank",
    "unit_id",
    "interview_id",
    "speaker",
    "timestamp",
    "start_s",
    "source",
    "similarity",
    "text",
]

# Words that carry no theme in interview speech, beyond spaCy's stop words.
INTERVIEW_STOP_WORDS = frozenset(
    [
        "yeah",
        "yes",
        "yep",
        "okay",
        "ok",
        "um",
        "uh",
        "uhm",
        "er",
        "erm",
        "ah",
        "oh",
        "hmm",
        "mm",
        "mhm",
        "like",
        "know",
        "mean",
        "guess",
        "think",
        "really",
        "actually",
        "basically",
        "honestly",
        "literally",
        "kind",
        "sort",
        "thing",
        "things",
        "stuff",
        "lot",
        "lots",
        "bit",
        "way",
        "ways",
        "right",
        "sure",
        "pretty",
        "just",
        "maybe",
        "probably",
        "little",
        "big",
        "good",
        "great",
        "able",
        "want",
        "need",
        "go",
        "going",
        "get",
        "got",
        "say",
        "said",
        "tell",
        "told",
        "look",
        "looking",
        "come",
        "let",
        "make",
        "use",
        "time",
        "year",
        "years",
        "day",
        "today",
        "people",
        "person",
        "somebody",
        "everybody",
        "everyone",
        "anybody",
        "folk",
        "guy",
        "guys",
        "question",
    ]
)
_WORD = re.compile(r"^[a-z][a-z\-']+$")


def _is_content(word: str) -> bool:
    return bool(_WORD.match(word)) and len(word) > 2 and word not in STOP_WORDS and word not in INTERVIEW_STOP_WORDS


def candidate_phrases(terms: str, noun_chunks: str, max_n: int = 3) -> list[str]:
    """Keyphrase candidates of one unit: its POS-filtered terms and cleaned noun chunks, minus filler words."""
    found = []
    for phrase in [*terms.split("|"), *noun_chunks.split("|")]:
        words = phrase.split()
        if words and len(words) <= max_n and all(_is_content(w) for w in words):
            found.append(phrase)
    return list(dict.fromkeys(found))


def class_tfidf(units: pd.DataFrame, labels: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(theme ids, vocabulary, c-TF-IDF matrix themes × terms): tf_{t,c} · log(1 + A / f_t), as in BERTopic."""
    docs = [candidate_phrases(t, nc) for t, nc in zip(units["terms"], units["noun_chunks"], strict=True)]
    ids = sorted(set(labels.tolist()) - {UNASSIGNED})
    if not any(docs):
        return ids, np.array([], dtype=object), np.zeros((len(ids), 0))
    vectorizer = CountVectorizer(analyzer=lambda phrases: phrases, min_df=1)
    counts = vectorizer.fit_transform(docs)
    membership = sparse.csr_matrix(
        (np.ones(len(labels)), (np.searchsorted(ids, labels.clip(min=0)), np.arange(len(labels)))),
        shape=(len(ids), len(labels)),
    )
    membership = membership.multiply((labels != UNASSIGNED)[None, :]).tocsr()
    tf = (membership @ counts).toarray().astype(float)
    presence = (membership @ (counts > 0).astype(float)).toarray()  # units per theme containing the phrase
    frequency = tf.sum(axis=0) + 1e-9
    average_words = tf.sum(axis=1).mean() if len(ids) else 1.0
    scores = tf * np.log1p(average_words / frequency)
    # A phrase must recur inside its theme, unless nothing in that theme recurs.
    recurs = presence >= 2
    recurs[~recurs.any(axis=1)] = presence[~recurs.any(axis=1)] >= 1
    scores[~recurs] = 0.0
    return ids, vectorizer.get_feature_names_out(), scores


def mmr(candidate_vectors: np.ndarray, relevance: np.ndarray, n: int, diversity: float = 0.5) -> list[int]:
    """Maximal marginal relevance: relevant phrases that are not near-synonyms of ones already chosen."""
    chosen: list[int] = []
    remaining = list(range(len(relevance)))
    similarity = candidate_vectors @ candidate_vectors.T
    while remaining and len(chosen) < n:
        if chosen:
            redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
            score = (1 - diversity) * relevance[remaining] - diversity * redundancy
        else:
            score = relevance[remaining]
        best = remaining[int(np.argmax(score))]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def keyphrases(
    units: pd.DataFrame, labels: np.ndarray, embeddings: np.ndarray, embed_phrases, n: int = 8, pool: int = 25
) -> dict[int, list[str]]:
    """Top ``n`` diversified keyphrases per theme; ``embed_phrases(list[str]) -> vectors`` embeds candidates."""
    ids, vocabulary, scores = class_tfidf(units, labels)
    theme_ids, theme_vectors = centroids(embeddings, labels)
    pools = {}
    for row, theme in enumerate(ids):
        order = np.argsort(-scores[row], kind="stable")[:pool]
        pools[theme] = [(vocabulary[i], scores[row, i]) for i in order if scores[row, i] > 0]
    phrases = sorted({p for pool_ in pools.values() for p, _ in pool_})
    vectors = dict(zip(phrases, embed_phrases(phrases), strict=True)) if phrases else {}
    result = {}
    for theme, candidates in pools.items():
        if not candidates:
            result[theme] = []
            continue
        words = [p for p, _ in candidates]
        tfidf = np.array([s for _, s in candidates])
        matrix = np.stack([vectors[p] for p in words])
        centroid = theme_vectors[list(theme_ids).index(theme)]
        relevance = 0.5 * tfidf / tfidf.max() + 0.5 * (matrix @ centroid)
        result[theme] = [words[i] for i in mmr(matrix, relevance, n)]
    return result


def make_label(phrases: list[str]) -> str:
    """Two keyphrases, leading with a multi-word one when it ranks near the top ("flat fee / renewal")."""
    if not phrases:
        return ""
    first = next((p for p in phrases[:4] if " " in p), phrases[0])
    second = next((p for p in phrases if p != first and p not in first and first not in p), "")
    return f"{first} / {second}" if second else first


def representative_quotes(units: pd.DataFrame, embeddings: np.ndarray, n: int = 4, min_words: int = 6) -> pd.DataFrame:
    """The most central units of each theme, one per participant first, substantial sentences preferred."""
    labels = units["theme"].to_numpy()
    columns = {c: units[c].to_numpy(dtype=object) for c in ("unit_id", "interview_id", "speaker", "source", "text")}
    start = units["start_s"].to_numpy(dtype=float)
    short = np.array([len(t.split()) < min_words for t in columns["text"]])
    who = participant_key(units).to_numpy()
    theme_ids, theme_vectors = centroids(embeddings, labels)
    rows = []
    for theme, centroid in zip(theme_ids, theme_vectors, strict=True):
        members = np.flatnonzero(labels == theme)
        similarity = embeddings[members] @ centroid
        # Substantial sentences first, then most central, then unit id (a stable tie-break).
        order = members[np.lexsort((columns["unit_id"][members].astype(str), -similarity, short[members]))]
        score = dict(zip(members.tolist(), similarity.tolist(), strict=True))
        seen: set[str] = set()
        first, rest = [], []
        for index in order:
            (rest if who[index] in seen else first).append(index)
            seen.add(who[index])
        for rank, index in enumerate((first + rest)[:n], start=1):
            rows.append(
                {
                    "theme": int(theme),
                    "rank": rank,
                    "unit_id": columns["unit_id"][index],
                    "interview_id": columns["interview_id"][index],
                    "speaker": columns["speaker"][index],
                    "timestamp": format_timestamp(start[index]),
                    "start_s": start[index],
                    "source": columns["source"][index],
                    "similarity": round(float(score[index]), 4),
                    "text": columns["text"][index],
                }
            )
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def cite(quote) -> str:
    """``"text" — Speaker, interview @ 0:12:03 (file:line)``: what a report reader needs to check a claim."""
    when = f" @ {quote.timestamp}" if quote.timestamp else ""
    return f"\u201c{quote.text}\u201d \u2014 {quote.speaker}, {quote.interview_id}{when} ({quote.source})"


def describe_themes(
    units: pd.DataFrame, embeddings: np.ndarray, embed_phrases, n_keyphrases: int = 8, n_quotes: int = 4
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit table with ``theme``/``parent`` → (theme table, quote table)."""
    labels = units["theme"].to_numpy()
    if not (labels != UNASSIGNED).any():
        return pd.DataFrame(columns=THEME_COLUMNS), pd.DataFrame(columns=QUOTE_COLUMNS)
    phrases = keyphrases(units, labels, embeddings, embed_phrases, n_keyphrases)
    parent_of = units.loc[units["theme"] != UNASSIGNED].groupby("theme")["parent"].first().to_dict()
    parent_phrases = keyphrases(units, units["parent"].to_numpy(), embeddings, embed_phrases, 3)
    quotes = representative_quotes(units, embeddings, n_quotes)
    participant = participant_key(units)
    total_participants = max(participant.nunique(), 1)
    rows = []
    for theme in sorted(set(labels.tolist()) - {UNASSIGNED}):
        mask = labels == theme
        theme_quotes = quotes[quotes["theme"] == theme]
        rows.append(
            {
                "theme": theme,
                "parent": int(parent_of[theme]),
                "parent_label": make_label(parent_phrases.get(parent_of[theme], [])),
                "label": make_label(phrases[theme]) or f"theme {theme}",
                "keyphrases": "; ".join(phrases[theme]),
                "units": int(mask.sum()),
                "participants": int(participant[mask].nunique()),
                "interviews": int(units.loc[mask, "interview_id"].nunique()),
                "participant_share": round(participant[mask].nunique() / total_participants, 4),
                "quotes": "\n".join(cite(q) for q in theme_quotes.itertuples()),
            }
        )
    return pd.DataFrame(rows, columns=THEME_COLUMNS), quotes


def theme_by_interview(units: pd.DataFrame) -> pd.DataFrame:
    """Theme × interview unit counts (theme -1 = unassigned), for spotting who drives a theme."""
    table = pd.crosstab(units["theme"], units["interview_id"]).sort_index()
    table.columns.name = None
    return table.reset_index()
