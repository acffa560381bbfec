"""The small parts of the themes and personas stages, on synthetic tables where the right answer is known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from pipeline.config import Config
from pipeline.describe import class_tfidf, mmr, unit_candidates
from pipeline.errors import ConfigError
from pipeline.personas import (
    RunProfile,
    chance_silhouettes,
    coordinates,
    group_participants,
    participant_similarity,
    persona_stability,
    theme_similarity,
)
from pipeline.themes import (
    agreement,
    co_association,
    consensus,
    dissolve_unshared,
    in_context,
    label_sums,
    merge_near_duplicates,
    neighbour_rows,
    stability,
)


def test_class_tfidf_scores_what_recurs_in_one_theme_only():
    units = pd.DataFrame(
        {
            "terms": ["flat fee|invoice", "flat fee|invoice", "flat fee", "security review|invoice",
                      "security review", "security review|auditor"],
            "noun_chunks": [""] * 6,
        }
    )  # fmt: skip
    labels = np.array([0, 0, 0, 1, 1, 1])
    ids, vocabulary, scores = class_tfidf(unit_candidates(units), labels)
    score = {(theme, phrase): scores[row, list(vocabulary).index(phrase)] for row, theme in enumerate(ids)
             for phrase in vocabulary}  # fmt: skip
    assert ids == [0, 1]
    assert score[(0, "flat fee")] > score[(0, "invoice")] > 0  # "invoice" is also said in theme 1
    assert score[(1, "security review")] > 0 and score[(1, "flat fee")] == 0
    assert score[(1, "auditor")] == 0  # said once: it does not recur inside its theme


def test_a_keyphrase_counts_each_participant_once():
    """On the scientists interviews 254 of 536 keyphrases were said by one participant of the theme ("fluorescence",
    three times by one scientist, in a theme of 66 participants): what one participant repeats outranked what
    several said."""
    units = pd.DataFrame(
        {
            "terms": ["fluorescence|lab", "fluorescence", "fluorescence", "lab", "data", "data"],
            "noun_chunks": [""] * 6,
        }
    )
    labels, speakers = np.zeros(6, dtype=int), np.array(["ann", "ann", "ann", "bo", "cy", "bo"])
    _, vocabulary, by_unit = class_tfidf(unit_candidates(units), labels)
    _, _, by_speaker = class_tfidf(unit_candidates(units), labels, speakers)
    unit_score = dict(zip(vocabulary, by_unit[0], strict=True))
    speaker_score = dict(zip(vocabulary, by_speaker[0], strict=True))
    assert unit_score["fluorescence"] > unit_score["lab"] > 0  # three units, all one participant's
    assert speaker_score["lab"] > speaker_score["fluorescence"] > 0 and speaker_score["data"] > 0


def test_class_tfidf_ignores_unassigned_units():
    units = pd.DataFrame({"terms": ["pricing model", "pricing model", "pricing model"], "noun_chunks": [""] * 3})
    ids, vocabulary, scores = class_tfidf(unit_candidates(units), np.array([0, 0, -1]))
    assert ids == [0] and list(vocabulary) == ["pricing model"] and scores.shape == (1, 1)


def test_mmr_trades_relevance_for_diversity():
    vectors = np.array([[1.0, 0.0], [0.999, 0.045], [0.0, 1.0]])
    relevance = np.array([1.0, 0.95, 0.5])
    assert mmr(vectors, relevance, 2, diversity=0.0) == [0, 1]  # pure relevance keeps the near-synonym
    assert mmr(vectors, relevance, 2, diversity=0.5) == [0, 2]
    assert mmr(vectors, relevance, 5, diversity=0.5) == [0, 2, 1]  # never more than there are candidates


def _profiles(noise: float = 0.0) -> pd.DataFrame:
    """Two clear groups of four participants over four themes, and one participant who belongs to neither."""
    rng = np.random.default_rng(0)
    base = np.array([[1, 1, 0, 0]] * 4 + [[0, 0, 1, 1]] * 4 + [[1, 0, 1, 0]], dtype=float)
    values = base + rng.uniform(0, 0.1, base.shape) + rng.normal(0, noise, base.shape) * (noise > 0)
    return pd.DataFrame(values, index=pd.MultiIndex.from_tuples([(f"i{n}", "P") for n in range(9)]))


def _cosine(profiles: pd.DataFrame) -> np.ndarray:
    unit = profiles.to_numpy() / np.linalg.norm(profiles.to_numpy(), axis=1, keepdims=True)
    return unit @ unit.T


def _study(counts: np.ndarray, similarity: np.ndarray) -> tuple[list[RunProfile], np.ndarray, np.ndarray]:
    """A study whose themes are its one run: participants × themes ``counts`` as units (each unit's theme and
    participant row)."""
    speakers, themes = np.nonzero(counts.astype(int))
    repeat = counts.astype(int)[speakers, themes]
    speakers, themes = np.repeat(speakers, repeat), np.repeat(themes, repeat)
    return [RunProfile(themes, np.ones(counts.shape[1]), similarity)], speakers, themes


def test_participants_group_by_their_theme_profiles():
    labels, fit, scores = group_participants(_cosine(_profiles()), None, 2, 4)
    assert adjusted_rand_score([0] * 4 + [1] * 4, labels[:8]) == 1.0
    assert labels[8] == -1  # alone in its group: fits no persona, and is shown as such
    assert fit[:8].min() > 0.5 and set(scores) == {2, 3, 4}


def test_persona_grouping_survives_floating_point_noise():
    clean, _, _ = group_participants(_cosine(_profiles()), None, 2, 4)
    noisy, _, _ = group_participants(_cosine(_profiles(noise=1e-6)), None, 2, 4)
    assert adjusted_rand_score(clean, noisy) == 1.0


def test_a_run_group_weighs_as_its_units_zones_do():
    """A run's group whose units split between goals and the buying process weighs between the two; one unit
    changing zone moves it by a tenth of the gap, not the whole gap (a group's top zone alone jumped at a near tie)."""
    from pipeline.personas import run_profiles
    from pipeline.zones import load_taxonomy

    taxonomy = load_taxonomy(Config().zones)
    weight = {zone.id: zone.persona_weight for zone in taxonomy.zones}
    zones = ["goals"] * 5 + ["buying_process"] * 5 + ["concerns"] * 4 + ["goals"]
    units = pd.DataFrame({"theme": [0] * 10 + [1] * 4 + [-1], "zone": zones, "zone_confidence": 1.0})
    run = np.array([[0] * 10 + [1] * 4 + [-1]])
    (split,) = run_profiles(units, np.eye(15), run, taxonomy)
    assert split.zone_weights.tolist() == pytest.approx([(weight["goals"] + weight["buying_process"]) / 2,
                                                          weight["concerns"]])  # fmt: skip
    assert split.groups.tolist() == [0] * 10 + [1] * 4 + [-1]
    (tipped,) = run_profiles(units.assign(zone=["buying_process"] + zones[1:]), np.eye(15), run, taxonomy)
    gap = weight["buying_process"] - weight["goals"]
    assert tipped.zone_weights[0] - split.zone_weights[0] == pytest.approx(gap / 10)
    (unfiled,) = run_profiles(units.assign(zone_confidence=0.0), np.eye(15), run, taxonomy)
    assert unfiled.zone_weights.tolist() == [1.0, 1.0]  # no unit filed with any confidence: weighed as neutral


def test_participants_are_alike_as_the_runs_say_however_the_vote_split_the_themes():
    """Each run's groups are read from their own units, so a theme the vote split in two (as 1e-6 noise did to a
    theme of the scientists interviews) leaves every participant's similarity as it was: read through the voted
    themes' centroids, it moved similarities by up to 0.26 and regrouped personas at ARI 0.90."""
    from pipeline.personas import run_profiles
    from pipeline.zones import load_taxonomy

    taxonomy = load_taxonomy(Config().zones)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    runs = rng.integers(0, 5, size=(20, 40))
    speakers = np.repeat(np.arange(8), 5)
    units = pd.DataFrame({"theme": runs[0], "zone": rng.choice(["goals", "concerns"], 40), "zone_confidence": 1.0})
    split = units.assign(theme=np.where((units["theme"] == 0) & (np.arange(40) % 2 == 0), 9, units["theme"]))
    alike = [participant_similarity(run_profiles(u, vectors, runs, taxonomy), speakers, 8) for u in (units, split)]
    assert np.abs(alike[0] - alike[1]).max() < 1e-12
    moved = participant_similarity(run_profiles(units, vectors, runs[:10], taxonomy), speakers, 8)
    assert np.abs(alike[0] - moved).max() > 0.01  # what the runs say does move it


def test_persona_structure_is_tested_against_structure_free_studies():
    """Two groups of participants who voice different themes beat every study with the themes shuffled across
    participants; participants whose themes were drawn at random do not."""
    rng = np.random.default_rng(3)
    grouped = np.vstack([rng.poisson([4, 4, 4, 0, 0, 0], (8, 6)), rng.poisson([0, 0, 0, 4, 4, 4], (8, 6))]) + 0.0
    scattered = rng.poisson(2, (16, 6)) + 0.0
    for counts, beats in ((grouped, True), (scattered, False)):
        runs, speakers, themes = _study(counts, np.eye(6))
        _, _, scores = group_participants(participant_similarity(runs, speakers, 16), None, 2, 4)
        chance = chance_silhouettes(runs, speakers, themes, [2, 3, 4], 19, seed=0)
        assert len(chance) == 19
        assert (max(scores.values()) > max(chance)) is beats


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_talking_more_about_rare_themes_is_not_a_persona(seed):
    """Participants who voice common and rare themes at random, with theme centroids as alike as sentence
    embeddings make them (median cosine above 0.8): there is no persona structure to report. Before profiles were
    scaled to unit length and theme similarity was read against the typical pair, the grouping split heavy from
    light talkers of rare themes and called it strong (silhouette 0.92-0.99 on these studies)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=16) + rng.normal(scale=0.5, size=(12, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    counts = rng.poisson([6] * 4 + [1] * 4 + [0.3] * 4, (24, 12)).astype(float)
    runs, speakers, _ = _study(counts, theme_similarity(vectors))
    _, _, scores = group_participants(participant_similarity(runs, speakers, 24), None, 2, 6)
    assert max(scores.values()) <= 0.7  # Kaufman & Rousseeuw's "strong"


def test_theme_similarity_counts_only_pairs_more_alike_than_the_typical_pair():
    vectors = np.array([[1.0, 0.0, 0.0], [0.95, 0.31, 0.0], [0.8, 0.0, 0.6], [0.8, -0.6, 0.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    alike = theme_similarity(vectors)
    assert np.allclose(np.diag(alike), 1.0) and np.allclose(alike, alike.T)
    assert alike[0, 1] > 0.5  # the closest pair stays alike
    assert alike[2, 3] == 0.0  # a pair less alike than the median counts for nothing
    assert theme_similarity(vectors[:1]).tolist() == [[1.0]]


def test_persona_stability_is_how_often_a_group_is_found_again():
    """Clear groups are found again in every draw of 80 % of the participants; groups cut from scattered
    participants are not."""
    clear = _cosine(_profiles())
    labels, _, _ = group_participants(clear, 2, 2, 4)
    held = persona_stability(coordinates(clear), labels + 1, 2, 20, seed=0)
    assert set(held) == {1, 2} and min(held.values()) >= 0.9
    scattered = _cosine(pd.DataFrame(np.random.default_rng(5).normal(size=(24, 6))))
    labels, _, _ = group_participants(scattered, 4, 2, 4)
    loose = persona_stability(coordinates(scattered), labels + 1, 4, 20, seed=0)
    assert min(loose.values()) < 0.75


def test_impossible_persona_count_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot form 9 personas from 9 participants"):
        group_participants(_cosine(_profiles()), 9, 2, 4)


def test_stability_is_the_share_of_seeds_that_reproduce_a_theme():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, -1])
    same = labels.copy()
    split = np.array([0, 0, 2, 2, 1, 1, 1, 1, -1])  # theme 0 broken in two, theme 1 intact
    renamed = np.array([5, 5, 5, -1, 3, 3, 3, 3, 3])  # ids do not matter, overlap does
    assert stability(labels, [same, split, renamed]) == {0: pytest.approx(2 / 3, abs=1e-4), 1: 1.0}


def test_consensus_keeps_what_most_seeds_agree_on():
    runs = [
        np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]),
        np.array([3, 3, 3, 0, 0, 0, 0, 0, 1, 1]),  # unit 3 strays once; ids do not matter
        np.array([1, 1, 1, 1, 0, 0, 0, 0, -1, 2]),
    ]
    together = co_association(runs)
    assert together[0, 3] == pytest.approx(2 / 3) and together[3, 4] == pytest.approx(1 / 3)
    labels = consensus(together, min_cluster_size=3)
    assert len(set(labels[:4])) == len(set(labels[4:8])) == 1 and labels[0] != labels[4] >= 0
    assert labels[8:].tolist() == [-1, -1]  # a pair, too small to be a theme
    confidence = agreement(together, labels)
    assert confidence[3] < confidence[0] < 1.0 and confidence[4] == 1.0 and confidence[8] == 0.0


def test_long_turns_are_cut_into_pieces_at_the_best_boundary():
    from pipeline.segment import pieces

    text = ("We compared three vendors on price. " * 200) + "\n" + ("x" * 3000)
    cut = pieces(text, 5000)
    assert "".join(piece for _, piece in cut) == text and all(len(piece) <= 5000 for _, piece in cut)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in cut)
    assert cut[0][1].endswith("price. ")  # a sentence end, never mid-word
    assert [len(piece) for _, piece in pieces("y" * 12000, 5000)] == [5000, 5000, 2000]  # no boundary: cut hard
    assert pieces("short", 5000) == [(0, "short")]


def test_progress_in_a_log_is_a_few_plain_lines(capsys, monkeypatch):
    from pipeline import progress

    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)  # every item is "30 s later"
    assert list(progress.with_progress(range(3), "embed", 3, "batch")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == ["embed: 1 of 3 (33%)", "embed: 2 of 3 (67%)", "embed: 3 of 3 (100%)"]
    assert "\r" not in "".join(lines) and lines[-1].startswith("embed: 3 of 3, done in")


def test_exact_neighbours_are_the_k_most_similar_with_equal_texts_by_lowest_index():
    """Equal texts (many participants saying "Yes, exactly.") tie exactly; the k kept are always the lowest
    indices among them, whatever the top-k search chose, so the graph is fully defined."""
    from pipeline.themes import exact_knn

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors[100:160] = vectors[99]  # 61 equal vectors: more ties than neighbours
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    indices, distances = exact_knn(vectors, 15)
    sims = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    np.fill_diagonal(sims, np.inf)
    expected = np.lexsort((np.tile(np.arange(400), (400, 1)), -sims), axis=1)[:, :15]
    # Tied rows exactly; elsewhere the k most similar, to a tolerance (another BLAS may swap a near-tie).
    assert np.array_equal(indices[99:160], expected[99:160])
    chosen, best = np.take_along_axis(sims, indices, axis=1), np.take_along_axis(sims, expected, axis=1)
    assert (indices[:, 0] == np.arange(400)).all() and np.allclose(chosen[:, 1:], best[:, 1:], atol=1e-6)
    assert indices[99].tolist() == [99, *range(100, 114)]  # itself first, then the lowest equal ones
    assert np.allclose(distances[99], 0.0, atol=1e-6) and (np.diff(distances, axis=1) >= 0).all()


def test_repeated_texts_get_the_same_neighbours_and_distances_under_floating_point_noise():
    """Another machine's last bits split exact ties: 61 copies of one text sit 1e-7 apart, and UMAP's fuzzy graph
    weighs a row of near-equal distances unlike a row of equal ones. Within 1e-5 they count as equal, so the
    neighbour graph of repeated texts is the same on every machine."""
    from pipeline.themes import exact_knn

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors[100:160] = vectors[99]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    moved = vectors + rng.normal(0, 1e-6, vectors.shape).astype(np.float32)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    (indices, distances), (moved_indices, moved_distances) = exact_knn(vectors, 15), exact_knn(moved, 15)
    assert np.array_equal(indices[99:160], moved_indices[99:160])
    assert (distances[99:160] == 0).all() and (moved_distances[99:160] == 0).all()
    # a unit whose nearest are all copies of one text: equal distances, exactly, with or without the noise
    outside = int(np.flatnonzero(np.isin(indices[:, 1:], range(99, 160)).all(axis=1))[0])
    assert len(set(distances[outside, 1:].tolist())) == len(set(moved_distances[outside, 1:].tolist())) == 1


def test_the_typical_run_is_the_one_most_runs_agree_with():
    """The medoid partition: a run that most others reproduce, never the odd one out, and the lowest seed on a tie."""
    from pipeline.themes import kept_together, typical_run

    common = np.repeat(np.arange(4), 10)
    odd = np.roll(common, 5)
    near = common.copy()
    near[:2] = 3
    assert typical_run([odd, near, common, near, common, common]) == 2
    assert typical_run([common, common, odd]) == 0
    kept = kept_together(common, [common, near, odd])
    assert kept[5] == 1.0 and kept[2] == pytest.approx(2 / 3) and kept[0] == pytest.approx(1 / 3)


def test_the_themes_follow_what_most_runs_agree_on():
    """Two groups of six, strongly linked to each other: whether they are one theme or two is what most of the
    seeds' runs say, whichever way the minority went."""
    import igraph

    from pipeline.themes import LEIDEN_ITERATIONS, agreed_communities

    graph = igraph.Graph.Full(12)
    ends = np.array(graph.get_edgelist())
    graph.es["weight"] = np.where((ends[:, 0] < 6) == (ends[:, 1] < 6), 1.0, 0.5)
    split, merged = np.repeat([0, 1], 6), np.zeros(12, dtype=int)
    seeds = list(range(5))
    mostly_split = agreed_communities(graph, [split] * 8 + [merged] * 2, 0.5, seeds, LEIDEN_ITERATIONS)
    mostly_merged = agreed_communities(graph, [split] * 2 + [merged] * 8, 0.5, seeds, LEIDEN_ITERATIONS)
    assert len(set(mostly_split[:6])) == len(set(mostly_split[6:])) == 1 and mostly_split[0] != mostly_split[6]
    assert len(set(mostly_merged)) == 1


def test_the_consensus_merges_what_most_runs_merge_not_what_its_centroids_say():
    """Themes 0 and 2 lie along one direction but most runs keep them apart: they stay two themes, where a merge by
    centroids (a seed's own run) would join them; themes most runs hold as one group merge into the lower id."""
    from pipeline.themes import ThemeParams, merge_agreed, tidied_run

    rng = np.random.default_rng(3)
    vectors = np.vstack([[1.0, 0, 0] + rng.normal(0, 0.02, (6, 3)), [0, 1.0, 0] + rng.normal(0, 0.02, (6, 3))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = np.repeat([0, 2, 5, 7], 3)
    apart = np.repeat([4, 1, 3, 3], 3)  # 0 and 2 apart, 5 and 7 together, numbered as a run numbers its groups
    joined = np.repeat([1, 1, 0, 0], 3)
    runs = [apart] * 6 + [joined] * 4
    assert merge_agreed(found, runs).tolist() == np.repeat([0, 2, 5, 5], 3).tolist()
    assert merge_agreed(found, [apart] * 4 + [joined] * 6).tolist() == np.repeat([0, 0, 5, 5], 3).tolist()
    outlier = np.where(np.arange(12) == 11, 5, apart)  # a run may leave a unit elsewhere: still held as one
    assert merge_agreed(found, [outlier] * 10)[9:].tolist() == [5, 5, 5]
    params = replace(ThemeParams.from_config(Config(), 12), min_cluster_size=2, merge_threshold=0.95)
    assert len(set(tidied_run(vectors, found, params)[:6].tolist())) == 1  # by centroids
    assert tidied_run(vectors, found, params, runs)[:6].tolist() == [0, 0, 0, 1, 1, 1]  # by the runs


def test_near_duplicate_themes_merge_and_distinct_ones_stay():
    """Two groups around one direction become one theme (the lower id); a group elsewhere keeps its own; each
    label's vectors are summed exactly, unassigned units and labels not asked for left out."""
    rng = np.random.default_rng(3)
    vectors = np.vstack([[1.0, 0, 0] + rng.normal(0, 0.02, (6, 3)), [0, 1.0, 0] + rng.normal(0, 0.02, (3, 3))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 0, 2, 2, 2, 5, 5, -1])
    assert merge_near_duplicates(vectors, labels, 0.95).tolist() == [0, 0, 0, 0, 0, 0, 5, 5, -1]
    sums = label_sums(vectors, labels, np.array([2, 5]))
    assert np.allclose(sums, [vectors[3:6].sum(axis=0), vectors[6:8].sum(axis=0)])


def test_a_unit_is_read_with_the_sentence_beside_it_in_its_own_turn_only():
    """The unit before it in the turn, or after it for the turn's first unit; never across turns or interviews."""
    units = pd.DataFrame(
        {
            "interview_id": ["b", "a", "a", "a", "a", "b"],
            "turn": [3, 2, 2, 2, 4, 3],
            "char_start": [40, 0, 30, 60, 0, 0],
        }
    )
    assert neighbour_rows(units).tolist() == [5, 2, 1, 2, -1, 0]
    text, question = np.eye(3, dtype=np.float32), np.zeros((3, 3), dtype=np.float32)
    question[0] = [0, 0, 1]
    read = in_context(text, question, np.array([True, False, False]), 0.5, np.array([1, 0, -1]), 0.5)
    assert np.allclose(read[0], np.array([1, 0.5, 0.5]) / np.sqrt(1.5))  # its question and its neighbour
    assert np.allclose(read[1], np.array([0.5, 1, 0]) / np.sqrt(1.25))  # no question: its neighbour only
    assert np.array_equal(read[2], text[2])  # alone in its turn, no question: its own vector, bit for bit


def test_a_theme_only_one_participant_voices_is_no_theme():
    labels = np.array([0, 0, 0, 1, 1, -1, 2])
    speakers = np.array(["a", "b", "b", "c", "c", "a", "a"])
    assert dissolve_unshared(labels, speakers, 2).tolist() == [0, 0, 0, -1, -1, -1, -1]
    alone = np.array(["a"] * 7)  # a study of one interview keeps its themes
    assert dissolve_unshared(labels, alone, 2).tolist() == labels.tolist()


def test_a_theme_is_as_stable_as_the_runs_that_reproduce_it_once_tidied_alike():
    """Stability compares the final themes with the other runs after the same tidying (unshared themes dissolved,
    their units rescued): a run identical to the chosen one reproduces every theme, even where one speaker's own
    group was dissolved into a shared theme (the podcast compilation's themes read stability 0 before)."""
    from pipeline.config import Config
    from pipeline.themes import ThemeParams, _shared_and_ordered

    rng = np.random.default_rng(0)
    directions = np.array([[1, 0, 0], [0, 1, 0], [0.95, 0.1, 0.3]], dtype=np.float32)
    groups = np.repeat([0, 1, 2], 4)
    vectors = directions[groups] + rng.normal(0, 0.02, (12, 3)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i:02d}" for i in range(12)],
            "interview_id": ["i1", "i2"] * 4 + ["i3"] * 4,  # group 2 is one participant's alone
            "speaker": "P",
        }
    )
    params = ThemeParams.from_config(Config(), len(units))
    labels, _, stable, _, _ = _shared_and_ordered(vectors, units, groups, np.ones(12), [groups.copy()], params, None)
    assert len(set(labels[8:].tolist())) == 1 and labels[8] == labels[0]  # dissolved into the theme it is near
    assert stable == {0: 1.0, 1: 1.0}


def test_a_theme_of_talk_about_the_conversation_is_dissolved_and_its_content_kept(shared_cache):
    """A theme of greetings, goodbyes and interruptions (real model vectors) is no theme: its pleasantries are set
    aside, and a sentence of content it drew in joins the theme of content it belongs to."""
    from dataclasses import replace

    from pipeline.config import Config
    from pipeline.embed import Embedder, EmbedParams
    from pipeline.resources import language
    from pipeline.themes import ThemeParams, _shared_and_ordered, conversation_centre

    config = replace(Config(), cache_dir=str(shared_cache))
    embed = Embedder(EmbedParams.from_config(config))
    texts = [
        "Thanks so much for your time today, bye.", "Sorry, my dog keeps barking at the window.",
        "Can you hear me now? My headset was unplugged.", "Have a lovely weekend, and good luck with it.",
        "We switched vendors because their pricing doubled overnight.",  # drawn into the chatter in a long goodbye
        "Their pricing doubled, so we started looking at other vendors.", "The price increase made us switch.",
        "We left because the licence cost kept going up every year.", "Cost was why we changed supplier.",
    ]  # fmt: skip
    groups = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    units = pd.DataFrame(
        {"unit_id": [f"u{i}" for i in range(9)], "interview_id": ["a", "b", "c", "d", "e", "a", "b", "c", "d"],
         "speaker": "P"}
    )  # fmt: skip
    params = ThemeParams.from_config(config, len(units))
    centre = conversation_centre(embed(list(language().conversation_examples)))
    labels, _, _, talk, _ = _shared_and_ordered(embed(texts), units, groups, np.ones(9), [groups], params, centre)
    assert talk.tolist() == [True] * 4 + [False] * 5, labels
    assert set(labels[4:].tolist()) == {0} and (labels[:4] == -1).all()


def test_talk_about_the_conversation_is_told_by_what_was_said_not_by_its_context(shared_cache):
    """Greetings and thanks read in context (with the question they follow and the sentence beside them) lean
    towards the interview's topic, and their theme's centre fell below the threshold: the ``formats`` podcasts'
    "thank you", voiced by 20 of 34 participants, at 0.68 (0.74 on what was said). The test reads the units' own
    vectors, while the themes are still clustered in context."""
    from dataclasses import replace

    from pipeline.config import Config
    from pipeline.embed import Embedder, EmbedParams
    from pipeline.resources import language
    from pipeline.themes import ThemeParams, _shared_and_ordered, conversation_centre, in_context

    config = replace(Config(), cache_dir=str(shared_cache))
    embed = Embedder(EmbedParams.from_config(config))
    texts = [
        "Thanks for having me.", "Hi everyone, good to see you.", "Thank you so much, bye for now.",
        "Take care, have a good day.",  # their centre: 0.76 from the conversation centre, 0.66 read in context
        "Their pricing doubled, so we started looking at other vendors.", "The price increase made us switch.",
        "We left because the licence cost kept going up every year.", "Cost was why we changed supplier.",
    ]  # fmt: skip
    questions = ["Why did you move your whole team onto a new code hosting platform last year?"] * 8
    said = embed(texts)
    read = in_context(said, embed(questions), np.ones(8, dtype=bool), config.question_weight)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    units = pd.DataFrame({"unit_id": [f"u{i}" for i in range(8)], "interview_id": list("abcdabcd"), "speaker": "P"})
    params = ThemeParams.from_config(config, len(units))
    centre = conversation_centre(embed(list(language().conversation_examples)))
    talk = _shared_and_ordered(read, units, groups, np.ones(8), [groups], params, centre, said)[3]
    assert talk.tolist() == [True] * 4 + [False] * 4
    in_context_only = _shared_and_ordered(read, units, groups, np.ones(8), [groups], params, centre, None)[3]
    assert not in_context_only.any()  # read in context, the greetings' centre is no longer near enough


def test_an_archetype_names_each_zone_once():
    """Three defining themes of one zone read "buys with an eye on “a”, “b” and “c”", not the verb three times."""
    from pipeline.config import Config
    from pipeline.personas import archetype
    from pipeline.zones import load_taxonomy

    taxonomy = load_taxonomy(Config().zones)
    zone_of = pd.Series({1: "buying_process", 2: "concerns", 3: "buying_process", 4: "buying_process"})
    label = pd.Series({1: "a one month trial", 2: "vendor access", 3: "procurement review", 4: "cloud spend"})
    nouns = pd.Series("noun phrase", index=label.index)
    assert archetype([1, 2, 3, 4], zone_of, label, nouns, taxonomy) == (
        "A buyer who buys with an eye on “a one month trial”, “procurement review” and “cloud spend” and worries "
        "about “vendor access”."
    )
    assert archetype([2], zone_of, label, nouns, taxonomy) == "A buyer who worries about “vendor access”."
    # a theme holds doubts and praise alike: its verb claims no stance (it read "believes in “billing data”")
    zone_of[5], label[5], nouns[5] = "attitudes_beliefs", "billing data", "noun phrase"
    assert archetype([5], zone_of, label, nouns, taxonomy) == "A buyer who holds views on “billing data”."
    assert archetype([], zone_of, label, nouns, taxonomy) == "A buyer with no distinctive themes yet."
    unknown = pd.Series(dtype=str)  # an output folder from before label forms
    assert archetype([2], zone_of, label, unknown, taxonomy) == "A buyer who worries about “vendor access”."


def test_an_archetype_quotes_a_verb_phrase_label_as_said():
    """A zone's verb takes a noun phrase; a label that is a verb phrase (real labels from the sample run:
    "buys through “charge a percentage of your cloud spend”") is quoted after "says", with its zone named."""
    from pipeline import invivo
    from pipeline.config import Config
    from pipeline.personas import archetype
    from pipeline.registry import load_spacy
    from pipeline.tables import NOUN_PHRASE, VERB_PHRASE
    from pipeline.zones import load_taxonomy

    nlp = load_spacy(Config().spacy_model, True)
    said = {p.text: p.form for p in invivo.candidate_phrases(nlp("We negotiated a fixed fee with them."), 8)}
    assert said["negotiated a fixed fee"] == VERB_PHRASE and said["fixed fee"] == NOUN_PHRASE
    taxonomy = load_taxonomy(Config().zones)
    zone_of = pd.Series({1: "buying_process", 2: "concerns", 3: "buying_process", 4: "motivations", 5: "goals"})
    label = pd.Series({1: "negotiated a fixed fee", 2: "agent overhead", 3: "charge a percentage", 4: "cloud bill"})
    label[5] = "forecast the bill"
    form = pd.Series({1: "verb phrase", 2: "noun phrase", 3: "verb phrase", 4: "keyphrases", 5: "verb phrase"})
    assert archetype([1, 2, 3, 4], zone_of, label, form, taxonomy) == (
        "A buyer who says “negotiated a fixed fee” and “charge a percentage” (buying process), worries about "
        "“agent overhead” and cares about “cloud bill”."
    )
    assert archetype([1, 2, 5], zone_of, label, form, taxonomy) == (
        "A buyer who says “negotiated a fixed fee” (buying process) and “forecast the bill” (goals) and worries "
        "about “agent overhead”."
    )


def test_words_already_quoted_for_a_theme_are_quoted_last():
    """One meeting in two exports (the formats corpus) gave a theme the same sentence twice, from two "participants":
    a repeat is quoted only when the theme has nothing else to show."""
    from pipeline.describe import representative_quotes

    texts = ["It is very lengthy, very long.", "it is  very lengthy, very LONG.", "We split it into two articles."]
    units = pd.DataFrame(
        {"unit_id": ["a:1", "b:1", "c:1"], "interview_id": ["a", "b", "c"], "speaker": "P", "source_file": "x.txt",
         "line": [1, 1, 1], "text": texts, "start_s": np.nan, "theme": 0}
    )  # fmt: skip
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.9, 0.436]])  # the repeats are the most central
    quotes = representative_quotes(units, vectors, 3, np.zeros(3, dtype=bool))
    assert quotes["unit_id"].tolist() == ["a:1", "c:1", "b:1"]
    assert representative_quotes(units, vectors, 2, np.zeros(3, dtype=bool))["unit_id"].tolist() == ["a:1", "c:1"]


