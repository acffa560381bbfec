"""Describe themes: keyphrase labels (class-based TF-IDF, diversified by MMR), prevalence and cited quotes.

Theme and quote tables: see ``tables``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from spacy.lang.en.stop_words import STOP_WORDS

from .config import StageParams
from .ingest.turns import format_timestamp
from .invivo import NAME_ENTITIES, label_themes
from .resources import language
from .segment import MAX_TERM_WORDS, lemma
from .tables import KEYPHRASES, OPENING_WORDS, QUOTE_COLUMNS, THEME_COLUMNS, UNASSIGNED, participant_key, said_before
from .themes import centroids


@dataclass(frozen=True)
class DescribeParams(StageParams):
    """How themes are described."""

    n_keyphrases: int
    label_units: int
    label_max_words: int
    label_shortlist: int
    label_support_weight: float
    parent_keyphrases: int
    keyphrase_pool: int  # c-TF-IDF candidates per theme that MMR chooses from
    mmr_diversity: float
    n_quotes: int
    quote_min_words: int  # shorter units are quoted only when a theme has nothing longer
    quote_min_content: int  # units with fewer words that say something likewise (``slight``)


_WORD = re.compile(r"^[a-z][a-z\-']+$")


@lru_cache(maxsize=200_000)  # a study repeats its words: checked once each, not once per unit
def _is_content(word: str) -> bool:
    topicless = language().topicless_words
    return bool(_WORD.match(word)) and len(word) > 2 and word not in STOP_WORDS and word not in topicless


@lru_cache(maxsize=200_000)
def _says_something(word: str) -> bool:
    """A lemma that carries meaning in a quote: segmentation's content word (``segment._is_content``, which reads
    parsed tokens) read from a unit's stored lemmas; unlike a keyphrase word, "want" counts."""
    return bool(_WORD.match(word)) and word not in STOP_WORDS and word not in language().contentless_words


def substance(units: pd.DataFrame) -> np.ndarray:
    """Per unit, how many of its words say something (``_says_something``): "Um, so we can either optimize that,
    um, or uh," says one thing, "Honestly it's also about my reputation with the CFO." two."""
    return np.array([sum(_says_something(w) for w in lemmas.split()) for lemmas in units["lemmas"]])


def slight(units: pd.DataFrame, min_words: int, min_content: int) -> np.ndarray:
    """Per unit: quoted only when nothing fuller is at hand: fewer than ``min_words`` words, or fewer than
    ``min_content`` words that say something (``substance``). Chosen by centrality alone, 5 % of the quotes of the
    spoken ML interviews and 17 % of the oral histories' were such ("Possibly, yeah."; "We were running sort of a.")."""
    words = units["text"].str.split().str.len().to_numpy()
    return (words < min_words) | (substance(units) < min_content)


def candidate_phrases(terms: str, noun_chunks: str, max_n: int = MAX_TERM_WORDS) -> list[str]:
    """Keyphrase candidates of one unit: its POS-filtered terms and cleaned noun chunks, minus filler words."""
    found = []
    for phrase in [*terms.split("|"), *noun_chunks.split("|")]:
        words = phrase.split()
        if words and len(words) <= max_n and all(_is_content(w) for w in words):
            found.append(phrase)
    return list(dict.fromkeys(found))


def unit_candidates(units: pd.DataFrame) -> list[list[str]]:
    """Each unit's keyphrase candidates (found once, for both themes and parents)."""
    return [candidate_phrases(t, nc) for t, nc in zip(units["terms"], units["noun_chunks"], strict=True)]


def _member_of(ids: list[int], labels: np.ndarray) -> sparse.csr_matrix:
    """Themes × rows: 1 where the row belongs to the theme (unassigned rows belong to none)."""
    rows = np.arange(len(labels))
    ones = (labels != UNASSIGNED).astype(float)
    return sparse.csr_matrix((ones, (np.searchsorted(ids, labels.clip(min=0)), rows)), shape=(len(ids), len(labels)))


