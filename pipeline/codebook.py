"""The researcher's codebook: themes kept, renamed, merged, split, excluded or moved between zones, and seed codes
of the researcher's own, applied to a new run so that judgement persists and theme ids stay put.

A codebook is data (``codebook.toml``, written by ``insightmap codebook export``). A run with ``--codebook`` finds
themes as always, then matches each found theme to the codebook theme whose example quotes it resembles most
(one to one, cosine of mean vectors at least ``codebook_match``): a matched theme takes the codebook's id, label,
description and zone; a found theme matching none is new (next free id, marked new in the report); a codebook theme
matching nothing is reported, never dropped silently. Seed codes are found by their name, description and examples:
a unit joins a seed code when it is closer to it than ``seed_threshold`` and than to its own theme.

Input: the unit table with ``theme`` (``themes.discover_themes``) and the units' own vectors. Output: the same
table with ``theme`` (and ``theme_confidence`` for seed codes) rewritten, and a ``CodebookOutcome``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import tomli_w

from .config import StageParams
from .errors import InputError
from .tables import CODEBOOK_LABEL, UNASSIGNED
from .themes import centroids

if TYPE_CHECKING:
    from .result import Run
    from .zones import Taxonomy

CODEBOOK_VERSION = 1
HEADER = """\
# insightmap codebook. Edit it, then apply it: insightmap themes PATH -o OUT --codebook codebook.toml
#
# Each [[themes]] entry is a theme of the last run; `id` is how the next run recognises it (leave it as it is).
#   rename:   change `label` (and write a `description`)
#   move:     change `zone` to another zone id ({zones})
#   merge:    merge_into = <id of the theme that absorbs this one>
#   exclude:  exclude = true   (its units are left unassigned; the report says how many)
#   split:    split = [{{ label = "price", phrases = ["too expensive", "licence cost"] }},
#                      {{ label = "billing", phrases = ["invoice", "monthly bill"] }}]
#   examples: verbatim quotes that define the theme; add or remove some to steer what it gathers
# Add codes of your own (deductive coding) as [[codes]] with a name, description, zone and example quotes;
# insightmap finds and counts them. keyphrases and participants are for reading only.
"""


@dataclass(frozen=True)
class SplitPart:
    label: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class CodebookTheme:
    id: int
    label: str
    description: str = ""
    zone: str = ""
    examples: tuple[str, ...] = ()
    merge_into: int | None = None
    exclude: bool = False
    split: tuple[SplitPart, ...] = ()

    def seed_text(self) -> list[str]:
        return list(self.examples) or [f"{self.label}. {self.description}".strip()]


@dataclass(frozen=True)
class SeedCode:
    name: str
    description: str = ""
    zone: str = ""
    examples: tuple[str, ...] = ()

    def seed_text(self) -> list[str]:
        return [f"{self.name}. {self.description}".strip(), *self.examples]


@dataclass(frozen=True)
class Codebook:
    themes: tuple[CodebookTheme, ...] = ()
    codes: tuple[SeedCode, ...] = ()
    members: dict[str, tuple[str, int]] = field(default_factory=dict)  # earlier run: unit id → (text, theme)

    @property
    def ids(self) -> set[int]:
        return {t.id for t in self.themes}


@dataclass(frozen=True)
class CodebookParams(StageParams):
    codebook_match: float
    seed_threshold: float


@dataclass
class CodebookOutcome:
    """What the codebook did, for the report, the manifest and the terminal: nothing in it passes silently."""

    labels: dict[int, str] = field(default_factory=dict)  # theme id → label set by the codebook
    descriptions: dict[int, str] = field(default_factory=dict)
    zones: dict[int, str] = field(default_factory=dict)  # theme id → zone set by the codebook
    origin: dict[int, str] = field(default_factory=dict)  # theme id → codebook, new, split or seed
    entries: list[dict[str, Any]] = field(default_factory=list)  # one per codebook theme and seed code: status

    def summary(self) -> dict[str, Any]:
        return {"entries": self.entries, "origin": {str(k): v for k, v in sorted(self.origin.items())}}


# --- reading and writing -------------------------------------------------------------------------------------------


def read_codebook(path: str | Path, taxonomy: Taxonomy) -> Codebook:
    """A codebook file, checked: every problem is one line naming the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "codebook not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a valid codebook TOML ({exc})") from None
    zones = {*taxonomy.ids, taxonomy.none.id}
    themes = tuple(_theme(path, i, entry, zones) for i, entry in enumerate(_entries(path, data, "themes"), 1))
    ids = [t.id for t in themes]
    for theme in themes:
        if ids.count(theme.id) > 1:
            raise InputError(path, f"theme id {theme.id} appears {ids.count(theme.id)} times; ids must be unique")
        if theme.merge_into is not None and (theme.merge_into not in ids or theme.merge_into == theme.id):
            raise InputError(path, f"theme {theme.id}: merge_into = {theme.merge_into} is not another theme's id")
    _check_merges(path, themes)
    codes = tuple(_code(path, i, entry, zones) for i, entry in enumerate(_entries(path, data, "codes"), 1))
    return Codebook(themes, codes)


