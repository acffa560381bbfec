"""Theme discovery: communities of the units' neighbour graph, found with many seeds and reduced to what their
runs agree on (consensus clustering; for HDBSCAN, the co-association consensus of seeded layouts), then outlier
rescue, near-duplicate merge, parent themes, and how stable each theme is across the seeds.

Two methods (``theme_method``): ``leiden`` (the default) finds Leiden communities on UMAP's fuzzy neighbour graph;
``hdbscan`` runs HDBSCAN on seeded UMAP layouts. Both start from the same exact (or approximate) neighbours.

Input: unit embeddings (normalised) and the unit table. Output: per-unit ``theme`` (-1 = unassigned),
``theme_confidence``, ``theme_stability`` (the share of seeds that reproduce the unit's theme) and ``parent``.
Theme ids are ordered by prevalence (participants), then size,
so theme 0 is what most participants talked about.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import cache, partial

import numpy as np
import pandas as pd

from .config import Config
from .parallel import PARALLEL_FROM, available_cores, forked_workers, run_all
from .tables import CONVERSATION_THEME, UNASSIGNED, participant_key

# Leiden iterations per run up to ``consensus_max_units`` units (-1: until the partition no longer changes; above,
# igraph's default of 2, for time: 4.7 s → 11.5 s for the themes stage at 10k units, ``insightmap themes`` on
# ``benchmarks.scale``'s 10k corpus with the themes cache emptied). Two iterations leave a
# partition half optimised, and where it stops depends on the seed: the other seeds reproduced the scientists
# interviews' themes less often (mean stability 0.70 against 0.74, 61 and 59 themes; ML interviews 0.81 against
# 0.86; coded quotes 0.94 and AMI 0.304 either way; session 17).
LEIDEN_ITERATIONS = -1


@dataclass(frozen=True)
class ThemeParams:
    """Clustering parameters after scaling with corpus size (recorded in the manifest)."""

    n_neighbors: int
    n_components: int
    min_cluster_size: int
    min_samples: int
    reassign_threshold: float
    merge_threshold: float
    seed: int
    n_epochs: int
    vote_neighbours: int
    max_parents: int
    stability_runs: int
    exact_knn_max_units: int
    consensus_max_units: int
    min_theme_participants: int
    conversation_above: float
    method: str
    resolution: float
    leiden_runs: int
    leiden_iterations: int

    @classmethod
    def from_config(cls, config: Config, n_units: int) -> ThemeParams:
        """Defaults that grow with the corpus: small studies get small themes, large ones are not shattered."""
        min_cluster_size = config.min_cluster_size or int(np.clip(round(math.sqrt(max(n_units, 1)) / 4), 3, 50))
        return cls(
            n_neighbors=int(min(config.umap_n_neighbors, max(2, n_units - 1))),
            n_components=int(min(config.umap_n_components, max(2, n_units - 2))),
            min_cluster_size=min_cluster_size,
            min_samples=config.min_samples or max(2, min_cluster_size // 2),
            reassign_threshold=config.reassign_threshold,
            merge_threshold=config.merge_threshold,
            seed=config.seed,
            n_epochs=config.umap_n_epochs,
            vote_neighbours=config.vote_neighbours,
            max_parents=config.max_parent_themes,
            stability_runs=config.stability_runs if n_units <= config.stability_max_units else 0,
            exact_knn_max_units=config.exact_knn_max_units,
            consensus_max_units=config.consensus_max_units,
            min_theme_participants=config.min_theme_participants,
            conversation_above=config.conversation_theme_above,
            method=config.theme_method,
            resolution=config.leiden_resolution,
            leiden_runs=config.leiden_runs,
            leiden_iterations=LEIDEN_ITERATIONS if n_units <= config.consensus_max_units else 2,
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def neighbour_rows(units: pd.DataFrame) -> np.ndarray:
    """Per unit, the row of the unit spoken just before it in the same turn (the one just after, for a turn's first
    unit), or -1 for a unit alone in its turn."""
    spoken = units.reset_index(drop=True).sort_values(["interview_id", "turn", "char_start"], kind="stable")
    row = spoken.index.to_numpy()
    interview, turn = spoken["interview_id"].to_numpy(), spoken["turn"].to_numpy()
    follows = np.r_[False, (interview[1:] == interview[:-1]) & (turn[1:] == turn[:-1])]  # same turn as the one before
    before, after = np.r_[-1, row[:-1]], np.r_[row[1:], -1]
    result = np.full(len(units), -1)
    result[row] = np.where(follows, before, np.where(np.r_[follows[1:], False], after, -1))
    return result


def in_context(
    text_vectors: np.ndarray,
    question_vectors: np.ndarray,
    has_question: np.ndarray,
    weight: float,
    neighbours: np.ndarray | None = None,
    neighbour_weight: float = 0.0,
) -> np.ndarray:
    """Unit vectors read in context: normalise(unit + weight · question + neighbour_weight · neighbour); the quote
    stays verbatim. ``neighbours``: ``neighbour_rows`` (the sentence beside the unit in its turn).

    An answer means what it answers: "Yes, every month" or "That was the big lie" say little alone. On the coded
    think-aloud study (``python -m benchmarks.coded``, themes found on the transcripts) agreement with the
    researchers' codes rose from AMI 0.21 (unit alone) to 0.27 at weight 0.5, 0.29 at 0.7, 0.28 at 1.0; from 0.7 up
    themes on the scientists corpus start to follow the interview guide ("idea / wand": everyone's answer to the
    magic-wand question) rather than what was said, so the default (0.5) keeps the unit's own words dominant.
    A sentence also means what it continues ("So that's pretty tough."): read with the sentence beside it in the
    same turn at weight 0.5, agreement rose again, from 0.274 to 0.300 (mean of 4 seeds; 0.291 at 0.25, 0.284 at
    0.75); short sentences only, or both neighbours, did less.
    """
    blended = text_vectors + weight * question_vectors * has_question[:, None]
    beside = np.zeros(len(text_vectors), dtype=bool)
    if neighbours is not None and neighbour_weight > 0:
        beside = neighbours >= 0
        blended = blended + neighbour_weight * text_vectors[np.maximum(neighbours, 0)] * beside[:, None]
    blended /= np.linalg.norm(blended, axis=1, keepdims=True)
    alone = ~(has_question | beside)
    return np.where(alone[:, None], text_vectors, blended).astype(np.float32)  # no context: bit-identical


SIMILARITY_TIE = 1e-5  # similarities this close are equal: the last bits another machine's BLAS moves


def settled_distances(distances: np.ndarray, tie: float = SIMILARITY_TIE) -> np.ndarray:
    """Each row's neighbour distances (nearest first) with near-ties made exact: a distance within ``tie`` of the
    one before it takes its value, and one within ``tie`` of zero is zero.

    UMAP's fuzzy graph treats an exact tie unlike a near one: a unit whose 14 neighbours are copies of one text
    (distances all equal) links to each at weight 1, but at distances apart by 1e-7 (another machine's bits) its
    bandwidth shrinks to fit those bits and the weights fall to 0.93; with zero it takes the first distance above
    zero as its nearest. On the 1,930 coded quotes (191 repeated texts) every Leiden seed then moved."""
    settled = np.where(distances <= tie, 0.0, distances).astype(distances.dtype)
    for column in range(1, settled.shape[1]):
        previous = settled[:, column - 1]
        settled[:, column] = np.where(settled[:, column] - previous <= tie, previous, settled[:, column])
    return settled


def exact_knn(embeddings: np.ndarray, k: int, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours of normalised vectors (self first), by blocked matrix products.

    UMAP would otherwise call a Python-level cosine for every pair below 4,096 points (most of its time on
    Banking77 when profiled) or compile NN-descent above it; a BLAS product is exact and fast. Blocks of rows are
    ranked on up to four cores at once (at most four blocks × n similarities in memory), each block the same
    whatever the core count. The k best of a row are chosen by numpy's argpartition (torch's top-k was faster
    per block, but importing torch cost more than the whole search at 10k units: 0.99 s against 2.35 s). Among
    similarities within ``SIMILARITY_TIE`` of the k-th place (equal texts, and what another machine's last bits
    make of them) the lowest indices are kept, whatever the partition chose, so the neighbours are the same on
    every machine; distances are ``settled_distances``, equal ones in index order. The themes-stage time
    against BERTopic is in ``make bench``.
    """
    n = len(embeddings)
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)

    def rank(start: int) -> None:
        sims = embeddings[start : start + block] @ embeddings.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = np.inf  # a point is its own nearest neighbour, as UMAP expects
        top = np.argpartition(sims, -k, axis=1)[:, -k:]
        top_sims = np.take_along_axis(sims, top, axis=1)
        kth = top_sims.min(axis=1, keepdims=True)
        tied = (sims >= kth - SIMILARITY_TIE).sum(axis=1) > k
        for row in np.flatnonzero(tied):  # near-equal at the k-th place: the lowest indices, always
            candidates = np.flatnonzero(sims[row] >= kth[row] - SIMILARITY_TIE)
            level = sims[row, candidates]
            level = np.where(np.abs(level - kth[row]) <= SIMILARITY_TIE, kth[row], level)
            top[row] = candidates[np.lexsort((candidates, -level))[:k]]
            top_sims[row] = sims[row, top[row]]
        order = np.lexsort((top, -top_sims), axis=1)
        indices[start : start + block] = np.take_along_axis(top, order, axis=1)
        ordered = np.take_along_axis(top_sims, order, axis=1)
        distances[start : start + block] = np.clip(1.0 - np.where(np.isinf(ordered), 1.0, ordered), 0.0, 2.0)

    with ThreadPoolExecutor(min(available_cores(), 4)) as pool:
        list(pool.map(rank, range(0, n, block)))
    distances = settled_distances(distances)
    order = np.lexsort((indices, distances, indices != np.arange(n)[:, None]), axis=1)  # itself, then by index
    return np.take_along_axis(indices, order, axis=1), np.take_along_axis(distances, order, axis=1)