def class_tfidf(
    docs: list[list[str]], labels: np.ndarray, speakers: np.ndarray | None = None
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(theme ids, vocabulary, c-TF-IDF matrix themes × terms) from each unit's candidates (``unit_candidates``):
    tf_{t,c} · log(1 + A / f_t), as in BERTopic, with tf counting each of the theme's ``speakers`` (one key per
    unit) who said the phrase once, however often they said it: one participant's own subject ("fluorescence", said
    three times by one scientist) is not what a theme voiced by 66 participants is about. Without speakers, tf
    counts units."""
    ids = sorted(set(labels.tolist()) - {UNASSIGNED})
    if not any(docs):
        return ids, np.array([], dtype=object), np.zeros((len(ids), 0))
    vectorizer = CountVectorizer(analyzer=lambda phrases: phrases, min_df=1)
    counts = vectorizer.fit_transform(docs)
    holds, member = (counts > 0).astype(float), _member_of(ids, labels)
    tf = (member @ counts).toarray().astype(float)
    presence = (member @ holds).toarray()  # units per theme holding the phrase
    if speakers is not None:  # a phrase counts once per speaker who said it in the theme
        pairs, first = np.unique(np.column_stack([labels, pd.factorize(speakers)[0]]), axis=0, return_inverse=True)
        said = (sparse.csr_matrix((np.ones(len(labels)), (first.ravel(), np.arange(len(labels))))) @ holds).sign()
        tf = (_member_of(ids, pairs[:, 0]) @ said).toarray()
    frequency = tf.sum(axis=0) + 1e-9
    average_words = tf.sum(axis=1).mean() if len(ids) else 1.0
    scores = tf * np.log1p(average_words / frequency)
    # A phrase must recur inside its theme, unless nothing in that theme recurs.
    recurs = presence >= 2
    recurs[~recurs.any(axis=1)] = presence[~recurs.any(axis=1)] >= 1
    scores[~recurs] = 0.0
    return ids, vectorizer.get_feature_names_out(), scores


def mmr(candidate_vectors: np.ndarray, relevance: np.ndarray, n: int, diversity: float) -> list[int]:
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
    candidates: list[list[str]],
    labels: np.ndarray,
    embeddings: np.ndarray,
    embed_phrases,
    n: int,
    params: DescribeParams,
    speakers: np.ndarray | None = None,
) -> dict[int, list[str]]:
    """Top ``n`` diversified keyphrases per theme from each unit's ``candidates`` (each of its ``speakers`` counted
    once per phrase: ``class_tfidf``); ``embed_phrases(list[str]) -> vectors`` embeds them."""
    ids, vocabulary, scores = class_tfidf(candidates, labels, speakers)
    theme_ids, theme_vectors = centroids(embeddings, labels)
    pools = {}
    for row, theme in enumerate(ids):
        order = np.argsort(-scores[row], kind="stable")[: params.keyphrase_pool]
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
        result[theme] = [words[i] for i in mmr(matrix, relevance, n, params.mmr_diversity)]
    return result


def named(phrases: set[str], units: pd.DataFrame, nlp, per_phrase: int = 3) -> set[str]:
    """The ``phrases`` (keyphrases, as lemmas) that name a person, organisation or place where they were said:
    spaCy's NER over up to ``per_phrase`` units holding each, as the in-vivo labels are read (``invivo``). The
    units were segmented without NER; only the few phrases a label could take are parsed."""
    lemmas = " " + units["lemmas"].astype(str) + " "
    rows = {p: np.flatnonzero(lemmas.str.contains(f" {p} ", regex=False))[:per_phrase] for p in sorted(phrases)}
    order = sorted({int(i) for found in rows.values() for i in found})
    texts = units["text"].to_numpy()
    names = {}
    for i, doc in zip(order, nlp.pipe(texts[order].tolist()), strict=True):
        names[i] = {lemma(t) for ent in doc.ents if ent.label_ in NAME_ENTITIES for t in ent}
    votes = {p: [set(p.split()) <= names[int(i)] for i in found] for p, found in rows.items()}
    return {p for p, said in votes.items() if said and 2 * sum(said) > len(said)}


def label_without(phrases: list[str], names: set[str]) -> str:
    """``make_label`` of the phrases that are not ``names`` (``named``): a label is never a name, as an in-vivo
    label is not ("book / emma", "workshop / ali" were group labels of the formats corpus and the ML interviews);
    keyphrases themselves may be ("gartner" says where a buyer looks)."""
    return make_label([p for p in phrases if p not in names])


def make_label(phrases: list[str]) -> str:
    """Two keyphrases, leading with a multi-word one when it ranks near the top ("flat fee / renewal")."""
    if not phrases:
        return ""
    first = next((p for p in phrases[:4] if " " in p), phrases[0])
    second = next((p for p in phrases if p != first and p not in first and first not in p), "")
    return f"{first} / {second}" if second else first


def representative_quotes(units: pd.DataFrame, embeddings: np.ndarray, n: int, short: np.ndarray) -> pd.DataFrame:
    """The most central units of each theme, one per participant first, units not ``short`` (``slight``) first, and
    words already quoted for the theme last: the ``formats`` corpus holds one meeting in two exports, and 17 of its
    280 quotes repeated another of their theme word for word."""
    labels = units["theme"].to_numpy()
    wanted = ("unit_id", "interview_id", "speaker", "source_file", "line", "text")
    columns = {c: units[c].to_numpy(dtype=object) for c in wanted}
    start = units["start_s"].to_numpy(dtype=float)
    who = participant_key(units).to_numpy()
    theme_ids, theme_vectors = centroids(embeddings, labels)
    rows = []
    for theme, centroid in zip(theme_ids, theme_vectors, strict=True):
        members = np.flatnonzero(labels == theme)
        similarity = embeddings[members] @ centroid
        # Most central first, unit id a stable tie-break; substantial units before slight ones, and within each
        # one per participant before a second from anyone.
        order = members[np.lexsort((columns["unit_id"][members].astype(str), -similarity))]
        score = dict(zip(members.tolist(), similarity.tolist(), strict=True))
        cited = []
        for kind in (order[~short[order]], order[short[order]]):
            seen: set[str] = set()
            first, rest = [], []
            for index in kind:
                (rest if who[index] in seen else first).append(index)
                seen.add(who[index])
            cited += first + rest
        again = said_before(pd.Series(columns["text"][cited]))
        cited = [*np.array(cited)[~again], *np.array(cited)[again]]
        for rank, index in enumerate(cited[:n], start=1):
            rows.append(
                {
                    "theme": int(theme),
                    "rank": rank,
                    "unit_id": columns["unit_id"][index],
                    "interview_id": columns["interview_id"][index],
                    "speaker": columns["speaker"][index],
                    "timestamp": format_timestamp(start[index]),
                    "start_s": start[index],
                    "source_file": columns["source_file"][index],
                    "line": int(columns["line"][index]),
                    "similarity": round(float(score[index]), 4),
                    "text": columns["text"][index],
                }
            )
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def describe_themes(
    units: pd.DataFrame, embeddings: np.ndarray, embed_phrases, nlp, params: DescribeParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit table with ``theme``/``parent`` → (theme table, quote table).

    The label is in the participants' words (``invivo``); failing that, the two best keyphrases; failing that,
    the opening words of the most central quote: no theme is left without a label. ``label_form`` says which
    (``invivo``'s verb or noun phrase, ``KEYPHRASES`` or ``OPENING_WORDS``).
    """
    labels = units["theme"].to_numpy()
    if not (labels != UNASSIGNED).any():
        return pd.DataFrame(columns=THEME_COLUMNS), pd.DataFrame(columns=QUOTE_COLUMNS)
    candidates = unit_candidates(units)
    participant = participant_key(units)
    who = participant.to_numpy()
    phrases = keyphrases(candidates, labels, embeddings, embed_phrases, params.n_keyphrases, params, who)
    parent_of = units.loc[units["theme"] != UNASSIGNED].groupby("theme")["parent"].first().to_dict()
    parents = units["parent"].to_numpy()
    parent_phrases = keyphrases(candidates, parents, embeddings, embed_phrases, params.parent_keyphrases, params, who)
    short = slight(units, params.quote_min_words, params.quote_min_content)
    quotes = representative_quotes(units, embeddings, params.n_quotes, short)
    in_vivo = label_themes(
        units, embeddings, nlp, embed_phrases, params.label_units, params.label_max_words, params.label_shortlist,
        params.label_support_weight,
    )  # fmt: skip
    shown = {p for theme in set(labels.tolist()) - {UNASSIGNED} if theme not in in_vivo for p in phrases[theme]}
    names = named(shown | {p for found in parent_phrases.values() for p in found}, units, nlp)
    group_label: dict[int, str] = {}
    first_words = quotes[quotes["rank"] == 1].set_index("theme")["text"].str.split().str[: params.label_max_words]
    opening = first_words.str.join(" ")
    total_participants = max(participant.nunique(), 1)
    rows = []
    for theme in sorted(set(labels.tolist()) - {UNASSIGNED}):
        mask = labels == theme
        said = in_vivo.get(theme)
        label, form = (said.text, said.form) if said else (label_without(phrases[theme], names), KEYPHRASES)
        if not label:
            label, form = opening[theme], OPENING_WORDS
        parent = int(parent_of[theme])  # themes come in prevalence order: a group's first is its most voiced
        # a group whose keyphrases are all names ("terraform") takes its first theme's label
        group_label.setdefault(parent, label_without(parent_phrases.get(parent, []), names) or label)
        rows.append(
            {
                "theme": theme,
                "parent": parent,
                "parent_label": group_label[parent],
                "label": label,
                "label_form": form,
                "keyphrases": "; ".join(phrases[theme]),
                "units": int(mask.sum()),
                "participants": int(participant[mask].nunique()),
                "interviews": int(units.loc[mask, "interview_id"].nunique()),
                "participant_share": round(participant[mask].nunique() / total_participants, 4),
                "stability": float(units.loc[mask, "theme_stability"].iloc[0]),
            }
        )
    return pd.DataFrame(rows, columns=THEME_COLUMNS), quotes


def theme_by_interview(units: pd.DataFrame) -> pd.DataFrame:
    """Theme × interview unit counts (theme -1 = unassigned), for spotting who drives a theme."""
    table = pd.crosstab(units["theme"], units["interview_id"]).sort_index()
    table.columns.name = None
    return table.reset_index()
