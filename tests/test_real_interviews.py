"""End to end on 125 real interviews (../shared/data/interviews), one row per interview."""

from __future__ import annotations

import pytest
from conftest import SHARED, requires_shared

from pipeline.config import Config
from pipeline.ingest import ingest
from pipeline.segment import SegmentParams, segment

pytestmark = requires_shared

CSV = SHARED / "interviews" / "anthropic-interviewer-scientists.csv"


@pytest.fixture(scope="module")
def real():
    return ingest(CSV)


def test_every_turn_has_the_right_role(real):
    assert not real.failed
    turns = real.turns
    assert turns["interview_id"].nunique() == 125
    roles = turns.groupby("speaker")["role"].unique().map(list).to_dict()
    assert roles == {"AI": ["interviewer"], "Assistant": ["interviewer"], "User": ["participant"]}
    assert (turns["role"] == "participant").sum() >= 1100


def test_every_interview_has_participant_units(real, nlp):
    # Forty interviews are plenty to catch a segmentation or provenance fault; all 125 belong in `make bench`.
    turns = real.turns[real.turns["interview_id"].isin(real.turns["interview_id"].unique()[:40])]
    units, _ = segment(turns, nlp, SegmentParams.from_config(Config()))
    assert set(units["interview_id"]) == set(turns["interview_id"])
    # Provenance: each unit's first words are on the physical CSV line it cites.
    lines = CSV.read_text(encoding="utf-8").split("\n")
    sample = units.sample(min(200, len(units)), random_state=0)
    for unit in sample.itertuples():
        raw = lines[unit.line - 1].replace('""', '"')  # CSV doubles quotes inside a quoted cell
        assert " ".join(unit.text.split()[:3]) in " ".join(raw.split()), unit.unit_id


def test_zone_labelled_quotes_are_never_set_aside_as_no_content(nlp):
    """Real quotes two annotators filed under a zone stay analysable (target ≤ 2 % set aside); small talk goes."""
    from benchmarks.units import labelled_quotes_set_aside

    figures = labelled_quotes_set_aside(nlp, SegmentParams.from_config(Config()))
    assert figures["zone_share_set_aside"] <= 0.02, figures["zone_quotes_lost"]
    assert figures["other_share_set_aside"] >= 0.25


def test_zone_head_beats_weighted_scores_on_real_quotes_cross_validated_by_interview(shared_cache):
    """zones-dev, folds by interview: the learned head files real quotes far better than the weighted scores."""
    from dataclasses import replace

    from pipeline.embed import Embedder, EmbedParams
    from scripts.train_zones import measure

    config = replace(Config(), cache_dir=str(shared_cache))
    report, _ = measure(config, Embedder(EmbedParams.from_config(config)))
    learned, weighted = report["learned_head"], report["weighted_scores_only"]  # 0.675 and 0.462 when written
    assert learned["macro_f1"] >= 0.65 and learned["macro_f1"] >= weighted["macro_f1"] + 0.15
    assert learned["per_zone_f1"]["goals"] >= 0.75 and learned["per_zone_f1"]["motivations"] >= 0.62


