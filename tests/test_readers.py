"""Each reader on a small fixture, checked against the exact turn table a researcher would expect."""

from __future__ import annotations

import json
import math

import docx
import pandas as pd
import pytest
from conftest import requires_shared, write

from pipeline.ingest import detect_format, ingest


def table(path, **kwargs) -> list[tuple]:
    """Turn table rows as comparable tuples (NaN → None)."""
    result = ingest(path, **kwargs)
    assert not result.failed, [r.error for r in result.failed]
    turns = result.turns.assign(source=result.turns["source_file"] + ":" + result.turns["line"].astype(str))
    rows = turns[["interview_id", "turn", "speaker", "role", "start_s", "end_s", "text", "source"]]
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in rows.itertuples(index=False)
    ]


def test_plain_labels(tmp_path):
    path = write(
        tmp_path / "acme.txt",
        "Interviewer: What made you look for a tool?\n"
        "Jane Doe: The bill doubled.\nThe CFO noticed.\n\n"
        "Interviewer: And then?\nJane Doe: We ran a trial.\n",
    )
    src = path.name  # cited relative to the input folder
    assert table(path) == [
        ("acme", 1, "Interviewer", "interviewer", None, None, "What made you look for a tool?", f"{src}:1"),
        ("acme", 2, "Jane Doe", "participant", None, None, "The bill doubled.\nThe CFO noticed.", f"{src}:2"),
        ("acme", 3, "Interviewer", "interviewer", None, None, "And then?", f"{src}:5"),
        ("acme", 4, "Jane Doe", "participant", None, None, "We ran a trial.", f"{src}:6"),
    ]


def test_bracket_timestamps(tmp_path):
    path = write(
        tmp_path / "b.txt",
        "[00:00:05] Lena: Why did you switch?\n[00:01:02] Omar: Price, mostly.\n[1:01:02.5] Lena: Thanks?\n",
    )
    rows = table(path)
    assert [(r[2], r[4]) for r in rows] == [("Lena", 5.0), ("Omar", 62.0), ("Lena", 3662.5)]
    assert [r[3] for r in rows] == ["interviewer", "participant", "interviewer"]


