"""spaCy's two rule-based components, answered by lookup: the same parse, about a sixth less of its time
(each component timed over 5,000 real turns: the whole pipeline 10.8 s → 9.1 s, the ruler 2.4 s → 0.7 s).

- The **attribute ruler** (tag → part of speech and morphology, lemma exceptions). In the English pipelines it
  holds about 180 one- or two-token patterns, and spaCy's ``Matcher`` tries every pattern at every token: a fifth
  of segmentation's parse time on real interviews. Nearly every pattern names the token's exact tag or lower-case
  form, so only the patterns a token can match are checked, and what one-token patterns set is worked out once
  per distinct token. The attributes are set by spaCy's own ``set_token_attrs`` in spaCy's order (a later rule
  wins). A ruler with a pattern this module does not read (operators, other attributes) is left as it is.
- The **rule lemmatizer** finds a lemma from the word, its part of speech and morphology alone, but spaCy
  remembers only some of its answers; here every answer is remembered.

``tests/test_segment.py`` compares the parse with spaCy's own, token for token, on real interviews.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from spacy.attrs import DEP, IS_SPACE, LEMMA, LOWER, MORPH, ORTH, POS, TAG
from spacy.language import Language
from spacy.pipeline import AttributeRuler, Lemmatizer
from spacy.tokens import Doc
from spacy.tokens._retokenize import normalize_token_attrs, set_token_attrs

_MAX_REMEMBERED = 200_000  # distinct (tag, form, dependency, spacing) combinations kept
_FIELDS = {"TAG": 0, "LOWER": 1, "DEP": 2, "IS_SPACE": 3}  # columns of ``Doc.to_array([TAG, LOWER, DEP, IS_SPACE])``


@dataclass(frozen=True)
class _Check:
    field: int
    kind: str  # "is", "in", "not_in" (hashes), "regex" (on the lower-case form)
    value: Any


@dataclass(frozen=True)
class _Rule:
    order: int  # the ruler's own numbering: a later rule's attributes win
    tokens: tuple[tuple[_Check, ...], ...]
    attrs: dict
    index: int


def _check(vocab, name: str, spec: Any) -> _Check | None:
    field = _FIELDS.get(name)
    if field is None:
        return None
    if name == "IS_SPACE":
        return _Check(field, "is", int(bool(spec))) if isinstance(spec, bool) else None
    if isinstance(spec, str):
        return _Check(field, "is", vocab.strings.add(spec))
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, value),) = spec.items()
        if kind in ("IN", "NOT_IN") and all(isinstance(v, str) for v in value):
            return _Check(field, kind.lower(), frozenset(vocab.strings.add(v) for v in value))
        if kind == "REGEX" and name == "LOWER" and isinstance(value, str):
            return _Check(field, "regex", re.compile(value))
    return None


def _rules(ruler) -> list[_Rule] | None:
    """The ruler's patterns as rules, or None when one of them uses what this module does not read."""
    rules = []
    for order, pattern in enumerate(ruler.patterns):
        for tokens in pattern["patterns"]:
            compiled = []
            for token in tokens:
                checks = [_check(ruler.vocab, name, spec) for name, spec in token.items()]
                if not checks or None in checks:
                    return None
                compiled.append(tuple(checks))
            attrs = normalize_token_attrs(ruler.vocab, pattern["attrs"])
            rules.append(_Rule(order, tuple(compiled), attrs, int(pattern.get("index", 0))))
    return rules


