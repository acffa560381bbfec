"""Human-readable outputs: the Markdown theme report and the Excel workbook."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from .segment import participant_key
from .themes import UNASSIGNED
from .zones import NONE, Taxonomy

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_PROPERTY_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def by_zone(themes: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Themes in taxonomy order (``none`` last), most prevalent first inside each zone."""
    order = {zone: i for i, zone in enumerate([*taxonomy.ids, NONE])}
    return themes.sort_values(
        ["zone", "participants", "theme"],
        ascending=[True, False, True],
        key=lambda c: c.map(order) if c.name == "zone" else c,
    ).reset_index(drop=True)


def theme_markdown(
    themes: pd.DataFrame, quotes: pd.DataFrame, units: pd.DataFrame, taxonomy: Taxonomy, title: str
) -> str:
    """Themes filed by zone, by prevalence inside each, with keyphrases and cited quotes."""
    participant = participant_key(units)
    participants = participant.nunique()
    unassigned = int((units["theme"] == UNASSIGNED).sum())
    lines = [
        f"# {title}",
        "",
        f"{units['interview_id'].nunique()} interviews, {participants} participants, {len(units)} analysis units, "
        f"{len(themes)} themes in {themes['parent'].nunique() if len(themes) else 0} groups; "
        f"{unassigned} units ({unassigned / max(len(units), 1):.0%}) unassigned. Zones: {taxonomy.name}.",
        "",
        "Prevalence is the number of participants who voiced a theme at least once. "
        "Quotes are verbatim, cited as interview @ timestamp (file:line).",
        "",
    ]
    ordered = by_zone(themes, taxonomy)
    for zone in (*taxonomy.zones, taxonomy.none):
        group = ordered[ordered["zone"] == zone.id]
        voiced = participant[units["zone"] == zone.id].nunique()
        lines += [
            f"## {zone.name}",
            "",
            f"_{zone.description}_",
            "",
            f"{len(group)} themes; units in this zone come from {voiced} of {participants} participants.",
            "",
        ]
        if group.empty:
            lines += ["No theme landed in this zone: a gap to probe in the next interviews.", ""]
        for theme in group.itertuples():
            mixed = (
                f" Units split across zones (runner-up: {taxonomy.name_of(theme.zone_runner_up)})."
                if theme.zone_split
                else ""
            )
            lines += [
                f"### Theme {theme.theme}: {theme.label}",
                "",
                f"Voiced by **{theme.participants} of {participants} participants** ({theme.participant_share:.0%}) "
                f"in {theme.interviews} interviews; {theme.units} units; group: {theme.parent_label}. "
                f"Zone confidence {theme.zone_confidence:.0%}.{mixed}",
                "",
                f"Keyphrases: {theme.keyphrases}",
                "",
            ]
            for quote in quotes[quotes["theme"] == theme.theme].itertuples():
                when = f" @ {quote.timestamp}" if quote.timestamp else ""
                lines += [f"> {quote.text}", f"> — {quote.speaker}, {quote.interview_id}{when} (`{quote.source}`)", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame], wrap: dict[str, list[str]]) -> None:
    """One sheet per table: frozen header, filters, wrapped long-text columns; byte-identical across runs."""
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        wrapped = writer.book.add_format({"text_wrap": True, "valign": "top"})
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes(1, 0)
            if len(table.columns):
                sheet.autofilter(0, 0, len(table), len(table.columns) - 1)
            for index, column in enumerate(table.columns):
                if column in wrap.get(name, []):
                    sheet.set_column(index, index, 80, wrapped)
                else:
                    sample = table[column].head(500)  # widths need a sample, not every row
                    longest = max((len(str(v)) for v in sample), default=0)
                    sheet.set_column(index, index, min(max(len(str(column)), longest) + 2, 40))
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
