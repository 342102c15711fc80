"""`sim stress`: strategies x seeded replicates, common random numbers, summaries and ranking."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.kpis import flatten
from sim.stress import parse_vary, run_stress, summarise
from tests.conftest import ROOT

SCENARIOS = ["retail_panic_buying", "hurricane", "suez_closure", "supplier_outage", "port_congestion"]


def test_parse_vary_reads_every_option_and_reports_every_problem():
    assert parse_vary(["a=1,2", "b=x"]) == {"a": ["1", "2"], "b": ["x"]}
    with pytest.raises(ScenarioError) as info:
        parse_vary(["a", "b=", "c=1", "c=2"])
    assert len(info.value.problems) == 3


def test_flatten_names_nested_kpis_and_events():
    kpis = {"team_cost": 3, "nodes": {"a": {"fill_rate": 0.5, "bullwhip": None}}, "ok": True,
            "disruptions": [{"event": "fire", "time_to_recover": 4}], "label": "x"}  # fmt: skip
    flat = flatten(kpis)
    assert (
        flat["team_cost"] == 3.0 and flat["nodes.a.fill_rate"] == 0.5 and np.isnan(flat["nodes.a.bullwhip"])
    )
    assert flat["disruptions.fire.time_to_recover"] == 4.0 and flat["ok"] == 1.0 and "label" not in flat


def test_summary_orients_best_and_worst_by_kpi():
    frame = pd.DataFrame({"strategy": ["a", "a", "b", "b"], "replicate": [0, 1, 0, 1], "seed": [1, 2, 1, 2],
                          "team_cost": [10.0, 20.0, 5.0, 7.0],
                          "total.fill_rate": [0.9, 0.8, 0.95, 0.99]})  # fmt: skip
    summary = summarise(frame)
    assert summary["ranking"] == ["b", "a"] and summary["ranked_by"] == "team_cost"
    a = summary["strategies"]["a"]
    assert (a["team_cost"]["best"], a["team_cost"]["worst"]) == (10.0, 20.0)
    assert (a["total.fill_rate"]["best"], a["total.fill_rate"]["worst"]) == (0.9, 0.8)


def test_stress_runs_every_strategy_on_the_same_seeds(tmp_path):
    path = ROOT / "scenarios" / "retail_panic_buying.yaml"
    out = run_stress(path, 3, {"safety_stock": ["0", "1000"]}, tmp_path / "s")
    frame = pd.read_parquet(out / "stress.parquet")
    assert len(frame) == 6 and set(frame.strategy) == {"safety_stock=0", "safety_stock=1000"}
    seeds = frame.pivot(index="replicate", columns="strategy", values="seed")
    assert (seeds.nunique(axis=1) == 1).all() and seeds.iloc[:, 0].nunique() == 3  # common random numbers
    summary = json.loads((out / "summary.json").read_text())
    more, less = (
        summary["strategies"][s]["total.fill_rate"]["mean"] for s in ("safety_stock=1000", "safety_stock=0")
    )
    assert more > less  # safety stock buys service through the panic
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and {"stress", "summary", "report"} <= set(manifest["files"])
    again = run_stress(path, 3, {"safety_stock": ["0", "1000"]}, tmp_path / "t")
    for name in ("stress.parquet", "summary.json", "report.html"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


@pytest.mark.parametrize("name", SCENARIOS)
def test_stress_scenarios_compare_at_least_two_strategies(name, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sim", "stress", str(ROOT / "scenarios" / f"{name}.yaml"), "--replicates", "2",
         "--out", str(tmp_path / "s"), "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert len(summary["strategies"]) >= 2 and len(summary["ranking"]) == len(summary["strategies"])


def test_stress_rejects_a_bad_vary_with_status_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sim", "stress", str(ROOT / "scenarios" / "hurricane.yaml"), "--vary", "nope",
         "--out", str(tmp_path / "s")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "expected NAME=v1,v2" in result.stderr
    assert not (tmp_path / "s").exists()
