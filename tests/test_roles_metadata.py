"""Who is the interviewer, and which segment data belongs to which interview."""

from __future__ import annotations

import pandas as pd
from conftest import SAMPLE, write

from pipeline.ingest import IngestParams, ingest


def roles(result) -> dict[str, str]:
    return dict(zip(result.turns["speaker"], result.turns["role"], strict=True))


def test_known_labels_are_mapped(tmp_path):
    write(tmp_path / "a.txt", "Moderator: Hello?\nRespondent: Hi.\n")
    write(tmp_path / "b.txt", "Assistant: Why?\nUser: Because.\n")
    assert roles(ingest(tmp_path)) == {
        "Moderator": "interviewer",
        "Respondent": "participant",
        "Assistant": "interviewer",
        "User": "participant",
    }


def test_interviewer_inferred_from_questions_and_reported(tmp_path):
    write(
        tmp_path / "a.txt",
        "Lena: What do you do?\nOmar: I run IT.\nLena: Why did you buy?\n"
        "Omar: The bill. It was too high.\nLena: Who decided?\nOmar: The CFO.\n",
    )
    result = ingest(tmp_path)
    assert roles(result) == {"Lena": "interviewer", "Omar": "participant"}
    lena = result.speakers.set_index("speaker").loc["Lena"]
    assert lena["evidence"].startswith("leads") and 0.5 <= lena["confidence"] < 1


def test_interviewer_option_overrides_inference(tmp_path):
    write(tmp_path / "a.txt", "Lena: What do you do?\nOmar: I run IT. Why do you ask?\nLena: Curious.\n")
    assert roles(ingest(tmp_path, IngestParams(interviewers=("omar",)))) == {
        "Lena": "participant",
        "Omar": "interviewer",
    }


def test_round_table_hosts_told_from_guests_who_banter(tmp_path):
    """Two hosts open the show; guests who ask each other more questions than the hosts do are still guests."""
    guest_banter = "Kim: Isn't that wild? Who even does that?\nAda: Did you try it?\nSol: No. Why would I?\n"
    write(
        tmp_path / "show.txt",
        "Max: Welcome to another episode, with my co-host Jo.\nJo: Hey all. Big crowd today.\n"
        "Max: Let's go round. Kim?\nKim: Thanks for having me. I build billing tools.\n"
        "Jo: Ada next.\nAda: Hi, I run procurement at a bank.\nMax: And Sol.\nSol: Hello, I am a data engineer.\n"
        + "Jo: Okay.\nMax: Sure.\n".join([guest_banter] * 2 + [guest_banter.replace("?", ".")])
        + "Max: That's the show.\nJo: Bye.\n",
    )
    result = ingest(tmp_path)
    assert roles(result) == {
        "Max": "interviewer", "Jo": "interviewer", "Kim": "participant", "Ada": "participant", "Sol": "participant",
    }  # fmt: skip
    evidence = result.speakers.set_index("speaker")["evidence"]
    assert evidence["Max"] == "says \u201cwelcome to another\u201d"
    assert evidence["Kim"] == "says \u201cthanks for having me\u201d"
    assert evidence["Jo"].startswith("opens the conversation before 'Kim'")


def test_role_cues_count_only_where_a_conversation_opens(tmp_path):
    """A participant who mentions being 'joined by' a consultant late in the interview stays the participant; cues
    that would leave no participant at all are ignored."""
    answers = "".join(f"Lena: And then?\nOmar: Step {i}, we measured the bill again.\n" for i in range(4))
    write(
        tmp_path / "a.txt",
        "Lena: What do you do?\nOmar: I run IT.\n" + answers + "Lena: Who helped?\n"
        "Omar: We were joined by a consultant, and our guests at the office liked it.\n",
    )
    write(tmp_path / "b.txt", "Ana: Welcome to the call.\nBo: Welcome to the call, everyone.\n")
    result = ingest(tmp_path)
    speakers = result.speakers.set_index(["interview_id", "speaker"])
    assert speakers.loc[("a", "Omar"), "role"] == "participant"
    assert speakers.loc[("a", "Lena"), "role"] == "interviewer"
    assert set(speakers.loc["b", "role"]) == {"interviewer", "participant"}