def test_a_theme_most_seeds_do_not_reproduce_reads_as_tentative():
    """A reader takes every theme as equally solid unless told: 16 % says so, 95 % does not."""
    from pipeline.render import stability as stability_line

    assert "tentative" in stability_line(0.16) and stability_line(0.16).startswith("stability 16% (share of seeds")
    assert "tentative" not in stability_line(0.95)
    assert "not measured" in stability_line(float("nan"))


def test_a_segment_is_compared_only_where_the_participants_differ_in_it():
    """An interview set aside (here the one in French, with no participant left) does not make its language a
    segment of the others: "Persona 1 spans 1 of 1 language values (en 5)" compared nothing."""
    from pipeline.personas import segment_columns

    interviews = pd.DataFrame(
        {
            "interview_id": ["a", "b", "c", "d", "e"],
            "language": ["en", "en", "en", "en", "fr"],
            "industry": ["retail", "retail", "bank", "bank", "bank"],
            "name": ["Ann", "Bo", "Cy", "Di", "Ed"],
        }
    )
    participants = pd.DataFrame({"interview_id": ["a", "b", "c", "d"], "speaker": "P"})
    assert segment_columns(interviews, participants) == ["industry"]
    assert segment_columns(interviews, pd.DataFrame({"interview_id": list("abcde")})) == ["language", "industry"]
