"""The report on a real study (`make bench`): the 125 scientists interviews in ``../shared/data/interviews``.

Runs ``themes`` as a user would, then opens ``report.html`` in headless Chromium with networking off (median of
three loads until the page says it is ready: figures drawn, filters wired), validates ``project.qdpx`` against the
official REFI-QDA schema, and keeps a screenshot for a person to look at. Written to
``benchmarks/results/report.json`` and ``benchmarks/results/report-scientists.png``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lxml import etree

from pipeline.config import Config
from pipeline.runner import run_themes
from pipeline.store import write_run

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
STUDY = SHARED / "interviews"
RESULTS = ROOT / "benchmarks" / "results"


def open_times(report: Path, screenshot: Path, loads: int = 3) -> list[float]:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import OpenedPage, chromium_path
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        for _ in range(loads):
            page = OpenedPage(browser, report)
            assert not page.errors and not page.requests, (page.errors, page.requests)
            seconds.append(round(page.seconds, 3))
            page.page.screenshot(path=screenshot)
            page.close()
        browser.close()
    return seconds


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        began = time.perf_counter()
        run = run_themes(STUDY, Config(cache_dir=str(ROOT / ".insightmap-cache")))
        write_run(run, STUDY, out, "themes")
        themes_s = time.perf_counter() - began
        seconds = open_times(out / "report.html", RESULTS / "report-scientists.png")
        schema = etree.XMLSchema(etree.parse(str(SHARED / "refi-qda" / "Project-mrt2019.xsd")))
        with zipfile.ZipFile(out / "project.qdpx") as archive:
            valid = schema.validate(etree.fromstring(archive.read("project.qde")))
        result = {
            "study": str(STUDY.relative_to(SHARED)),
            "interviews": run.counts["interviews"],
            "units": run.counts["units"],
            "themes": run.counts["themes"],
            "themes_command_s": round(themes_s, 1),
            "report_mb": round((out / "report.html").stat().st_size / 1e6, 2),
            "report_open_s": seconds,
            "report_open_median_s": statistics.median(seconds),
            "map_points": len(run.unit_map),
            "qdpx_valid": bool(valid),
        }
    (RESULTS / "report.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
