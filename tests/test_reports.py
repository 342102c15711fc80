"""Reports people read: each command's `report.html` opens with its summary table (rounded numbers, no
raw JSON), its figures exist (images on disk, interactive charts as plotly <div>s with plotly.js inlined,
nothing fetched), the same run gives the same page bytes, and in headless Chromium the page renders its
charts offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


class Outline(HTMLParser):
    """The tables (id, caption, cells) in order, the images, the charts and the visible text."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.charts, self.text, self.scripts = [], [], [], [], []
        self._in = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        if tag == "table":
            self.tables.append({"id": attrs.get("id"), "caption": "", "cells": []})
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "div" and attrs.get("class") == "plotly-graph-div":
            self.charts.append(attrs["id"])
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data):
        if "script" in self._in or "style" in self._in:
            return
        if self.tables and "caption" in self._in:
            self.tables[-1]["caption"] += data
        elif self.tables and "td" in self._in:
            self.tables[-1]["cells"].append(data.strip())
        self.text.append(data)


def outline(page: Path) -> Outline:
    parsed = Outline()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def sim(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sim", *args, "--quiet"], check=True, cwd=ROOT, capture_output=True)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    sim(
        "run",
        str(SCENARIOS / "fraud_ring_attack.yaml"),
        "--set",
        "customers=3000",
        "--out",
        str(out / "payments"),
    )
    sim("run", str(SCENARIOS / "hurricane.yaml"), "--out", str(out / "supply"))
    sim("stress", str(SCENARIOS / "hurricane.yaml"), "--replicates", "4", "--out", str(out / "stress"))
    sim("calibrate", str(SCENARIOS / "beer_game.yaml"), "--targets",
        str(ROOT / "calibration" / "targets" / "beer_game_orders.yaml"), "--params", "theta=0:1",
        "--budget", "4", "--polish", "0", "--out", str(out / "calibrate"))  # fmt: skip
    sim("run", str(SCENARIOS / "fraud_ring_attack.yaml"), "--set", "customers=3000", "--seed", "2",
        "--out", str(out / "other"))  # fmt: skip
    sim(
        "evaluate",
        str(out / "other"),
        str(out / "payments"),
        "--no-behaviour",
        "--out",
        str(out / "evaluate"),
    )
    sim("refine", str(out / "payments"), "--real", str(out / "other" / "transactions.parquet"),
        "--method", "copula", "--target", "is_fraud", "--out", str(out / "refine"))  # fmt: skip
    return {name: out / name for name in ("payments", "supply", "stress", "calibrate", "evaluate", "refine")}


SUMMARIES = {  # what each reader came for, in the summary table
    "payments": ("Transactions", "Declined", "Fraud rows", "Money in the system"),
    "supply": ("Fill rate", "Service level", "Total cost", "Disruptions"),
    "stress": ("fill rate", "total cost"),
    "calibrate": ("Targets within tolerance", "Loss"),
    "evaluate": ("fidelity", "detection AUC"),
    "refine": ("detection_auc", "tstr_auc"),
}
CHARTS = {"payments": 1, "supply": 2, "stress": 3, "calibrate": 0, "evaluate": 0, "refine": 0}


@pytest.mark.parametrize("kind", list(SUMMARIES))
def test_each_report_opens_with_its_summary_table(reports, kind):
    folder = reports[kind]
    page = outline(folder / "report.html")
    first = page.tables[0]
    assert first["id"] == "summary"
    cells = " ".join(first["cells"])
    for wanted in SUMMARIES[kind]:
        assert wanted in cells
    text = " ".join(page.text)
    assert not re.search(r"\d\.\d{6,}", text), "numbers are rounded for the reader"
    assert "{" not in text, "no raw JSON on the page (it stays in the files beside it)"
    assert all((folder / image).is_file() for image in page.images)
    assert len(page.charts) >= CHARTS[kind] and not page.scripts  # plotly.js inlined: nothing fetched


def test_payments_report_shows_labels_by_typology_and_events(reports):
    page = outline(reports["payments"] / "report.html")
    captions = [t["caption"] for t in page.tables]
    assert {"Per transaction type", "Labelled rows", "Amounts"} <= set(captions)
    labelled = page.tables[captions.index("Labelled rows")]["cells"]
    assert "account_takeover" in labelled and "app_scam" in labelled
    html = (reports["payments"] / "report.html").read_text()
    assert "saturday_wave" in html  # the calendar's event is named on the chart
    # it takes PaySim's hours, not its month: compared as such, not "fitted" to a month it does not follow
    assert "Rhythm" in captions and "Fit to PaySim's real month" not in html
    rhythm = page.tables[captions.index("Rhythm")]["cells"]
    assert float(rhythm[1]) < 0.05  # total variation of the hour-of-day shares


def test_a_refined_log_reports_its_behaviour_and_ledger_before_and_after(reports):
    page = outline(reports["refine"] / "report.html")
    captions = [t["caption"] for t in page.tables]
    assert {"Degradation ratios", "Shares of rows"} <= set(captions)
    ledger = page.tables[captions.index("Shares of rows")]["cells"]
    declined_moving = ledger[ledger.index("declined rows that move money") + 1 :][:3]
    assert declined_moving == ["0.00 %"] * 3  # the real sample, the run, the replayed refined log
    assert "A detector tells it from the real sample" in " ".join(page.text)


