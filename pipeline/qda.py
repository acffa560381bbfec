"""REFI-QDA export (the exchange standard NVivo, ATLAS.ti, MAXQDA and QualCoder import): ``project.qdpx`` and
the codebook alone, ``themes.qdc``.

The project holds:
* the codebook: one code per buyer insight zone, each theme a code inside its zone;
* one plain-text source per interview: every turn, interviewer questions included, as ``Speaker: text`` paragraphs;
* a selection per analysis unit at its exact character positions in that source, coded with its theme and zone;
* one case per participant, with the ``metadata.csv`` columns as text variables.

GUIDs are derived from names (UUID 5), so the same run exports the same project byte for byte, and a rerun keeps
the GUID of every code, source and case it shares with the last one. Rendering only: nothing here analyses.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from lxml import etree

from .tables import UNASSIGNED

if TYPE_CHECKING:
    from .result import Run

NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"
_ROOT = uuid.UUID("6b1d3f0e-2c55-4f7e-9a51-4b1f0c8e7d21")  # insightmap's namespace for derived GUIDs
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SKIPPED_METADATA = {"interview_id", "source_file", "format", "front_matter", "language", "language_confidence"}


def guid(*parts: object) -> str:
    """A stable GUID for a named thing (``guid("theme", 3)``), in the form REFI-QDA expects."""
    return str(uuid.uuid5(_ROOT, "\x1f".join(map(str, parts)))).upper()


def xml_text(value: object) -> str:
    """Text XML 1.0 can hold: each character it cannot (a stray control character) becomes a space, so character
    positions in a source stay those of the transcript."""
    return _XML_INVALID.sub(" ", str(value))


def _element(parent, tag: str, **attributes: object):
    """A child in its parent's namespace (project or codebook), every attribute XML-safe (numbers are)."""
    namespace = parent.tag[: parent.tag.index("}") + 1]  # "{urn:...}": a project holds a few elements per unit
    safe = {k: str(v) if isinstance(v, int) else xml_text(v) for k, v in attributes.items()}
    return etree.SubElement(parent, f"{namespace}{tag}", safe)


def source_texts(turns: pd.DataFrame) -> tuple[dict[str, str], dict[tuple[str, int], int]]:
    """Per interview its source text (``Speaker: text`` paragraphs), and where each turn's text starts in it."""
    parts: dict[str, list[str]] = {}
    lengths: dict[str, int] = {}
    starts = {}
    rows = zip(*(turns[c].tolist() for c in ("interview_id", "turn", "speaker", "text")), strict=True)
    for interview_id, turn, speaker, text in rows:  # plain values: no pandas per row
        label = f"{speaker}: "
        length = lengths.get(interview_id, 0)
        starts[(interview_id, turn)] = length + len(label)
        paragraph = xml_text(f"{label}{text}\n\n")
        parts.setdefault(interview_id, []).append(paragraph)
        lengths[interview_id] = length + len(paragraph)
    return {interview_id: "".join(texts) for interview_id, texts in parts.items()}, starts


def _codes(codes, run: Run) -> dict[str, etree._Element]:
    """The codebook under ``codes``: a code per zone (the ``none`` zone last), each theme a code inside its zone."""
    zone_codes = {}
    for zone in (*run.taxonomy.zones, run.taxonomy.none):
        code = _element(codes, "Code", guid=guid("zone", zone.id), name=zone.name, isCodable="true")
        _element(code, "Description").text = xml_text(zone.description)
        zone_codes[zone.id] = code
    for theme in run.themes.itertuples():
        code = _element(
            zone_codes[theme.zone], "Code", guid=guid("theme", theme.theme), name=theme.label, isCodable="true"
        )
        _element(code, "Description").text = xml_text(
            f"Theme {theme.theme}: {theme.participants} participants, {theme.units} units. "
            f"Keyphrases: {theme.keyphrases}"
        )
    return zone_codes


