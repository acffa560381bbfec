"""The offline HTML report: one self-contained file a researcher opens on a laptop, filters, and prints.

Everything is inline (styles, the report's script, Plotly's library and the figures' data), so the file opens with
no network and can be mailed or archived as it is; a Content-Security-Policy forbids the page any request.
Transcript text is untrusted: the template escapes every value (Jinja2 autoescaping), figure data is JSON with
``<``, ``>`` and ``&`` written as escapes, and text shown in Plotly hovers is HTML-escaped first (Plotly reads a
small subset of HTML in hover text).

Large studies stay quick: the map draws a seeded sample (``layout``), each theme shows a page of quotes with the
rest one click away, and "more voices" holds one quote per participant, at most ``report_voices`` per theme.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import pandas as pd
from plotly.colors import qualitative

from .describe import slight
from .ingest.language import other_languages
from .render import by_zone, empty_zone_sentence, measured, source_of, stability, structure_sentence
from .tables import KEY_SEPARATOR, UNASSIGNED, participant_key, participant_of

if TYPE_CHECKING:
    from .result import Run

ZONE_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
NONE_COLOUR = "#9d9d9d"
THEME_COLOURS = [*qualitative.Dark24, *qualitative.Light24]  # 48 distinct before a colour repeats on the map
QUOTES_FIRST, QUOTES_MORE = 5, 20  # quotes shown per theme at first, and per "show more" click
_CLOSING = re.compile(r"</(script|style)", re.IGNORECASE)
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def report_html(run: Run, title: str) -> str:
    """The whole report as one HTML document (byte-identical for identical runs: no clock, no random ids)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    environment = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = environment.get_template("report.html.j2")
    assets = {name: Markup(_inline(_asset(name))) for name in ("report.css", "report.js")}
    return page.render(
        **report_view(run, title),
        css=assets["report.css"],
        script=assets["report.js"],
        plotly=Markup(_inline(_plotly_js())),
    )


def report_view(run: Run, title: str) -> dict[str, Any]:
    """What the template shows, as plain values: every analysis result comes from the run's tables."""
    config = run.config
    # "More voices" prefer what says something, as the theme's own quotes do (``describe.slight``).
    short = slight(run.units, config.quote_min_words, config.quote_min_content) if len(run.units) else False
    units = run.units.assign(_slight=short)
    key = participant_key(units)
    people = sorted(key.unique())
    person = {k: i for i, k in enumerate(people)}
    colours = zone_colours(run)
    themes = by_zone(run.themes, run.taxonomy) if len(run.themes) else run.themes
    # Split once: a boolean mask per theme copied the whole unit table once per theme (2 s of a 10k study).
    members = dict(tuple(units.groupby("theme", sort=False)))
    ranked = dict(tuple(run.quotes.groupby("theme", sort=False)))

    def card(row) -> dict[str, Any]:
        return _theme(run, row, ranked.get(row.theme, run.quotes.iloc[:0]), members.get(row.theme, units.iloc[:0]),
                      key, person, len(people))  # fmt: skip

    zones = []
    for zone in (*run.taxonomy.zones, run.taxonomy.none):
        group = themes[themes["zone"] == zone.id] if len(themes) else themes
        zones.append(
            {
                "id": zone.id,
                "name": zone.name,
                "description": zone.description,
                "colour": colours[zone.id],
                "voiced": int(key[units["zone"] == zone.id].nunique()) if "zone" in units else 0,
                "themes": [card(row) for row in group.itertuples()],
                "gap": "" if len(group) else empty_zone_sentence(units, run.themes, zone.id),
            }
        )
    return {
        "title": title,
        "overview": _overview(run, len(people)),
        "zones": zones,
        "people": [{"id": i, "label": k.replace(KEY_SEPARATOR, " \u00b7 ")} for k, i in person.items()],
        "personas": _personas(run, person),
        "figures": {
            "prevalence": _json(prevalence_figure(themes, run, len(people))),
            "map": _json(map_figure(run)) if len(run.unit_map) else "",
            "persona_zones": _json(persona_zone_figure(run)) if len(run.personas) else "",
        },
        "pages": {"first": QUOTES_FIRST, "more": QUOTES_MORE},
    }


