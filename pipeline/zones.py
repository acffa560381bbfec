"""Buyer insight zones: file every unit and theme under the zone a persona writer would use.

Taxonomies are data (``models/zones/*.toml``): each zone has a description and examples (embedded with the same
model as the units; their vectors are cached like any text), ``phrases`` matched at word starts in the unit's
text or lemmas, and ``question_phrases`` matched in the interviewer question that prompted the answer. A unit's
score for a zone is

    semantic · [(1 − e) · cos(unit, zone centroid) + e · max cos(unit, example)] + cue · [phrase found]
    + question · [question phrase found]

and a ``none`` pseudo-zone (small talk, background) competes on semantics alone. Scores become confidences by a
softmax; the weights live in the taxonomy file and were chosen by measurement (``benchmarks/zones.py``).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError
from .resources import MODELS_DIR, LanguageData, language
from .tables import participant_key
from .zone_head import ZoneHead, softmax

NONE = "none"
WEIGHT_DEFAULTS = {
    "semantic": 1.0,
    "examples": 0.25,
    "cue": 0.15,
    "question": 0.05,
    "none_margin": 0.05,
    "temperature": 0.05,
}
_ROWS = 8192  # rows the learned head scores at a time
_ZONE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Described:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Zone(Described):
    examples: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    question_phrases: tuple[str, ...] = ()
    persona_weight: float = 1.0  # how much this zone's themes count when grouping participants into personas
    persona_verb: str = ""  # how a persona archetype phrases a defining theme of this zone ("" = the default verb)
    negation_cancels: bool = False  # "no concerns", "not worried": cues all negated are no evidence of this zone


def _matcher(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """Phrases match at word starts, so ``frustrat`` finds frustrated and frustrating."""
    if not phrases:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(p.lower()) for p in phrases) + ")")


@dataclass(frozen=True)
class Taxonomy(Described):
    zones: tuple[Zone, ...]
    none: Zone
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHT_DEFAULTS))
    path: str = ""
    head: ZoneHead | None = None  # a classifier learned from labelled quotes (``<id>.head.json`` beside the file)

    @property
    def ids(self) -> list[str]:
        return [z.id for z in self.zones]

    def name_of(self, zone_id: str) -> str:
        return next((z.name for z in (*self.zones, self.none) if z.id == zone_id), zone_id)


def resolve_taxonomy(name_or_path: str | Path) -> Path:
    """A taxonomy id from ``models/zones`` or a path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return MODELS_DIR / "zones" / f"{name_or_path}.toml"


def _strings(data: dict, key: str, where: str, required: bool = True) -> tuple[str, ...]:
    value = data.get(key, [])
    if required and not value:
        raise ConfigError(f"{where}.{key}: required, a non-empty list of strings")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}.{key}: must be a list of non-empty strings")
    return tuple(value)


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: required, a non-empty string")
    return value


