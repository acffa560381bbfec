"""Data shipped inside the package (``pipeline/models/``): taxonomies, vocabularies, language data, model manifest.

Read through ``importlib.resources``, so an installed wheel finds them exactly as a source checkout does.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

MODELS_DIR = Path(str(files("pipeline") / "models"))


def read_toml(relative: str) -> dict[str, Any]:
    """A TOML file under ``models/`` (``{}`` when absent: optional data)."""
    path = MODELS_DIR / relative
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass(frozen=True)
class LanguageData:
    """``models/language/<code>.toml``: what carries no content in speech, and the wording of persona drafts."""

    filler_phrases: re.Pattern[str]
    filler_words: frozenset[str]
    contentless_words: frozenset[str]  # filler words and hedges: a sentence of only these says nothing
    small_talk_words: frozenset[str]
    small_talk_max_words: int
    conversation_examples: tuple[str, ...]  # talk about the conversation itself: what a theme of it is near
    question_openers: frozenset[str]
    second_person: frozenset[str]
    question_max_words: int
    topicless_words: frozenset[str]  # never in a keyphrase: contentless words plus light verbs, vague nouns
    articles: frozenset[str]  # a label never closes on one
    placeholder_names: tuple[str, ...]
    archetype_prefix: str
    archetype_empty: str
    default_verb: str
    said_verb: str  # for a label a zone's verb cannot take: "says “negotiated a fixed fee” (buying process)"
    archetype_and: str  # joins the last two items of a list: "“a”, “b” and “c”"
    none_zone: dict[str, Any]
    negating_determiners: frozenset[str]  # "no concerns"
    negating_pronouns: frozenset[str]  # "nothing to worry about"
    having_verbs: frozenset[str]  # "I don't have any concerns": a negated verb that negates its object
    negation_cue: re.Pattern[str]  # a sentence that may hold a negation


@cache
def language_fingerprint(code: str = "en") -> str:
    """A hash of the language file: caches of what it shapes (which speech is set aside) key on it, so an edited
    word list takes effect on the next run."""
    return hashlib.sha256((MODELS_DIR / f"language/{code}.toml").read_bytes()).hexdigest()[:16]


@cache
def language(code: str = "en") -> LanguageData:
    data = read_toml(f"language/{code}.toml")
    filler, personas = data["filler"], data["personas"]
    words = frozenset(filler["words"])
    contentless = words | frozenset(filler["hedges"])
    return LanguageData(
        filler_phrases=re.compile(r"\b(" + "|".join(filler["phrases"]) + r")\b"),
        filler_words=words,
        contentless_words=contentless,
        small_talk_words=frozenset(data["small_talk"]["words"]),
        small_talk_max_words=int(data["small_talk"]["max_words"]),
        conversation_examples=tuple(data["conversation"]["examples"]),
        question_openers=frozenset(data["questions_back"]["openers"]),
        second_person=frozenset(data["questions_back"]["second_person"]),
        question_max_words=int(data["questions_back"]["max_words"]),
        topicless_words=contentless | frozenset(data["keyphrases"]["stop_words"]),
        articles=frozenset(data["keyphrases"]["articles"]),
        placeholder_names=tuple(personas["placeholder_names"]),
        archetype_prefix=personas["archetype_prefix"],
        archetype_empty=personas["archetype_empty"],
        default_verb=personas["default_verb"],
        said_verb=personas["said_verb"],
        archetype_and=personas["archetype_and"],
        none_zone=data["none_zone"],
        negating_determiners=frozenset(data["negation"]["determiners"]),
        negating_pronouns=frozenset(data["negation"]["pronouns"]),
        having_verbs=frozenset(data["negation"]["having_verbs"]),
        negation_cue=re.compile(data["negation"]["cue"]),
    )