def zone_colours(run: Run) -> dict[str, str]:
    colours = {z.id: ZONE_COLOURS[i % len(ZONE_COLOURS)] for i, z in enumerate(run.taxonomy.zones)}
    return {**colours, run.taxonomy.none.id: NONE_COLOUR}


def _quote(row, person: dict[str, int]) -> dict[str, Any]:
    return {
        "text": row.text,
        "source": source_of(row),
        "participant": person.get(participant_of(row), -1),
        "unit_id": row.unit_id,
    }


def _theme(run: Run, row, ranked: pd.DataFrame, members: pd.DataFrame, key: pd.Series, person: dict[str, int],
           participants: int) -> dict[str, Any]:  # fmt: skip
    """One theme card: prevalence, stability, zone, keyphrases, its ranked quotes (``ranked``) and one quote per
    other voice among its units (``members``; full ones first, then the most confident)."""
    quoted = set(participant_key(ranked)) if len(ranked) else set()
    voices = (
        members.assign(_key=key[members.index])
        .sort_values(["_slight", "theme_confidence", "unit_id"], ascending=[True, False, True])
        .drop_duplicates("_key")
    )
    voices = voices[~voices["_key"].isin(quoted)].head(run.config.report_voices)
    split = run.taxonomy.name_of(row.zone_runner_up) if row.zone_split else ""
    return {
        "id": int(row.theme),
        "label": row.label,
        "description": getattr(row, "description", ""),
        "origin": getattr(row, "origin", "found"),
        "keyphrases": [k for k in str(row.keyphrases).split("; ") if k],
        "participants": int(row.participants),
        "share": float(row.participant_share),
        "of": participants,
        "interviews": int(row.interviews),
        "units": int(row.units),
        "group": row.parent_label,
        "stability": stability(row.stability),
        "zone_confidence": float(row.zone_confidence),
        "split": split,
        "voices": " ".join(str(person[k]) for k in sorted(set(key[members.index]))),
        "quotes": [_quote(q, person) for q in ranked.itertuples()],
        "more": [_quote(q, person) for q in voices.itertuples()],
    }


def _overview(run: Run, participants: int) -> dict[str, Any]:
    """The corpus, what was set aside and why, and the run's settings."""
    counts = run.counts
    dropped = run.dropped
    reasons = []
    if len(dropped):
        for reason, group in dropped.groupby("reason", sort=False):
            example = group["text"].iloc[0]
            reasons.append({"reason": reason, "units": len(group), "example": textwrap.shorten(example, 90)})
        reasons.sort(key=lambda r: (-r["units"], r["reason"]))
    others = [] if run.config.keep_other_languages else other_languages(run.interviews, run.config.languages)
    figures = [
        ("interviews", counts.get("interviews", 0)),
        ("participants", participants),
        ("analysis units", counts.get("units", len(run.units))),
        ("set aside", counts.get("dropped", len(dropped))),
        ("themes", len(run.themes)),
        ("unassigned units", counts.get("unassigned", 0)),
        ("personas", len(run.personas)),
        ("files read", counts.get("files", 0) - counts.get("failed_files", 0)),
        ("files failed", counts.get("failed_files", 0)),
    ]
    return {
        "figures": figures,
        "reasons": reasons,
        "failed": [report.error for report in run.failed],
        "other_languages": others,
        "zones": run.taxonomy.name,
        "codebook": run.details.get("codebook", {}).get("entries", []),
        "codebook_file": run.config.codebook,
        "settings": [(k, json.dumps(v, ensure_ascii=False)) for k, v in run.config.to_dict().items()],
    }