def _number(data: dict, key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < math.inf:
        raise ConfigError(f"{where}.{key}: must be a finite number ≥ 0, got {value!r}")
    return float(value)


def _zone(data: object, where: str, zone_id: str | None = None, persona_weight: float = 1.0) -> Zone:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    zone_id = zone_id or _text(data, "id", where)
    if not _ZONE_ID.match(zone_id):
        raise ConfigError(f"{where}.id: {zone_id!r} must be lower_snake_case")
    known = {"id", "name", "description", "examples", "phrases", "question_phrases", "persona_weight", "persona_verb",
             "negation_cancels"}  # fmt: skip
    if not isinstance(data.get("negation_cancels", False), bool):
        raise ConfigError(f"{where}.negation_cancels: must be true or false")
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Zone(
        zone_id,
        _text(data, "name", where),
        _text(data, "description", where),
        _strings(data, "examples", where),
        _strings(data, "phrases", where, required=False),
        _strings(data, "question_phrases", where, required=False),
        _number(data, "persona_weight", where, persona_weight),
        _text(data, "persona_verb", where) if "persona_verb" in data else "",
        data.get("negation_cancels", False),
    )


def load_taxonomy(name_or_path: str | Path, with_head: bool = True) -> Taxonomy:
    """Load and validate a taxonomy; every problem is reported as ``file: field: why``. ``with_head=False``
    leaves out its learned head (which training replaces)."""
    path = resolve_taxonomy(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(p.stem for p in sorted((MODELS_DIR / "zones").glob("*.toml")))
        raise ConfigError(f"{path}: taxonomy not found (built in: {known})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the taxonomy ({exc.strerror or exc})") from exc
    try:
        meta = data.get("taxonomy", {})
        zones_data = data.get("zones")
        if not isinstance(zones_data, list) or len(zones_data) < 2:
            raise ConfigError("zones: required, at least two [[zones]] tables")
        zones = tuple(_zone(z, f"zones[{i}]") for i, z in enumerate(zones_data))
        ids = [z.id for z in zones]
        if len(set(ids)) != len(ids) or NONE in ids:
            raise ConfigError(f"zones: ids must be unique and not {NONE!r} (got {', '.join(ids)})")
        none = (
            _zone({**data.get(NONE, {}), "id": NONE}, NONE, NONE, persona_weight=0.0)
            if NONE in data
            else _zone({**language().none_zone, "id": NONE}, "language none_zone", NONE, persona_weight=0.0)
        )
        weights = dict(WEIGHT_DEFAULTS)
        for key, value in data.get("weights", {}).items():
            if key not in WEIGHT_DEFAULTS:
                raise ConfigError(f"weights.{key}: unknown weight (known: {', '.join(WEIGHT_DEFAULTS)})")
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"weights.{key}: must be a finite number, got {value!r}")
            weights[key] = float(value)
        if weights["temperature"] <= 0:
            raise ConfigError("weights.temperature: must be > 0")
        return Taxonomy(
            meta.get("id", path.stem),
            meta.get("name", path.stem),
            meta.get("description", ""),
            zones,
            none,
            weights,
            str(path),
            _head(path, [*ids, NONE]) if with_head else None,
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _head(path: Path, labels: list[str]) -> ZoneHead | None:
    """The learned head beside a taxonomy file, if there is one for exactly these zones."""
    head_path = path.parent / f"{path.stem}.head.json"
    if not head_path.is_file():
        return None
    try:
        head = ZoneHead.load(head_path)
    except (ValueError, KeyError, TypeError) as exc:
        why = f"not a valid zone head ({type(exc).__name__}: {exc})"
        rebuild = "rebuild it: make models, or zone_head.train_head for your own taxonomy"
        raise ConfigError(f"{head_path}: {why}; if an older insightmap wrote it, {rebuild}") from exc
    if sorted(head.classes) != sorted(labels):
        raise ConfigError(f"{head_path}: trained for zones {', '.join(head.classes)}, not {', '.join(labels)}")
    return head


_PREDICATE = frozenset({"acomp", "attr", "xcomp", "amod"})  # "not worried", "isn't a problem", "not a scary…"


def _negated(token, lang: LanguageData) -> bool:
    """Negated in spaCy's parse: the word itself ("no concerns", "don't worry"), the verb or noun it completes
    ("I'm not worried", "it isn't a problem", "not a scary thing"), a negated having verb it is the object of ("I
    don't have any concerns"), or a negative pronoun it depends on ("nothing to worry about")."""

    head = token.head
    completes = token.dep_ in _PREDICATE or (token.dep_ == "dobj" and head.lemma_.lower() in lang.having_verbs)
    by_head = head is not token and completes and negates(head, lang)
    return negates(token, lang) or by_head or head.lower_ in lang.negating_pronouns


def negates(word, lang: LanguageData) -> bool:
    """The word carries a negation in spaCy's parse: a ``neg`` dependent ("don't worry") or a negating determiner
    ("no concerns")."""
    return any(c.dep_ == "neg" or (c.dep_ == "det" and c.lower_ in lang.negating_determiners) for c in word.children)


def negated_only(doc, phrases: tuple[str, ...], lang: LanguageData) -> bool:
    """The zone's one-word phrases occur only negated, and none of its longer ones ("don't trust") occurs."""
    longer = _matcher(tuple(p for p in phrases if " " in p))
    if longer is not None and longer.search(doc.text.lower()):
        return False
    words = tuple(p.lower() for p in phrases if " " not in p)
    cues = [t for t in doc if t.lower_.startswith(words) or t.lemma_.lower().startswith(words)]
    return bool(cues) and all(_negated(t, lang) for t in cues)


@dataclass(frozen=True)
class Prototypes:
    """The taxonomy's zones in one vector space: each zone's description, examples and centroid."""

    descriptions: np.ndarray  # zones × dimension
    centroids: np.ndarray  # zones × dimension
    examples: tuple[np.ndarray, ...]  # per zone: examples × dimension

    @classmethod
    def embedded(cls, zones: tuple[Zone, ...], embed) -> Prototypes:
        descriptions = embed([z.description for z in zones])
        examples = tuple(embed(list(zone.examples)) for zone in zones)
        centroids = np.stack([np.vstack([d, ex]).mean(axis=0) for d, ex in zip(descriptions, examples, strict=True)])
        return cls(descriptions, centroids / np.linalg.norm(centroids, axis=1, keepdims=True), examples)


class ZoneScorer:
    """Scores texts against a taxonomy; ``embed(list[str]) -> vectors`` is the pipeline's cached embedder."""

    def __init__(self, taxonomy: Taxonomy, embed, weights: dict[str, float] | None = None):
        self.taxonomy = taxonomy
        self.embed = embed
        self.weights = {**taxonomy.weights, **(weights or {})}
        self.head = taxonomy.head if taxonomy.head and taxonomy.head.reads(embed) else None
        self.all_zones = (*taxonomy.zones, taxonomy.none)
        self.labels = [z.id for z in self.all_zones]
        self.sentence_space = Prototypes.embedded(self.all_zones, embed)
        self._cues = [_matcher(z.phrases) for z in self.all_zones]
        self._question_cues = [_matcher(z.question_phrases) for z in self.all_zones]

    @cached_property
    def layer_space(self) -> Prototypes:
        """The zones among layer vectors (``embed.Embedder.layer_vectors``), where the learned head reads them."""
        return Prototypes.embedded(self.all_zones, self.embed.layer_vectors)

    def semantic(self, vectors: np.ndarray, space: Prototypes | None = None) -> np.ndarray:
        """texts × zones: centroid similarity blended with the best example similarity."""
        space = space or self.sentence_space
        share = self.weights["examples"]
        centroid = vectors @ space.centroids.T
        best_example = np.stack([(vectors @ ex.T).max(axis=1) for ex in space.examples], axis=1)
        return (1 - share) * centroid + share * best_example

    def question_vectors(self, questions: list[str]) -> np.ndarray:
        """The prompting question's layer vector per text (what the head reads); zeros where there was none."""
        asked = [i for i, q in enumerate(questions) if q]
        vectors = np.zeros((len(questions), self.layer_space.descriptions.shape[1]), dtype=np.float32)
        if asked:
            vectors[asked] = self.embed.layer_vectors([questions[i] for i in asked])
        return vectors

    def zero_shot(self, vectors: np.ndarray) -> np.ndarray:
        """The baseline: cosine to each zone's description, nothing else."""
        return vectors @ self.sentence_space.descriptions.T

    def scores(
        self,
        vectors: np.ndarray,
        texts: list[str],
        lemmas: list[str],
        questions: list[str],
        space: Prototypes | None = None,
    ) -> np.ndarray:
        """The weighted evidence per text and zone, ``vectors`` compared within ``space`` (sentence vectors by
        default; the learned head reads it among layer vectors, ``layer_space``)."""
        w = self.weights
        total = w["semantic"] * self.semantic(vectors, space)
        lowered = [t.lower() for t in texts]
        distinct = list(dict.fromkeys(questions))  # an interview guide's few questions prompt many answers
        for j, (cue, question_cue) in enumerate(zip(self._cues, self._question_cues, strict=True)):
            if cue is not None:
                hits = [bool(cue.search(t) or cue.search(lem)) for t, lem in zip(lowered, lemmas, strict=True)]
                total[:, j] += w["cue"] * np.array(hits, dtype=float)
            if question_cue is not None:
                cued = {q: bool(q) and bool(question_cue.search(q.lower())) for q in distinct}
                total[:, j] += w["question"] * np.array([cued[q] for q in questions], dtype=float)
        total[:, -1] += w["none_margin"]
        return total

    def head_inputs(
        self, texts: list[str], lemmas: list[str], questions: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What a learned head reads, as ``zone_head.features`` takes it: the texts' layer vectors and sentence
        vectors (one encoder pass, both cached), their questions' layer vectors (zeros where none) and the weighted
        evidence among layer vectors. Training (``scripts/train_zones.py``) and filing share it."""
        vectors = self.embed.layer_vectors(texts)
        raw = self.scores(vectors, texts, lemmas, questions, self.layer_space)
        return vectors, self.embed(texts), self.question_vectors(questions), raw

    def _learned(self, texts: list[str], lemmas: list[str], questions: list[str]) -> np.ndarray:
        """The learned head's probabilities, by blocks of rows: its float64 features for a whole large study
        at once would take several times the memory of the study's vectors."""
        inputs = self.head_inputs(texts, lemmas, questions)
        blocks = []
        for start in range(0, len(texts), _ROWS):
            rows = slice(start, start + _ROWS)
            features = self.head.features(*(part[rows] for part in inputs))
            blocks.append(self.head.probabilities(features, texts[rows]))
        return np.vstack(blocks) if blocks else np.zeros((0, len(self.head.classes)))

    def cancel_negated(
        self, probabilities: np.ndarray, texts: list[str], nlp, lemmas: list[str] | None = None
    ) -> np.ndarray:
        """A text filed under a zone that negation cancels ("I have no concerns about AI" under concerns) whose
        cues for that zone are all negated goes to its next most likely zone. Only texts that hold both a negation
        and one of the zone's phrases (in their words or ``lemmas``) are parsed, by spaCy's ``nlp`` without NER."""
        lang, best = language(), probabilities.argmax(axis=1)
        lemmas = lemmas or [""] * len(texts)
        for j, zone in enumerate(self.all_zones):
            cue = self._cues[j]
            if not zone.negation_cancels or cue is None:
                continue
            lowered = {i: texts[i].lower() for i in np.flatnonzero(best == j)}
            rows = [
                i
                for i, text in lowered.items()
                if lang.negation_cue.search(text) and (cue.search(text) or cue.search(lemmas[i]))
            ]
            if not rows:
                continue
            with nlp.select_pipes(disable=[name for name in ("ner",) if name in nlp.pipe_names]):
                docs = list(nlp.pipe([texts[i] for i in rows]))
            cancelled = [i for i, doc in zip(rows, docs, strict=True) if negated_only(doc, zone.phrases, lang)]
            if cancelled:
                probabilities = probabilities.copy()
                probabilities[cancelled, j] = 0.0
                probabilities[cancelled] /= probabilities[cancelled].sum(axis=1, keepdims=True)
        return probabilities

    def classify(
        self,
        vectors: np.ndarray,
        texts: list[str],
        lemmas: list[str] | None = None,
        questions: list[str] | None = None,
        nlp=None,
    ) -> pd.DataFrame:
        """Per text (``vectors``: sentence vectors): ``zone`` (an id or ``none``), ``zone_confidence`` and one
        probability column per zone; with a spaCy ``nlp``, negated cues cancel their zone where the taxonomy says so."""
        lemmas = lemmas or [""] * len(texts)
        questions = questions or [""] * len(texts)
        if self.head is not None:
            learned = self._learned(texts, lemmas, questions)
            probabilities = learned[:, [self.head.classes.index(label) for label in self.labels]]
        else:
            probabilities = softmax(self.scores(vectors, texts, lemmas, questions) / self.weights["temperature"])
        if nlp is not None:
            probabilities = self.cancel_negated(probabilities, texts, nlp, lemmas)
        best = probabilities.argmax(axis=1)
        frame = pd.DataFrame(np.round(probabilities, 4), columns=[f"p_{label}" for label in self.labels])
        frame.insert(0, "zone_confidence", np.round(probabilities[np.arange(len(best)), best], 4))
        frame.insert(0, "zone", [self.labels[i] for i in best])
        return frame


def classify_units(units: pd.DataFrame, embeddings: np.ndarray, scorer: ZoneScorer, nlp=None) -> pd.DataFrame:
    """Unit table + ``zone`` and ``zone_confidence``."""
    texts, lemmas, questions = units["text"].tolist(), units["lemmas"].tolist(), units["question"].tolist()
    result = scorer.classify(embeddings, texts, lemmas, questions, nlp)
    return units.assign(zone=result["zone"].to_numpy(), zone_confidence=result["zone_confidence"].to_numpy())


def file_zones(
    units: pd.DataFrame,
    themes: pd.DataFrame,
    embeddings: np.ndarray,
    taxonomy: Taxonomy,
    embed,
    split_below: float,
    fixed: dict[int, str] | None = None,
    nlp=None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Zone for every unit, then for every theme (with runner-up and split flag), then the zone summary.

    ``embed(list[str]) -> vectors`` embeds the zone descriptions and examples (the pipeline's cached embedder).
    ``fixed`` (theme → zone) is the researcher's word from a codebook: those themes' units are filed there.
    ``nlp`` (spaCy) reads negation ("no concerns at all").
    """
    units = classify_units(units, embeddings, ZoneScorer(taxonomy, embed), nlp)
    if fixed:
        chosen = units["theme"].map(fixed)
        units = units.assign(
            zone=chosen.fillna(units["zone"]).to_numpy(),
            zone_confidence=np.where(chosen.notna(), 1.0, units["zone_confidence"]),
        )
    themes = themes.merge(theme_zones(units, taxonomy, split_below), on="theme", how="left")
    return units, themes, zone_table(units, themes, taxonomy)


def zone_shares(units: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Themes × zones (the taxonomy's order, ``none`` last; only zones some unit is filed in): the share of each
    theme's units in each zone, each unit counted by its zone confidence."""
    assigned = units[units["theme"] >= 0]
    weights = assigned.groupby(["theme", "zone"])["zone_confidence"].sum().unstack(fill_value=0.0)
    order = [z for z in [*taxonomy.ids, NONE] if z in weights.columns]
    return weights[order].div(weights.sum(axis=1), axis=0)


def theme_zones(units: pd.DataFrame, taxonomy: Taxonomy, split_below: float) -> pd.DataFrame:
    """Per theme: the zone holding the largest confidence-weighted share of its units, the runner-up, and a
    ``zone_split`` flag when no zone holds ``split_below`` of the theme — shown, never silently forced."""
    shares = zone_shares(units, taxonomy)
    rows = []
    for theme, row in shares.iterrows():
        ranked = row.sort_values(ascending=False, kind="stable")
        runner_up = ranked.index[1] if len(ranked) > 1 and ranked.iloc[1] > 0 else ""
        rows.append(
            {
                "theme": int(theme),
                "zone": ranked.index[0],
                "zone_confidence": round(float(ranked.iloc[0]), 4),
                "zone_runner_up": runner_up,
                "zone_split": bool(ranked.iloc[0] < split_below),
            }
        )
    return pd.DataFrame(rows, columns=["theme", "zone", "zone_confidence", "zone_runner_up", "zone_split"])


def held_elsewhere(units: pd.DataFrame, themes: pd.DataFrame, zone_id: str, top: int = 3) -> list[tuple[int, int]]:
    """The themes filed under other zones that hold most of the units filed in ``zone_id`` (theme, units), most
    first: where a zone's talk went when no theme of its own gathers it (the ML interviews: 158 goal units from all
    11 participants, no goals theme)."""
    filed_here = set(themes.loc[themes["zone"] == zone_id, "theme"].tolist()) if len(themes) else set()
    own = units[(units["zone"] == zone_id) & (units["theme"] >= 0) & ~units["theme"].isin(filed_here)]
    counts = own["theme"].value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")  # ties: the lower theme id first
    return [(int(theme), int(n)) for theme, n in counts.head(top).items()]


def zone_table(units: pd.DataFrame, themes: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Per zone: its themes, units and the participants voicing it."""
    participant = participant_key(units)
    total = max(participant.nunique(), 1)
    rows = []
    for zone in (*taxonomy.zones, taxonomy.none):
        mask = units["zone"] == zone.id
        zone_themes = themes.loc[themes["zone"] == zone.id, "theme"].tolist() if len(themes) else []
        rows.append(
            {
                "zone": zone.id,
                "name": zone.name,
                "themes": len(zone_themes),
                "theme_ids": " ".join(map(str, zone_themes)),
                "units": int(mask.sum()),
                "participants": int(participant[mask].nunique()),
                "participant_share": round(participant[mask].nunique() / total, 4),
            }
        )
    return pd.DataFrame(rows)