def _check_merges(path: Path, themes: tuple[CodebookTheme, ...]) -> None:
    """Merges must end at a theme that absorbs them: a cycle (3 → 5 → 3) is refused, never followed forever."""
    into = {t.id: t.merge_into for t in themes if t.merge_into is not None}
    for start in into:
        seen, current = [start], into[start]
        while current in into:
            if current in seen:
                chain = " → ".join(map(str, [*seen[seen.index(current) :], current]))
                raise InputError(path, f"merge_into makes a cycle ({chain}); one theme must absorb the others")
            seen.append(current)
            current = into[current]


def _entries(path: Path, data: dict, key: str) -> list[dict]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(path, f"[[{key}]] must be a list of tables")
    return entries


def _text(path: Path, where: str, entry: dict, key: str, required: bool = False) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(path, f"{where}: {key} must be {'non-empty ' if required else ''}text")
    return value.strip()


def _texts(path: Path, where: str, entry: dict, key: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, f"{where}: {key} must be a list of text")
    return tuple(v.strip() for v in value if v.strip())


def _zone(path: Path, where: str, entry: dict, zones: set[str]) -> str:
    zone = _text(path, where, entry, "zone")
    if zone and zone not in zones:
        raise InputError(path, f"{where}: zone {zone!r} is not one of {', '.join(sorted(zones))}")
    return zone


def _theme(path: Path, number: int, entry: dict, zones: set[str]) -> CodebookTheme:
    theme_id = entry.get("id")
    if not isinstance(theme_id, int) or isinstance(theme_id, bool) or theme_id < 0:
        raise InputError(path, f"theme entry {number}: id must be a whole number ≥ 0 (got {theme_id!r})")
    where = f"theme {theme_id}"
    merge_into, exclude = entry.get("merge_into"), entry.get("exclude", False)
    if merge_into is not None and (not isinstance(merge_into, int) or isinstance(merge_into, bool)):
        raise InputError(path, f"{where}: merge_into must be a theme id")
    if not isinstance(exclude, bool):
        raise InputError(path, f"{where}: exclude must be true or false")
    parts = entry.get("split", [])
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise InputError(path, f"{where}: split must be a list of {{ label, phrases }} tables")
    split = tuple(
        SplitPart(_text(path, where, p, "label", True), _texts(path, where, p, "phrases") or (p["label"],))
        for p in parts
    )
    if len(split) == 1:
        raise InputError(path, f"{where}: a split needs at least two parts")
    theme = CodebookTheme(
        theme_id, _text(path, where, entry, "label", True), _text(path, where, entry, "description"),
        _zone(path, where, entry, zones), _texts(path, where, entry, "examples"), merge_into, exclude, split,
    )  # fmt: skip
    return theme


def _code(path: Path, number: int, entry: dict, zones: set[str]) -> SeedCode:
    where = f"code {number}"
    return SeedCode(
        _text(path, where, entry, "name", True), _text(path, where, entry, "description"),
        _zone(path, where, entry, zones), _texts(path, where, entry, "examples"),
    )  # fmt: skip


def codebook_of_run(run: Run) -> Codebook:
    """A run's themes as a codebook: ids, labels, zones, descriptions and ranked quotes as examples."""
    quotes = run.quotes.groupby("theme")["text"].apply(tuple).to_dict() if len(run.quotes) else {}
    described = "description" in run.themes.columns
    themes = tuple(
        CodebookTheme(
            int(row.theme),
            str(row.label),
            str(row.description) if described else "",
            str(row.zone),
            quotes.get(row.theme, ()),
        )  # fmt: skip
        for row in run.themes.sort_values("theme").itertuples()
    )
    themed = run.units[run.units["theme"] != UNASSIGNED]
    members = dict(zip(themed["unit_id"], zip(themed["text"], themed["theme"].astype(int), strict=True), strict=True))
    return Codebook(themes, (), members)