def _personas(run: Run, person: dict[str, int]) -> dict[str, Any]:
    """Persona cards (archetype, defining themes per zone with their quotes, members), who fits none, and the
    persona × segment cross-tabs."""
    members = run.persona_members
    headline, rest = structure_sentence(run.details.get("persona_structure", {}), len(members))
    label = run.themes.set_index("theme")["label"] if len(run.themes) else pd.Series(dtype=str)
    units = run.units.set_index("unit_id", drop=False)
    cards = []
    for row in run.personas.itertuples():
        evidence = run.persona_evidence[run.persona_evidence["persona"] == row.persona]
        zones = []
        for zone in run.taxonomy.zones:
            cited = evidence[evidence["zone"] == zone.id]
            claims = [
                {
                    "theme": int(theme),
                    "label": label.get(theme, ""),
                    "participants": int(voiced),
                    "quotes": [_quote(u, person) for u in units.loc[group["unit_id"]].itertuples()],
                }
                for (theme, voiced), group in cited.groupby(["theme", "participants"], sort=False)
            ]
            zones.append({"id": zone.id, "name": zone.name, "claims": claims})
        own = members[members["persona"] == row.persona]
        cards.append(
            {
                "id": int(row.persona),
                "name": row.name,
                "archetype": row.archetype,
                "size": int(row.size),
                "cohesion": float(row.cohesion),
                "stability": measured(row.stability),
                "zones": zones,
                "members": [_member(m, person) for m in own.itertuples()],
            }
        )
    return {
        "headline": headline,
        "rest": rest,
        "cards": cards,
        "unfit": [_member(m, person) for m in members[members["persona"] < 0].itertuples()],
        "crosstabs": _crosstabs(run.persona_by_segment),
    }


def _member(row, person: dict[str, int]) -> dict[str, Any]:
    return {
        "label": f"{row.interview_id} ({row.speaker})",
        "fit": float(row.fit),
        "participant": person.get(participant_of(row), -1),
    }


def _crosstabs(by_segment: pd.DataFrame) -> list[dict[str, Any]]:
    """One table per metadata column: its values down, personas across (``none`` = fits no persona)."""
    tables = []
    for column, group in by_segment.groupby("column", sort=False):
        grid = group.pivot_table(index="value", columns="persona", values="participants", aggfunc="sum", fill_value=0)
        heads = [("fits none" if p == UNASSIGNED else f"persona {p}") for p in grid.columns]
        rows = [
            (str(value), [int(v) for v in counts]) for value, counts in zip(grid.index, grid.to_numpy(), strict=True)
        ]
        tables.append({"column": column, "heads": heads, "rows": rows})
    return tables


def prevalence_figure(themes: pd.DataFrame, run: Run, participants: int) -> dict[str, Any]:
    """Participants voicing each theme, one bar per theme coloured by its zone, most prevalent on top."""
    ordered = themes.sort_values(["participants", "theme"], ascending=[True, False]) if len(themes) else themes
    names = {t.theme: html.escape(f"T{t.theme}: {textwrap.shorten(t.label, 48)}") for t in ordered.itertuples()}
    colours = zone_colours(run)
    traces = []
    for zone in (*run.taxonomy.zones, run.taxonomy.none):
        group = ordered[ordered["zone"] == zone.id] if len(ordered) else ordered
        if len(group):
            traces.append(
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": html.escape(zone.name),
                    "x": group["participants"].tolist(),
                    "y": [names[t] for t in group["theme"]],
                    "marker": {"color": colours[zone.id]},
                    "hovertemplate": f"%{{y}}<br>%{{x}} of {participants} participants<extra></extra>",
                }
            )
    return {
        "data": traces,
        "layout": {
            "height": 140 + 22 * len(names),
            "margin": {"l": 320, "r": 20, "t": 50, "b": 40},
            "xaxis": {"title": {"text": f"participants (of {participants})"}, "rangemode": "tozero"},
            "yaxis": {"automargin": True, "categoryorder": "array", "categoryarray": list(names.values())},
            "legend": {"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"},
            "barmode": "overlay",
        },
    }