def test_stress_ranks_strategies_and_prints_the_ranking(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "stress", str(SCENARIOS / "hurricane.yaml"),
                           "--replicates", "3", "--out", str(tmp_path / "s")],
                          cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    assert "Ranked by the mean of team_cost" in done.stderr
    assert "cover_days=4" in done.stderr and "cover_days=8" in done.stderr
    page = outline(tmp_path / "s" / "report.html")
    assert page.tables[0]["cells"][:2] == ["1", page.tables[0]["cells"][1]]


def test_a_payments_sweep_is_listed_not_ranked(tmp_path):
    from sim.stress import run_stress

    out = run_stress(SCENARIOS / "quickstart.yaml", 1, {"customers": ["300", "600"]}, tmp_path / "s")
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranked_by"] is None and summary["ranking"] == []
    assert "Not ranked" in (out / "report.html").read_text()
    kpis = next(iter(summary["strategies"].values()))
    assert not any(k.endswith((".start_step", ".end_step")) for k in kpis)


def chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (CI installs Debian's chromium)")
@pytest.mark.parametrize("kind", list(SUMMARIES))
def test_chromium_renders_the_charts_offline(reports, kind):
    sys.path.insert(0, str(ROOT / "tools"))
    from screenshot_reports import dom

    rendered = dom(chromium(), reports[kind] / "report.html")
    assert 'id="summary"' in rendered
    assert rendered.count('class="main-svg"') >= CHARTS[kind]  # plotly drew each chart


def card_tables(card: str) -> dict[str, list[list[str]]]:
    """DATASET.md's column tables: file -> rows of (column, type, meaning)."""
    tables, current = {}, None
    for line in card.splitlines():
        if line.startswith("### `"):
            current = tables.setdefault(line[5:-1], [])
        elif current is not None and line.startswith("| `"):
            current.append([cell.strip(" `") for cell in line.strip("|").split(" | ")])
    return tables


@pytest.mark.parametrize("kind", ["payments", "supply"])
def test_the_dataset_card_documents_every_file_and_column(reports, kind):
    import json

    folder = reports[kind]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["dataset_card"]["path"] == "DATASET.md"
    card = (folder / "DATASET.md").read_text()
    tables = card_tables(card)
    for entry in manifest["files"].values():
        if "columns" in entry:
            rows = tables[entry["path"]]
            assert [r[0] for r in rows] == list(entry["columns"])
            assert all(r[2] for r in rows), f"a column of {entry['path']} has no meaning"
    for heading in (
        "## What was simulated",
        "## How it was made",
        "## Labels and key figures",
        "Not intended",
    ):
        assert heading in card
    kpis = json.loads((folder / "kpis.json").read_text())
    if kind == "payments":
        assert f"| fraud rows | {kpis['fraud']['transactions']:,} (" in card
        assert "--set customers=3000" in card  # how to make it again
    else:
        assert f"| fill rate (units filled at once) | {100 * kpis['total']['fill_rate']:.1f} % |" in card


def test_declared_segments_are_documented_too(tmp_path):
    sim("run", str(SCENARIOS / "banksim.yaml"), "--set", "cardholders=300", "--out", str(tmp_path / "b"))
    tables = card_tables((tmp_path / "b" / "DATASET.md").read_text())
    assert all(row[2] for rows in tables.values() for row in rows)


def test_each_laundering_typology_is_drawn_once(tmp_path):
    import json

    sim(
        "run", str(SCENARIOS / "aml_typologies.yaml"), "--set", "customers=3000", "--out", str(tmp_path / "a")
    )
    kpis = json.loads((tmp_path / "a" / "kpis.json").read_text())
    page = outline(tmp_path / "a" / "report.html")
    drawn = {c.removeprefix("pattern-") for c in page.charts if c.startswith("pattern-")}
    assert drawn == set(kpis["laundering"]["by_typology"])


def test_a_port_scenario_charts_its_queue_and_each_product(tmp_path):
    sim("run", str(SCENARIOS / "port_congestion.yaml"), "--out", str(tmp_path / "p"))
    page = outline(tmp_path / "p" / "report.html")
    assert {"queues", "products", "service-level", "series-per-node"} <= set(page.charts)
    captions = [t["caption"] for t in page.tables]
    assert "Queues" in captions and "Products" in captions


def test_an_hour_of_the_paysim_month_reports_without_a_fit(tmp_path):
    """Too short a run to compare with the real month: the page says "n/a" instead of failing."""
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "paysim_month.yaml")
    scenario = scenario.model_copy(update={"horizon": scenario.horizon.model_copy(update={"steps": 1})})
    run = run_scenario(scenario, tmp_path / "hour", scale=0.002)
    page = outline(run / "report.html")
    assert "Fit to PaySim's real month" in " ".join(page.text) and "volume ratio n/a" in " ".join(page.text)
    assert "paysim-fit" in page.charts and not (run / "figures").exists()  # interactive, no image to draw