def test_rev_style(tmp_path):
    path = write(
        tmp_path / "rev.txt",
        "Speaker 1 (00:00:03):\nSo what worried you?\n\n"
        "Jo Park (00:00:07):\nSecurity, honestly.\nAnd the price.\n\n"
        "Speaker 1 (00:00:15):\nOkay?\n",
    )
    rows = table(path)
    assert [(r[2], r[4], r[6], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("Speaker 1", 3.0, "So what worried you?", "2"),
        ("Jo Park", 7.0, "Security, honestly.\nAnd the price.", "5"),
        ("Speaker 1", 15.0, "Okay?", "9"),
    ]


def test_otter_style_and_footer(tmp_path):
    path = write(
        tmp_path / "otter.txt",
        "Mia Chen  0:03\nWhat does success look like?\n\nRaj Patel  0:09\nA bill that matches the budget.\n\n"
        "Mia Chen  1:02:10\nGreat?\n\nTranscribed by https://otter.ai\n",
    )
    rows = table(path)
    assert [(r[2], r[4], r[6]) for r in rows] == [
        ("Mia Chen", 3.0, "What does success look like?"),
        ("Raj Patel", 9.0, "A bill that matches the budget."),
        ("Mia Chen", 3730.0, "Great?"),
    ]


def test_zoom_vtt_merges_consecutive_cues(tmp_path):
    path = write(
        tmp_path / "zoom.vtt",
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nAna Ruiz: Why did you buy it?\n\n"
        "2\n00:00:04.500 --> 00:00:08.250\nBen Ng: Mostly for forecasting.\n\n"
        "3\n00:00:08.250 --> 00:00:12.000\nBen Ng: And to stop the surprises.\n",
    )
    rows = table(path)
    assert [(r[2], r[4], r[5], r[6], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("Ana Ruiz", 1.0, 4.0, "Why did you buy it?", "5"),
        ("Ben Ng", 4.5, 12.0, "Mostly for forecasting.\nAnd to stop the surprises.", "9"),
    ]


def test_youtube_rolling_captions_are_read_once(tmp_path):
    """YouTube's automatic captions roll: each cue shows again the line before it, and a 10 ms cue shows a finished
    line alone, with word timings inline. Every word was read two or three times; a line of spaces inside a cue
    was also read as a damaged cue and its words counted twice."""
    said = ["so tell me about your role", "I run procurement for a hospital", "group across twelve sites"]
    cues, clock = [], 0
    for before, line in zip(["", *said], said, strict=False):
        timed = "".join(f"<00:00:{clock + i:02d}.500><c> {word}</c>" for i, word in enumerate(line.split()))
        end = f"00:00:{clock + 3:02d}"
        cues += [f"00:00:{clock:02d}.000 --> {end}.000 align:start position:0%\n{before or ' '}\n{timed.strip()}\n",
                 f"{end}.000 --> {end}.010\n{line}\n \n"]  # fmt: skip
        clock += 3
    path = write(tmp_path / "yt.vtt", "WEBVTT\nKind: captions\nLanguage: en\n\n" + "\n".join(cues))
    result = ingest(path)
    report = result.reports[0]
    assert [" ".join(text.split()) for text in result.turns["text"]] == [" ".join(said)]
    assert report.words_lost == 0 and report.words_accounted == report.words_in_file and not report.warnings
    words = sum(len(line.split()) for line in said)  # each line again in its 10 ms cue and atop the next cue
    assert report.set_aside["caption line repeated by rolling captions"] == 2 * words - len(said[-1].split())


def test_teams_vtt_voice_tags(tmp_path):
    path = write(
        tmp_path / "teams.vtt",
        "WEBVTT\n\n6b1d2f1e-2c7a-4c55-9d43-8f1f0c4b9a11/15-0\n00:00:00.500 --> 00:00:03.000\n"
        "<v Sam Patel>What worried you?</v>\n\n"
        "0c2e8e5a-bb1f-4a8e-8f7b-0f0c9d2a1e22/16-0\n00:00:03.500 --> 00:00:06.000\n"
        "<v Henrik Larsen>Lock-in.</v>\n",
    )
    rows = table(path)
    assert [(r[2], r[3], r[6]) for r in rows] == [
        ("Sam Patel", "interviewer", "What worried you?"),
        ("Henrik Larsen", "participant", "Lock-in."),
    ]


def test_srt_with_speaker_prefix(tmp_path):
    path = write(
        tmp_path / "call.srt",
        "1\n00:00:01,000 --> 00:00:03,000\nInterviewer: Who signed off?\n\n"
        "2\n00:00:03,500 --> 00:00:06,000\nSofia: The CFO did.\n",
    )
    rows = table(path)
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("Interviewer", "interviewer", 1.0, 3.0, "Who signed off?"),
        ("Sofia", "participant", 3.5, 6.0, "The CFO did."),
    ]


def test_docx_paragraphs(tmp_path):
    document = docx.Document()
    for text in ["Interviewer: What did you compare?", "Jamal: Three vendors.", "We picked the cheapest."]:
        document.add_paragraph(text)
    path = tmp_path / "j.docx"
    document.save(path)
    rows = table(path)
    assert [(r[2], r[6], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("Interviewer", "What did you compare?", "1"),
        ("Jamal", "Three vendors.\nWe picked the cheapest.", "2"),
    ]


def test_docx_turns_split_by_line_breaks_in_one_paragraph(tmp_path):
    """Transcripts pasted into Word often keep every turn in one paragraph, split by line breaks (Shift+Enter).
    Before, the turns' shared paragraph number made them one: the last speaker "said" the last turn four times."""
    said = [("Interviewer", "What did you compare?"), ("Jamal", "Three vendors."), ("Interviewer", "And then?"),
            ("Jamal", "We picked the cheapest.")]  # fmt: skip
    document = docx.Document()
    document.add_paragraph("Interview 4")
    paragraph = document.add_paragraph()
    for i, (who, text) in enumerate(said):
        run = paragraph.add_run(f"{who}: {text}")
        if i < len(said) - 1:
            run.add_break()
    document.save(tmp_path / "j.docx")
    result = ingest(tmp_path / "j.docx")
    assert result.reports[0].words_lost == 0
    assert [(r[2], r[6], r[7].rsplit(":", 1)[1]) for r in table(tmp_path / "j.docx")] == [
        (who, text, "2") for who, text in said
    ]  # each turn cites its paragraph


def test_docx_speakers_set_in_bold_without_a_colon(tmp_path):
    """Some Word transcripts set the speaker in bold with no colon ("**Maria** Why that vendor?"); the file failed
    with "no speaker labels found". A bold word that opens speech once ("**Never** again") is emphasis, not a
    speaker."""
    said = [("Maria", "Why that vendor?"), ("Dana", "The trial."), ("Maria", "And then?"), ("Never", "again, I said."),
            ("Dana", "We signed.")]  # fmt: skip
    document = docx.Document()
    for who, text in said:
        paragraph = document.add_paragraph()
        paragraph.add_run(who).bold = True
        paragraph.add_run(f" {text}")
    document.save(tmp_path / "b.docx")
    result = ingest(tmp_path / "b.docx")
    assert result.reports[0].words_lost == 0
    turns = result.turns
    assert turns["speaker"].tolist() == ["Maria", "Dana", "Maria", "Dana"]
    assert turns["text"].tolist()[2] == "And then?\nNever again, I said."


def test_text_read_twice_is_flagged():
    """A reader defect that reads text twice (as line breaks in a Word paragraph did) was invisible: words lost
    are clamped at zero. More words read than the file holds is now said, beside the file."""
    from pipeline.ingest import FileReport, _summarise

    turns = pd.DataFrame({"interview_id": ["a", "a"], "text": ["Why that one?", "Cost, and cost again."],
                          "role": ["interviewer", "participant"]})  # fmt: skip
    report = FileReport(words_in_file=4, path="t.docx")
    _summarise(report, turns)
    assert not report.error and any("read twice" in warning for warning in report.warnings)
    exact = FileReport(words_in_file=7, path="t.docx")
    _summarise(exact, turns)
    assert not exact.warnings


def test_docx_text_inside_changes_tags_and_controls_is_read(tmp_path):
    """python-docx reads only a paragraph's own runs and the body's own paragraphs, so these words were neither read
    nor counted as lost: a researcher's tracked corrections (read as accepted, with a note; deleted words stay
    out), smart tags (places and dates in older Word files), fields and content controls."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def wrapped(tag: str, *children):
        element = OxmlElement(tag)
        for child in children:
            element.append(child)
        return element

    def run(text: str, deleted: bool = False):
        words = OxmlElement("w:delText" if deleted else "w:t")
        words.text = text
        words.set(qn("xml:space"), "preserve")
        return wrapped("w:r", words)

    document = docx.Document()
    for text in ["Interviewer: What did you compare?", "Jamal: Three vendors", "Interviewer: And then?", "Jamal: "]:
        document.add_paragraph(text)
    document.paragraphs[1]._p.append(wrapped("w:smartTag", run(" in Chicago.")))
    document.paragraphs[3]._p.append(wrapped("w:del", run("We picked the cheapest.", deleted=True)))
    document.paragraphs[3]._p.append(wrapped("w:ins", run("We ran a trial")))
    document.paragraphs[3]._p.append(wrapped("w:fldSimple", run(" in May.")))
    control = wrapped("w:sdt", wrapped("w:sdtPr"), wrapped("w:sdtContent", wrapped("w:p", run("Interviewer: Why?"))))
    document.element.body.insert(len(document.element.body) - 1, control)  # before the section settings
    path = tmp_path / "j.docx"
    document.save(path)
    result = ingest(path)
    assert result.turns["text"].tolist() == [
        "What did you compare?", "Three vendors in Chicago.", "And then?", "We ran a trial in May.", "Why?"
    ]  # fmt: skip
    assert result.reports[0].words_lost == 0
    assert "tracked changes accepted (2)" in " ".join(result.reports[0].warnings)


def test_odt_tracked_deletions_are_not_read_as_speech(tmp_path):
    """OpenDocument keeps deleted text in a record of tracked changes at the top of the body: it was read as the
    first paragraph (a participant's turn, or a heading). The document as shown has only the inserted text."""
    from odf.dc import Creator
    from odf.element import Element
    from odf.namespaces import TEXTNS
    from odf.office import ChangeInfo
    from odf.opendocument import OpenDocumentText
    from odf.text import Change, ChangeEnd, ChangeStart, Deletion, Insertion, P, TrackedChanges

    def region(change_id: str, change, *content):
        info = ChangeInfo()
        author = Creator()
        author.addText("Researcher")
        info.addElement(author)
        change.addElement(info)
        for element in content:
            change.addElement(element)
        changed = Element(qname=(TEXTNS, "changed-region"), check_grammar=False)  # odfpy wants an id it rejects
        changed.setAttrNS(TEXTNS, "id", change_id)
        changed.addElement(change)
        return changed

    document, record = OpenDocumentText(), TrackedChanges()
    record.addElement(region("c1", Deletion(), P(text="We picked the cheapest one.")))
    record.addElement(region("c2", Insertion()))
    document.text.addElement(record)
    for text in ["Interviewer: What did you compare?", "Jamal: Three vendors.", "Interviewer: And then?"]:
        document.text.addElement(P(text=text))
    answer = P(text="Jamal: ")
    for element in (Change(changeid="c1"), ChangeStart(changeid="c2")):
        answer.addElement(element)
    answer.addText("We ran a trial.")
    answer.addElement(ChangeEnd(changeid="c2"))
    document.text.addElement(answer)
    document.save(str(tmp_path / "j.odt"))
    result = ingest(tmp_path / "j.odt")
    assert result.turns["text"].tolist() == ["What did you compare?", "Three vendors.", "And then?", "We ran a trial."]
    assert "cheapest" not in " ".join(result.turns["text"]) and not result.reports[0].set_aside
    assert "tracked changes accepted (2)" in " ".join(result.reports[0].warnings)


def test_csv_one_row_per_turn(tmp_path):
    path = write(
        tmp_path / "turns.csv",
        "interview_id,speaker,start,text\n"
        "a,Interviewer,0:05,Why?\na,Greg,0:09,Budget.\nb,Interviewer,,How?\n"
        "b,Nina,12.5,Trial first.\n",
    )
    rows = table(path)
    assert [(r[0], r[1], r[2], r[3], r[4], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("a", 1, "Interviewer", "interviewer", 5.0, "2"),
        ("a", 2, "Greg", "participant", 9.0, "3"),
        ("b", 1, "Interviewer", "interviewer", None, "4"),
        ("b", 2, "Nina", "participant", 12.5, "5"),
    ]


def test_table_headers_are_matched_however_they_are_spaced(tmp_path):
    """Dovetail-style exports write "Speaker Name" and "Start Time"; they were not found ("speaker_name" was)."""
    path = write(
        tmp_path / "turns.csv", "Speaker Name,Start Time,Transcript\nInterviewer,0:05,Why?\nGreg,0:09,Budget.\n"
    )
    rows = table(path)
    assert [(r[2], r[3], r[4], r[6]) for r in rows] == [
        ("Interviewer", "interviewer", 5.0, "Why?"),
        ("Greg", "participant", 9.0, "Budget."),
    ]


@pytest.mark.parametrize("header", ["Participant,Timecode,Response", "Role,Timecode,Verbatim"])
def test_a_participant_or_role_column_whose_values_repeat_is_the_speaker(tmp_path, header):
    """A "Participant" or "Role" column over rows of turns names who speaks; it failed ("needs an id column"), and a
    timecode was not a start. Where each row has its own participant, the rows are interviews, not turns: that
    table asked for --id-column."""
    rows = "Moderator,00:00:05,Why that vendor?\nP3,00:00:09,The trial.\nModerator,00:00:20,And then?\nP3,0:24,Signed."
    turns = table(write(tmp_path / "turns.csv", f"{header}\n{rows}\n"))
    assert [(r[2], r[3], r[4]) for r in turns] == [
        ("Moderator", "interviewer", 5.0), ("P3", "participant", 9.0),
        ("Moderator", "interviewer", 20.0), ("P3", "participant", 24.0),
    ]  # fmt: skip
    (tmp_path / "each").mkdir()
    each = '"I: Why that vendor?\nP1: The trial."\nP2,"I: And you?\nP2: The price."'
    interviews = ingest(write(tmp_path / "each" / "p.csv", f"Participant,Response\nP1,{each}\n")).turns
    assert interviews[["interview_id", "speaker"]].values.tolist() == [
        ["P1", "I"],
        ["P1", "P1"],
        ["P2", "I"],
        ["P2", "P2"],
    ]


def test_csv_one_row_per_interview_keeps_physical_lines(tmp_path):
    path = write(
        tmp_path / "whole.csv",
        'transcript_id,text\ns1,"AI: What do you use?\n\nUser: Mostly Python.\nAnd R."\ns2,"AI: Why?\nUser: Speed."\n',
    )
    rows = table(path)
    assert [(r[0], r[2], r[3], r[6], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("s1", "AI", "interviewer", "What do you use?", "2"),
        ("s1", "User", "participant", "Mostly Python.\nAnd R.", "4"),
        ("s2", "AI", "interviewer", "Why?", "6"),
        ("s2", "User", "participant", "Speed.", "7"),
    ]


def test_jsonl_turns(tmp_path):
    path = write(
        tmp_path / "t.jsonl",
        '{"interview_id": "x", "speaker": "Q", "text": "Why?"}\n\n'
        '{"interview_id": "x", "speaker": "A", "text": "Cost.", "start": 3}\n',
    )
    rows = table(path)
    assert [(r[2], r[3], r[4], r[7].rsplit(":", 1)[1]) for r in rows] == [
        ("Q", "interviewer", None, "1"),
        ("A", "participant", 3.0, "3"),
    ]


def test_sentence_with_colon_is_not_a_speaker(tmp_path):
    path = write(
        tmp_path / "c.txt",
        "AI: Tell me more?\nUser: Sure.\nThe process included: three steps.\n"
        "Bottom line: it worked.\nAI: Thanks?\nUser: Bye.\n",
    )
    rows = table(path)
    assert [r[2] for r in rows] == ["AI", "User", "AI", "User"]
    assert rows[1][6] == "Sure.\nThe process included: three steps.\nBottom line: it worked."


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.txt", "Q: hi\nA: yo\n", "text"),
        ("a.txt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n", "vtt"),
        ("a.txt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n", "srt"),
        ("a.vtt", "WEBVTT\n", "vtt"),
        ("a.SRT", "1\n", "srt"),
        ("a.csv", "x\n", "csv"),
        ("a.ndjson", "{}\n", "jsonl"),
    ],
)
def test_detect_format(tmp_path, name, content, expected):
    assert detect_format(write(tmp_path / name, content)) == expected


def test_encodings(tmp_path):
    text = "Interviewer: Qu'est-ce qui compte?\nRenée: Le coût — et la sécurité.\n"
    for encoding, warned in [("utf-8", False), ("utf-8-sig", False), ("utf-16", False), ("cp1252", True)]:
        folder = tmp_path / encoding
        folder.mkdir()
        write(folder / "r.txt", text, encoding)
        result = ingest(folder)
        assert result.turns["text"].tolist() == ["Qu'est-ce qui compte?", "Le coût — et la sécurité."], encoding
        assert bool(result.reports[0].warnings) == warned, encoding
    assert "cp1252" in ingest(tmp_path / "cp1252").reports[0].warnings[0]


def test_turn_table_columns_are_documented(tmp_path):
    from pipeline.ingest.turns import TURN_COLUMNS

    result = ingest(write(tmp_path / "x.txt", "Q: Why?\nA: Because.\n"))
    assert list(result.turns.columns) == TURN_COLUMNS
    assert result.turns["turn"].dtype.kind == "i" and result.turns["start_s"].dtype.kind == "f"


def test_conventions_from_real_exports(tmp_path):
    """One fixture per convention seen in real exports, each as a researcher would read it."""
    otter = write(tmp_path / "otter1.txt", "P1 0:00\nWhat made you switch?\nP2 0:04\nThe bill.\nP1 1:02:10\nWhy?\n")
    assert [(r[2], r[4]) for r in table(otter)] == [("P1", 0.0), ("P2", 4.0), ("P1", 3730.0)]
    rev = write(
        tmp_path / "rev.md",
        "---\ntitle: Ep 1\nguest: Kim\n---\n\n# Ep 1\n\n## Transcript\n\nHost (00:00:03):\nWhy that tool?\n\n"
        "Kim (00:00:07):\nIt was cheap.\n\n(00:00:20):\nAnd it worked.\n",
    )
    rows = table(rev)
    assert [(r[2], r[6]) for r in rows] == [("Host", "Why that tool?"), ("Kim", "It was cheap.\nAnd it worked.")]
    bold = write(tmp_path / "bold.md", "**Ann:** Why?\n\n**Bo:** \\[04:22\\] Because.\n\n\\[05:00\\] And more.\n")
    assert [(r[2], r[6]) for r in table(bold)] == [("Ann", "Why?"), ("Bo", "Because.\nAnd more.")]
    qa = write(tmp_path / "qa.txt", "Q: What worried you?\nA: Lock-in.\nI: And then?\nR: We left.\n")
    assert [r[3] for r in table(qa)] == ["interviewer", "participant", "interviewer", "participant"]


def test_html_markup_in_a_cell_reads_as_its_words(tmp_path):
    """A table a web page wrote keeps its markup: the words stay, the tags go, and a row that only points to a
    link is set aside with its reason; a transcriber's "<laughs>" is no HTML tag and is left as written."""
    path = write(
        tmp_path / "turns.csv",
        "speaker,text\nInterviewer,Why?\nGreg,It was <i>really</i> <b>cheap</b> &amp; fast.\n"
        "Interviewer,And then? <laughs>\nMore info,See the full interview at: <a href='https://x.org/1'>https://x.org/1</a>\n"
        "Info,https://x.org/2\n",
    )
    result = ingest(path)
    assert result.turns["text"].tolist() == ["Why?", "It was really cheap & fast.", "And then? <laughs>"]
    assert result.reports[0].set_aside["export footer or link"] == 11 and result.reports[0].words_lost == 0  # words


def test_a_name_said_once_where_labels_are_rare_is_the_participants_words(tmp_path):
    """Unlabelled lines are the participant's and a label names the moderator: a name before a colon said once
    is a field read out ("Location: Cork."), not a second participant; a name that recurs is a speaker."""
    lines = [f"I open the map and look at the {n}th layer." for n in range(30)]
    lines[3:3] = ["MODERATOR: What do you see?", "Location: Cork. The window is fifteen days."]
    lines += ["Ana: May I add something?", "Ana: Thank you."]
    result = ingest(write(tmp_path / "P3 session.txt", "\n".join(lines) + "\n"))
    assert set(result.speakers["speaker"]) == {"P3", "MODERATOR", "Ana"}
    assert result.turns["text"].str.startswith("Location: Cork.").any()


def test_a_fragment_above_the_dialogue_and_pseudo_speakers_are_set_aside_and_counted(tmp_path):
    """A recording cut mid-sentence ("right, so") above the first speaker is set aside with its reason, like a
    title; a pseudo-speaker ("Break:") is not a speaker; no word is lost."""
    path = write(tmp_path / "x.txt", "right, so\nAnn: Why?\nBo: Cost.\nBreak: [12:00]\nAnn: And?\nBo: Risk.\n")
    result = ingest(path)
    assert result.turns["speaker"].tolist() == ["Ann", "Bo", "Ann", "Bo"]
    assert result.reports[0].set_aside["heading above the dialogue"] == 2 and result.reports[0].words_lost == 0


def test_speaker_spellings_are_one_person(tmp_path):
    """'DB' and 'DB:' and 'Devin Becker', or a zero-width space inside a label, never split one person."""
    path = write(
        tmp_path / "oh.csv",
        "speaker,words\nDevin Becker:,Why poetry?\nJM:,Because.\n,It stayed.\nDB:,And then?\nJ\u200bM,Then prose.\n",
    )
    turns = ingest(path).turns
    assert turns[["speaker", "text"]].values.tolist() == [
        ["Devin Becker", "Why poetry?"],
        ["JM", "Because.\nIt stayed."],
        ["Devin Becker", "And then?"],
        ["JM", "Then prose."],
    ]


@pytest.mark.parametrize(
    "document",
    [
        {"results": {"utterances": [{"speaker": 0, "start": 0.5, "end": 2.0, "transcript": "Why?"},
                                    {"speaker": 1, "start": 2.5, "end": 4.0, "transcript": "Cost."}]}},
        {"utterances": [{"speaker": "A", "start": 500, "end": 2000, "text": "Why?"},
                        {"speaker": "B", "start": 25000, "end": 40000, "text": "Cost."}]},
        {"title": "x", "0": {"speaker": "Ann", "timestamp": "00:00:00.500", "text": "Why?"},
         "1": {"speaker": "Bo", "timestamp": "00:00:25.000", "text": "Cost."}},
        {"monologues": [{"speaker": 0, "elements": [{"type": "text", "value": "Why", "ts": 0.5, "end_ts": 0.9},
                                                    {"type": "punct", "value": "?"}]},
                        {"speaker": 1, "elements": [{"type": "text", "value": "Cost", "ts": 2.5, "end_ts": 3.0},
                                                    {"type": "punct", "value": "."}]}]},
        {"results": {"transcripts": [{"transcript": "Why? Cost."}],
                     "speaker_labels": {"segments": [
                         {"speaker_label": "spk_0", "items": [{"speaker_label": "spk_0", "start_time": "0.5"}]},
                         {"speaker_label": "spk_1", "items": [{"speaker_label": "spk_1", "start_time": "2.5"}]}]},
                     "items": [{"start_time": "0.5", "type": "pronunciation", "alternatives": [{"content": "Why"}]},
                               {"type": "punctuation", "alternatives": [{"content": "?"}]},
                               {"start_time": "2.5", "type": "pronunciation", "alternatives": [{"content": "Cost"}]},
                               {"type": "punctuation", "alternatives": [{"content": "."}]}]}},
    ],
    ids=["deepgram", "assemblyai-ms", "keyed-by-index", "rev-elements", "amazon-transcribe-words"],
)  # fmt: skip
def test_diarized_json_shapes(tmp_path, document):
    path = write(tmp_path / "call.json", json.dumps(document, indent=2))
    rows = table(path)
    assert [r[6] for r in rows] == ["Why?", "Cost."]
    assert rows[0][4] == 0.5 and rows[1][4] in (2.5, 25.0)
    cost_line = next(i for i, line in enumerate(path.read_text().split("\n"), start=1) if "Cost" in line)
    assert rows[1][7].endswith(f":{cost_line}")


def test_xlsx_and_tsv_tables(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["speaker", "text"])
    book.active.append(["Interviewer", "Why did you buy?"])
    book.active.append(["Ana", "The price was right."])
    book.save(tmp_path / "t.xlsx")
    write(tmp_path / "u.tsv", "speaker\ttext\nInterviewer\tWhy?\nBo\tSpeed.\n")
    result = ingest(tmp_path)
    assert not result.failed, [r.error for r in result.failed]
    cited = sorted(zip(result.turns["source_file"], result.turns["line"], strict=True))
    assert cited == [("t.xlsx", 2), ("t.xlsx", 3), ("u.tsv", 2), ("u.tsv", 3)]


@requires_shared
def test_pdf_export_reads_as_its_text(tmp_path):
    """A real interview laid out as a PDF export (lines wrapped at 90 characters, pages of 30 lines, a running
    header and "Page n of N" footer) gives the same speakers and words as the text it was made from, the header and
    footers set aside; citations are lines of the PDF's text layer, counted through the document."""
    import textwrap

    from conftest import SHARED, pdf_of

    from pipeline.ingest.normalise import count_words

    source = (SHARED / "ml-interviews" / "Interview 10.txt").read_text(encoding="utf-8").split("\n")[:40]
    source = [line.encode("latin-1", "replace").decode("latin-1") for line in source]  # Helvetica's characters
    wrapped = [part for line in source if line.strip() for part in textwrap.wrap(line, 90)]
    pages = [wrapped[i : i + 30] for i in range(0, len(wrapped), 30)]
    assert len(pages) >= 3
    running = [["Interview 10 - transcript", f"Page {n} of {len(pages)}"] for n in range(1, len(pages) + 1)]
    pages = [[head, *page, foot] for (head, foot), page in zip(running, pages, strict=True)]
    (tmp_path / "pdf").mkdir()
    (tmp_path / "pdf" / "Interview 10.pdf").write_bytes(pdf_of(pages))
    write(tmp_path / "Interview 10.txt", "\n".join(source) + "\n")
    from_pdf, from_text = ingest(tmp_path / "pdf"), ingest(tmp_path / "Interview 10.txt")
    assert not from_pdf.failed
    report = from_pdf.reports[0]
    assert report.words_lost == 0
    assert report.set_aside["page header or footer"] == sum(count_words(" ".join(pair)) for pair in running)
    pdf_turns, text_turns = from_pdf.turns, from_text.turns
    assert pdf_turns["speaker"].tolist() == text_turns["speaker"].tolist()
    assert [" ".join(t.split()) for t in pdf_turns["text"]] == [" ".join(t.split()) for t in text_turns["text"]]
    assert not pdf_turns["text"].str.contains("Page 2 of 3|transcript", regex=True).any()
    flat = [line for page in pages for line in page]
    for turn in pdf_turns.itertuples():  # each turn opens on the labelled line it cites
        assert flat[turn.lines[0] - 1].startswith(f"{turn.speaker}:"), (turn.lines, turn.speaker)


TIMED_NAMES = [
    "Jane Smith - 00:00:05\nWhy that vendor?\n\nTom Lee - 00:00:09\nThe trial.\n\nJane Smith - 00:00:20\nAnd then?\n\n"
    "Tom Lee - 00:00:24\nWe signed.\n",
    "Jane Smith\t0:05\nWhy that vendor?\nTom Lee\t0:09\nThe trial.\nJane Smith\t0:20\nAnd then?\n"
    "Tom Lee\t0:24\nWe signed.\n",
    "00:00:05\nJane Smith: Why that vendor?\n00:00:09\nTom Lee: The trial.\n00:00:20\nJane Smith: And then?\n00:00:24\n"
    "Tom Lee: We signed.\n",
    "0:0:5.0 --> 0:0:8.0\nJane Smith\nWhy that vendor?\n\n0:0:9.0 --> 0:0:12.0\nTom Lee\nThe trial.\n\n"
    "0:0:20.0 --> 0:0:23.0\nJane Smith\nAnd then?\n\n0:0:24.0 --> 0:0:26.0\nTom Lee\nWe signed.\n",  # Teams, as text
    "[00:00:05.00] - Jane Smith\nWhy that vendor?\n\n[00:00:09.00] - Tom Lee\nThe trial.\n\n"
    "[00:00:20.00] - Jane Smith\nAnd then?\n\n[00:00:24.00] - Tom Lee\nWe signed.\n",  # Happy Scribe
]


@pytest.mark.parametrize("transcript", TIMED_NAMES)
def test_each_turn_starts_at_the_time_written_beside_or_above_its_name(tmp_path, transcript):
    """Before, "Jane Smith - 00:00:05" named a speaker "Jane Smith -", a tab before the time named nobody, and a
    time alone on the line above a label was read as an empty turn of the speaker before. A caption cue's timing
    above the first name (Teams) must stay that turn's start, not go with the head block above the dialogue."""
    turns = ingest(write(tmp_path / "t.txt", transcript)).turns
    assert turns["speaker"].tolist() == ["Jane Smith", "Tom Lee"] * 2
    assert turns["start_s"].tolist() == [5.0, 9.0, 20.0, 24.0]


@pytest.mark.parametrize(
    ("transcript", "roles"),
    [
        # focus groups and market research: who the speaker is, in brackets after the role
        ("Moderator (Jane): Why that vendor?\nP3 (IT director): The trial. I told them (twice): no lock-in.\n"
         "Moderator (Jane): And then?\nP3 (IT director): We signed.\n",
         {"Moderator (Jane)": "interviewer", "P3 (IT director)": "participant"}),
        # the role in brackets after the name; here the participant asks more, so only the label can tell
        ("Jane Smith (Interviewer): Tell me about the trial.\nTom Lee (Participant): Which trial? The pilot?\n"
         "Jane Smith (Interviewer): The pilot, yes.\nTom Lee (Participant): It went well. Why do you ask?\n",
         {"Jane Smith (Interviewer)": "interviewer", "Tom Lee (Participant)": "participant"}),
        # depositions and oral histories
        ("Q. Why that vendor?\nA. The trial, mostly.\nQ. And then?\nA. We signed. A. J. Smith approved it.\n",
         {"Q": "interviewer", "A": "participant"}),
        # the speaker alone on the line before what they said (a table pasted as text); "Okay" is no speaker
        ("Interviewer\nWhy that vendor?\n\nParticipant\nThe trial.\nOkay\nInterviewer\nAnd then?\n"
         "Participant\nWe signed.\n", {"Interviewer": "interviewer", "Participant": "participant"}),
        ("Jane Smith\nWhy that vendor?\nTom Lee\nThe trial.\nOkay\nJane Smith\nAnd then?\nTom Lee\nWe signed.\n",
         {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        # Zoom's saved live transcript, and editors that put the time before a name on its own line
        ("[Jane Smith] 10:01:02\nWhy that vendor?\n[Tom Lee] 10:01:09\nThe trial.\n[Jane Smith] 10:01:20\n"
         "And then?\n[Tom Lee] 10:01:24\nWe signed.\n", {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        ("00:00:05 Jane Smith\nWhy that vendor?\n00:00:09 Tom Lee\nThe trial.\n00:00:20 Jane Smith\nAnd then?\n"
         "00:00:24 Tom Lee\nWe signed.\n", {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        # Teams' Word export as text: a cue's timing, the name, then the speech
        ("0:0:0.0 --> 0:0:3.840\nJane Smith\nWhy that vendor?\n\n0:0:4.100 --> 0:0:9.200\nTom Lee\nThe trial.\n\n"
         "0:0:10.0 --> 0:0:12.0\nJane Smith\nAnd then?\n\n0:0:12.5 --> 0:0:15.0\nTom Lee\nWe signed.\n",
         {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        # the name, then its time on the same line after a dash or a tab; the time alone on the line above a label
        *[(transcript, {"Jane Smith": "interviewer", "Tom Lee": "participant"}) for transcript in TIMED_NAMES],
        # NVivo's transcription: the time, then a diarizer's numbered speaker, alone on a line
        ("0:00:05 Speaker 1\nWhy that vendor?\n0:00:09 Speaker 2\nThe trial.\n0:00:20 Speaker 1\nAnd then?\n"
         "0:00:24 Speaker 2\nWe signed.\n", {"Speaker 1": "interviewer", "Speaker 2": "participant"}),
        # Word's hanging indent: the name, a tab, the speech (a time before it, as a table copied from a sheet)
        ("Jane Smith\tWhy that vendor?\nTom Lee\tThe trial.\tMostly.\nJane Smith\tAnd then?\nTom Lee\tWe signed.\n",
         {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        ("0:05\tJane Smith\tWhy that vendor?\n0:09\tTom Lee\tThe trial.\n0:20\tJane Smith\tAnd then?\n"
         "0:24\tTom Lee\tWe signed.\n", {"Jane Smith": "interviewer", "Tom Lee": "participant"}),
        # Word puts no-break spaces inside names ("Dr.\u00a0Lee"): the label is the name with a space
        ("Jane\u00a0Smith: Why that vendor?\nDr.\u00a0Lee: The trial.\nJane\u00a0Smith: And then?\n"
         "Dr.\u00a0Lee: We signed.\n",
         {"Jane Smith": "interviewer", "Dr. Lee": "participant"}),
        # closed captions mark each change of speaker with ">>"
        (">> JANE SMITH: Why that vendor?\n>> TOM LEE: The trial.\n>> JANE SMITH: And then?\n>> TOM LEE: We signed.\n",
         {"JANE SMITH": "interviewer", "TOM LEE": "participant"}),
        # a dash after a role label; after anything else it is speech ("So - yeah")
        ("Interviewer – Why that vendor?\nRespondent – The trial.\nSo - yeah, mostly the trial.\n"
         "Interviewer – And then?\nRespondent – We signed.\n",
         {"Interviewer": "interviewer", "Respondent": "participant"}),
    ],
)  # fmt: skip
def test_speaker_conventions_of_other_transcribers(tmp_path, transcript, roles):
    result = ingest(write(tmp_path / "t.txt", transcript))
    assert not result.failed and result.reports[0].words_lost == 0
    assert result.speakers.set_index("speaker")["role"].to_dict() == roles
    assert len(result.turns) == 4  # "I told them (twice):" and "A. J. Smith" stay inside their turns
    assert not result.turns["text"].str.contains(r"\d:\d\d|-->").any()  # a time is a start, never speech


def test_time_marks_of_f4_and_maxqda_are_times_not_speech(tmp_path):
    """f4transkript and MAXQDA write the time a paragraph ends after it ("#00:00:09-2#": tenths after the dash).
    Before, the marks stayed in every turn's text (so in quotes and units) and no turn had a time."""
    transcript = ("I: Why that vendor? #00:00:09-0#\n\nB: The trial. #00:00:20-5#\n\nI: And then? #00:00:24-0#\n\n"
                  "B: We signed,\nafter a month. #00:00:31-2#\n")  # fmt: skip
    result = ingest(write(tmp_path / "t.txt", transcript))
    assert result.reports[0].words_lost == 0
    turns = result.turns
    texts = [" ".join(text.split()) for text in turns["text"]]
    assert texts == ["Why that vendor?", "The trial.", "And then?", "We signed, after a month."]
    assert turns["start_s"].tolist()[1:] == [9.0, 20.5, 24.0]  # each turn starts when the one before it ended
    assert turns["end_s"].tolist() == [9.0, 20.5, 24.0, 31.2]
    assert turns.set_index("speaker")["role"].to_dict() == {"I": "interviewer", "B": "participant"}


def test_lines_a_meeting_tool_adds_are_not_speech(tmp_path):
    """Google Meet ends its transcript with "Meeting ended after 00:09:12 👋" and a note that it was computer
    generated; Teams writes "Jane Smith stopped transcription". They were read as the last speaker's words."""
    transcript = ("Vendor interview - Transcript\n00:00:00\n\nJane Smith: Why that vendor?\nTom Lee: The trial.\n\n"
                  "00:05:00\n\nJane Smith: And then?\nTom Lee: We stopped transcription of calls, then signed.\n"
                  "Jane Smith stopped transcription\n\nMeeting ended after 00:09:12 👋\n\nThis editable transcript "
                  "was computer generated and might contain errors. People can also change the text after it was "
                  "created.\n")  # fmt: skip
    result = ingest(write(tmp_path / "meet.txt", transcript))
    report, turns = result.reports[0], result.turns
    assert turns["text"].tolist()[-1] == "We stopped transcription of calls, then signed."
    assert report.set_aside["export footer or link"] == 4 + 3 + 20 and report.words_lost == 0
    assert turns["start_s"].tolist()[::2] == [0.0, 300.0]  # each block's time starts its first turn


@pytest.mark.parametrize("gap", ["\t", "  "])
def test_a_transcript_numbered_line_by_line_reads_without_its_numbers(tmp_path, gap):
    """Thesis appendices and QDA exports number every line for citing. Before, "1<TAB>I: Why?" matched no label and
    the whole interview became one moderator's prompt, with "no participant speech"."""
    said = ["I: Why that vendor?", "R: The trial, and the price", "was one we could predict.", "", "I: And then?",
            "R: We signed after a month."]  # fmt: skip
    result = ingest(write(tmp_path / "t.txt", "".join(f"{n}{gap}{text}\n" for n, text in enumerate(said, 1))))
    assert not result.failed and result.reports[0].words_lost == 0
    turns = result.turns
    assert turns["speaker"].tolist() == ["I", "R", "I", "R"]
    assert turns["role"].tolist() == ["interviewer", "participant"] * 2
    assert " ".join(turns["text"][1].split()) == "The trial, and the price was one we could predict."
    assert not turns["text"].str.contains(r"\d").any()


@pytest.mark.parametrize("form", ["json", "txt"])
def test_a_diarizers_speaker_letters_are_not_question_and_answer_labels(tmp_path, form):
    """AssemblyAI and other diarizers name speakers "A", "B", "C". "A" is also the answer of a Q/A transcript, and
    was taken for the participant even when A asked every question. Beside a letter that states no role ("B"),
    letters are codes and behaviour decides; "Q" and "A" together still state their roles."""
    said = [("A", "Thanks for joining. What does your team do?"), ("B", "We run the payments platform."),
            ("A", "How did you choose your last tool?"), ("B", "We trialled two vendors for a month."),
            ("A", "What would make you switch?"), ("B", "A pricing model we can predict.")]  # fmt: skip
    if form == "json":
        utterances = [{"speaker": who, "text": text, "start": 7000 * i} for i, (who, text) in enumerate(said)]
        path = write(tmp_path / "call.json", json.dumps({"status": "completed", "utterances": utterances}))
    else:
        path = write(tmp_path / "call.txt", "".join(f"{who}: {text}\n" for who, text in said))
    roles = ingest(path).speakers.set_index("speaker")["role"].to_dict()
    assert roles == {"A": "interviewer", "B": "participant"}
    qa = "".join(f"{'Q' if who == 'A' else 'A'}: {text}\n" for who, text in said)
    assert ingest(write(tmp_path / "qa.txt", qa)).speakers.set_index("speaker")["role"].to_dict() == {
        "Q": "interviewer", "A": "participant"}  # fmt: skip


def _real_lines(n: int = 30) -> list[str]:
    """The first lines of a real interview (``Interview 10`` of the ML interviews), blank lines left out."""
    from conftest import SHARED

    text = (SHARED / "ml-interviews" / "Interview 10.txt").read_text(encoding="utf-8")
    return [line for line in text.split("\n")[:n] if line]


def _reads_as_its_text(tmp_path, path, source: list[str]):
    """``path`` ingested beside the same interview as plain text: no word lost, the same speakers saying the same
    words. Returns both results."""
    (tmp_path / "text").mkdir()
    write(tmp_path / "text" / f"{path.stem}.txt", "\n".join(source) + "\n")
    read, from_text = ingest(path), ingest(tmp_path / "text")
    assert not read.failed and read.reports[0].words_lost == 0
    assert read.turns["speaker"].tolist() == from_text.turns["speaker"].tolist()
    assert read.turns["text"].tolist() == from_text.turns["text"].tolist()
    return read, from_text


@requires_shared
@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_a_transcript_in_a_pipe_table_reads_as_its_text(tmp_path, suffix):
    """Notion and Obsidian export a transcript as a Markdown table (``| Speaker | Time | Text |``, a rule, a row per
    turn); some tools write the rows without the outer pipes. Before, no line matched a label and the file failed.
    A real interview laid out that way gives the same speakers and words as its text, the header set aside."""
    source = _real_lines()
    rows = [
        f"| {line.split(':', 1)[0]} | 00:{i:02d}:00 | {line.split(':', 1)[1].strip()} |"
        for i, line in enumerate(source)
    ]
    table = (
        ["| Speaker | Time | Text |", "|---|:---:|---|", *rows] if suffix == ".md" else [r.strip("| ") for r in rows]
    )
    path = write(tmp_path / f"Interview 10{suffix}", "# Interview 10\n\n" * (suffix == ".md") + "\n".join(table) + "\n")
    read, _ = _reads_as_its_text(tmp_path, path, source)
    assert read.reports[0].set_aside.get("table header", 0) == (3 if suffix == ".md" else 0)
    assert read.turns["start_s"].iloc[1] == 60.0 and read.turns["line"].iloc[0] == (5 if suffix == ".md" else 1)


@requires_shared
@pytest.mark.parametrize("header", [["Time", "Speaker", "Text"], None])
def test_docx_transcript_in_a_table_reads_as_its_text(tmp_path, header):
    """Transcription services deliver Word tables (time | speaker | text): a real interview laid out that way gives
    the same speakers and words as its text, the header row set aside. Tables were skipped before: their words
    were neither read nor counted as lost."""
    source = _real_lines()
    document = docx.Document()
    document.add_paragraph("Interview 10")
    table = document.add_table(rows=0, cols=3)
    for row in [header] if header else []:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = value
    for i, line in enumerate(source):
        speaker, said = line.split(":", 1)
        for cell, value in zip(table.add_row().cells, [f"00:{i:02d}:00", speaker, said.strip()], strict=True):
            cell.text = value
    document.save(tmp_path / "Interview 10.docx")
    (tmp_path / "text").mkdir()
    write(tmp_path / "text" / "Interview 10.txt", "\n".join(source) + "\n")
    from_docx, from_text = ingest(tmp_path / "Interview 10.docx"), ingest(tmp_path / "text")
    report = from_docx.reports[0]
    assert not from_docx.failed and report.words_lost == 0
    assert report.set_aside.get("table header", 0) == (3 if header else 0)
    turns = from_docx.turns[from_docx.turns["speaker"] != "Unlabelled"]  # the title paragraph above the table
    assert turns["speaker"].tolist() == from_text.turns["speaker"].tolist()
    assert turns["text"].tolist() == from_text.turns["text"].tolist()
    assert turns["start_s"].iloc[1] == 60.0  # the time column is each turn's start


@requires_shared
def test_html_transcript_in_a_table_reads_as_its_text(tmp_path):
    """A web page or Word-saved HTML holding the transcript as a table (one row a line: speaker | text): a real
    interview laid out that way reads as its text, each row cited by its source line."""
    import html

    source = _real_lines()
    rows = [line.split(":", 1) for line in source]
    body = "\n".join(f"<tr><td>{html.escape(s)}</td><td>{html.escape(t.strip())}</td></tr>" for s, t in rows)
    page = write(tmp_path / "Interview 10.html", f"<html><body>\n<table>\n<tr><th>Speaker</th><th>Text</th></tr>\n"
                                                  f"{body}\n</table>\n</body></html>\n")  # fmt: skip
    from_html, from_text = _reads_as_its_text(tmp_path, page, source)
    assert from_html.reports[0].set_aside["table header"] == 2
    assert from_html.turns["line"].tolist() == [line + 3 for line in from_text.turns["line"]]  # 3 lines above


@requires_shared
@pytest.mark.parametrize("layout", ["paragraphs", "table"])
def test_html_written_on_one_line_reads_turn_by_turn(tmp_path, layout):
    """Google Docs saves its HTML export on one source line: a real interview saved that way (as paragraphs with
    styled spans, or as a table) gives the same speakers and words as its text, each block numbered as a line.
    Before, every block of the line was one text and the file failed ("no speaker labels found")."""
    import html

    source = _real_lines()
    pairs = [[html.escape(part.strip()) for part in line.split(":", 1)] for line in source]
    if layout == "paragraphs":
        body = "".join(f'<p class="c3"><span class="c1">{s}: </span><span class="c0">{t}</span></p>' for s, t in pairs)
    else:
        body = "<table>" + "".join(f"<tr><td>{s}</td><td>{t}</td></tr>" for s, t in pairs) + "</table>"
    page = write(tmp_path / "Interview 10.html", f'<html><head><style>.c1{{font-weight:700}}</style></head>'
                                                  f'<body class="doc-content">{body}</body></html>')  # fmt: skip
    from_html, from_text = _reads_as_its_text(tmp_path, page, source)
    assert from_html.turns["role"].tolist() == from_text.turns["role"].tolist()
    assert from_html.turns["line"].tolist() == from_text.turns["line"].tolist()  # block n is the text's line n


@requires_shared
@pytest.mark.parametrize(
    "head",
    [
        "Interview with a data scientist\nDate: 12 March 2021\nRecorded on a video call\n\n",
        # fields that name the speakers: "Interviewee: P10" was a participant's turn saying "P10 Date: … Location: …"
        "Interview transcript\nInterviewer: Maria Lopez\nInterviewee: P10\nDate: 12 March 2021\n"
        "Location: Video call\n\n",
    ],
)
def test_a_head_block_above_the_dialogue_is_set_aside_not_read_as_speech(tmp_path, head):
    """A real interview under a head block (a title, as the Word-saved oral history in ``formats`` has one:
    "Interview with Ken Thompson, 9-6-89"; a date field) reads as the interview alone, the block set aside with its
    reason and counted. Before, the block was a participant's turn, and a unit in the themes. A long line there may
    be speech that lost its label, and stays."""
    source = _real_lines()
    (tmp_path / "plain").mkdir()
    write(tmp_path / "plain" / "Interview 10.txt", "\n".join(source) + "\n")
    titled = write(tmp_path / "Interview 10.txt", head + "\n".join(source) + "\n")
    plain, read = ingest(tmp_path / "plain"), ingest(titled)
    assert read.turns["speaker"].tolist() == plain.turns["speaker"].tolist()
    assert read.turns["text"].tolist() == plain.turns["text"].tolist()
    report = read.reports[0]
    assert report.set_aside_lines["heading above the dialogue"] == 1  # where the note points the user
    assert report.set_aside["heading above the dialogue"] == report.words_in_file - plain.reports[0].words_in_file
    assert report.words_lost == 0
    said = "so yes I was saying that the data we had at the time was never clean enough for any of this"
    (tmp_path / "speech").mkdir()
    kept = ingest(write(tmp_path / "speech" / "Interview 10.txt", said + "\n" + "\n".join(source) + "\n"))
    assert kept.turns["text"].iloc[0] == said


def test_text_after_an_html_table_or_comment_is_read(tmp_path):
    """The table's rows become paragraphs; what follows ``</table>`` belongs to the page, and so does the text
    after an HTML comment (both were dropped, neither counted)."""
    rows = "".join(
        f"<tr><td>{s}</td><td>{t}</td></tr>"
        for s, t in [("Ann", "Why that one?"), ("Bo", "The cost of it."), ("Ann", "And then?")]
    )
    page = write(tmp_path / "t.html", f"<html><body><table>{rows}</table>Bo: Risk, <!-- check -->mostly.</body></html>")
    result = ingest(page)
    assert "Risk, mostly." in " ".join(result.turns["text"]) and result.reports[0].words_lost == 0


def _rtf_of(lines: list[str]) -> str:
    """RTF as a word processor saves it: one paragraph per line, characters beyond ASCII as \\uN escapes."""

    def escaped(line: str) -> str:
        line = line.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in line)

    return (
        "{\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\n"
        + "".join(f"\\pard {escaped(line)}\\par\n" for line in lines)
        + "}\n"
    )


def _odt_table_of(lines: list[str], path) -> None:
    """An OpenDocument text holding the transcript as a table: speaker | text, under a header row."""
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    document, table = OpenDocumentText(), Table()
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for cells in [["Speaker", "Text"], *(line.split(":", 1) for line in lines)]:
        row = TableRow()
        for value in cells:
            cell = TableCell()
            cell.addElement(P(text=value.strip()))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))


@requires_shared
@pytest.mark.parametrize("kind", ["rtf", "odt table"])
def test_rtf_and_odt_tables_read_as_their_text(tmp_path, kind):
    """A real interview saved as RTF, or laid out as a table in an OpenDocument text, gives the same speakers and
    words as the text it was made from (ODT tables were read a cell to a paragraph, so no label was found)."""
    source = _real_lines()
    if kind == "rtf":
        document = write(tmp_path / "Interview 10.rtf", _rtf_of(source))
    else:
        document = tmp_path / "Interview 10.odt"
        _odt_table_of(source, document)
    (tmp_path / "text").mkdir()
    write(tmp_path / "text" / "Interview 10.txt", "\n".join(source) + "\n")
    read, from_text = ingest(document), ingest(tmp_path / "text")
    assert not read.failed and read.reports[0].words_lost == 0
    assert read.turns["speaker"].tolist() == from_text.turns["speaker"].tolist()
    assert read.turns["text"].tolist() == from_text.turns["text"].tolist()


def test_pdf_page_numbers_are_never_speech(tmp_path):
    """On a two-page export no line repeats often enough to be a running footer, but "Page 1 of 2" and a bare "2"
    are still page numbers, not the end of someone's answer."""
    from conftest import pdf_of

    pages = [["Interviewer: Why that vendor?", "Respondent: The trial, and the price.", "Page 1 of 2"],
             ["Interviewer: And then?", "Respondent: We signed in March.", "2"]]  # fmt: skip
    (tmp_path / "t.pdf").write_bytes(pdf_of(pages))
    result = ingest(tmp_path / "t.pdf")
    assert result.turns["text"].tolist() == ["Why that vendor?", "The trial, and the price.", "And then?",
                                              "We signed in March."]  # fmt: skip
    assert result.reports[0].set_aside["page header or footer"] == 2  # "Page", "of"


def test_a_cover_sheet_table_is_not_read_as_speakers(tmp_path):
    """A table of facts above the transcript ("Participant | P3", "Date | 12 March") names no speakers: no one
    speaks twice in it. Its cells read as paragraphs, and the transcript's own labels decide the speakers."""
    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    for key, value in [("Participant", "P3"), ("Interviewer", "Jane Smith"), ("Date", "12 March 2024")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = key, value
    for line in ["Interviewer: Why that vendor?", "P3: The trial, and the price.", "Interviewer: And then?",
                 "P3: We signed in March."]:  # fmt: skip
        document.add_paragraph(line)
    document.save(tmp_path / "p3.docx")
    result = ingest(tmp_path / "p3.docx")
    assert not result.failed and result.reports[0].words_lost == 0
    speakers = result.speakers.set_index("speaker")["role"].to_dict()
    assert {"Interviewer": "interviewer", "P3": "participant"}.items() <= speakers.items()
    assert not {"Participant", "Date"} & set(speakers)


def test_a_transcribers_notes_are_set_aside_not_quoted(tmp_path):
    """An AMI export (the formats corpus) writes "{disfmarker}" and "{vocalsound}" inside speech: they had become
    keyphrases and a parent label ("remote control / disfmarker"). A transcriber's note is no one's words: an event
    goes, missed words leave "…", and every word of the file is still accounted for; a speaker's own brackets stay.
    The formats corpus's podcast opened on "(Intro music: Electro swing)", read as a speaker's unit."""
    path = write(
        tmp_path / "notes.txt",
        "Interviewer: What did the trial show? (laughs)\n"
        "Participant: {vocalsound} The agent was [inaudible 00:05:14] too heavy {disfmarker} for our {gap} cluster.\n"
        "Interviewer: And the price?\n"
        "Participant: We paid (in euros) about [00:19:00] ten thousand, [redacted] approved it. (Laughter)\n"
        "Interviewer: (Intro music: Electro swing) Who else?\n"
        "Participant: The label, (laughs nervously) as (the music industry) does. [soft music playing]\n",
    )
    result = ingest(path)
    report = result.reports[0]
    assert result.turns["text"].tolist() == [
        "What did the trial show?",
        "The agent was … too heavy for our … cluster.",
        "And the price?",
        "We paid (in euros) about ten thousand, [redacted] approved it.",
        "Who else?",  # an event described after a colon, or with a word or two beside it, is a note too
        "The label, as (the music industry) does.",
    ]
    assert report.set_aside["transcriber's note such as (laughs) or [inaudible]"] == 6 + 9  # words: laughs, ...
    assert report.words_lost == 0 and report.words_accounted == report.words_in_file
