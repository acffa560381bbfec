"""Persona drafts: group participants by their theme profiles and write drafts whose every line cites quotes.

A participant's profile is read in every run the themes were voted from (``participant_similarity``), and
participants are grouped by k-means on how alike those profiles are, so membership does not hinge on how one
consensus of the runs split a contested topic.

Personas are behavioural (what participants want, why, what worries them); segments are factual (industry,
size, role, from ``metadata.csv``). Both are kept, and cross-tabulated to show where they diverge.

Persona table columns: ``persona, name, archetype, size, participants, cohesion, stability, defining_themes`` and
one ``top_<zone>`` column per zone of the taxonomy. Membership table: ``interview_id, speaker, persona, fit``
(persona -1 = fits no group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import StageParams
from .describe import slight, substance
from .errors import ConfigError
from .resources import language
from .tables import OPENING_WORDS, UNASSIGNED, VERB_PHRASE, participant_key, said_before
from .themes import label_sums
from .zones import NONE, Taxonomy

EVIDENCE_COLUMNS = ["persona", "zone", "theme", "participants", "rank", "unit_id"]


@dataclass(frozen=True)
class PersonaParams(StageParams):
    """How participants are grouped and drafts are drawn."""

    personas: int  # 0 = k chosen by silhouette between persona_min and persona_max
    persona_min: int
    persona_max: int
    persona_defining_share: float  # a defining theme is voiced by at least this share of the persona...
    persona_defining_p: float  # ...or by more of it than chance would put there (``over_represented``)
    persona_lift_smoothing: float  # added to both shares before their ratio, so rare themes do not dominate
    persona_defining_themes: int
    persona_draft_themes: int  # themes cited per zone in a draft
    persona_draft_quotes: int  # quotes cited per theme in a draft
    quote_min_words: int  # shorter units are cited only when a claim has nothing fuller (``describe.slight``)
    quote_min_content: int  # units with fewer words that say something are never evidence (``describe.substance``)
    persona_dominant_share: float  # a persona holding more than this share is common ground, and said to be
    persona_tentative_below: int  # with fewer participants any grouping is said to be tentative
    persona_chance_studies: int  # structure-free studies the grouping's silhouette is compared with (0 = off)
    persona_chance_max: int  # studies with more participants are not tested against chance
    persona_chance_alpha: float  # a grouping beats the structure-free studies at this p-value or below
    persona_resamples: int  # draws of participants each persona's stability is measured on (0 = off)
    seed: int


@dataclass
class Personas:
    table: pd.DataFrame
    members: pd.DataFrame
    similarity: pd.DataFrame  # participants × participants: what grouping used (``participant_similarity``)
    presence: pd.DataFrame  # participant × theme: voiced at least once (what prevalence counts)
    k_scores: dict[int, float]
    structure: dict[str, object]  # k chosen, its silhouette, its strength, the largest persona's share
    evidence: pd.DataFrame  # what each draft cites: persona × zone × theme, with its quotes (EVIDENCE_COLUMNS)


def theme_counts(units: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """Participants × themes: how many of each participant's units fall in each theme."""
    themed = units[units["theme"] != UNASSIGNED]
    counts = pd.crosstab([themed["interview_id"], themed["speaker"]], themed["theme"]).astype(float)
    return counts.reindex(columns=themes["theme"].to_numpy(), fill_value=0.0)


def unit_zone_weights(units: pd.DataFrame, taxonomy: Taxonomy) -> np.ndarray:
    """Per unit: its zone's ``persona_weight`` (taxonomy data; 1 for a zone the taxonomy does not weigh)."""
    weight = {z.id: z.persona_weight for z in (*taxonomy.zones, taxonomy.none)}
    return units["zone"].map(weight).fillna(1.0).to_numpy(dtype=float)


def theme_similarity(theme_vectors: np.ndarray) -> np.ndarray:
    """How alike two themes are, for the soft cosine: their centroids' cosine above the study's typical pair of
    themes (the median), rescaled so that a theme is 1 to itself and a typical or less alike pair is 0.

    Sentence-embedding centroids are all alike in absolute terms (median cosine 0.50 among the scientists' themes,
    0.60 among the ML interviews'): with raw cosines every theme counted as half of every other, so every profile
    pointed the same way and personas differed only in how much they said."""
    similarity = theme_vectors @ theme_vectors.T
    n = len(similarity)
    baseline = float(np.median(similarity[~np.eye(n, dtype=bool)])) if n > 1 else 0.0
    alike = np.clip((similarity - baseline) / max(1.0 - baseline, 1e-6), 0.0, None)
    np.fill_diagonal(alike, 1.0)
    return alike