def export_codebook(run: Run) -> str:
    """``codebook.toml`` for the researcher to edit: every theme with its id, label, description, zone, keyphrases,
    participants and example quotes (a header says what may be changed and how)."""
    info = run.themes.set_index("theme")
    themes = []
    for theme in codebook_of_run(run).themes:
        row = info.loc[theme.id]
        entry = {"id": theme.id, "label": theme.label, "description": theme.description, "zone": theme.zone}
        entry |= {"participants": int(row["participants"]), "keyphrases": str(row["keyphrases"]).split("; ")}
        themes.append(entry | {"examples": list(theme.examples)})
    header = HEADER.format(zones=", ".join([*run.taxonomy.ids, run.taxonomy.none.id]))
    return header + "\n" + tomli_w.dumps({"version": CODEBOOK_VERSION, "themes": themes}, multiline_strings=False)


# --- applying ------------------------------------------------------------------------------------------------------


def _centre(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def apply_codebook(
    units: pd.DataFrame,
    vectors: np.ndarray,
    codebook: Codebook,
    embed: Callable[[list[str]], np.ndarray],
    params: CodebookParams,
    min_new: int = 1,
) -> tuple[pd.DataFrame, CodebookOutcome]:
    """Found themes renamed to the codebook's ids and edited as it says; see the module docstring.

    A codebook read from an earlier run also knows its units: a unit it holds with the same text keeps its theme,
    so adding interviews moves no earlier quote; the new units go with the theme their found theme matched, or
    form a new theme when at least ``min_new`` of them were found together.
    """
    from scipy.optimize import linear_sum_assignment

    found, offset = _pinned(units, codebook.members, min_new)
    labels = np.full(len(units), UNASSIGNED, dtype=int)
    confidence = units["theme_confidence"].to_numpy(dtype=float).copy()
    outcome = CodebookOutcome()
    found_ids, found_centres = centroids(vectors, found)
    book = list(codebook.themes)
    matched = {int(i): int(i) - offset for i in found_ids if i - offset in codebook.ids}  # earlier units: home
    fresh = np.flatnonzero(found_ids < offset)
    if book and len(fresh):
        book_centres = np.stack([_centre(embed(t.seed_text())) for t in book])
        similarity = book_centres @ found_centres[fresh].T
        if codebook.members:  # the earlier themes are all there already: new units join the one they resemble
            pairs = [(int(similarity[:, c].argmax()), c) for c in range(len(fresh))]
        else:  # a fresh run of the study: each codebook theme is at most one found theme
            pairs = list(zip(*linear_sum_assignment(-similarity), strict=True))
        for r, c in pairs:
            if similarity[r, c] >= params.codebook_match:
                matched[int(found_ids[fresh[c]])] = book[r].id
    by_id = {t.id: t for t in book}
    next_id = max([*codebook.ids, -1]) + 1

    def new_id(origin: str) -> int:
        nonlocal next_id
        outcome.origin[next_id] = origin
        next_id += 1
        return next_id - 1

    for found_id in (int(i) for i in found_ids):  # found order: most prevalent first
        members = found == found_id
        if found_id not in matched:
            labels[members] = new_id("new")
            continue
        theme = by_id[matched[found_id]]
        target = theme
        while target.merge_into is not None:  # a chain of merges ends at the theme that absorbs them
            target = by_id[target.merge_into]
        if theme.exclude or target.exclude:
            continue  # left unassigned; counted in the entry below
        if theme.split and target is theme:
            parts = np.stack([_centre(embed(list(p.phrases))) for p in theme.split])
            nearest = (vectors[members] @ parts.T).argmax(axis=1)
            ids = [theme.id, *(new_id("split") for _ in theme.split[1:])]
            labels[np.flatnonzero(members)] = np.asarray(ids)[nearest]
            for part, part_id in zip(theme.split, ids, strict=True):
                outcome.labels[part_id] = part.label
                if theme.zone:
                    outcome.zones[part_id] = theme.zone
        else:
            labels[members] = target.id
    for theme in book:
        origin = "codebook" if (labels == theme.id).any() else None
        if origin:
            outcome.origin.setdefault(theme.id, origin)
            outcome.labels.setdefault(theme.id, theme.label)
            outcome.descriptions[theme.id] = theme.description
            if theme.zone:
                outcome.zones.setdefault(theme.id, theme.zone)
    labels, confidence = _seed_codes(labels, confidence, vectors, codebook.codes, embed, params, new_id, outcome)
    for theme in book:
        where = [f for f, b in matched.items() if b == theme.id]
        units_matched = int(np.isin(found, where).sum())
        status = (
            "not found" if not where
            else "excluded" if theme.exclude
            else f"merged into {theme.merge_into}" if theme.merge_into is not None
            else "split" if theme.split
            else "kept"
        )  # fmt: skip
        outcome.entries.append({"id": theme.id, "label": theme.label, "status": status, "units": units_matched})
    themed = units.assign(theme=labels, theme_confidence=np.round(confidence, 4))
    return themed, outcome


def _pinned(units: pd.DataFrame, members: dict[str, tuple[str, int]], min_new: int) -> tuple[np.ndarray, int]:
    """Found theme ids, with the earlier run's units (same id, same text) put back in their themes as
    ``offset + theme``. A new unit found beside earlier ones joins the earlier theme most of them hold; new units
    found only among themselves stay a found theme when at least ``min_new`` were found together."""
    found = units["theme"].to_numpy().copy()
    offset = int(found.max(initial=0)) + 1
    if not members:
        return found, offset
    earlier = [members.get(u, ("", UNASSIGNED)) for u in units["unit_id"]]
    same = np.array([t == text for (t, _), text in zip(earlier, units["text"], strict=True)], dtype=bool)
    previous = np.array([theme for _, theme in earlier], dtype=int)
    home = pd.DataFrame({"found": found[same], "previous": previous[same]})
    home = home[(home["found"] != UNASSIGNED) & (home["previous"] != UNASSIGNED)]
    majority = home.groupby("found")["previous"].agg(lambda p: p.value_counts().sort_index().idxmax()).to_dict()
    new = ~same & (found != UNASSIGNED)
    sizes = pd.Series(found[new]).value_counts()
    result = np.full(len(found), UNASSIGNED, dtype=int)
    for position in np.flatnonzero(new):
        cluster = int(found[position])
        if cluster in majority:
            result[position] = majority[cluster] + offset
        elif sizes[cluster] >= min_new:
            result[position] = cluster
    result[same] = np.where(previous[same] == UNASSIGNED, UNASSIGNED, previous[same] + offset)
    return result, offset


def _seed_codes(labels, confidence, vectors, codes, embed, params, new_id, outcome):
    """Each seed code takes the units closer to it than ``seed_threshold`` and than to their own theme."""
    if not codes:
        return labels, confidence
    seeds = np.stack([_centre(embed(code.seed_text())) for code in codes])
    ids, own = centroids(vectors, labels)
    to_own = np.zeros(len(labels))
    themed = labels != UNASSIGNED
    if len(ids):
        to_own[themed] = np.einsum("ij,ij->i", vectors[themed], own[np.searchsorted(ids, labels[themed])])
    similarity = vectors @ seeds.T
    best = similarity.argmax(axis=1)
    best_similarity = similarity[np.arange(len(labels)), best]
    joins = (best_similarity >= params.seed_threshold) & (best_similarity > to_own)
    labels, confidence = labels.copy(), confidence.copy()
    for k, code in enumerate(codes):
        members = joins & (best == k)
        code_id = new_id("seed")
        labels[members] = code_id
        confidence[members] = best_similarity[members]
        outcome.labels[code_id] = code.name
        outcome.descriptions[code_id] = code.description
        if code.zone:
            outcome.zones[code_id] = code.zone
        outcome.entries.append({"id": code_id, "label": code.name, "status": "seed code", "units": int(members.sum())})
    return labels, confidence


def edited_themes(themes: pd.DataFrame, outcome: CodebookOutcome | None) -> pd.DataFrame:
    """The described theme table with the codebook's labels and descriptions, and each theme's origin."""
    if outcome is None:
        return themes.assign(description="", origin="found")
    ids = themes["theme"].astype(int)
    return themes.assign(
        label=[outcome.labels.get(i, label) for i, label in zip(ids, themes["label"], strict=True)],
        label_form=themes["label_form"].where(~ids.isin(list(outcome.labels)), CODEBOOK_LABEL),
        description=[outcome.descriptions.get(i, "") for i in ids],
        origin=[outcome.origin.get(i, "found") for i in ids],
    )