def test_themes_agree_more_with_researchers_codes_when_units_are_read_with_the_sentence_beside_them(shared_cache):
    """The coded think-aloud study: themes found on the session transcripts, scored on the quotes the researchers
    coded (AMI). Reading each unit with its neighbour in the turn raised agreement on every seed tried (0.274 →
    0.300, mean of 4); two seeds each must show a clear gain."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from benchmarks.coded import STUDY, TAGS, agreement, quote_units
    from pipeline.embed import Embedder, EmbedParams
    from pipeline.runner import run_segment
    from pipeline.themes import ThemeParams, discover_themes, in_context, neighbour_rows

    config = replace(Config(), cache_dir=str(shared_cache))
    units = run_segment(STUDY / "transcripts", config).units
    tags = pd.read_csv(TAGS, keep_default_na=False)
    rows = quote_units(units, tags)
    mapped = rows >= 0
    embed = Embedder(EmbedParams.from_config(config))
    text, question = embed(units["text"].tolist()), embed(units["question"].tolist())
    asked, beside = (units["question"] != "").to_numpy(), neighbour_rows(units)
    assert (beside >= 0).mean() > 0.8  # most think-aloud units have a sentence beside them
    params = replace(ThemeParams.from_config(config, len(units)), stability_runs=0)
    ami = {}
    for weight in (0.0, config.neighbour_weight):
        vectors = in_context(text, question, asked, config.question_weight, beside, weight)
        runs = [discover_themes(vectors, units, replace(params, seed=seed))["theme"].to_numpy() for seed in (42, 43)]
        ami[weight] = np.mean([agreement(tags.loc[mapped, "tag"], run[rows[mapped]])["ami"] for run in runs])
    assert ami[config.neighbour_weight] >= ami[0.0] + 0.01, ami


def test_themes_of_real_coded_quotes_barely_move_under_floating_point_noise(shared_cache):
    """Another machine's BLAS changes the last bits of every vector; 1e-6 noise stands in for it. On the 1,930
    quotes a research team coded (conversational fragments, 191 repeated texts, weak structure) the communities
    the Leiden runs agree on held at ARI 0.99 (the most typical run: 0.97; the co-association cut of the runs:
    0.94; five UMAP + HDBSCAN layouts: 0.81) and agreed with the codes as well (AMI 0.30)."""
    from dataclasses import replace

    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from benchmarks.coded import agreement, coded_units
    from pipeline.embed import Embedder, EmbedParams
    from pipeline.themes import ThemeParams, discover_themes

    config = replace(Config(), cache_dir=str(shared_cache))
    units, codes = coded_units()
    vectors = Embedder(EmbedParams.from_config(config))(units["text"].tolist())
    noisy = vectors + np.random.default_rng(0).normal(0, 1e-6, vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    params = ThemeParams.from_config(config, len(units))
    before = discover_themes(vectors, units, params)["theme"].to_numpy()
    after = discover_themes(noisy, units, params)["theme"].to_numpy()
    assert adjusted_rand_score(before, after) >= 0.95
    assert agreement(codes, before)["ami"] >= 0.28 and agreement(codes, before)["unassigned_share"] <= 0.05


def test_themes_of_real_coded_quotes_come_back_with_other_seeds(shared_cache):
    """A researcher who reruns with another seed gets the same themes: each theme of the default seed is matched
    (Jaccard > 0.5) in the runs of two other seeds. 0.99 from what the Leiden runs agree on; 0.93 when the themes
    were the most typical run (session 21; on the scientists interviews, four other seeds: 0.97 against 0.76). One
    theme missed by one seed costs about 0.01: the floor leaves room for another CPU's bits."""
    from dataclasses import replace

    import numpy as np

    from benchmarks.coded import coded_units
    from pipeline.embed import Embedder, EmbedParams
    from pipeline.themes import ThemeParams, discover_themes, stability

    config = replace(Config(), cache_dir=str(shared_cache))
    units, _ = coded_units()
    vectors = Embedder(EmbedParams.from_config(config))(units["text"].tolist())
    params = ThemeParams.from_config(config, len(units))
    labels = discover_themes(vectors, units, params)["theme"].to_numpy()
    others = [discover_themes(vectors, units, replace(params, seed=params.seed + 1000 * k))["theme"] for k in (1, 2)]
    reproduced = stability(labels, [other.to_numpy() for other in others])
    assert np.mean(list(reproduced.values())) >= 0.96, reproduced