def profile_matrix(counts: np.ndarray, zone_weights: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Participants × themes from theme counts. The share of each participant's themed units per theme is scaled by the
    ``persona_weight`` of its units' zones (``run_profiles``; taxonomy data: the behavioural core drives
    personas, background does not) and by the theme's rarity (log inverse share of participants voicing it, as in
    TF-IDF: what everyone says tells no one apart), smoothed through theme similarity (a soft cosine: "flat fee" and
    "pricing model" count as alike), scaled to unit length, then centred on the mean profile. Without rarity and
    centring every profile shared the common part and grouping collapsed into one catch-all persona (121 of 125
    scientists, 10 of 11 ML interviewees). Without the unit length, centring turned length into direction: the
    profiles' first principal component (98 % of their variance on the ML interviews) was how much of a
    participant's talk fell in rare themes, and personas split the talkers of rare themes from the rest (silhouette
    0.97, whatever they said)."""
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.where(totals == 0, 1, totals)
    rarity = np.log((1 + len(counts)) / (1 + (counts > 0).sum(axis=0)))
    profiles = _unit_rows((shares * zone_weights * rarity) @ similarity)
    return profiles - profiles.mean(axis=0) if len(profiles) else profiles


@dataclass(frozen=True)
class RunProfile:
    """One run's groups as ``profile_matrix`` reads them: each unit's group (a column; -1 for none), each group's
    zone weight and how alike the groups are."""

    groups: np.ndarray
    zone_weights: np.ndarray
    similarity: np.ndarray

    def counts(self, speakers: np.ndarray, participants: int) -> np.ndarray:
        """Participants × groups: how many of each participant's units (``speakers``: row per unit, -1 for none)
        the run put in each group."""
        counted = (self.groups >= 0) & (speakers >= 0)
        counts = np.zeros((participants, len(self.zone_weights)))
        np.add.at(counts, (speakers[counted], self.groups[counted]), 1.0)
        return counts


def run_profiles(
    units: pd.DataFrame, embeddings: np.ndarray, runs: np.ndarray | None, taxonomy: Taxonomy
) -> list[RunProfile]:
    """Each of the ``runs`` the themes were voted from (runs × units; none: the themes alone) as groups that
    ``profile_matrix`` can read. A group is read from its own units: its vector is their centroid (``embeddings``,
    rows as ``units``), its zone weight their zones' ``persona_weight`` averaged by zone confidence.

    Read through the themes the runs voted for (each group the centroid and zone weight of the themes holding its
    units, used before), every run's groups moved whenever the vote did: one 1e-6 noise draw split or merged a
    theme, every run's groups touching it changed vector, and participants' similarities moved by up to 0.26 on the
    scientists interviews (a one-off trace of the eight draws, session 32). Read from the units, a run's groups move
    only as the runs themselves do: up to 0.06. Persona ARI under the eight draws of ``python -m benchmarks.personas``
    went from 0.90-0.98 to 1.00 on every draw on the scientists, and from 0.78 on four draws to 1.00 on every draw
    on the ML interviews."""
    found = [units["theme"].to_numpy()] if runs is None or not len(runs) else list(runs)
    weights, confidence = unit_zone_weights(units, taxonomy), units["zone_confidence"].to_numpy(dtype=float)
    profiles = []
    for run in found:
        grouped = run != UNASSIGNED
        groups, group_of = np.unique(run[grouped], return_inverse=True)
        weighed = np.bincount(group_of, (confidence * weights)[grouped], len(groups))
        counted = np.bincount(group_of, confidence[grouped], len(groups))
        unit_groups = np.full(len(run), -1)
        unit_groups[grouped] = group_of
        zone_weights = np.divide(weighed, counted, out=np.ones(len(groups)), where=counted > 0)  # none filed: 1
        centroids = _unit_rows(label_sums(embeddings, run, groups))
        profiles.append(RunProfile(unit_groups, zone_weights, theme_similarity(centroids)))
    return profiles


def participant_similarity(runs: list[RunProfile], speakers: np.ndarray, participants: int) -> np.ndarray:
    """Participants × participants: the cosine of their profiles (``profile_matrix``) averaged over ``runs``
    (``speakers``: each unit's participant row, -1 for none).

    One consensus of the themes is one draw: where the runs split a topic, another machine's last bits tip it,
    and participants regrouped wholesale (persona ARI 0.34-0.71 over eight 1e-6 noise draws on the scientists
    interviews, session 22). Read in every run, a participant is alike to another as the runs say on the whole."""
    total = np.zeros((participants, participants))
    for run in runs:
        profiles = _unit_rows(profile_matrix(run.counts(speakers, participants), run.zone_weights, run.similarity))
        total += profiles @ profiles.T
    similarity = total / max(len(runs), 1)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def shuffled_speakers(speakers: np.ndarray, blocks: np.ndarray, participants: int, rng) -> np.ndarray:
    """A structure-free study: each theme's units (``blocks``: each unit's theme) of each participant handed, as
    one block, to a participant drawn at random (a permutation per theme), the same in every run. Every theme
    keeps its prevalence and no participant's themes go together."""
    ids, block_of = np.unique(blocks, return_inverse=True)
    moved = np.array([rng.permutation(participants) for _ in ids]).reshape(len(ids), participants)
    return np.where(speakers >= 0, moved[block_of, np.maximum(speakers, 0)], -1)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _distances(similarity: np.ndarray) -> np.ndarray:
    distances = np.clip(1 - similarity, 0, 2)
    np.fill_diagonal(distances, 0.0)  # exactly zero, as silhouette requires (rounding leaves ~1e-7)
    return distances


