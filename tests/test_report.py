"""The HTML report as a researcher uses it: opened in a real browser with networking off, every section drawn,
figures that match the tables, filters that show what they say, and a screenshot kept for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, OpenedPage

from pipeline.tables import participant_key

SCREENSHOTS = ROOT / "test-artifacts"  # ignored by git; `make test` leaves the report's picture here


@pytest.fixture(scope="module")
def opened(browser, themes_out):
    page = OpenedPage(browser, themes_out / "report.html")
    yield page
    page.close()


def visible_themes(page) -> list[int]:
    return [int(t) for t in page.locator("article.theme:visible").evaluate_all("es => es.map(e => e.dataset.theme)")]


def test_report_opens_offline_with_every_section_and_no_error(opened, themes_out):
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "report-sample.png"
    opened.page.screenshot(path=shot, full_page=True)
    assert opened.errors == [] and opened.requests == [] and opened.dialogs == []
    for section in ("#overview", "#zones", "#map", "#personas"):
        assert opened.page.locator(section).is_visible()
    drawn = opened.page.locator(".js-plotly-plot .main-svg")
    assert drawn.count() >= 3  # prevalence, map, persona × zone: Plotly drew them as SVG
    assert shot.stat().st_size > 100_000  # a picture of a page, not a blank one
    points = opened.page.locator("#figure-map .scatterlayer .point").count()
    assert points == len(pd.read_csv(themes_out / "unit_map.csv")) > 0


def test_theme_cards_say_what_the_tables_say(opened, themes_out):
    themes = pd.read_parquet(themes_out / "themes.parquet").set_index("theme")
    quotes = pd.read_parquet(themes_out / "quotes.parquet")
    participants = participant_key(pd.read_parquet(themes_out / "units.parquet")).nunique()
    cards = opened.page.locator("article.theme")
    assert cards.count() == len(themes)
    for theme in (0, len(themes) - 1):
        card = opened.page.locator(f"#theme-{theme}")
        assert themes.loc[theme, "label"] in card.locator("h4").inner_text()
        assert f"{themes.loc[theme, 'participants']} of {participants} participants" in card.inner_text()
        first = quotes[quotes["theme"] == theme].iloc[0]
        assert card.locator(".quote blockquote").first.inner_text() == first["text"]
        cited = card.locator(".quote cite").first.inner_text()
        assert f"{first['interview_id']}" in cited and f"{first['source_file']}:{first['line']}" in cited
    zones = pd.read_csv(themes_out / "zones.csv")
    for zone in zones.itertuples():
        assert opened.page.locator(f"#zone-{zone.zone} article.theme").count() == zone.themes


def test_filters_show_what_they_say(opened, themes_out):
    page = opened.page
    units = pd.read_parquet(themes_out / "units.parquet")
    themes = pd.read_parquet(themes_out / "themes.parquet")
    everyone = visible_themes(page)
    assert len(everyone) == len(themes)

    person = units[units["theme"] >= 0].iloc[0]
    page.select_option("#filter-participant", label=f"{person['interview_id']} \u00b7 {person['speaker']}")
    voiced = set(
        units[(units["interview_id"] == person["interview_id"]) & (units["speaker"] == person["speaker"])]["theme"]
    )
    assert set(visible_themes(page)) == voiced - {-1}
    speakers = page.locator("article.theme .quote:visible cite").all_inner_texts()
    assert speakers and all(s.startswith(f"{person['speaker']}, {person['interview_id']}") for s in speakers)

    page.click("#filter-clear")
    zone = themes["zone"].value_counts().index[0]
    page.select_option("#filter-zone", zone)
    assert set(visible_themes(page)) == set(themes[themes["zone"] == zone]["theme"])
    assert (
        page.locator("#filter-count").inner_text()
        == f"Showing {(themes['zone'] == zone).sum()} of {len(themes)} themes"
    )

    page.click("#filter-clear")
    word = "procurement"
    page.fill("#filter-text", word)
    shown = page.locator("article.theme .quote:visible blockquote").all_inner_texts()
    headings = page.locator("article.theme:visible").count()
    assert shown and headings < len(themes)
    page.click("#filter-clear")
    assert len(visible_themes(page)) == len(themes)


def test_quotes_come_a_page_at_a_time(opened, themes_out):
    themes = pd.read_parquet(themes_out / "themes.parquet")
    widest = int(themes.sort_values("participants", ascending=False)["theme"].iloc[0])
    card = opened.page.locator(f"#theme-{widest}")
    before = card.locator(".quote:visible").count()
    total = card.locator(".quote").count()
    assert before == min(5, total)
    if total > before:
        card.locator("button.more").click()
        assert card.locator(".quote:visible").count() == min(total, before + 20)
    assert total <= themes.set_index("theme").loc[widest, "participants"] + 4  # ranked quotes + one per voice


def test_report_is_byte_identical_across_runs(themes_runs):
    first, second = (Path(p) / "report.html" for p in themes_runs)
    assert first.read_bytes() == second.read_bytes()
