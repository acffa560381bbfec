"""Rendering for people: citations, the Markdown theme report and persona drafts, and the Excel workbook.

Stages return tables; everything here turns tables into text and never computes an analysis result.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .escape import markdown_text as md
from .escape import starts_like_formula
from .ingest.turns import format_timestamp
from .personas import MIN_TO_GROUP, SILHOUETTE_TIE, listed, segment_columns
from .tables import UNASSIGNED, participant_key
from .zones import NONE, Taxonomy, held_elsewhere

if TYPE_CHECKING:
    from .result import Run

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_PROPERTY_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def cite(row, text: Callable[[object], str] = str) -> str:
    """``"text" — Speaker, interview @ 0:12:03 (file:line)``: what a reader needs to check a claim.

    ``row`` is a unit or quote row (``text, speaker, interview_id, start_s, source_file, line``); ``text`` renders
    what came from the transcript (``md`` for Markdown, where it must stay inert).
    """
    return f"\u201c{text(row.text)}\u201d \u2014 {source_of(row, text)}"


def source_of(row, text: Callable[[object], str] = str) -> str:
    """``Speaker, interview @ 0:12:03 (file:line)``: where a quote was said."""
    when = format_timestamp(row.start_s)
    when = f" @ {when}" if when else ""
    speaker, interview, source = (text(v) for v in (row.speaker, row.interview_id, row.source_file))
    return f"{speaker}, {interview}{when} ({source}:{row.line})"


TENTATIVE_BELOW = 0.5  # most seeds draw this part of the talk another way: Hennig's "dissolved"


def stability(value: float) -> str:
    """A theme's stability as a reader needs it (NaN: a study too large for the extra runs); a theme most seeds do
    not reproduce says so, since a reader otherwise takes every theme as equally solid."""
    if pd.isna(value):
        return "stability not measured (study above stability_max_units)"
    reading = "; tentative: most seeds split this talk another way" if value < TENTATIVE_BELOW else ""
    return f"stability {value:.0%} (share of seeds that reproduce it{reading})"


def themes_with_quotes(themes: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """The theme table as a spreadsheet reader wants it: each theme's cited quotes in a ``quotes`` column."""
    cited = {theme: "\n".join(cite(row) for row in group.itertuples()) for theme, group in quotes.groupby("theme")}
    position = list(themes.columns).index("participant_share") + 1
    table = themes.drop(columns=["quotes"], errors="ignore")
    table.insert(position, "quotes", table["theme"].map(cited).fillna("").to_numpy())
    return table