# Leading dimensions kept (k-means reads the first k of them, ``_groupings``): with all 1,000 of a 1,000-participant
# study, a structure-free study took 13 s to group, 0.7 s with 64.
COORDINATES = 64


def coordinates(similarity: np.ndarray) -> np.ndarray:
    """Points whose dot products approximate ``similarity`` (its leading eigenvectors scaled by the roots of their
    eigenvalues, at most ``COORDINATES``): k-means on them is k-means on every run's profiles side by side."""
    values, vectors = np.linalg.eigh(similarity)
    positive = values > 1e-9 * max(float(values.max()), 1e-12)
    kept = np.flatnonzero(positive)[::-1][:COORDINATES]
    return vectors[:, kept] * np.sqrt(values[kept])


KMEANS_STARTS = 50  # k-means starts per k, the best kept (every figure of session 22 was measured with 50)


def _groupings(points: np.ndarray, ks: list[int], seed: int) -> dict[int, np.ndarray]:
    """k-means groupings of ``points`` at every k of ``ks``, each on the k leading coordinates.

    Average linkage (used before) is a chain of merges: the scientists' profiles moved by noise of 1e-3 changed
    early merges and regrouped them at ARI 0.71-1.00 over five draws; k-means moves the participants near a
    boundary. k groups differ along k - 1 directions (spectral clustering reads the k leading eigenvectors); the
    trailing coordinates hold the sampling error of the runs' averaged profiles. With all 64 read, the k-means
    optima of the scientists (weak structure) lay within 0.02 % of each other, and noise tipped which one won:
    0.95-1.00 over eight 1e-6 noise draws (0.82 on one draw with a variant of the themes); reading k, 0.98-1.00
    (1.00 on that draw), silhouettes the same to 0.001 (``python -m benchmarks.personas``, session 28).

    On one thread: a few hundred points are too few to share, and scikit-learn's OpenMP threads wait on each other
    at every step. With another program busy on one of two cores, the personas stage on the scientists took 22.7 s
    (8.0 s on one thread; 6.6 s against 5.0 s on an idle machine, the same personas), and the grouping no longer
    depends on how many cores a machine has."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return {k: KMeans(k, n_init=KMEANS_STARTS, random_state=seed).fit_predict(points[:, :k]) for k in ks}


def _silhouettes(similarity: np.ndarray, ks: list[int], seed: int) -> tuple[dict[int, np.ndarray], dict[int, float]]:
    from sklearn.metrics import silhouette_score

    groupings = _groupings(coordinates(similarity), ks, seed)
    distances = _distances(similarity)
    return groupings, {k: float(silhouette_score(distances, g, metric="precomputed")) for k, g in groupings.items()}


def candidate_ks(n: int, k: int | None, k_min: int, k_max: int) -> list[int]:
    """The persona counts tried: the one asked for, else persona_min up to persona_max (at most half of n)."""
    return [k] if k else list(range(k_min, max(k_min, min(k_max, n // 2)) + 1))


MIN_TO_GROUP = 3  # fewer participants are one group: no k can be chosen (silhouette needs 2 ≤ k < n)


def group_participants(
    similarity: np.ndarray, k: int | None, k_min: int, k_max: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """k-means on the participants' ``similarity`` (``participant_similarity``), k by silhouette unless given.

    Returns labels (-1 = fits no group: alone in its group or closer to another group than its own), the
    per-participant silhouette (``fit``), and the silhouette of every k tried.
    """
    from sklearn.metrics import silhouette_samples

    n = len(similarity)
    if n < MIN_TO_GROUP:
        return np.zeros(n, dtype=int), np.zeros(n), {}
    if k is not None and not 2 <= k <= n - 1:
        raise ConfigError(f"personas: cannot form {k} personas from {n} participants (choose 2 to {n - 1})")
    groupings, scores = _silhouettes(similarity, candidate_ks(n, k, k_min, k_max), seed)
    labels = groupings[best_k(scores)]
    fit_values = silhouette_samples(_distances(similarity), labels, metric="precomputed")
    sizes = pd.Series(labels).value_counts()
    labels = np.where((fit_values < 0) | (pd.Series(labels).map(sizes).to_numpy() < 2), -1, labels)
    return labels, fit_values, scores


RESAMPLE_SHARE = 0.8  # each draw keeps this share of the participants (Hennig's clusterboot by subsetting)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def persona_stability(points: np.ndarray, labels: np.ndarray, k: int, resamples: int, seed: int) -> dict[int, float]:
    """Per persona (label > 0; -1 fits none): the mean, over ``resamples`` draws of 80 % of the participants
    regrouped at the same k, of the best Jaccard overlap between its drawn members and a group found again.
    Hennig's reading: above 0.75 a group holds; 0.5 or below it dissolves. A split that holds can still be one
    that any study shows: ``chance_silhouettes`` says whether there is structure at all. ``points``: the
    participants' ``coordinates``."""
    n = len(points)
    size = max(3, int(round(RESAMPLE_SHARE * n)))
    rng = np.random.default_rng(seed)
    overlaps: dict[int, list[float]] = {int(p): [] for p in np.unique(labels) if p > 0}
    for _ in range(resamples):
        drawn = np.sort(rng.choice(n, size=size, replace=False))
        found = _groupings(points[drawn], [min(k, size - 1)], seed)[min(k, size - 1)]
        for persona, found_again in overlaps.items():
            members = labels[drawn] == persona
            if members.any():
                found_again.append(max(_jaccard(members, found == group) for group in np.unique(found)))
    return {p: round(float(np.mean(v)), 4) if v else 0.0 for p, v in overlaps.items()}


