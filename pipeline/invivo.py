"""In-vivo theme labels: a short phrase the theme's participants actually said, in their own words.

Candidates are verb phrases (a verb with its object, and optionally what follows it) and noun phrases parsed by
spaCy from the theme's most central units. Each is scored by how close it is to the theme's centroid and by how
many of the theme's participants used its content words; a phrase naming a person or an organisation (spaCy NER)
or made only of filler, or holding a speech repair ("more of a an issue"), never becomes a label. The quoted words
are kept as spoken.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
from spacy.lang.en.stop_words import STOP_WORDS

from .parallel import PARSE_IN_WORKERS_FROM, available_cores, run_all
from .resources import language
from .segment import lemma
from .tables import NOUN_PHRASE, VERB_PHRASE, participant_key
from .themes import centroids

NAME_ENTITIES = frozenset({"PERSON", "ORG", "NORP", "GPE"})
_OBJECTS = frozenset({"dobj", "obj", "attr", "acomp", "xcomp", "oprd", "dative"})
_TAIL = frozenset({"prep", "advmod", "npadvmod", "prt", "advcl"})
_EDGE_POS = frozenset({"PUNCT", "CCONJ", "SCONJ", "DET", "ADP", "PART", "SPACE", "AUX"})


class Phrase(NamedTuple):
    """A label candidate: its words as spoken, their content lemmas, and its form (``VERB_PHRASE`` when its head
    is a verb: "negotiated a fixed fee"; else ``NOUN_PHRASE``: "agent overhead"), which decides how a persona's
    archetype can phrase it."""

    text: str
    content: frozenset[str]
    form: str


def _content(tokens) -> frozenset[str]:
    """The phrase's content lemmas, lemmatised as the units' ``lemmas`` are (``segment.lemma``: "data", not
    spaCy's "datum", or no unit would hold a phrase about data and its support would be nil)."""
    topicless = language().topicless_words
    lemmas = (lemma(t) for t in tokens if t.is_alpha and not t.is_stop)
    return frozenset(w for w in lemmas if w not in topicless and w not in STOP_WORDS)


def _loose(token, light: frozenset[str]) -> bool:
    """A word a label neither opens nor closes on: function words, and adverbs that only hedge or link ("So the
    machine learning model", "verifying the outputs actually", "submit the two queries then")."""
    degree = token.dep_ == "advmod" and token.head.pos_ in ("ADJ", "ADV", "NUM")  # "more extreme values" keeps it
    modified = any(True for _ in token.children)  # "ever since": the adverb heads what the phrase says
    hedging = token.pos_ in ("ADV", "INTJ") and (token.is_stop or token.lower_ in light) and not (degree or modified)
    lang = language()
    negating = token.dep_ == "neg" or token.lower_ in lang.negating_determiners  # "no idea what it costs"
    article = token.lower_ in lang.articles  # "more on an": an article the parser read as a pronoun
    return (token.pos_ in _EDGE_POS or hedging or article) and not negating


def _stranded(token) -> bool:
    """A preposition whose object went before it ("the protein you are working with"): part of the phrase."""
    return token.pos_ == "ADP" and token.dep_ == "prep" and not any(c.dep_ in ("pobj", "pcomp") for c in token.children)


def _without_vague_tail(doc, start: int, end: int, light: frozenset[str]) -> int:
    """The phrase's end before a closing conjunct that names nothing ("state of the art methods or whatever",
    "the number of events per day or something like that", "your computer and stuff"): a pronoun or light word
    coordinated with what was said, and all that hangs on it; its "or"/"and" is then a loose edge."""
    for token in doc[start + 1 : end]:
        vague = token.pos_ == "PRON" or token.lower_ in light
        if token.dep_ == "conj" and vague and token.right_edge.i == end - 1 and token.left_edge.i > start:
            return token.left_edge.i
    return end


def _points_back(token) -> bool:
    """A word that names what it means only by pointing back to what was said before: a third-person or
    demonstrative pronoun ("it", "them", "that") or a demonstrative adverb ("there", "here"); not a possessive
    ("their design") or a relative pronoun ("data that changed")."""
    kind = token.morph.get("PronType")
    personal = "Prs" in kind and "3" in token.morph.get("Person") and "Yes" not in token.morph.get("Poss")
    return token.pos_ in ("PRON", "ADV") and ("Dem" in kind or personal)


_POINTING_DEPS = frozenset({"dobj", "pobj", "prep", "dative", "advmod"})  # what a closing pointer can hang on as


def _without_pointing_tail(doc, start: int, end: int) -> int:
    """The phrase's end before a closing modifier that only points back ("verify the contents of it" reads
    "verify the contents", "leave my community over there" reads "leave my community"): as a label it would
    name nothing."""
    closing = doc[end - 1]
    if end - start < 2 or not _points_back(closing):
        return end
    head = closing.head
    while start < head.i < closing.i and head.pos_ in ("ADP", "ADV") and head.right_edge == closing:
        closing, head = head, head.head  # the preposition it hangs on goes with it: "of it", "for them"
    return max(closing.left_edge.i, start) if closing.dep_ in _POINTING_DEPS else end


_ASKING = frozenset({"WDT", "WP", "WP$", "WRB"})  # interrogative words: which, what, who(m), whose, how


def _without_question_tail(doc, start: int, end: int) -> int:
    """The phrase's end before a closing prepositional phrase that asks ("passed a security review with which
    vendor" reads "passed a security review"): the end of an indirect question, which names nothing. It asks when
    its noun is a question word ("for whom") or has one ("which vendor"); a clause it opens keeps it, as a clause
    with a question word can say something ("rank suppliers on what the auditors found")."""
    for token in doc[start + 1 : end]:
        if token.dep_ != "prep" or token.right_edge.i != end - 1:
            continue
        nouns = [c for c in token.children if c.dep_ in ("pobj", "pcomp") and c.pos_ in ("NOUN", "PROPN", "PRON")]
        if any(n.tag_ in _ASKING or any(c.tag_ in _ASKING for c in n.children) for n in nouns):
            return token.i
    return end


_PRENOMINAL = frozenset({"det", "predet", "poss", "nummod", "compound", "amod"})
_CLAUSES = frozenset({"ROOT", "relcl", "ccomp", "pcomp", "advcl", "xcomp", "conj"})


def _restarts(doc, end: int) -> bool:
    """The speaker breaks off after the phrase: the next word said is a filler ("with certain, uh, with certain")
    or repeats the phrase's last word."""
    following = next((t for t in doc[end:] if not t.is_punct), None)
    return following is not None and (following.pos_ == "INTJ" or following.lower_ == doc[end - 1].lower_)


def _without_broken_end(doc, start: int, end: int) -> int:
    """The phrase's end before a constituent the speaker broke off, as a parse of speech shows it: a closing
    modifier whose noun was never said ("new contenders of models with certain, uh, with certain, uh, perhaps
    metrics" reads "new contenders of models"), or a closing word whose head comes after the phrase ("the concept
    of data scientists where we think it's, um, , the job..." reads "the concept of data scientists")."""
    last = doc[end - 1]
    head = last.head
    if last.dep_ in _PRENOMINAL and head.pos_ == "ADP" and start <= head.i < end and _restarts(doc, end):
        return head.i  # "with certain, uh,": the preposition goes with it
    if last.dep_ in _PRENOMINAL and head.i > last.i:
        return last.i
    if head.i >= end and (last.pos_ == "PRON" or _restarts(doc, end)):  # "we think it['s, um,]"
        broken = last
        while not start <= broken.head.i < end and broken.head.i != broken.i:
            broken = broken.head  # up to the clause that hangs on the phrase and goes on after it
        anchor = broken.head
        if start <= anchor.i < end:
            # a clause of the phrase broken off goes whole ("where we think it"), one hanging on its head goes alone
            return max((broken if anchor == doc[start:end].root else anchor).left_edge.i, start)
    return end


def _without_loose_end(doc, start: int, end: int, light: frozenset[str]) -> int:
    """The phrase's end before loose closing words; a verb "to be" closing a wh-clause is no loose word ("make a
    decision based on what the model is", "how reliable the data is")."""
    while end > start and _loose(doc[end - 1], light) and not _stranded(doc[end - 1]):
        last = doc[end - 1]
        if last.pos_ == "AUX" and last.dep_ in _CLAUSES and last.left_edge.tag_ in ("WP", "WRB") and end - 1 > start:
            break
        end -= 1
    return end


def _trimmed(doc, start: int, end: int) -> tuple[int, int]:
    lang = language()
    light = lang.contentless_words
    while start < end:
        token = doc[start]
        # "a lot of complexity" reads "complexity in those systems"
        quantity = token.pos_ == "NOUN" and token.lower_ in light and start + 1 < end and doc[start + 1].lower_ == "of"
        # "your training set" reads "training set": a speaker's generic "you" addresses the listener, not the theme
        listeners = token.dep_ == "poss" and token.lower_ in lang.second_person
        if not (_loose(token, light) or quantity or listeners or token.text.startswith(("'", "’"))):
            break
        start += 1  # a label never opens on a clitic: "'s an issue of quality" reads "an issue of quality"
    end = _without_pointing_tail(doc, start, _without_vague_tail(doc, start, end, light))
    end = _without_question_tail(doc, start, end)
    end = _without_loose_end(doc, start, end, light)
    if end > start:
        end = _without_loose_end(doc, start, _without_broken_end(doc, start, end), light)
    last = doc[end - 1] if end - start > 1 else None  # "paper analysis things" reads "paper analysis"
    if last is not None and last.pos_ == "NOUN" and last.lower_ in light and doc[end - 2].pos_ in ("NOUN", "PROPN"):
        end -= 1
    return start, end


def _disfluent(words) -> bool:
    """Speech repairs a reader would not sign as a label: a word said twice ("we we"), two determiners in a row
    ("more of a an issue"), or an interjection ("uh", "um") inside the phrase."""
    return any(t.pos_ == "INTJ" for t in words) or any(
        a.lower_ == b.lower_ or (a.pos_ == "DET" and b.pos_ == "DET") for a, b in zip(words, words[1:], strict=False)
    )


def candidate_phrases(doc, max_words: int) -> list[Phrase]:
    """The verb and noun phrases of one parsed unit, names, filler and speech repairs excluded."""
    named = {t.i for ent in doc.ents if ent.label_ in NAME_ENTITIES for t in ent}
    light = language().contentless_words
    spans: set[tuple[int, int]] = set()
    for token in doc:
        if token.pos_ != "VERB":
            continue
        objects = [c for c in token.rights if c.dep_ in _OBJECTS]
        if not objects:
            continue
        end = max(t.i for t in objects[0].subtree) + 1
        # A verb that says nothing ("I would say more of an issue", "I guess printing out a page") heads no
        # label: the phrase is what it introduces.
        says_nothing = token.lemma_.lower() in light or token.lower_ in light
        if says_nothing and objects[0].pos_ == "PRON":
            continue  # "I do that on occasion": nothing is introduced
        start = min(t.i for t in objects[0].subtree) if says_nothing else token.i
        spans.add((start, end))
        tails = [c for c in token.rights if c.dep_ in _TAIL and c.i >= end]
        if tails:
            spans.add((start, max(t.i for t in tails[0].subtree) + 1))
    for chunk in doc.noun_chunks:
        spans.add((chunk.start, chunk.end))
    found = []
    for start, end in sorted(spans):
        start, end = _trimmed(doc, start, end)
        span = doc[start:end]
        words = [t for t in span if not t.is_punct]
        content = _content(words)
        broken = len(words) < len(span) and not all(t.text in "-'" for t in span if t.is_punct)  # a clause break
        if broken or not 2 <= len(words) <= max_words or not content or any(t.i in named for t in span):
            continue
        if _disfluent(words):
            continue
        form = VERB_PHRASE if span.root.pos_ in ("VERB", "AUX") else NOUN_PHRASE
        found.append(Phrase(span.text, content, form))
    return list(dict.fromkeys(found))  # trimming can make two spans one phrase


def unit_phrases(nlp, texts: list[str], max_words: int) -> list[list[Phrase]]:
    """Each text's candidate phrases. Many texts are parsed in forked workers, one chunk per core, which send back
    the phrases, not the parses (spaCy's own workers send whole parses back, a fifth of their time here)."""
    workers = available_cores() if len(texts) >= PARSE_IN_WORKERS_FROM else 1
    bounds = np.linspace(0, len(texts), workers + 1).astype(int)

    def phrases(start: int, end: int) -> list[list[Phrase]]:
        return [candidate_phrases(doc, max_words) for doc in nlp.pipe(texts[start:end])]

    jobs = [partial(phrases, start, end) for start, end in zip(bounds, bounds[1:], strict=False)]
    return [found for chunk in run_all(jobs, workers) for found in chunk]


def label_themes(
    units: pd.DataFrame,
    embeddings: np.ndarray,
    nlp,
    embed,
    n_units: int,
    max_words: int,
    shortlist_size: int,
    support_weight: float,
) -> dict[int, Phrase]:
    """Theme id → its in-vivo label (themes where no unit yields a phrase are left out; the caller falls back to
    keyphrases).

    Labels are distinct: themes choose in order of prevalence (their ids), and a theme whose best phrase an
    earlier theme already took, in the same content words, gets its next best (on the scientists interviews three
    themes were all "AI tools"; then two read "ask AI" and "asked AI").

    ``embed(list[str]) -> vectors`` is the pipeline's cached embedder; ``nlp`` a spaCy pipeline with NER.
    """
    labels = units["theme"].to_numpy()
    who = participant_key(units).to_numpy()
    texts = units["text"].to_numpy()
    lemma_sets = [frozenset(text.split()) for text in units["lemmas"]]
    members_of = pd.Series(np.arange(len(labels))).groupby(labels).indices
    themes, theme_centroids = centroids(embeddings, labels)
    central = {
        theme: members_of[theme][np.argsort(-(embeddings[members_of[theme]] @ centroid), kind="stable")[:n_units]]
        for theme, centroid in zip(themes.tolist(), theme_centroids, strict=True)
    }
    # One parse and one embedding call for every theme: per-theme calls of ten units spent most of the stage on
    # spaCy's batching, not on parsing.
    order = [i for rows in central.values() for i in rows]
    phrases_of = dict(zip(order, unit_phrases(nlp, texts[order].tolist(), max_words), strict=True))
    shortlists: dict[int, tuple[list[str], np.ndarray]] = {}
    said: dict[str, Phrase] = {}
    for theme, rows in central.items():
        candidates: dict[str, frozenset[str]] = {}
        for row in rows:
            for phrase in phrases_of[row]:
                candidates.setdefault(phrase.text, phrase.content)
                said.setdefault(phrase.text, phrase)
        specific = {t: c for t, c in candidates.items() if len(c) >= 2}  # "cost governance" over "My goal"
        candidates = specific or candidates
        members = members_of[theme]
        participants = len(set(who[members]))
        support = {
            t: len({who[i] for i in members if c <= lemma_sets[i]}) / participants for t, c in candidates.items()
        }
        # Only the best-supported phrases are embedded: most of a cold run's labelling time was embedding phrases.
        shortlist = sorted(sorted(candidates, key=lambda t: (-support[t], t))[:shortlist_size])
        shortlists[theme] = shortlist, np.array([support[t] for t in shortlist])
    phrases = sorted({t for shortlist, _ in shortlists.values() for t in shortlist})
    vectors = dict(zip(phrases, embed(phrases), strict=True)) if phrases else {}
    result: dict[int, Phrase] = {}
    taken: set[frozenset[str]] = set()  # the content words of the labels given: "ask AI" takes "asked AI" too
    for (theme, (shortlist, support)), centroid in zip(shortlists.items(), theme_centroids, strict=True):
        score = np.stack([vectors[t] for t in shortlist]) @ centroid + support_weight * support if shortlist else []
        ranked = [shortlist[i] for i in np.argsort(-np.asarray(score), kind="stable")]
        best = next((said[t] for t in ranked if said[t].content not in taken), None)
        if best is not None:
            result[theme] = best
            taken.add(best.content)
    return result