def test_voices_heard_only_off_the_interview_are_on_the_hosts_side(tmp_path):
    """Pre-show checks before the host's welcome, and a sponsor's voice inside a sponsor read, are not participant
    speech; a participant heard before a welcome at the very end stays the participant."""
    talk = "".join(f"Ann: Point {i}, and the numbers behind it are clear.\nHal: Okay.\n" for i in range(4))
    write(
        tmp_path / "webinar.txt",
        "Hal: Are we recording? Can you all hear me?\nRay: Yes, loud and clear.\nAnn: Slides are up.\n"
        "Hal: Welcome to our programme this evening. Please welcome Ann.\n" + talk,
    )
    write(
        tmp_path / "show.txt",
        "Lou: My guest today is Kim. This episode is brought to you by Acme. Jo, how many teams use it?\n"
        "Jo: Most of them.\nLou: And why?\nJo: It saves an hour a day.\nLou: Check out Acme. Kim, hello!\n"
        "Kim: Thanks for having me.\nLou: What do you do?\nKim: I buy software for a hospital group.\n"
        "Lou: How do you choose?\nKim: Trials first, then security review, then the CFO signs.\n",
    )
    answers = "".join(f"Lena: And then?\nOmar: Step {i}, we measured the bill again.\n" for i in range(3))
    write(tmp_path / "late.txt", "Lena: What do you do?\nOmar: I run IT.\n" + answers + "Lena: Welcome to the club!\n")
    speakers = ingest(tmp_path).speakers.set_index(["interview_id", "speaker"])
    assert speakers.loc[("webinar", "Ray"), "role"] == "interviewer"
    assert speakers.loc[("webinar", "Ray"), "evidence"].startswith("heard only before the host's welcome")
    assert speakers.loc[("webinar", "Ann"), "role"] == "participant"
    jo = speakers.loc[("show", "Jo")]
    assert (jo["role"], jo["evidence"]) == ("interviewer", "heard only in a sponsor read")
    assert speakers.loc[("show", "Kim"), "role"] == "participant"
    assert speakers.loc[("late", "Omar"), "role"] == "participant"


def test_single_speaker_is_all_participant(tmp_path):
    write(tmp_path / "memo.txt", "Dana: We need a forecast? Yes.\nDana: And a cap.\n")
    assert roles(ingest(tmp_path)) == {"Dana": "participant"}


def test_metadata_join_reports_both_gaps(tmp_path):
    write(tmp_path / "a.txt", "Q: Why?\nA: Cost.\n")
    write(tmp_path / "b.txt", "Q: Why?\nA: Risk.\n")
    write(tmp_path / "metadata.csv", "interview_id,industry,company_size\na,Retail,500\nzz,Media,40\n")
    result = ingest(tmp_path)
    industry = result.interviews.set_index("interview_id")["industry"]
    assert industry["a"] == "Retail" and pd.isna(industry["b"])
    assert any("no transcript for: zz" in m for m in result.messages)
    assert any("no row for: b" in m for m in result.messages)


def test_metadata_ids_written_as_file_names_or_in_another_case_join(tmp_path):
    """A sheet names interviews as its author does: "P01.docx", "p 02". They joined nothing, so segments were
    empty for every participant; each now joins the one interview it names, and the match is said."""
    write(tmp_path / "P01.txt", "Q: Why?\nA: Cost.\n")
    write(tmp_path / "P02.txt", "Q: Why?\nA: Risk.\n")
    write(tmp_path / "P03.txt", "Q: Why?\nA: Time.\n")
    write(tmp_path / "metadata.csv", "interview_id,industry\nP01.docx,Retail\np 02,Media\nP03,Health\nP4,Energy\n")
    result = ingest(tmp_path)
    industry = result.interviews.set_index("interview_id")["industry"]
    assert industry.to_dict() == {"P01": "Retail", "P02": "Media", "P03": "Health"}
    assert any("2 ids matched loosely ('P01.docx' → 'P01', 'p 02' → 'P02')" in m for m in result.messages)
    assert any("no transcript for: P4" in m for m in result.messages)  # a loose match is never a guess


def test_roles_csv_ids_written_as_file_names_apply(tmp_path):
    """A roles.csv written by hand names interviews by their files ("P01.txt"); its rows were silently ignored."""
    write(tmp_path / "P01.txt", "Lena: What do you do?\nOmar: I run IT.\nLena: Why did you buy?\nOmar: The bill.\n")
    write(tmp_path / "roles.csv", "interview_id,speaker,role\nP01.txt,Lena,participant\np-01,Omar,interviewer\n")
    speakers = ingest(tmp_path).speakers.set_index("speaker")
    assert speakers["role"].to_dict() == {"Lena": "participant", "Omar": "interviewer"}
    assert (speakers["evidence"] == "roles.csv").all()


def test_metadata_without_id_column_is_reported(tmp_path):
    write(tmp_path / "a.txt", "Q: Why?\nA: Cost.\n")
    write(tmp_path / "metadata.csv", "name,industry\na,Retail\n")
    result = ingest(tmp_path)
    assert any("metadata.csv:1: needs columns interview_id" in m for m in result.messages)


def test_sample_corpus_reads_cleanly():
    result = ingest(SAMPLE)
    assert not result.failed
    assert {r.format for r in result.reports} >= {"text", "vtt", "srt", "docx", "csv"}
    turns = result.turns
    assert turns["interview_id"].nunique() >= 12
    assert turns.groupby("interview_id").size().min() >= 40
    # Exactly one interviewer and one participant per interview, and every participant has metadata.
    per_interview = turns.groupby(["interview_id", "role"])["speaker"].nunique().unstack()
    assert (per_interview == 1).all().all()
    assert result.interviews["industry"].notna().all()
    assert not [m for m in result.messages if "metadata.csv" in m]