def chance_silhouettes(
    runs: list[RunProfile], speakers: np.ndarray, blocks: np.ndarray, ks: list[int], studies: int, seed: int
) -> list[float]:
    """The best silhouette over ``ks`` in each of ``studies`` structure-free studies (``shuffled_speakers``). A
    grouping no better than these is what grouping finds in any study, not personas."""
    rng = np.random.default_rng(seed)
    participants = int(speakers.max()) + 1 if len(speakers) else 0
    usable = [k for k in ks if k < participants]
    if participants < 3 or not usable:
        return []
    best = []
    for _ in range(studies):
        similarity = participant_similarity(runs, shuffled_speakers(speakers, blocks, participants, rng), participants)
        best.append(max(_silhouettes(similarity, usable, seed)[1].values()))
    return best


SILHOUETTE_TIE = 0.02  # silhouettes this close are one: 1e-6 noise moves the scientists' by up to 0.04 per k


def best_k(scores: dict[int, float]) -> int:
    """The smallest k whose silhouette is within ``SILHOUETTE_TIE`` of the highest: on a flat curve the highest
    is a coin toss (grouping the scientists on theme shares averaged over the runs, one 1e-6 noise draw moved k
    from 2 to 8, at 0.336 against 0.327; session 22)."""
    top = max(scores.values())
    return min(k_ for k_, score in scores.items() if score >= top - SILHOUETTE_TIE)