HNSW_LINKS = 16  # links per unit in the approximate index: recall 0.97 against the exact search on 100k real units
HNSW_BUILD_BREADTH = 40  # candidates weighed while linking each unit
HNSW_SEARCH_BREADTH = 64  # candidates kept while searching each unit's neighbours


def approximate_knn(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine k-nearest neighbours from a FAISS HNSW graph (each unit first, nearest first): the exact search is
    quadratic in time and, blocked, still holds a block × n similarity matrix.

    NN-descent (pynndescent, UMAP's own search) was the approximate search before: its kernels take the distance
    function as an argument, which numba cannot keep on disk, so every run compiled them anew: 20-60 s of a 100k
    run's themes stage. The graph is built on one thread, so the order its links are made in, and with it the
    graph, never depends on thread timing; it is searched on every core, each unit's query on its own. The themes'
    quality with approximate neighbours is measured by ``python -m benchmarks.scale --quality``."""
    import faiss

    n = len(embeddings)
    k = min(k, n)
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    threads = faiss.omp_get_max_threads()
    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_BUILD_BREADTH
    index.hnsw.efSearch = max(HNSW_SEARCH_BREADTH, k + 1)
    try:
        faiss.omp_set_num_threads(1)
        index.add(vectors)
        faiss.omp_set_num_threads(available_cores())
        sims, found = index.search(vectors, k + 1)  # one spare, for the unit itself
    finally:
        faiss.omp_set_num_threads(threads)
    own = np.arange(n)[:, None]
    others = (found != own) & (found >= 0)  # neither the unit itself nor a slot the search could not fill
    sims, found = np.where(others, sims, -np.inf), np.where(others, found, -1)
    order = np.lexsort((found, -sims), axis=1)  # nearest first, equal similarities by index: one order
    found = np.hstack([own, np.take_along_axis(found, order, axis=1)])[:, :k]  # each unit first, as UMAP expects
    sims = np.hstack([np.ones((n, 1)), np.take_along_axis(sims, order, axis=1)])[:, :k]
    return found.astype(np.int64), settled_distances(np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32))


def nearest_neighbours(embeddings: np.ndarray, params: ThemeParams) -> tuple[np.ndarray, np.ndarray]:
    """Exact neighbours while that is cheap (``exact_knn_max_units``), approximate above."""
    if len(embeddings) <= params.exact_knn_max_units:
        return exact_knn(embeddings, params.n_neighbors)
    return approximate_knn(embeddings, params.n_neighbors)


@cache
def _cache_numba_kernels() -> None:
    """Let numba keep UMAP's and pynndescent's compiled kernels on disk, like .pyc files.

    They compile their kernels anew in every process, which dominates the themes stage on small corpora; with
    the cache only the first process pays (see the warm-rerun figure in ``make bench``).
    ``Dispatcher.enable_caching`` is numba's own switch.
    """
    import pynndescent.distances
    import pynndescent.graph_utils
    import pynndescent.pynndescent_
    import pynndescent.rp_trees
    import pynndescent.utils
    import umap.layouts
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.dispatcher import Dispatcher

    _fork_safe_threads()  # before any kernel runs
    modules = [umap.umap_, umap.layouts, umap.spectral, umap.utils, pynndescent.pynndescent_, pynndescent.utils]
    modules += [pynndescent.distances, pynndescent.graph_utils, pynndescent.rp_trees]
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                value.enable_caching()


def _import_clustering() -> None:
    """UMAP and HDBSCAN imported (with their kernels' disk cache on) before workers fork: each worker inherits
    them rather than importing them again, which took seconds of every worker's time on a 10k-unit study."""
    import hdbscan  # noqa: F401
    import umap  # noqa: F401

    _cache_numba_kernels()


def reduce(embeddings: np.ndarray, knn: tuple[np.ndarray, np.ndarray], params: ThemeParams) -> np.ndarray:
    """UMAP to a few dimensions: density clustering works poorly in 384-d cosine space."""
    import warnings

    import umap

    _cache_numba_kernels()

    knn_indices, knn_distances = knn
    reducer = umap.UMAP(
        n_neighbors=params.n_neighbors,
        n_components=params.n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=params.seed,
        precomputed_knn=(knn_indices, knn_distances, None),
        init="spectral",
        n_epochs=params.n_epochs,
    )
    with warnings.catch_warnings():  # seeding forces one thread and no transform(): both intended here
        warnings.filterwarnings("ignore", message=".*(random_state|knn_search_index).*", category=UserWarning)
        return reducer.fit_transform(embeddings)


def cluster(reduced: np.ndarray, params: ThemeParams) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels and membership strengths."""
    import hdbscan

    model = hdbscan.HDBSCAN(
        min_cluster_size=params.min_cluster_size,
        min_samples=params.min_samples,
        metric="euclidean",
        cluster_selection_method="leaf",
    )
    labels = model.fit_predict(reduced)
    return labels, model.probabilities_.astype(np.float64)


def neighbour_graph(embeddings: np.ndarray, knn: tuple[np.ndarray, np.ndarray], n_neighbors: int):
    """UMAP's fuzzy neighbour graph (the graph its layouts are drawn from) as a weighted igraph graph: each unit
    linked to its neighbours with weights in (0, 1] that adapt to how dense its neighbourhood is."""
    import igraph
    from umap.umap_ import fuzzy_simplicial_set

    _cache_numba_kernels()
    fuzzy, _, _ = fuzzy_simplicial_set(embeddings, n_neighbors, 0, "cosine", knn_indices=knn[0], knn_dists=knn[1])
    fuzzy = fuzzy.tocoo()
    upper = fuzzy.row < fuzzy.col  # the graph is symmetric: each edge once
    edges = np.c_[fuzzy.row[upper], fuzzy.col[upper]]
    return igraph.Graph(n=len(embeddings), edges=edges, edge_attrs={"weight": fuzzy.data[upper]})


def communities(graph, resolution: float, seeds: list[int], iterations: int) -> list[np.ndarray]:
    """Leiden communities (modularity with a resolution, Traag et al. 2019), one partition per seed.

    igraph's own Leiden (its C core) optimises the same quality as leidenalg's ``RBConfigurationVertexPartition``,
    the implementation used before, about 15 times faster (0.12 s against 1.9 s on a 10k-unit graph). igraph
    draws its random numbers from a Python generator: each seed gets its own, and igraph's default is put back.
    ``iterations``: Leiden iterations per run (-1: until the partition no longer changes; ``LEIDEN_ITERATIONS``).
    """
    import random

    import igraph

    found = []
    for seed in seeds:
        igraph.set_random_number_generator(random.Random(seed))
        try:
            partition = graph.community_leiden(
                objective_function="modularity",
                weights="weight",
                resolution=resolution,
                n_iterations=iterations,
            )
        finally:
            igraph.set_random_number_generator(random)
        found.append(np.array(partition.membership))
    return found


def leiden_assign(embeddings: np.ndarray, graph, params: ThemeParams, seeds: list[int]) -> list[np.ndarray]:
    """Each seed's themes, tidied as a whole assignment before any consensus: its Leiden communities, groups
    smaller than ``min_cluster_size`` unassigned, near-duplicates merged, outliers rescued."""
    found = communities(graph, params.resolution, seeds, params.leiden_iterations)
    return [tidied_run(embeddings, run, params) for run in found]


def tidied_run(
    embeddings: np.ndarray, found: np.ndarray, params: ThemeParams, runs: list[np.ndarray] | None = None
) -> np.ndarray:
    """Communities as themes: groups smaller than ``min_cluster_size`` unassigned, near-duplicates merged (a
    seed's run by its centroids; the consensus, given the ``runs`` it was voted from, by theirs:
    ``merge_agreed``), outliers rescued."""
    kept = without_small(found, params.min_cluster_size)
    labels = merge_agreed(kept, runs) if runs else merge_near_duplicates(embeddings, kept, params.merge_threshold)
    return rescue_outliers(embeddings, labels, np.zeros(len(labels)), params.reassign_threshold)[0]


def leiden_runs(embeddings: np.ndarray, graph, params: ThemeParams, seeds: list[int]) -> list[np.ndarray]:
    """``leiden_assign`` for every seed; a large study's seeds split across forked workers (each run, and the
    tidying after it, is single-threaded), each seed's result the same as in one process."""
    workers = min(len(seeds), available_cores()) if len(embeddings) >= PARALLEL_FROM else 1
    chunks = [chunk.tolist() for chunk in np.array_split(np.array(seeds), workers)]
    jobs = [partial(leiden_assign, embeddings, graph, params, chunk) for chunk in chunks]
    return [run for chunk in run_all(jobs, workers) for run in chunk]


def without_small(labels: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """Groups smaller than ``min_cluster_size`` unassigned, the rest numbered 0.. in order of first unit."""
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    kept = [int(ids[j]) for j in np.argsort(first) if sizes[j] >= min_cluster_size and ids[j] != UNASSIGNED]
    number = {group: n for n, group in enumerate(kept)}
    return np.array([number.get(int(group), UNASSIGNED) for group in labels], dtype=int)


def leiden_themes(
    embeddings: np.ndarray, knn: tuple[np.ndarray, np.ndarray], params: ThemeParams
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Labels, confidences and the runs to measure stability against: the communities the seeds' runs agree on
    (``agreed_communities`` over ``leiden_runs`` seeds up to ``consensus_max_units`` units, above the main seed and
    ``stability_runs`` others), tidied as each run is; each unit's confidence the share of the runs that keep it in
    its theme.

    A seed's Leiden run is chaotic: one neighbour swapped at the 15th place by 1e-6 noise on the embeddings (five
    units of 3,424 on the scientists interviews) moved 10 to 29 of 40 seeds' runs wholesale. Choosing one run (the
    most typical of the seeds whose runs survived shaking the graph, used before) moved with them: themes at ARI
    0.71 under three of five noise draws on the scientists, 0.77 and 0.80 under two on the ML interviews. What many
    runs agree on moves by sampling error only (``benchmarks.personas``, ``benchmarks.coded``)."""
    graph = neighbour_graph(embeddings, knn, params.n_neighbors)
    count = params.leiden_runs if len(embeddings) <= params.consensus_max_units else 1 + params.stability_runs
    seeds = [params.seed + r for r in range(count)]
    runs = leiden_runs(embeddings, graph, params, seeds)
    workers = available_cores() if len(embeddings) >= PARALLEL_FROM else 1
    voters = seeds[:CONSENSUS_SEEDS]
    found = agreed_communities(graph, runs, params.resolution, voters, params.leiden_iterations, workers)
    labels = tidied_run(embeddings, found, params, runs)
    return labels, kept_together(labels, runs), runs


CONSENSUS_SEEDS = 20  # seeds run on each round's consensus graph
CONSENSUS_ROUNDS = 6  # rounds at most; real studies agree in two or three


def agreed_communities(
    graph, runs: list[np.ndarray], resolution: float, seeds: list[int], iterations: int, workers: int = 1
) -> np.ndarray:
    """Consensus clustering (Lancichinetti & Fortunato 2012): each edge weighted by the share of ``runs`` that put
    its two units in one theme, times its own weight; Leiden on that graph with ``seeds``, their runs voting the
    next round's weights, until every seed finds the same communities (or ``CONSENSUS_ROUNDS``, then the most
    typical of the last round).

    Edges the runs agree on keep their weight, contested ones lose it in proportion, so the communities follow
    the majority wherever the runs split a topic differently. With 100 runs, under eight whole-run 1e-6 noise draws
    (``python -m benchmarks.personas``) the scientists' themes held at ARI 0.92-0.99 and the ML interviews' at
    0.97-0.99 (the typical run: down to 0.71 and 0.77 on draws that run missed); the coded quotes 1.00, AMI 0.304
    either way (``python -m benchmarks.coded``); mean theme stability on the scientists 0.74 → 0.76. Weighted by the
    share alone (the graph's own weights dropped), stability rose further (0.79) but the themes held less
    (0.92-1.00; measured by hand, session 21)."""
    source, target = np.array(graph.get_edgelist()).T
    weights = np.asarray(graph.es["weight"])
    chunks = [chunk.tolist() for chunk in np.array_split(np.array(seeds), min(workers, len(seeds)))]
    voters = runs
    for _ in range(CONSENSUS_ROUNDS):
        together = np.mean([(run[source] == run[target]) & (run[source] != UNASSIGNED) for run in voters], axis=0)
        agreed = graph.copy()
        agreed.es["weight"] = weights * together
        jobs = [partial(communities, agreed, resolution, chunk, iterations) for chunk in chunks]
        voters = [run for chunk in run_all(jobs, len(jobs)) for run in chunk]
        if all(_same_partition(voters[0], run) for run in voters[1:]):
            return voters[0]
    return voters[typical_run(voters)]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """The same groups, whatever their numbers."""
    pairs = np.unique(np.c_[a, b], axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def typical_run(runs: list[np.ndarray]) -> int:
    """The run that agrees best with the others (mean ARI; the lowest seed on a tie): the medoid partition."""
    from sklearn.metrics import adjusted_rand_score

    if len(runs) < 3:
        return 0
    agree = np.array([[adjusted_rand_score(a, b) for b in runs] for a in runs])
    return int(np.argmax(np.round(agree.sum(axis=1), 6)))


def held_as(labels: np.ndarray, run: np.ndarray, themes: list[int]) -> np.ndarray:
    """Per theme of ``themes``: the group of ``run`` holding most of its units (``UNASSIGNED`` where the run
    holds none of them)."""
    both = np.isin(labels, themes) & (run != UNASSIGNED)
    if not both.any():
        return np.full(len(themes), UNASSIGNED)
    groups = int(run[both].max()) + 1
    pairs = np.bincount(np.searchsorted(themes, labels[both]) * groups + run[both], minlength=len(themes) * groups)
    pairs = pairs.reshape(len(themes), groups)  # a crosstab by bincount: pandas' took a seventh of the stage
    return np.where(pairs.sum(axis=1) > 0, pairs.argmax(axis=1), UNASSIGNED)


def kept_together(labels: np.ndarray, runs: list[np.ndarray]) -> np.ndarray:
    """Per unit: the share of ``runs`` that put it in the group best matching its theme (most of the theme's
    units); 0 for unassigned units. Linear in the units, unlike the co-association matrix."""
    kept = np.zeros(len(labels))
    assigned = labels != UNASSIGNED
    if not runs or not assigned.any():
        return kept
    themes = sorted(set(labels[assigned].tolist()))
    position = np.searchsorted(themes, labels[assigned])
    for run in runs:
        match = held_as(labels, run, themes)[position]
        kept[assigned] += (run[assigned] == match) & (match != UNASSIGNED)
    return np.where(assigned, kept / len(runs), 0.0)


def merge_agreed(labels: np.ndarray, runs: list[np.ndarray], agree: float = 0.5) -> np.ndarray:
    """Themes that more than ``agree`` of the ``runs`` hold as one group merged (each group into its lowest id).

    Each seed's run merged its near-duplicates by centroid similarity before it voted, so its merges are in its
    vote. Merging the consensus again by its own centroids (``merge_near_duplicates``) put one hard threshold
    (0.92) on a few similarities just above or below it, and each merge moved a centroid towards the next: on the
    scientists interviews one 1e-6 noise draw merged four themes the runs keep apart (their pairs together in 10
    to 20 % of the runs), and the themes moved to ARI 0.89 while the consensus itself held at 0.98. What most runs
    merge moves by sampling error only (``python -m benchmarks.personas``)."""
    from scipy.sparse.csgraph import connected_components

    themes = sorted(set(labels.tolist()) - {UNASSIGNED})
    if len(themes) < 2 or not runs:
        return labels
    held = np.array([held_as(labels, run, themes) for run in runs])  # runs × themes
    together = ((held[:, :, None] == held[:, None, :]) & (held[:, :, None] != UNASSIGNED)).mean(axis=0)
    _, component = connected_components(together > agree, directed=False)
    lowest = pd.Series(themes).groupby(component).transform("min").to_numpy()
    into = dict(zip(themes, lowest.tolist(), strict=True))
    return np.array([into.get(int(label), UNASSIGNED) for label in labels], dtype=int)


def stability(labels: np.ndarray, runs: list[np.ndarray], match: float = 0.5) -> dict[int, float]:
    """Per theme: the share of seeds' runs holding a theme that matches it (Jaccard > ``match``, as in
    Hennig's clusterwise stability: at 0.5 or below a theme counts as dissolved).

    A theme that only one seed's UMAP layout produces is a coincidence of that layout; one that every seed
    reproduces is structure in the speech.
    """
    sizes = [np.bincount(run[run != UNASSIGNED], minlength=run.max() + 1) for run in runs]
    result = {}
    for theme in sorted(set(labels.tolist()) - {UNASSIGNED}):
        members = labels == theme
        found = 0
        for run, size in zip(runs, sizes, strict=True):
            overlap = np.bincount(run[members & (run != UNASSIGNED)], minlength=len(size))
            jaccard = overlap / np.maximum(members.sum() + size - overlap, 1)
            found += bool(len(jaccard)) and jaccard.max() > match
        result[int(theme)] = round(found / len(runs), 4)
    return result


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised mean vector per theme label (excluding -1), and the labels they belong to."""
    ids = np.array(sorted(set(labels.tolist()) - {UNASSIGNED}), dtype=int)
    if len(ids) == 0:
        return ids, np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    means = np.stack([embeddings[labels == i].mean(axis=0) for i in ids])
    return ids, means / np.linalg.norm(means, axis=1, keepdims=True)


def theme_vectors(embeddings: np.ndarray, units: pd.DataFrame, themes: pd.DataFrame) -> np.ndarray:
    """Normalised centroid of each theme, rows in the theme table's order (kept with the outputs)."""
    ids, vectors = centroids(embeddings, units["theme"].to_numpy())
    position = {int(i): row for row, i in enumerate(ids)}
    dimension = embeddings.shape[1] if embeddings.ndim == 2 else 0
    if themes.empty:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.stack([vectors[position[int(t)]] for t in themes["theme"]]).astype(np.float32)


def label_sums(embeddings: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Float64 sum of the vectors of each label in ``ids`` (rows in ``ids`` order), added in unit order.

    A sparse product rather than ``np.add.at``, which took 0.2-0.5 s per call at 10k units (once per seed's run)."""
    from scipy import sparse

    rows = np.searchsorted(ids, labels)
    member = (labels != UNASSIGNED) & (rows < len(ids))
    member[member] = ids[rows[member]] == labels[member]
    onehot = sparse.csr_matrix(
        (np.ones(int(member.sum())), (rows[member], np.flatnonzero(member))), shape=(len(ids), len(labels))
    )
    return onehot @ embeddings.astype(np.float64)


def merge_near_duplicates(embeddings: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Repeatedly merge the closest pair of themes while their centroids' cosine similarity ≥ threshold (into the
    lower id). Centroids are kept as sums and only the merged theme's similarities recomputed: every seed's run is
    merged, and recomputing all centroids per merge was most of the themes stage."""
    labels = labels.copy()
    ids = np.array(sorted(set(labels.tolist()) - {UNASSIGNED}), dtype=int)
    if len(ids) < 2:
        return labels
    sums = label_sums(embeddings, labels, ids)
    vectors = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    while True:
        a, b = sorted(np.unravel_index(int(np.argmax(similarity)), similarity.shape))
        if similarity[a, b] < threshold:
            return labels
        labels[labels == ids[b]] = ids[a]
        sums[a] += sums[b]
        similarity[b, :] = similarity[:, b] = -np.inf
        merged = sums[a] / np.linalg.norm(sums[a])
        alive = np.isfinite(similarity[:, a]) | (np.arange(len(ids)) == a)
        similarity[a, alive] = similarity[alive, a] = vectors[alive] @ merged
        vectors[a] = merged
        similarity[a, a] = -np.inf


def rescue_outliers(
    embeddings: np.ndarray, labels: np.ndarray, confidence: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Unassigned units close enough to a theme centroid join it; confidence = that cosine similarity.

    "Close enough" is the smaller of ``threshold`` and the similarity of a typical loose member (10th
    percentile of members' similarity to their own centroid): conversational speech is less tightly packed than
    short queries, and the bar adapts to that rather than needing per-corpus tuning. Units left unassigned
    keep their best similarity as confidence, so a researcher can sort the leftovers.
    """
    labels, confidence = labels.copy(), confidence.copy()
    ids, vectors = centroids(embeddings, labels)
    outliers = np.flatnonzero(labels == UNASSIGNED)
    if len(ids) == 0 or len(outliers) == 0:
        return labels, confidence
    members = np.flatnonzero(labels != UNASSIGNED)
    own = np.einsum("ij,ij->i", embeddings[members], vectors[np.searchsorted(ids, labels[members])])
    threshold = min(threshold, float(np.percentile(own, 10)))
    similarity = embeddings[outliers] @ vectors.T
    best = similarity.argmax(axis=1)
    best_similarity = similarity[np.arange(len(outliers)), best]
    rescued = best_similarity >= threshold
    labels[outliers[rescued]] = ids[best[rescued]]
    confidence[outliers] = np.clip(best_similarity, 0.0, 1.0)
    return labels, confidence


def neighbour_vote(
    knn: tuple[np.ndarray, np.ndarray], labels: np.ndarray, confidence: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """A unit joins the theme holding a similarity-weighted majority of its k nearest neighbours.

    Assigned units count their own vote too, so only a clear neighbourhood moves them; this smooths HDBSCAN's
    ragged borders (it raised Banking77 NMI and ARI slightly when added; ``make bench`` reports the result).
    Unassigned units have no vote,
    so an outlier whose neighbours agree on one theme joins it.
    """
    from scipy import sparse

    indices, distances = knn[0][:, : k + 1], knn[1][:, : k + 1]
    weights = np.clip(1.0 - distances, 0.0, None)
    neighbour_labels = labels[indices]
    valid = neighbour_labels != UNASSIGNED
    if not valid.any():
        return labels, confidence
    rows = np.broadcast_to(np.arange(len(labels))[:, None], indices.shape)
    votes = sparse.csr_matrix(
        (weights[valid], (rows[valid], neighbour_labels[valid])), shape=(len(labels), labels.max() + 1)
    )
    best = np.asarray(votes.argmax(axis=1)).ravel()
    voters = np.where(labels == UNASSIGNED, weights[:, 1:].sum(axis=1), weights.sum(axis=1))
    share = np.asarray(votes.max(axis=1).todense()).ravel() / np.maximum(voters, 1e-12)
    changed = (share > 0.5) & (best != labels)
    return np.where(changed, best, labels), np.where(changed, np.round(share, 4), confidence)


def dissolve_unshared(labels: np.ndarray, speakers: np.ndarray, min_participants: int) -> np.ndarray:
    """Themes voiced by fewer than ``min_participants`` participants (or than all the study has) unassigned.

    A theme is something several people said. Read in context, the sentences of one long story are alike, and
    on the sample corpus one participant's account of a bad review formed a theme of its own."""
    needed = min(min_participants, len(set(speakers.tolist())))
    voices = pd.Series(speakers).groupby(labels).nunique()
    unshared = [theme for theme, count in voices.items() if theme != UNASSIGNED and count < needed]
    return np.where(np.isin(labels, unshared), UNASSIGNED, labels)


def order_by_prevalence(labels: np.ndarray, units: pd.DataFrame) -> np.ndarray:
    """Renumber themes 0..k-1 by participants voicing them, then units, then first unit id (a stable tie-break)."""
    frame = pd.DataFrame(
        {
            "label": labels,
            "participant": participant_key(units),
            "unit_id": units["unit_id"].astype(str),
        }
    )
    stats = (
        frame[frame["label"] != UNASSIGNED]
        .groupby("label")
        .agg(participants=("participant", "nunique"), units=("unit_id", "size"), first=("unit_id", "min"))
        .sort_values(["participants", "units", "first"], ascending=[False, False, True])
    )
    mapping = {old: new for new, old in enumerate(stats.index)}
    return np.array([mapping.get(label, UNASSIGNED) for label in labels], dtype=int)


def parent_themes(embeddings: np.ndarray, labels: np.ndarray, max_parents: int) -> dict[int, int]:
    """Group themes into ~sqrt(k)·1.5 parents (at most ``max_parents``) by average-linkage on centroids."""
    ids, vectors = centroids(embeddings, labels)
    if len(ids) <= 3:
        return {int(i): 0 for i in ids}
    from sklearn.cluster import AgglomerativeClustering

    n_parents = int(np.clip(round(math.sqrt(len(ids)) * 1.5), 2, min(max_parents, len(ids) - 1)))
    groups = AgglomerativeClustering(n_clusters=n_parents, metric="cosine", linkage="average").fit_predict(vectors)
    # Parent ids follow the first (most prevalent) child theme, so parent 0 holds theme 0.
    order = {g: n for n, g in enumerate(dict.fromkeys(groups[np.argsort(ids)].tolist()))}
    return {int(i): order[int(g)] for i, g in zip(ids, groups, strict=True)}


def assign(
    embeddings: np.ndarray, knn: tuple[np.ndarray, np.ndarray], params: ThemeParams
) -> tuple[np.ndarray, np.ndarray]:
    """Theme labels and confidences from one seeded layout: HDBSCAN, merge, rescue, neighbour vote."""
    labels, confidence = cluster(reduce(embeddings, knn, params), params)
    labels = merge_near_duplicates(embeddings, labels, params.merge_threshold)
    labels, confidence = rescue_outliers(embeddings, labels, confidence, params.reassign_threshold)
    return neighbour_vote(knn, labels, confidence, params.vote_neighbours)


def co_association(runs: list[np.ndarray]) -> np.ndarray:
    """units × units: the share of runs that put two units in one theme (unassigned units are with nobody)."""
    n = len(runs[0])
    together = np.zeros((n, n), dtype=np.float32)
    for run in runs:
        member = np.flatnonzero(run != UNASSIGNED)
        one_hot = np.zeros((n, run.max() + 1 if len(member) else 1), dtype=np.float32)
        one_hot[member, run[member]] = 1.0
        together += one_hot @ one_hot.T
    return together / len(runs)


def consensus(together: np.ndarray, min_cluster_size: int, agree: float = 0.5) -> np.ndarray:
    """Themes most runs agree on: average linkage on the co-association, cut where units are together in
    ``agree`` of the runs on average; groups smaller than ``min_cluster_size`` are unassigned.

    UMAP is chaotic: one neighbour distance changed by 1e-7 (a last bit of another machine's BLAS) gives another
    layout, and that layout's HDBSCAN themes agreed with the first at ARI 0.76 on the coded quotes. Each seed's
    layout is one draw; what most draws agree on is the structure, and it moves far less (``make bench``). Units
    the runs disagree on are left unassigned here, for ``rescue_outliers`` to place by their own vectors.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    apart = 1.0 - together
    np.fill_diagonal(apart, 0.0)
    tree = linkage(squareform(apart, checks=False), method="average")
    groups = fcluster(tree, t=1.0 - agree, criterion="distance")
    sizes = np.bincount(groups)
    number = {g: i for i, g in enumerate(sorted({int(g) for g in groups if sizes[g] >= min_cluster_size}))}
    return np.array([number.get(int(g), UNASSIGNED) for g in groups], dtype=int)


def agreement(together: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per unit: the mean share of runs that put it with its theme-mates (0 for unassigned units)."""
    confidence = np.zeros(len(labels))
    for theme in set(labels.tolist()) - {UNASSIGNED}:
        members = np.flatnonzero(labels == theme)
        block = together[np.ix_(members, members)]
        confidence[members] = (block.sum(axis=1, dtype=np.float64) - 1.0) / max(len(members) - 1, 1)  # not itself
    return np.clip(confidence, 0.0, 1.0)


def discover_themes(
    embeddings: np.ndarray, units: pd.DataFrame, params: ThemeParams, conversation: np.ndarray | None = None
) -> pd.DataFrame:
    """``find_themes``' unit table alone."""
    return find_themes(embeddings, units, params, conversation)[0]


def find_themes(
    embeddings: np.ndarray,
    units: pd.DataFrame,
    params: ThemeParams,
    conversation: np.ndarray | None = None,
    said: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Unit table + ``theme``, ``theme_confidence``, ``theme_stability``, ``parent`` (-1 for unassigned units;
    ``CONVERSATION_THEME`` for units of a theme near ``conversation`` that no other theme took, for the runner to
    set aside), and the runs the themes were voted from (runs × units, tidied as the themes are; none for a study
    too small to seek themes in): persona profiles are read in every run (``personas.participant_similarity``).
    ``embeddings`` are the vectors clustered (units read in context); ``said`` the units' own vectors, which say
    whether a theme is talk about the conversation (``conversation_themes``; default: ``embeddings``).

    Leiden: the communities the seeds' runs agree on (``leiden_themes``). HDBSCAN: up to ``consensus_max_units``
    units the consensus of the main seed's run and the ``stability_runs`` other seeds' (its memory grows with the
    square of the units); above, the main seed's run."""
    units = units.copy()
    n = len(units)
    steady: dict[int, float] = {}
    talk = np.zeros(n, dtype=bool)
    tidied: list[np.ndarray] = []
    if n < max(params.min_cluster_size * 2, 5):
        labels, confidence = np.full(n, UNASSIGNED, dtype=int), np.zeros(n)
    elif params.method == "leiden":
        labels, confidence, runs = leiden_themes(embeddings, nearest_neighbours(embeddings, params), params)
        labels, confidence, steady, talk, tidied = _shared_and_ordered(
            embeddings, units, labels, confidence, runs, params, conversation, said
        )
    else:
        knn = nearest_neighbours(embeddings, params)
        seeds = [replace(params, seed=params.seed + r) for r in range(1, params.stability_runs + 1)]
        # The other seeds' layouts are independent of the main one (seeded UMAP runs on one thread): in workers.
        workers = min(len(seeds), available_cores()) if n >= PARALLEL_FROM and _fork_safe_threads() else 0
        if workers:
            _import_clustering()
        with forked_workers(workers) as pool:
            jobs = [pool.submit(assign, embeddings, knn, other) for other in seeds] if pool else []
            labels, confidence = assign(embeddings, knn, params)
            if pool:
                others = [job.result()[0] for job in jobs]
            else:
                others = [assign(embeddings, knn, other)[0] for other in seeds]
        runs = others  # what a theme's stability is measured against
        if others and n <= params.consensus_max_units:
            runs = [labels, *others]  # the consensus is checked against every run, the main one included
            together = co_association(runs)
            agreed = consensus(together, params.min_cluster_size)
            labels, confidence = rescue_outliers(
                embeddings, agreed, agreement(together, agreed), params.reassign_threshold
            )
        labels, confidence, steady, talk, tidied = _shared_and_ordered(
            embeddings, units, labels, confidence, runs, params, conversation, said
        )
    units["theme"] = labels
    units["theme_confidence"] = np.round(confidence, 4)
    units["theme_stability"] = [steady.get(int(label), np.nan) for label in labels]  # NaN: not measured
    themed = with_parents(units, embeddings, params.max_parents)
    runs = np.array(tidied, dtype=np.int32).reshape(len(tidied), n)
    return themed.assign(theme=np.where(talk, CONVERSATION_THEME, labels)), runs


def _shared_and_ordered(
    embeddings: np.ndarray,
    units: pd.DataFrame,
    labels: np.ndarray,
    confidence: np.ndarray,
    runs: list[np.ndarray],
    params: ThemeParams,
    conversation: np.ndarray | None,
    said: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, float], np.ndarray, list[np.ndarray]]:
    """Themes only one participant voices and themes of conversation dissolved (``_shared``), ids by prevalence,
    stability per theme against the other runs tidied the same way (returned too): like is compared with like.
    Measured against the untidied runs, a study of many speakers who each say little (a podcast compilation: 17
    speakers, 139 units) had 15 of each run's 20 themes dissolved and their units rescued into the other 5, which
    then matched no run's theme: stability 0 for 4 of its 5 themes, though every run found them. Also returns the
    units set aside as conversation."""
    speakers = participant_key(units).to_numpy()
    said = embeddings if said is None else said
    labels, confidence, talk = _shared(embeddings, speakers, labels, confidence, params, conversation, said)
    labels = order_by_prevalence(labels, units)
    tidied = [_shared(embeddings, speakers, run, np.zeros(len(run)), params, conversation, said)[0] for run in runs]
    return labels, confidence, stability(labels, tidied) if runs else {}, talk, tidied


def _shared(
    embeddings: np.ndarray,
    speakers: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray,
    params: ThemeParams,
    conversation: np.ndarray | None,
    said: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Themes one participant voices (``dissolve_unshared``) and themes of talk about the conversation itself
    (``conversation_themes``) dissolved, their units rescued (``rescue_outliers``); and the units of conversation
    themes left over: those no other theme took, or took at a similarity below the unit's own to ``conversation``
    ("Take care." is nearer the talk about the talk than any theme of content; "I'm really quite surprised about
    the complexity of AI", said in goodbye, joins a theme)."""
    shared = dissolve_unshared(labels, speakers, params.min_theme_participants)
    talk = np.isin(shared, conversation_themes(said, shared, conversation, params.conversation_above))
    shared = np.where(talk, UNASSIGNED, shared)
    if (shared != labels).any():
        labels, confidence = rescue_outliers(embeddings, shared, confidence, params.reassign_threshold)
    if talk.any():
        nearer = (labels[talk] == UNASSIGNED) | (confidence[talk] <= embeddings[talk] @ conversation)
        talk[talk] = nearer
        labels = np.where(talk, UNASSIGNED, labels)
    return labels, confidence, talk


def conversation_centre(examples: np.ndarray) -> np.ndarray:
    """The normalised mean of the vectors of the language data's talk about the conversation itself."""
    centre = examples.mean(axis=0)
    return centre / np.linalg.norm(centre)


def conversation_themes(
    embeddings: np.ndarray, labels: np.ndarray, conversation: np.ndarray | None, above: float
) -> np.ndarray:
    """Themes whose centroid lies within cosine ``above`` of ``conversation`` (``conversation_centre``), among
    ``embeddings``: the units' own vectors (``find_themes``' ``said``).

    Greetings, thanks, "sorry, the dog again" and "this meeting is being recorded" are in every interview, and
    embeddings gather them into one theme voiced by nearly everyone ("previous meeting", 12 of 12 on the sample).
    The word list of small talk only sees sentences made wholly of its words; a theme's centre averages the
    wording away. Measured on the units' own vectors, the conversation themes of real corpora lie at 0.74
    (``formats``: greetings, thanks and sign-offs of its podcasts) and 0.78 (ML interviews) from the centre, a
    theme of interview logistics at 0.62 (scientists: "Sounds good Claude", "I have no questions at this time"),
    every other theme at most 0.55 (usability sessions; ML interviews 0.52, oral histories 0.51, podcasts 0.42).
    Read in context (with the question and the sentence beside), the units blur the two: 0.68 and 0.78 against up
    to 0.57, and the ``formats`` theme "thank you", voiced by 20 of 34 participants, was kept as a theme until
    session 35 (``python -m benchmarks.units``)."""
    ids, vectors = centroids(embeddings, labels)
    if conversation is None or len(ids) == 0:
        return ids[:0]
    return ids[vectors @ conversation >= above]


def _fork_safe_threads() -> bool:
    """Whether forked workers may run numba kernels: its OpenMP threads (GNU libgomp) abort a forked child that
    runs parallel code; its workqueue threads do not. The layer is chosen on first parallel use, so choose
    workqueue unless a layer is already running."""
    import numba

    try:
        return numba.threading_layer() != "omp"
    except ValueError:  # no parallel code has run yet in this process
        numba.config.THREADING_LAYER = "workqueue"
        return True


def with_parents(units: pd.DataFrame, embeddings: np.ndarray, max_parents: int) -> pd.DataFrame:
    """The unit table with ``parent``: its theme's parent theme (-1 for unassigned units)."""
    parents = parent_themes(embeddings, units["theme"].to_numpy(), max_parents)
    return units.assign(parent=[parents.get(int(label), UNASSIGNED) for label in units["theme"]])
