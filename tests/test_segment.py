"""Segmentation with the real spaCy model: units, dropped backchannels, question context, full accounting."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLE, SHARED, requires_shared, write

from pipeline.config import Config
from pipeline.ingest import ingest
from pipeline.segment import SegmentParams, is_backchannel, segment
from pipeline.tables import UNIT_COLUMNS

TRANSCRIPT = (
    "Interviewer: Thanks for joining. What worried you about the rollout?\n"
    "Dana: Yeah. Mm-hmm. Right, right.\n"
    "Dana: The pricing model worried me most. It scales with our spend. Per seat.\n"
    "Interviewer: Mm-hmm.\n"
    "Dana: You know.\n"
    "Interviewer: Who signed off?\n"
    "Dana: The CFO signed off in March.\nShe wanted a cap on the fee.\n"
)


def params(**settings) -> SegmentParams:
    return SegmentParams.from_config(Config(**settings))


@pytest.fixture
def segmented(tmp_path, nlp):
    turns = ingest(write(tmp_path / "d.txt", TRANSCRIPT)).turns
    units, dropped = segment(turns, nlp, params(max_passage_words=0))  # sentence by sentence
    return turns, units, dropped


def test_units_are_participant_sentences_with_short_ones_merged(segmented):
    _, units, _ = segmented
    assert units["text"].tolist() == [
        "The pricing model worried me most.",
        "It scales with our spend. Per seat.",
        "The CFO signed off in March.",
        "She wanted a cap on the fee.",
    ]
    assert list(units.columns) == UNIT_COLUMNS
    assert units["unit"].tolist() == [1, 2, 3, 4]
    assert units["unit_id"].tolist()[0] == "d:2.4"


def test_backchannels_dropped_with_reason(segmented):
    _, _, dropped = segmented
    assert dropped["text"].tolist() == ["Yeah.", "Mm-hmm.", "Right, right.", "You know."]
    assert set(dropped["reason"]) == {"backchannel"}


def test_question_context_is_the_prompting_question(segmented):
    _, units, _ = segmented
    assert units["question"].tolist()[:2] == ["What worried you about the rollout?"] * 2
    assert units["question"].tolist()[2:] == ["Who signed off?"] * 2


def test_unit_source_points_at_its_own_line(segmented, tmp_path):
    _, units, _ = segmented
    lines = (tmp_path / "d.txt").read_text().split("\n")
    for unit in units.itertuples():
        assert unit.text.split(".")[0] in lines[unit.line - 1]


def test_every_participant_character_is_accounted_for(segmented):
    turns, units, dropped = segmented
    assert_accounted(turns, units, dropped)


def assert_accounted(turns, units, dropped):
    """Units plus dropped rows, in order, reproduce each participant turn (ignoring whitespace)."""
    pieces = [(u.interview_id, u.turn, u.char_start, u.text) for u in units.itertuples()] + [
        (d.interview_id, d.turn, d.char_start, d.text) for d in dropped.itertuples()
    ]
    covered: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for interview_id, turn, start, text in pieces:
        covered.setdefault((interview_id, turn), []).append((start, text))
    for turn in turns[turns["role"] == "participant"].itertuples():
        joined = "".join(t for _, t in sorted(covered.get((turn.interview_id, turn.turn), [])))
        assert joined.replace(" ", "") == "".join(turn.text.split()), (turn.interview_id, turn.turn)


def test_interviewer_speech_is_never_a_unit(segmented):
    turns, units, _ = segmented
    interviewer_text = " ".join(turns.loc[turns["role"] == "interviewer", "text"])
    assert not any(u in interviewer_text for u in units["text"])


def test_short_answers_stay_one_passage(tmp_path, nlp):
    turns = ingest(
        write(
            tmp_path / "p.txt",
            "Q: Why?\nA: Yeah. Mostly price. And the contract terms were awful.\n"
            "Q: Go on?\nA: " + "We compared four vendors on price. " * 6 + "\n",
        )
    ).turns
    units, dropped = segment(turns, nlp, params(max_passage_words=20))
    assert units["text"].tolist()[0] == "Mostly price. And the contract terms were awful."
    assert dropped["text"].tolist() == ["Yeah."]
    assert len(units) == 1 + 6  # the long answer (36 words) is split into its sentences


@pytest.mark.parametrize("text", ["Yeah.", "Mm-hmm, right, right.", "Okay, you know, sure.", "Uh-huh!", "I see."])
def test_backchannel_detected(text):
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Yeah, the price.", "No.  We said 20 percent.", "Right-sizing matters", "Cost."])
def test_content_is_not_backchannel(text):
    assert not is_backchannel(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I don't know, I guess.", "no content"),
        ("That's about it though.", "no content"),
        ("Sounds good. Ready when you are!", "small talk"),
        ("Thanks so much, bye!", "small talk"),
        ("No questions at the moment, please continue.", "small talk"),
        ("Im ready to begin", "small talk"),
        ("Does that answer your question?", "question to the interviewer"),
        ("How detailed should my answers be for you?", "question to the interviewer"),
    ],
)
def test_speech_without_content_is_set_aside_with_its_reason(tmp_path, nlp, text, reason):
    turns = ingest(write(tmp_path / "t.txt", f"Interviewer: What happened next?\nDana: {text}\n")).turns
    units, dropped = segment(turns, nlp, params())
    assert units.empty and set(dropped["reason"]) == {reason}, dropped[["text", "reason"]].to_dict("records")


@pytest.mark.parametrize(
    "text",
    [
        "I think it's really mostly about time.",
        "Why would I pay for shelfware, you know?",
        "You know I used to read my papers backwards to catch mistakes?",
        "We tracked ec_number and kegg_pathway.",
        "Twenty percent.",
        "Mostly R.",
        "I ask my colleagues before I trust a tool.",
    ],
)
def test_speech_with_content_stays(tmp_path, nlp, text):
    turns = ingest(write(tmp_path / "t.txt", f"Interviewer: What happened next?\nDana: {text}\n")).turns
    units, _ = segment(turns, nlp, params())
    assert units["text"].tolist() == [text]


def test_sample_corpus_segments_completely(nlp):
    turns = ingest(SAMPLE).turns
    units, dropped = segment(turns, nlp, params())
    assert_accounted(turns, units, dropped)
    assert units.groupby("interview_id").size().min() >= 20
    assert (units["lemmas"].str.len() > 0).all()
    assert units["unit_id"].is_unique


@requires_shared
def test_worker_processes_segment_exactly_as_one_process(nlp):
    """A large study is segmented by worker processes, a chunk of whole interviews each: the tables are the ones a
    single process makes, row for row (real interviews, so many turns and chunks)."""
    turns = ingest(SHARED / "ml-interviews").turns
    alone = segment(turns, nlp, params(spacy_n_process=1))
    workers = segment(turns, nlp, params(spacy_n_process=2))
    assert len(alone[0]) > 1000
    pd.testing.assert_frame_equal(alone[0], workers[0])
    pd.testing.assert_frame_equal(alone[1], workers[1])


@requires_shared
def test_lookup_components_parse_real_speech_as_spacy_does(nlp):
    """The pipeline's attribute ruler and lemmatizer answer by lookup; every token of real interviews gets the
    same part of speech, morphology, lemma, tag and dependency as with spaCy's own components."""
    import spacy
    from spacy.attrs import DEP, HEAD, LEMMA, MORPH, POS, TAG

    from pipeline.spacy_lookups import LookupAttributeRuler, LookupLemmatizer

    assert isinstance(nlp.get_pipe("attribute_ruler"), LookupAttributeRuler)
    assert isinstance(nlp.get_pipe("lemmatizer"), LookupLemmatizer)
    own = spacy.load(nlp.meta["lang"] + "_" + nlp.meta["name"], exclude=["ner"])
    lines = [line for path in sorted((SHARED / "ml-interviews").glob("*.txt"))[:4]
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]  # fmt: skip
    lines += pd.read_csv(SHARED / "zones-dev" / "labelled.csv")["text"].tolist()
    lines += ["We're gonna need it, y'all. Let's go, c'mon! It ain't cheap.", "  spaced \n\n out  "]
    columns = [POS, MORPH, LEMMA, TAG, DEP, HEAD]
    changed = [(a.text, b.text) for a in own.pipe(lines) for b in [nlp(a.text)]
               if (a.to_array(columns) != b.to_array(columns)).any()]  # fmt: skip
    assert len(lines) > 500 and changed == []


def test_an_edited_word_list_is_not_answered_from_the_segment_cache(monkeypatch):
    """Which speech is set aside comes from the language file; editing it must re-segment, not reuse old units."""
    from pipeline import artifacts

    turns = pd.DataFrame({column: ["x"] for column in artifacts._KEY_COLUMNS})
    before = artifacts.interview_keys(turns, params(), "3.8")
    monkeypatch.setattr(artifacts, "language_fingerprint", lambda: "edited")
    assert artifacts.interview_keys(turns, params(), "3.8") != before