def map_figure(run: Run) -> dict[str, Any]:
    """The drawn units in 2-D, one trace per theme (click a legend entry to hide it), the quote on hover."""
    drawn = run.unit_map.merge(run.units, on="unit_id", how="left")
    label = run.themes.set_index("theme")["label"] if len(run.themes) else pd.Series(dtype=str)
    traces = []
    for theme, group in sorted(drawn.groupby("theme"), key=lambda item: (item[0] == UNASSIGNED, item[0])):
        name = "unassigned" if theme == UNASSIGNED else f"T{theme}: {textwrap.shorten(label.get(theme, ''), 40)}"
        hover = [
            "<br>".join(html.escape(line) for line in textwrap.wrap(row.text, 70)[:6])
            + f"<br><i>{html.escape(row.speaker)}, {html.escape(row.interview_id)}</i>"
            for row in group.itertuples()
        ]
        trace = {
            "type": "scatter",
            "mode": "markers",
            "name": html.escape(name),
            "x": group["x"].tolist(),
            "y": group["y"].tolist(),
            "hovertext": hover,
            "hoverinfo": "text",
            "marker": {"size": 6, "opacity": 0.75},
        }
        if theme == UNASSIGNED:
            trace["marker"] |= {"color": "#c8c8c8", "size": 4}
        traces.append(trace)
    return {
        "data": traces,
        "layout": {
            "height": 620,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "legend": {"font": {"size": 11}},
            "colorway": THEME_COLOURS,
            "hovermode": "closest",
        },
    }


def persona_zone_shares(run: Run) -> pd.DataFrame:
    """Where each persona's members speak: the share of their themed units filed in each zone (personas down,
    zones across, background left out; a row sums to 1)."""
    members = run.persona_members[run.persona_members["persona"] >= 0]
    zones = [z.id for z in run.taxonomy.zones]
    themed = run.units[run.units["zone"].isin(zones)]
    persona = dict(zip(participant_key(members), members["persona"], strict=True))
    counts = pd.crosstab(participant_key(themed).map(persona), themed["zone"])
    counts = counts.reindex(index=sorted(members["persona"].unique()), columns=zones, fill_value=0)
    return counts.div(counts.sum(axis=1).clip(lower=1), axis=0)


def persona_zone_figure(run: Run) -> dict[str, Any]:
    """Persona × zone heatmap: where each persona's members speak."""
    shares = persona_zone_shares(run)
    names = run.personas.set_index("persona")["name"]
    rows = [html.escape(f"{p}: {names.get(p, '')}") for p in shares.index]
    zones = [html.escape(run.taxonomy.name_of(z)) for z in shares.columns]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": shares.round(3).to_numpy().tolist(),
                "x": zones,
                "y": rows,
                "zmin": 0,
                "colorscale": "Blues",
                "reversescale": True,
                "texttemplate": "%{z:.0%}",
                "hovertemplate": "%{y}<br>%{x}: %{z:.0%} of their units<extra></extra>",
                "colorbar": {"title": {"text": "share of units"}, "tickformat": ".0%"},
            }
        ],
        "layout": {"height": 140 + 50 * len(rows), "margin": {"l": 160, "r": 20, "t": 10, "b": 80}},
    }


def _json(figure: dict[str, Any]) -> str:
    """Figure data safe inside a ``<script type="application/json">`` element."""
    return json.dumps(figure, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(_JSON_ESCAPES)


def _inline(source: str) -> str:
    """A script or style safe to inline: nothing in it may close its element early."""
    return _CLOSING.sub(r"<\\/\1", source)


def _asset(name: str) -> str:
    return resources.files("pipeline").joinpath("templates", name).read_text(encoding="utf-8")


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
