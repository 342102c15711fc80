"""The beer game as a scenario file: run by the CLI's machinery, Sterman's benchmark exact in kpis.json."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT

BEER_GAME = ROOT / "scenarios" / "beer_game.yaml"
BENCHMARK = ["theta=0", "alpha_s=1", "beta=1", "s_prime_retailer=28", "s_prime_wholesaler=28",
             "s_prime_distributor=28", "s_prime_factory=20"]  # fmt: skip


def test_beer_game_parameters_are_exactly_stermans():
    scenario = load_scenario(BEER_GAME)
    assert scenario.parameters == {
        "theta": 0.36, "alpha_s": 0.26, "beta": 0.34, "s_prime_retailer": 17, "s_prime_wholesaler": 17,
        "s_prime_distributor": 17, "s_prime_factory": 17,
    }  # fmt: skip


def test_benchmark_run_gives_team_cost_204(tmp_path):
    run = run_scenario(load_scenario(BEER_GAME, BENCHMARK), tmp_path / "run")
    kpis = json.loads((run / "kpis.json").read_text())
    assert kpis["team_cost"] == 204.0
    assert kpis["cost_by_node"] == {
        "retailer": 46.0,
        "wholesaler": 50.0,
        "distributor": 54.0,
        "factory": 54.0,
    }
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert set(manifest["files"]) == {
        "timeseries",
        "events",
        "kpis",
        "report",
        "dataset_card",
        "figure_chain",
    }


def test_timeseries_rows_conserve_stock_and_add_up_to_the_kpis(tmp_path):
    run = run_scenario(load_scenario(BEER_GAME), tmp_path / "run")
    ts = pd.read_parquet(run / "timeseries.parquet")
    kpis = json.loads((run / "kpis.json").read_text())
    assert len(ts) == 36 * 4 and list(ts.node.cat.categories) == [
        "retailer",
        "wholesaler",
        "distributor",
        "factory",
    ]
    for name, rows in ts.groupby("node", observed=True):
        inventory = rows.inventory.to_numpy()
        before = np.concatenate([[12.0], inventory[:-1]])
        assert np.array_equal(inventory, before + rows.received - rows.shipped)
        assert rows.cost.sum() == pytest.approx(kpis["cost_by_node"][name])
        k = kpis["nodes"][name]
        assert 0 <= k["fill_rate"] <= 1 and k["total_cost"] == pytest.approx(
            k["holding_cost"] + k["backlog_cost"]
        )
    retailer = ts[ts.node == "retailer"]
    assert retailer.demand.tolist() == [4.0] * 4 + [8.0] * 32
    assert (ts.demand[ts.node != "retailer"] == 0).all()
    # the bullwhip effect under Sterman's mean parameters: upstream orders vary more
    bullwhip = [kpis["nodes"][n]["bullwhip"] for n in ("retailer", "wholesaler", "distributor", "factory")]
    assert all(b > 1 for b in bullwhip)


def test_supply_scenario_errors_are_reported_with_lines(write):
    text = BEER_GAME.read_text().replace("    - name: factory\n", "    - name: retailer\n")
    text = text.replace("  initial_flow: 4\n", "  initial_flow: -4\n  warmup: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(text))
    report = str(info.value)
    assert "chain.initial_flow: Input should be greater than or equal to 0" in report
    assert "chain.warmup: unknown field" in report


def test_order_up_to_chain_with_noisy_demand_runs_and_amplifies(write):
    text = BEER_GAME.read_text().replace(
        "  demand: {kind: step, before: 4, after: 8, at: 4}\n",
        "  demand: {kind: step, before: 40, after: 40, at: 0, noise: {dist: lognormal, mean: 1, std: 0.2}}\n",
    )
    text = text.replace("  initial_flow: 4\n  fixed_orders: 4\n", "  initial_flow: 40\n  fixed_orders: 0\n")
    for echelon in ("retailer", "wholesaler", "distributor", "factory"):
        sterman = f'"${{beta}}", s_prime: "${{s_prime_{echelon}}}"}}'
        line = next(x for x in text.splitlines() if x.endswith(sterman))
        policy = "      policy: {kind: order_up_to, cover: 4, forecast: {kind: moving_average, window: 4}}"
        text = text.replace(line, policy)
    text = text.replace("  steps: 36\n", "  steps: 400\n")
    scenario = load_scenario(write(text))
    assert all(node.policy.kind == "order_up_to" for node in scenario.chain.nodes)
    run = run_scenario(scenario, write("", "unused").parent / "run")
    ts = pd.read_parquet(run / "timeseries.parquet")
    ts = ts[ts.t >= 50]  # past the start-up transient
    demand = ts.demand[ts.node == "retailer"]
    assert demand.std() > 0 and (demand == np.round(demand)).all()
    amplification = [ts.orders_placed[ts.node == n].var() / demand.var() for n in ts.node.cat.categories]
    assert 1 < amplification[0] < amplification[1] < amplification[2] < amplification[3]