def test_themes_of_the_scientists_interviews_hold_under_floating_point_noise(shared_cache):
    """1e-6 noise on the vectors swaps a neighbour at the 15th place for a handful of units, and that moves most
    seeds' Leiden runs wholesale. This draw moved the themes to ARI 0.71 when they were the most typical run
    (three draws of five did); what 100 runs agree on held at 0.97 (0.95-1.00 over nine draws), but the consensus
    merged again by its own centroids, and a merge cascade moved one draw's themes to 0.89. Merged as most of 200
    runs merge, 0.99 (0.98-1.00 over eleven draws, session 26). Another CPU's last bits are another draw, so the
    floor sits below the worst draw seen and far above the old 0.71 and 0.89."""
    from dataclasses import replace

    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from pipeline.embed import Embedder, EmbedParams
    from pipeline.runner import read_in_context, run_segment
    from pipeline.themes import ThemeParams, discover_themes

    config = replace(Config(), cache_dir=str(shared_cache))
    units = run_segment(CSV.parent, config).units
    embedder = Embedder(EmbedParams.from_config(config))
    vectors = read_in_context(units, embedder(units["text"].tolist()), embedder(units["question"].tolist()), config)
    embedder.save()
    noisy = vectors + np.random.default_rng(100).normal(0, 1e-6, vectors.shape)
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    params = ThemeParams.from_config(config, len(units))
    before = discover_themes(vectors, units, params)
    after = discover_themes(noisy, units, params)["theme"].to_numpy()
    assert adjusted_rand_score(before["theme"], after) >= 0.97
    stability = before[before["theme"] >= 0].drop_duplicates("theme")["theme_stability"]
    assert stability.mean() >= 0.74, stability.describe()


def test_personas_of_the_scientists_interviews_hold_under_floating_point_noise(shared_cache):
    """Persona membership amplifies what the themes move. Over eight draws: profiles from the one consensus of the
    themes and average linkage regrouped the 125 scientists at ARI 0.34-0.71; read in every run the themes were
    voted from and grouped by k-means, 0.81-0.98; with each run's groups read through the voted themes' centroids
    and zone weights, 0.90-0.98 on a 2-core machine (this draw 0.98; 0.897 with the zone head that no longer reads
    the turn), since a theme the vote split or merged moved every run's groups touching it; read from their own
    units, 1.00 on all eight with that head (0.98-1.00 with the one before; session 32). The floor is the issue's
    target: one participant of 125 may change sides."""
    from sklearn.metrics import adjusted_rand_score

    import pipeline
    from benchmarks.personas import embeddings_moved

    clean = pipeline.run(CSV.parent, cache_dir=str(shared_cache))
    with embeddings_moved(seed=3):
        noisy = pipeline.run(CSV.parent, cache_dir=str(shared_cache))
    members = clean.persona_members.merge(noisy.persona_members, on=["interview_id", "speaker"])
    assert len(members) == len(clean.persona_members) >= 120
    assert adjusted_rand_score(members["persona_x"], members["persona_y"]) >= 0.98
    shape = clean.details["persona_structure"]
    assert shape["largest_share"] <= 0.6 or shape["strength"] == "none", shape


def test_each_persona_of_the_scientists_says_what_sets_it_apart(shared_cache):
    """A defining theme had to be voiced by half of its persona: of 125 scientists in two personas of about 60,
    one read "A buyer with no distinctive themes yet." and the other's one defining theme was voiced by most of
    both. Each persona's archetype now names themes its members voice more often than the others do."""
    import pandas as pd

    import pipeline
    from pipeline.resources import language

    run = pipeline.run(CSV.parent, cache_dir=str(shared_cache))
    themed = run.units[run.units["theme"] >= 0]
    members = run.persona_members.set_index(["interview_id", "speaker"])["persona"]
    voiced = (pd.crosstab([themed["interview_id"], themed["speaker"]], themed["theme"]) > 0).reindex(members.index)
    assert len(run.personas) >= 2
    for persona in run.personas.itertuples():
        assert persona.archetype != language().archetype_empty, persona.archetype
        mine = (members == persona.persona).to_numpy()
        for theme in [int(item.split(":")[0]) for item in persona.defining_themes.split("; ")]:
            inside, outside = voiced[theme].fillna(False)[mine].mean(), voiced[theme].fillna(False)[~mine].mean()
            assert inside > 1.5 * outside, (persona.archetype, theme, inside, outside)