# Kaufman & Rousseeuw's reading of an average silhouette: above 0.70 strong, above 0.50 reasonable, above 0.25
# weak, else no substantial structure.
STRENGTHS = ((0.70, "strong"), (0.50, "reasonable"), (0.25, "weak"))


def structure(
    scores: dict[int, float], members: pd.DataFrame, params: PersonaParams, chance: list[float] | None = None
) -> dict[str, object]:
    """How much persona structure the participants have: the k chosen (and the k of the highest silhouette, which
    a reader of the scores would expect; ``asked`` where ``--personas`` chose it), its silhouette and what that
    means, whether it beats structure-free studies (``chance``: their best silhouettes; the strength is "none"
    unless the grouping beats them at ``persona_chance_alpha``), whether one persona holds most participants, and
    whether the study is too small to trust any grouping."""
    k = best_k(scores) if scores else 0
    silhouette = scores.get(k, 0.0)
    grouped = members["persona"][members["persona"] > 0]
    largest = float(grouped.value_counts().max() / len(members)) if len(grouped) else 0.0
    strength = next((name for floor, name in STRENGTHS if silhouette > floor), "none")
    tested = {}
    if chance:
        p_value = (1 + sum(c >= silhouette for c in chance)) / (1 + len(chance))
        beyond = p_value <= params.persona_chance_alpha
        tested = {"chance_silhouette": round(float(np.mean(chance)), 4), "chance_studies": len(chance),
                  "p_value": round(p_value, 4), "beyond_chance": beyond}  # fmt: skip
        strength = strength if beyond else "none"
    return {
        "k": k,
        "asked": bool(params.personas),
        "highest_k": max(scores, key=scores.get) if scores else 0,
        "silhouette": round(silhouette, 4),
        "strength": strength,
        **tested,
        "largest_share": round(largest, 4),
        "dominant": largest > params.persona_dominant_share,
        "tentative": len(members) < params.persona_tentative_below,
    }


def _renumber(labels: np.ndarray, order_keys: list[tuple]) -> np.ndarray:
    """Persona ids 1..k by size (largest first), then by first member; -1 stays -1."""
    groups = sorted(
        {int(label) for label in labels if label >= 0},
        key=lambda g: (
            -int((labels == g).sum()),
            min(k for k, lab in zip(order_keys, labels, strict=True) if lab == g),
        ),
    )
    mapping = {g: i + 1 for i, g in enumerate(groups)}
    return np.array([mapping.get(int(label), -1) for label in labels])


def build_personas(
    units: pd.DataFrame,
    themes: pd.DataFrame,
    embeddings: np.ndarray,
    runs: np.ndarray | None,
    taxonomy: Taxonomy,
    params: PersonaParams,
) -> Personas:
    """Group participants and describe each group; ``embeddings`` are the units' vectors (rows as ``units``),
    ``runs`` the runs the themes were voted from (runs × units; ``themes.find_themes``), None for the themes
    alone."""
    counts = theme_counts(units, themes)
    found = run_profiles(units, embeddings, runs, taxonomy)
    speakers = counts.index.get_indexer(pd.MultiIndex.from_arrays([units["interview_id"], units["speaker"]]))
    similarity = participant_similarity(found, speakers, len(counts))
    k_asked = params.personas or None
    labels, fit, scores = group_participants(similarity, k_asked, params.persona_min, params.persona_max, params.seed)
    chance = None
    if scores and params.persona_chance_studies and len(counts) <= params.persona_chance_max:
        ks = candidate_ks(len(counts), k_asked, params.persona_min, params.persona_max)
        chance = chance_silhouettes(found, speakers, units["theme"].to_numpy(), ks, params.persona_chance_studies,
                                    params.seed)  # fmt: skip
    labels = _renumber(labels, list(counts.index))
    stable = {}
    if scores and params.persona_resamples:
        points = coordinates(similarity)
        stable = persona_stability(points, labels, best_k(scores), params.persona_resamples, params.seed)
    members = pd.DataFrame(
        {
            "interview_id": counts.index.get_level_values(0),
            "speaker": counts.index.get_level_values(1),
            "persona": labels,
            "fit": np.round(fit, 4),
        }
    )
    presence = counts > 0
    # What a draft may cite, and so what its claims count: units that say something ("We were running sort of a."
    # was cited for a persona of the ML interviews); short ones only where a claim has nothing fuller.
    substantial = units[substance(units) >= params.quote_min_content].assign(
        slight=lambda u: slight(u, params.quote_min_words, params.quote_min_content)
    )
    table = persona_table(members, presence, substantial, themes, taxonomy, params)
    table.insert(table.columns.get_loc("cohesion") + 1, "stability", table["persona"].map(stable).astype(float))
    evidence = draft_evidence(substantial, members, table["persona"], taxonomy, params)
    k_scores = {int(k_): round(v, 4) for k_, v in scores.items()}
    shape = structure(scores, members, params, chance)
    grouped_by = pd.DataFrame(similarity, counts.index, counts.index)
    return Personas(table, members, grouped_by, presence, k_scores, shape, evidence)