class LookupAttributeRuler:
    """A drop-in for a loaded ``attribute_ruler``: same rules, same results, found by lookup.

    A one-token rule depends only on the token's tag, lower-case form, dependency and spacing, so what such rules
    set on a token is worked out once per distinct combination; the few longer rules ("gon na") are checked where
    their first word is, and a token they touch takes every rule in spaCy's order.
    """

    def __init__(self, rules: list[_Rule], vocab):
        self.vocab = vocab
        self.single: dict[int | None, list[_Rule]] = {}  # one-token rules by the tag they require (None: any)
        for rule in (rule for rule in rules if len(rule.tokens) == 1):
            tag = [c for c in rule.tokens[0] if c.field == _FIELDS["TAG"] and c.kind in ("is", "in")]
            for value in (sorted(tag[0].value) if tag[0].kind == "in" else [tag[0].value]) if tag else [None]:
                self.single.setdefault(value, []).append(rule)
        self.longer = [rule for rule in rules if len(rule.tokens) > 1]
        self._by_token: dict[tuple[int, ...], tuple[list[tuple[int, dict]], dict]] = {}
        self._longer_by_word: dict[int, list[_Rule]] = {}
        self._regex: dict[tuple[int, int], bool] = {}

    def _holds(self, check: _Check, row: list[int]) -> bool:
        value = row[check.field]
        if check.kind == "is":
            return value == check.value
        if check.kind == "in":
            return value in check.value
        if check.kind == "not_in":
            return value not in check.value
        key = (id(check), value)
        if key not in self._regex:
            self._regex[key] = check.value.search(self.vocab.strings[value]) is not None
        return self._regex[key]

    def _one_token(self, row: list[int]) -> tuple[list[tuple[int, dict]], dict]:
        """The one-token rules a token matches, in order, and their attributes merged (a later rule wins)."""
        key = tuple(row)
        found = self._by_token.get(key)
        if found is None:
            if len(self._by_token) >= _MAX_REMEMBERED:  # a bound on memory over a very large study
                self._by_token.clear()
            candidates = self.single.get(row[_FIELDS["TAG"]], []) + self.single.get(None, [])
            matched = [(r.order, r.attrs) for r in candidates if all(self._holds(c, row) for c in r.tokens[0])]
            matched.sort(key=lambda match: match[0])  # spaCy's order; one pattern's variants keep theirs
            found = self._by_token[key] = (matched, {k: v for _, attrs in matched for k, v in attrs.items()})
        return found

    def _longer_from(self, row: list[int]) -> list[_Rule]:
        """The longer rules whose first word may be this token's (checked on its lower-case form, once per word)."""
        word = row[_FIELDS["LOWER"]]
        if word not in self._longer_by_word:
            self._longer_by_word[word] = [
                rule for rule in self.longer
                if all(self._holds(c, row) for c in rule.tokens[0] if c.field == _FIELDS["LOWER"])
            ]  # fmt: skip
        return self._longer_by_word[word]

    def _longer_matches(self, rows: list[list[int]]) -> dict[int, list[tuple[int, int, dict]]]:
        """Token → (order, start, attributes) of the longer rules that set something on it."""
        touched: dict[int, list[tuple[int, int, dict]]] = {}
        for start, row in enumerate(rows):
            for rule in self._longer_from(row):
                end = start + len(rule.tokens)
                if end <= len(rows) and all(
                    self._holds(check, rows[start + offset])
                    for offset, checks in enumerate(rule.tokens)
                    for check in checks
                ):
                    target = range(start, end)[rule.index]
                    touched.setdefault(target, []).append((rule.order, start, rule.attrs))
        return touched

    def __call__(self, doc: Doc) -> Doc:
        rows = doc.to_array([TAG, LOWER, DEP, IS_SPACE]).tolist()
        touched = self._longer_matches(rows)
        for i, row in enumerate(rows):
            matched, merged = self._one_token(row)
            if i in touched:
                for _, _, attrs in sorted(
                    [(order, i, attrs) for order, attrs in matched] + touched[i], key=lambda m: m[:2]
                ):
                    set_token_attrs(doc[i], attrs)
            elif merged:
                set_token_attrs(doc[i], merged)
        return doc


class LookupLemmatizer:
    """A drop-in for a loaded rule ``lemmatizer``: spaCy's own lemma for each distinct (word, part of speech,
    morphology), remembered. Lemmas the attribute ruler set are kept, as spaCy keeps them."""

    def __init__(self, lemmatizer):
        self.lemmatizer = lemmatizer
        self._lemmas: dict[tuple[int, int, int], int] = {}

    def __call__(self, doc: Doc) -> Doc:
        rows = doc.to_array([ORTH, POS, MORPH, LEMMA])
        for i, (orth, pos, morph, lemma) in enumerate(rows.tolist()):
            if lemma and not self.lemmatizer.overwrite:
                continue
            key = (orth, pos, morph)
            if key not in self._lemmas:
                if len(self._lemmas) >= _MAX_REMEMBERED:
                    self._lemmas.clear()
                self._lemmas[key] = doc.vocab.strings.add(self.lemmatizer.lemmatize(doc[i])[0])
            rows[i, 3] = self._lemmas[key]
        doc.from_array([LEMMA], rows[:, 3:])
        return doc


@Language.factory("insightmap_lookup_attribute_ruler")
def _make_ruler(nlp: Language, name: str) -> LookupAttributeRuler:  # the rules are given after construction
    return LookupAttributeRuler([], nlp.vocab)


@Language.factory("insightmap_lookup_lemmatizer")
def _make_lemmatizer(nlp: Language, name: str) -> LookupLemmatizer:  # spaCy's lemmatizer is given after
    return LookupLemmatizer(None)


def with_lookups(nlp: Language) -> Language:
    """Replace the pipeline's ``attribute_ruler`` and rule ``lemmatizer`` by their lookup forms, where this module
    reads every pattern and the lemmatizer works by rule."""
    if "attribute_ruler" in nlp.pipe_names and isinstance(nlp.get_pipe("attribute_ruler"), AttributeRuler):
        rules = _rules(nlp.get_pipe("attribute_ruler"))
        if rules:
            nlp.replace_pipe("attribute_ruler", "insightmap_lookup_attribute_ruler")
            nlp.get_pipe("attribute_ruler").__init__(rules, nlp.vocab)
    own = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
    if isinstance(own, Lemmatizer) and own.mode == "rule":
        nlp.replace_pipe("lemmatizer", "insightmap_lookup_lemmatizer")
        nlp.get_pipe("lemmatizer").__init__(own)
    return nlp