def by_zone(themes: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Themes in taxonomy order (``none`` last), most prevalent first inside each zone."""
    order = {zone: i for i, zone in enumerate([*taxonomy.ids, NONE])}
    return themes.sort_values(
        ["zone", "participants", "theme"],
        ascending=[True, False, True],
        key=lambda c: c.map(order) if c.name == "zone" else c,
    ).reset_index(drop=True)


def empty_zone_sentence(
    units: pd.DataFrame, themes: pd.DataFrame, zone_id: str, text: Callable[[object], str] = str
) -> str:
    """What a zone without a theme of its own means: nobody's talk was filed there (a gap to probe), or it was, but
    spread over themes filed elsewhere, which it names so a reader can find it (how much, the zone's header says)."""
    held = held_elsewhere(units, themes, zone_id) if {"zone", "theme"} <= set(units.columns) and len(themes) else []
    if not held:
        return "No theme landed in this zone: a gap to probe in the next interviews."
    label = dict(zip(themes["theme"], themes["label"], strict=True))
    where = [f"Theme {theme} “{text(label.get(theme, ''))}” ({_units(n)})" for theme, n in held]
    filed = _units(int((units["zone"] == zone_id).sum()))
    return (
        f"No theme landed in this zone; its talk ({filed}) sits in themes filed under other zones, most in "
        f"{listed(where, 'and')}."
    )


def _units(n: int) -> str:
    return f"{n} unit{'' if n == 1 else 's'}"


def theme_markdown(
    themes: pd.DataFrame, quotes: pd.DataFrame, units: pd.DataFrame, taxonomy: Taxonomy, title: str
) -> str:
    """Themes filed by zone, by prevalence inside each, with keyphrases and cited quotes."""
    participant = participant_key(units)
    participants = participant.nunique()
    unassigned = int((units["theme"] == UNASSIGNED).sum())
    lines = [
        f"# {md(title)}",
        "",
        f"{units['interview_id'].nunique()} interviews, {participants} participants, {len(units)} analysis units, "
        f"{len(themes)} themes in {themes['parent'].nunique() if len(themes) else 0} groups; "
        f"{unassigned} units ({unassigned / max(len(units), 1):.0%}) unassigned. Zones: {md(taxonomy.name)}.",
        "",
        "Prevalence is the number of participants who voiced a theme at least once. "
        "Quotes are verbatim, cited as interview @ timestamp (file:line, relative to the transcripts folder).",
        "",
    ]
    ordered = by_zone(themes, taxonomy)
    for zone in (*taxonomy.zones, taxonomy.none):
        group = ordered[ordered["zone"] == zone.id]
        voiced = participant[units["zone"] == zone.id].nunique()
        lines += [
            f"## {md(zone.name)}",
            "",
            f"_{md(zone.description)}_",
            "",
            f"{len(group)} themes; units in this zone come from {voiced} of {participants} participants.",
            "",
        ]
        if group.empty:
            lines += [empty_zone_sentence(units, themes, zone.id, md), ""]
        for theme in group.itertuples():
            mixed = (
                f" Units split across zones (runner-up: {md(taxonomy.name_of(theme.zone_runner_up))})."
                if theme.zone_split
                else ""
            )
            lines += [
                f"### Theme {theme.theme}: {md(theme.label)}",
                "",
                f"Voiced by **{theme.participants} of {participants} participants** ({theme.participant_share:.0%}) "
                f"in {theme.interviews} interviews; {theme.units} units; group: {md(theme.parent_label)}. "
                f"Zone confidence {theme.zone_confidence:.0%}; {stability(theme.stability)}.{mixed}",
                "",
                f"Keyphrases: {md(theme.keyphrases)}",
                "",
            ]
            for quote in quotes[quotes["theme"] == theme.theme].itertuples():
                lines += [f"> {cite(quote, md)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def persona_markdown(run: Run, persona: pd.Series) -> str:
    """A draft a persona writer edits: every claim followed by the quotes it rests on."""
    pid, size = int(persona["persona"]), int(persona["size"])
    label = run.themes.set_index("theme")["label"]
    units = run.units.set_index("unit_id")
    evidence = run.persona_evidence[run.persona_evidence["persona"] == pid]
    lines = [
        f"# Persona {pid}: \u201c{md(persona['name'])}\u201d (placeholder name)",
        "",
        f"**Archetype (draft):** {md(persona['archetype'])}",
        "",
        f"Built from {size} participants; cohesion {persona['cohesion']:.2f} (mean silhouette of their theme "
        f"profiles, -1 to 1); stability {measured(persona['stability'])} (found again in draws of 80 % of the "
        "participants: above 0.75 it holds). Every line below is followed by the verbatim quotes it rests on.",
        "",
    ]
    for zone in run.taxonomy.zones:
        lines += [f"## {md(zone.name)}", ""]
        cited = evidence[evidence["zone"] == zone.id]
        if cited.empty:
            lines += [f"No evidence in these interviews: a research gap to fill ({md(zone.description.lower())})", ""]
            continue
        for (theme, participants), quotes in cited.groupby(["theme", "participants"], sort=False):
            lines += [f"- **{md(label[theme])}** (theme {theme}): {participants} of {size} participants"]
            for unit in units.loc[quotes["unit_id"]].reset_index().itertuples():
                lines += [f"  - {cite(unit, md)}"]
        lines += [""]
    lines += ["## Participants", ""]
    members = run.persona_members
    member_rows = members[members["persona"] == pid]
    interviews = run.interviews
    described = interviews.set_index("interview_id") if len(interviews) else pd.DataFrame()
    extra = [c for c in described.columns if c not in {"source_file", "format"}] if len(described) else []
    for row in member_rows.itertuples():
        facts = described.loc[row.interview_id, extra] if row.interview_id in described.index else pd.Series()
        detail = ", ".join(f"{md(c)}: {md(v)}" for c, v in facts.items() if isinstance(v, str) and v)
        lines += [_member(row) + (f": {detail}" if detail else "")]
    for column in segment_columns(interviews, members):
        values = interviews.set_index("interview_id").loc[member_rows["interview_id"], column].value_counts()
        lines += [f"- {md(column)}: " + ", ".join(f"{md(v)} {n}" for v, n in values.items())]
    return "\n".join(lines).rstrip() + "\n"


def measured(value: float) -> str:
    """A 0–1 figure to two places, or "n/a" where it was not measured (NaN: persona_resamples = 0)."""
    return "n/a" if pd.isna(value) else f"{value:.2f}"


def _member(row) -> str:
    """A persona member (or a participant fitting none) as a list item."""
    return f"- {md(row.interview_id)} ({md(row.speaker)}), fit {row.fit:.2f}"


def overview_markdown(run: Run) -> str:
    """The persona overview: one line per persona, who fits none, and where personas cut across segments."""
    table, members, by_segment = run.personas, run.persona_members, run.persona_by_segment
    shape = run.details.get("persona_structure", {})
    if shape.get("k"):
        grouping = (
            f"{len(members)} participants grouped by their theme profiles (goals, motivations and concerns weigh "
            f"most; themes everyone voices count least) into {counted(len(table), 'persona')}: "
            f"{cut_sentence(shape, len(table))} ("
            + ", ".join(f"k={k}: {v:.2f}" for k, v in run.details.get("persona_k_scores", {}).items())
            + "); participants alone in their group or closer to another group are listed as fitting none."
        )
    else:  # ``personas.group_participants`` grouped no one
        grouping = f"One draft describes all {len(members)} participants together."
    lines = [
        "# Personas (drafts)",
        "",
        "**{}** {}".format(*structure_sentence(shape, len(members))),
        "",
        grouping,
        "",
        "| persona | name | participants | cohesion | stability | archetype |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines += [
            f"| [{row.persona}](personas/persona-{row.persona}.md) | {md(row.name)} | {row.size} | "
            f"{row.cohesion:.2f} | {measured(row.stability)} | {md(row.archetype)} |"
        ]
    unfit = members[members["persona"] < 0]
    lines += ["", "## Participants who fit no persona", ""]
    lines += [_member(row) for row in unfit.itertuples()] or ["None."]
    lines += ["", "## Where personas cut across segments", ""]
    if by_segment.empty:
        lines += ["No metadata.csv with segment columns: add one beside the transcripts to compare."]
    for column, group in by_segment.groupby("column", sort=False):
        values = sorted(group["value"].astype(str).unique())
        for persona, rows in group.groupby("persona"):
            if persona < 0:
                continue
            spread = rows["value"].astype(str).nunique()
            what = "all" if spread == len(values) and spread > 1 else f"{spread} of {len(values)}"
            detail = ", ".join(f"{md(r.value)} {r.participants}" for r in rows.itertuples())
            lines += [f"- Persona {persona} spans {what} {md(column)} values ({detail})."]
    return "\n".join(lines).rstrip() + "\n"


MAX_SHEET_INTERVIEWS = 250  # wider than this, the theme × interview grid is read from its CSV, not a sheet
_WRAPPED = {
    "Themes": ["keyphrases", "quotes"],
    "Quotes": ["text"],
    "Units": ["text", "question"],
    "Personas": ["archetype", "participants", "defining_themes"],
}


def counted(n: int, noun: str) -> str:
    """ "1 persona", "3 personas"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def cut_sentence(shape: dict, shown: int) -> str:
    """How k was chosen (where not the k of the highest silhouette, why not), and why fewer personas may be shown
    than groups were cut."""
    k = shape.get("k", shown)
    how = "as asked (--personas)" if shape.get("asked") else "by silhouette"
    highest = shape.get("highest_k", k)
    if not shape.get("asked") and highest != k:  # ``personas.best_k``
        how += f", the fewest groups within {SILHOUETTE_TIE} of the highest silhouette (k = {highest})"
    if k == shown:
        return f"k = {k} chosen {how}"
    return f"cut into {k} groups {how}, of which {k - shown} kept fewer than two participants who fit them"


def structure_sentence(shape: dict, participants: int) -> tuple[str, str]:
    """What the grouping found, said plainly (a headline and the rest): a persona writer must know when there is
    nothing to find."""
    strength = shape.get("strength", "none")
    if not shape.get("k"):
        return "No persona structure sought", (
            f"in {participants} participants: fewer than {MIN_TO_GROUP} are too few to group; read the themes by zone."
        )
    figure = f"average silhouette {shape.get('silhouette', 0.0):.2f} at k = {shape.get('k', 0)}"
    advice = "the groups below are no more than a starting point; read the themes by zone instead."
    if shape.get("beyond_chance") is False:
        return "No distinct persona structure", (
            f"in these {participants} participants: the grouping ({figure}) is no better than what grouping finds "
            f"in {shape['chance_studies']} studies with each theme shuffled across participants (their mean "
            f"{shape['chance_silhouette']:.2f}; p = {shape['p_value']:.2f}): {advice}"
        )
    if strength == "none":
        return "No distinct persona structure", f"in these {participants} participants ({figure}, below 0.25): {advice}"
    tail = " One group holds most participants: treat it as the common ground, not a persona."
    tail = tail if shape.get("dominant") else ""
    if shape.get("tentative"):
        tail += f" With {participants} participants any grouping is tentative: check it against the quotes."
    tested = (
        f", above {shape['chance_studies']} studies with each theme shuffled across participants (p = "
        f"{shape['p_value']:.2f})"
        if shape.get("beyond_chance")
        else ""
    )
    return f"Persona structure: {strength}", f"({figure}{tested}; Kaufman & Rousseeuw's reading).{tail}"


def workbook_sheets(run: Run) -> dict[str, pd.DataFrame]:
    """The workbook a researcher opens: themes by zone first, then the tables behind them."""
    by_interview = run.theme_by_interview
    return {
        "Themes": by_zone(themes_with_quotes(run.themes, run.quotes), run.taxonomy),
        "Zones": run.zones,
        "Quotes": run.quotes,
        "Units": run.units.drop(columns=["lemmas", "noun_chunks", "terms", "char_start", "char_end"]),
        **({"Theme x Interview": by_interview} if by_interview.shape[1] <= MAX_SHEET_INTERVIEWS + 1 else {}),
        "Personas": run.personas,
        "Persona x Segment": run.persona_by_segment,
        "Theme x Segment": run.theme_by_segment,
    }


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame], wrap: dict[str, list[str]] = _WRAPPED) -> None:
    """One sheet per table: frozen header, filters, wrapped long-text columns; byte-identical across runs.

    Transcript text is untrusted: every text cell is written as a string, never a formula or link, and one that
    starts like a formula (``=``, ``+``, ``-``, ``@``) also carries Excel's quote prefix, so editing it keeps it text.
    Rows are streamed cell by cell (xlsxwriter's constant-memory mode): pandas' ``to_excel`` took most of the
    output time of a 100k-unit study.
    """
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
               "constant_memory": True}  # fmt: skip
    book = xlsxwriter.Workbook(str(path), options)
    header = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
    wrapped = book.add_format({"text_wrap": True, "valign": "top"})
    quoted = {False: book.add_format({"quote_prefix": True}),
              True: book.add_format({"quote_prefix": True, "text_wrap": True, "valign": "top"})}  # fmt: skip
    for name, table in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        if len(table.columns):
            sheet.autofilter(0, 0, len(table), len(table.columns) - 1)
        is_wrapped = [column in wrap.get(name, []) for column in table.columns]
        for index, column in enumerate(table.columns):
            if is_wrapped[index]:
                sheet.set_column(index, index, 80, wrapped)
            else:
                sample = table[column].head(500)  # widths need a sample, not every row
                longest = max((len(str(v)) for v in sample), default=0)
                sheet.set_column(index, index, min(max(len(str(column)), longest) + 2, 40))
        sheet.write_row(0, 0, [str(column) for column in table.columns], header)
        values = [table[column].to_numpy(dtype=object) for column in table.columns]
        for row, cells in enumerate(zip(*values, strict=True), start=1):
            for index, value in enumerate(cells):
                if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                    continue
                if starts_like_formula(value):
                    sheet.write_string(row, index, value, quoted[is_wrapped[index]])
                else:
                    sheet.write(row, index, value)
    book.close()
    _normalise_zip(path)


def _normalise_zip(path: Path) -> None:
    """Rewrite a zip-based file with fixed timestamps (entries and document properties), so identical content
    gives identical bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    entries = [
        (info, _FIXED_PROPERTY_TIME.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data))
        if info.filename == "docProps/core.xml"
        else (info, data)
        for info, data in entries
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)