def codebook_xml(run: Run) -> bytes:
    """``themes.qdc``, the REFI-QDA codebook alone (``urn:QDA-XML:codebook:1.0``): the same codes as the project,
    for a researcher who codes the transcripts by hand in their own tool."""
    root = etree.Element(f"{{{CODEBOOK_NAMESPACE}}}CodeBook", nsmap={None: CODEBOOK_NAMESPACE})
    _codes(_element(root, "Codes"), run)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def project_xml(run: Run, name: str) -> tuple[bytes, dict[str, str]]:
    """The ``project.qde`` document and the source files it names (``sources/<guid>.txt`` → text)."""
    root = etree.Element(f"{{{NAMESPACE}}}Project", nsmap={None: NAMESPACE}, name=name, origin="insightmap")
    user = guid("user", "insightmap")
    _element(_element(root, "Users"), "User", guid=user, name="insightmap")
    codes = _element(_element(root, "CodeBook"), "Codes")
    zone_codes = _codes(codes, run)
    interviews = run.interviews.set_index("interview_id") if len(run.interviews) else pd.DataFrame()
    facts = [c for c in interviews.columns if c not in _SKIPPED_METADATA]
    if facts:
        variables = _element(root, "Variables")
        for column in facts:
            _element(variables, "Variable", guid=guid("variable", column), name=column, typeOfVariable="Text")
    participants = run.units.drop_duplicates(["interview_id", "speaker"])[["interview_id", "speaker"]]
    if len(participants):
        cases = _element(root, "Cases")
        for row in participants.itertuples(index=False):
            case = _element(cases, "Case", guid=guid("case", row.interview_id, row.speaker), name=row.speaker)
            for column in facts:
                value = interviews.at[row.interview_id, column] if row.interview_id in interviews.index else ""
                if isinstance(value, str) and value:
                    held = _element(case, "VariableValue")
                    _element(held, "VariableRef", targetGUID=guid("variable", column))
                    _element(held, "TextValue").text = xml_text(value)
            _element(case, "SourceRef", targetGUID=guid("source", row.interview_id))
    texts, starts = source_texts(run.turns)
    files = {}
    sources = _element(root, "Sources")
    columns = ["interview_id", "unit_id", "turn", "char_start", "char_end", "zone", "theme"]
    units_of: dict[str, list[tuple]] = {}
    for unit in zip(*(run.units[c].tolist() for c in columns), strict=True):
        units_of.setdefault(unit[0], []).append(unit)
    for interview_id, text in texts.items():
        source_guid = guid("source", interview_id)
        files[f"sources/{source_guid}.txt"] = text
        source = _element(
            sources, "TextSource", guid=source_guid, name=interview_id, plainTextPath=f"internal://{source_guid}.txt"
        )
        for _, unit_id, turn, char_start, char_end, zone, theme in units_of.get(interview_id, []):
            offset = starts[(interview_id, turn)]
            selection = _element(
                source, "PlainTextSelection", guid=guid("unit", unit_id), name=unit_id,
                startPosition=offset + char_start, endPosition=offset + char_end, creatingUser=user,
            )  # fmt: skip
            coded = [("zone", zone)] if zone in zone_codes else []
            coded += [("theme", theme)] if theme != UNASSIGNED else []
            for kind, value in coded:
                coding = _element(selection, "Coding", guid=guid("coding", unit_id, kind), creatingUser=user)
                _element(coding, "CodeRef", targetGUID=guid(kind, value))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True), files


def write_qdpx(run: Run, path: Path, name: str) -> None:
    """``project.qdpx``: a ZIP of ``project.qde`` and ``sources/``, with fixed timestamps (same run, same bytes)."""
    document, files = project_xml(run, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in [("project.qde", document), *((p, t.encode("utf-8")) for p, t in sorted(files.items()))]:
            archive.writestr(zipfile.ZipInfo(member, date_time=_FIXED_TIME), data, zipfile.ZIP_DEFLATED)
