"""Human-readable outputs: the Markdown theme report and the Excel workbook."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from .themes import UNASSIGNED

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_PROPERTY_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def theme_markdown(themes: pd.DataFrame, quotes: pd.DataFrame, units: pd.DataFrame, title: str) -> str:
    """Themes by prevalence, grouped under parent themes, each with keyphrases and cited quotes."""
    participants = (units["interview_id"] + "\x1f" + units["speaker"]).nunique()
    unassigned = int((units["theme"] == UNASSIGNED).sum())
    lines = [
        f"# {title}",
        "",
        f"{units['interview_id'].nunique()} interviews, {participants} participants, {len(units)} analysis units, "
        f"{len(themes)} themes in {themes['parent'].nunique() if len(themes) else 0} groups; "
        f"{unassigned} units ({unassigned / max(len(units), 1):.0%}) unassigned.",
        "",
        "Prevalence is the number of participants who voiced a theme at least once. "
        "Quotes are verbatim, cited as interview @ timestamp (file:line).",
        "",
    ]
    for parent, group in themes.groupby("parent", sort=False):
        lines += [f"## Group {parent}: {group['parent_label'].iloc[0]}", ""]
        for theme in group.itertuples():
            lines += [
                f"### Theme {theme.theme}: {theme.label}",
                "",
                f"Voiced by **{theme.participants} of {participants} participants** ({theme.participant_share:.0%}) "
                f"in {theme.interviews} interviews; {theme.units} units.",
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
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            if len(table.columns):
                sheet.auto_filter.ref = sheet.dimensions
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for index, column in enumerate(table.columns, start=1):
                letter = get_column_letter(index)
                long_text = column in wrap.get(name, [])
                longest = int(table[column].map(lambda v: len(str(v))).max()) if len(table) else 0
                width = 80 if long_text else min(max(len(str(column)), longest) + 2, 40)
                sheet.column_dimensions[letter].width = width
                if long_text:
                    for cell in sheet[letter][1:]:
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
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