def theme_prevalence(members: pd.DataFrame, presence: pd.DataFrame) -> pd.DataFrame:
    """Persona × theme: participants of the persona voicing the theme (``presence`` rows align with members)."""
    voiced = presence.astype(int)
    voiced.index = members["persona"].to_numpy()
    return voiced.groupby(level=0).sum()


def over_represented(voices: pd.Series, size: int, everyone: pd.Series, participants: int) -> pd.Series:
    """Per theme: the chance that ``size`` participants drawn at random from all ``participants`` would hold at
    least ``voices`` of the ``everyone`` who voice it (Fisher's exact test, one-sided, as a hypergeometric tail).

    A defining theme had to be voiced by half of its persona: in a study of 125 scientists, whose 67 themes each
    reach a fifth of them at most, one persona of 59 had no defining theme ("A buyer with no distinctive themes
    yet."), though 37 % of it asked for sources to the papers used against 6 % of the others (p < 0.0001), and the
    other persona's one defining theme was one everyone voiced. Over-representation beyond chance finds what sets
    a large persona apart; the share still serves small ones, where no test can reach significance."""
    from scipy.stats import hypergeom

    tail = hypergeom.sf(voices.to_numpy() - 1, participants, everyone.to_numpy(), size)
    return pd.Series(tail, index=voices.index)


def persona_table(
    members: pd.DataFrame,
    presence: pd.DataFrame,
    units: pd.DataFrame,
    themes: pd.DataFrame,
    taxonomy: Taxonomy,
    params: PersonaParams,
) -> pd.DataFrame:
    prevalence = theme_prevalence(members, presence)
    label = themes.set_index("theme")["label"]
    zone_of = themes.set_index("theme")["zone"]
    # An output folder written before label forms were kept reads as noun phrases.
    form = themes.set_index("theme")["label_form"] if "label_form" in themes else pd.Series(dtype=str)
    names = language().placeholder_names
    rows = []
    for persona in sorted(p for p in members["persona"].unique() if p > 0):
        mask = (members["persona"] == persona).to_numpy()
        size = int(mask.sum())
        inside = prevalence.loc[persona] / size
        outside_n = max(int((~mask).sum()), 1)
        outside = (prevalence.drop(index=persona).sum() / outside_n) if len(prevalence) > 1 else inside * 0
        lift = (inside + params.persona_lift_smoothing) / (outside + params.persona_lift_smoothing)
        chance = over_represented(prevalence.loc[persona], size, prevalence.sum(), len(members))
        telling = (inside >= params.persona_defining_share) | (chance <= params.persona_defining_p)
        behavioural = [t for t in inside.index if zone_of.get(t) != NONE and telling[t] and inside[t] > outside[t]]
        defining = sorted(behavioural, key=lambda t: (chance[t], -lift[t], t))[: params.persona_defining_themes]
        cohesion = members.loc[mask, "fit"].mean()  # mean silhouette: how much closer to each other than to others
        row = {
            "persona": int(persona),
            "name": names[(persona - 1) % len(names)],
            "size": size,
            "participants": "; ".join(
                f"{i} ({s})" for i, s in members.loc[mask, ["interview_id", "speaker"]].itertuples(index=False)
            ),
            "cohesion": round(float(cohesion), 4),
            "defining_themes": "; ".join(f"{t}: {label[t]}" for t in defining),
        }
        for zone in taxonomy.zones:
            evidence = zone_evidence(units, members, persona, zone.id)
            top = int(evidence["theme"].iloc[0]) if len(evidence) else None
            row[f"top_{zone.id}"] = f"{top}: {label[top]}" if top is not None else ""
        row["archetype"] = archetype(defining, zone_of, label, form, taxonomy)
        rows.append(row)
    columns = [
        "persona",
        "name",
        "archetype",
        "size",
        "participants",
        "cohesion",
        "defining_themes",
        *[f"top_{z.id}" for z in taxonomy.zones],
    ]
    return pd.DataFrame(rows, columns=columns)


