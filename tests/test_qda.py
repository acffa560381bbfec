"""REFI-QDA export: what NVivo, ATLAS.ti, MAXQDA and QualCoder import must validate against the official schema,
and every coded selection must be the unit's own words at its place in the transcript."""

from __future__ import annotations

import zipfile

import pandas as pd
from conftest import SHARED, requires_shared
from lxml import etree

from pipeline.qda import NAMESPACE

NS = {"q": NAMESPACE}


def read_project(out):
    with zipfile.ZipFile(out / "project.qdpx") as archive:
        project = etree.fromstring(archive.read("project.qde"))
        sources = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name != "project.qde"}
    return project, sources


@requires_shared
def test_project_validates_against_the_official_schema(themes_out):
    schema = etree.XMLSchema(etree.parse(str(SHARED / "refi-qda" / "Project-mrt2019.xsd")))
    project, _ = read_project(themes_out)
    assert schema.validate(project), schema.error_log.last_error


def test_every_selection_is_its_units_text_coded_with_theme_and_zone(themes_out):
    project, sources = read_project(themes_out)
    units = pd.read_parquet(themes_out / "units.parquet").set_index("unit_id")
    themes = pd.read_csv(themes_out / "themes.csv")
    code_names = {c.get("guid"): c.get("name") for c in project.iterfind(".//q:Code", NS)}
    assert set(themes["label"]) <= set(code_names.values())
    seen = 0
    for source in project.iterfind(".//q:TextSource", NS):
        text = sources[source.get("plainTextPath").replace("internal://", "sources/")]
        assert "Interviewer" in text or "?" in text  # the interviewer's questions stay in the source
        for selection in source.iterfind("q:PlainTextSelection", NS):
            unit = units.loc[selection.get("name")]
            said = text[int(selection.get("startPosition")) : int(selection.get("endPosition"))]
            assert " ".join(said.split()) == unit["text"]
            coded = {code_names[ref.get("targetGUID")] for ref in selection.iterfind(".//q:CodeRef", NS)}
            if unit["theme"] >= 0:
                assert themes.set_index("theme").at[unit["theme"], "label"] in coded
            seen += 1
    assert seen == len(units)


def test_participants_are_cases_with_their_metadata(themes_out):
    project, _ = read_project(themes_out)
    cases = project.findall(".//q:Case", NS)
    units = pd.read_parquet(themes_out / "units.parquet")
    assert len(cases) == len(units.drop_duplicates(["interview_id", "speaker"]))
    variables = {v.get("name") for v in project.iterfind(".//q:Variable", NS)}
    assert {"segment", "industry"} <= variables
    assert all(case.find("q:SourceRef", NS) is not None for case in cases)


@requires_shared
def test_codebook_alone_holds_the_projects_codes(themes_out):
    """``themes.qdc`` is the project's CodeBook in the codebook namespace; re-homed into a project, it validates
    (the codebook schema itself is not in ../shared)."""
    from pipeline.qda import CODEBOOK_NAMESPACE

    codebook = etree.parse(str(themes_out / "themes.qdc")).getroot()
    assert etree.QName(codebook).namespace == CODEBOOK_NAMESPACE
    project, _ = read_project(themes_out)
    guids = [c.get("guid") for c in codebook.iter(f"{{{CODEBOOK_NAMESPACE}}}Code")]
    assert guids == [c.get("guid") for c in project.iterfind(".//q:Code", NS)]
    for element in codebook.iter():
        element.tag = element.tag.replace(CODEBOOK_NAMESPACE, NAMESPACE)
    wrapper = etree.Element(f"{{{NAMESPACE}}}Project", name="codebook")
    wrapper.append(codebook)
    schema = etree.XMLSchema(etree.parse(str(SHARED / "refi-qda" / "Project-mrt2019.xsd")))
    assert schema.validate(wrapper), schema.error_log.last_error