SAID_FORMS = frozenset({VERB_PHRASE, OPENING_WORDS})  # labels a zone's verb cannot take as its object


def archetype(defining: list[int], zone_of: pd.Series, label: pd.Series, form: pd.Series, taxonomy: Taxonomy) -> str:
    """One line from the defining themes, phrased by their zones' ``persona_verb`` (the draft cites the quotes).
    Themes of one zone share their verb ("worries about “a”, “b” and “c”", not the verb three times), in the order
    of the first defining theme of each zone.

    A zone's verb takes a noun phrase ("worries about “agent overhead”"); a label that is a verb phrase (``form``:
    the theme's ``label_form``) read "buys through “negotiated a fixed fee”". Such a label is quoted as said, with
    its zone named, "says" once: "says “negotiated a fixed fee” (buying process) and “forecast the bill” (goals)"."""
    words = language()
    zones = {z.id: z for z in taxonomy.zones}
    grouped: dict[str, dict[str, list[str]]] = {}  # verb → zone named after its labels ("" for none) → labels
    for theme in defining:
        zone = zones.get(zone_of.get(theme))
        if form.get(theme) in SAID_FORMS:
            verb, named = words.said_verb, f"({zone.name.lower()})" if zone else ""
        else:
            verb, named = (zone.persona_verb if zone else "") or words.default_verb, ""
        grouped.setdefault(verb, {}).setdefault(named, []).append(f"\u201c{label[theme]}\u201d")
    and_word = words.archetype_and
    clauses = [f"{verb} {_objects(by_zone, and_word)}" for verb, by_zone in grouped.items()]
    return f"{words.archetype_prefix} {listed(clauses, and_word)}." if clauses else words.archetype_empty


def _objects(by_zone: dict[str, list[str]], and_word: str) -> str:
    """ "“a” and “b” (buying process) and “c” (goals)": a verb's labels, each zone's named after them if given."""
    return listed(
        [" ".join(filter(None, (listed(said, and_word), named))) for named, said in by_zone.items()], and_word
    )


def listed(items: list[str], and_word: str) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {and_word} {items[-1]}"


def _persona_units(units: pd.DataFrame, members: pd.DataFrame, persona: int) -> np.ndarray:
    """Boolean mask of the units spoken by the persona's participants."""
    return participant_key(units).isin(participant_key(members[members["persona"] == persona])).to_numpy()


def zone_evidence(units: pd.DataFrame, members: pd.DataFrame, persona: int, zone: str) -> pd.DataFrame:
    """The persona's own units filed under ``zone``, ranked by theme: participants voicing it, then confidence.

    Columns: ``theme, participants, confidence``; the claim "N of M participants" counts only units that are
    both in the theme and in the zone, so every claim has quotes of its own kind behind it.
    """
    pool = units[_persona_units(units, members, persona) & (units["zone"] == zone).to_numpy()]
    pool = pool[pool["theme"] != UNASSIGNED]
    if pool.empty:
        return pd.DataFrame(columns=["theme", "participants", "confidence"])
    ranked = (
        pool.assign(who=participant_key(pool))
        .groupby("theme")
        .agg(participants=("who", "nunique"), confidence=("zone_confidence", "mean"))
    )
    return ranked.reset_index().sort_values(["participants", "confidence", "theme"], ascending=[False, False, True])


def _quotes_for(
    units: pd.DataFrame, members: pd.DataFrame, persona: int, theme: int, zone: str, n: int
) -> pd.DataFrame:
    """Verbatim units of a theme and zone from the persona's participants, one per person: full sentences first
    (``units["slight"]``, ``describe.slight``), then most confident; words already cited last (``said_before``)."""
    pool = units[
        _persona_units(units, members, persona)
        & (units["theme"] == theme).to_numpy()
        & (units["zone"] == zone).to_numpy()
    ]
    pool = pool.sort_values(["slight", "zone_confidence", "unit_id"], ascending=[True, False, True])
    pool = pool.drop_duplicates(["interview_id", "speaker"])
    again = said_before(pool["text"])
    return pd.concat([pool[~again], pool[again]]).head(n)


def draft_evidence(
    units: pd.DataFrame, members: pd.DataFrame, personas: pd.Series, taxonomy: Taxonomy, params: PersonaParams
) -> pd.DataFrame:
    """What each persona draft cites: per zone its top themes (``zone_evidence``), each with its quotes."""
    rows = []
    for persona in personas:
        for zone in taxonomy.zones:
            for row in zone_evidence(units, members, persona, zone.id).head(params.persona_draft_themes).itertuples():
                quotes = _quotes_for(units, members, persona, row.theme, zone.id, params.persona_draft_quotes)
                for rank, unit_id in enumerate(quotes["unit_id"], start=1):
                    rows.append([int(persona), zone.id, int(row.theme), int(row.participants), rank, unit_id])
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def segment_columns(interviews: pd.DataFrame, participants: pd.DataFrame) -> list[str]:
    """Metadata columns worth cross-tabulating: a few repeated values among the interviews of ``participants``
    (one row each, with ``interview_id``), not an id or free text per person. Counted over every interview, the
    ML interviews' one French interview, set aside, made "language" a segment, and personas.md said "Persona 1
    spans 1 of 1 language values (en 5)"."""
    heard = interviews[interviews["interview_id"].isin(participants["interview_id"])]
    skip = {"interview_id", "source_file", "format"}
    most = max(2, 0.6 * len(participants))
    return [c for c in heard.columns if c not in skip and 1 < heard[c].nunique() <= most]


def persona_by_segment(members: pd.DataFrame, interviews: pd.DataFrame) -> pd.DataFrame:
    """Long table: for each metadata column and value, participants per persona."""
    rows = []
    joined = members.merge(interviews, on="interview_id", how="left")
    for column in segment_columns(interviews, members):
        counts = joined.groupby([column, "persona"]).size()
        for (value, persona), n in counts.items():
            rows.append({"column": column, "value": value, "persona": int(persona), "participants": int(n)})
    return pd.DataFrame(rows, columns=["column", "value", "persona", "participants"])


def theme_by_segment(units: pd.DataFrame, themes: pd.DataFrame, interviews: pd.DataFrame) -> pd.DataFrame:
    """Long table: for each theme and segment value, how many of that segment's participants voice it."""
    rows = []
    themed = units[units["theme"] != UNASSIGNED].merge(interviews, on="interview_id", how="left")
    everyone = units.drop_duplicates(["interview_id", "speaker"]).merge(interviews, on="interview_id", how="left")
    label = themes.set_index("theme")["label"]
    for column in segment_columns(interviews, everyone):
        sizes = everyone.groupby(column).size()
        voiced = themed.drop_duplicates(["theme", "interview_id", "speaker"]).groupby(["theme", column]).size()
        for theme in themes["theme"]:
            for value, size in sizes.items():
                n = int(voiced.get((theme, value), 0))
                rows.append(
                    {
                        "theme": int(theme),
                        "label": label[theme],
                        "column": column,
                        "value": value,
                        "participants": n,
                        "segment_size": int(size),
                        "share": round(n / size, 4),
                    }
                )
    return pd.DataFrame(rows, columns=["theme", "label", "column", "value", "participants", "segment_size", "share"])


def adjusted_rand(members: pd.DataFrame, intended: pd.Series) -> float:
    """Agreement of persona groups with intended personas (participants who fit no group count as one group)."""
    from sklearn.metrics import adjusted_rand_score

    joined = members.set_index("interview_id")["persona"].reindex(intended.index)
    return float(adjusted_rand_score(intended.to_numpy(), joined.fillna(-1).to_numpy()))
