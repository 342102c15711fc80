"""Mesa the Mesa way: `SimModel` built from a scenario path and keyword parameters, a `datacollector` of
the world's per-step figures that agrees with the table of record, `mesa.batch_run` over a parameter grid,
and the aggregate actors in `model.agents` with read-only views that add up to the world's state."""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim.engine.model import AggregateAgent, SimModel
from sim.errors import ScenarioError
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
HURRICANE = str(SCENARIOS / "hurricane.yaml")


def run(model: SimModel) -> pa.Table:
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    return pa.Table.from_batches(batches)


def test_batch_run_sweeps_a_supply_scenarios_parameter_grid():
    grid = {"scenario": HURRICANE, "cover_days": [4, 8], "rng": [1, 2]}
    rows = pd.DataFrame(mesa.batch_run(SimModel, grid, data_collection_period=1, display_progress=False))
    steps = load_scenario(HURRICANE).horizon.steps
    assert len(rows) == 4 * steps
    assert set(map(tuple, rows[["cover_days", "rng"]].drop_duplicates().to_numpy())) == {
        (4, 1), (4, 2), (8, 1), (8, 2)
    }  # fmt: skip
    for (cover, seed), run_rows in rows.groupby(["cover_days", "rng"]):
        alone = SimModel(HURRICANE, cover_days=cover, rng=seed)
        table = run(alone).to_pandas()
        assert alone.scenario.seed == seed and alone.scenario.parameters["cover_days"] == cover
        by_step = table.groupby("t")[["inventory", "backlog", "cost"]].sum()
        for name in ("inventory", "backlog", "cost"):  # the collected figures are the written rows'
            np.testing.assert_allclose(
                run_rows.sort_values("Step")[name].to_numpy(), by_step[name].to_numpy()
            )
        assert run_rows["service_level"].between(0, 1).all()
    # more cover, no worse service, seed by seed (a hurricane lands in the same weeks for both)
    service = rows.groupby(["rng", "cover_days"])["service_level"].mean().unstack()
    assert (service[8] >= service[4] - 1e-12).all()


def test_payments_figures_add_up_to_the_runs_kpis():
    model = SimModel(str(SCENARIOS / "quickstart.yaml"), rng=7, customers=2000)
    table = run(model)
    figures = model.datacollector.get_model_vars_dataframe()
    assert len(figures) == model.horizon
    kpis = model.world.kpis(1.0)
    assert figures["transactions"].sum() == kpis["transactions"] == table.num_rows
    assert figures["declined"].sum() == kpis["declined"]
    assert figures["fraud"].sum() == kpis["fraud"]["transactions"]
    frame = table.to_pandas()
    settled = frame.loc[~frame["declined"]].groupby("step")["amount"].sum()
    np.testing.assert_allclose(figures["amount_settled"].to_numpy()[settled.index], settled.to_numpy())


def test_aggregate_actors_are_read_only_views_of_the_worlds_state():
    model = SimModel(str(SCENARIOS / "card_payments.yaml"), scale=0.05)
    run(model)
    world = model.world
    actors = list(model.agents_by_type[AggregateAgent])
    categories = [a for a in actors if a.kind == "merchant_category"]
    assert [a.name for a in categories] == world.accounts.category_names
    holders = [a for a in actors if a.kind in ("customers", "merchant_category", "banks")]
    mules = [a for a in actors if a.kind == "mules"]
    accounts = holders + [a for a in mules if world.scenario.populations[a.name].among is None]
    assert sum(a.size for a in accounts) == world.accounts.n  # each account in exactly one actor
    total = sum(float(a.balance.sum()) for a in accounts)
    assert total == pytest.approx(float(world.balance.sum()), rel=1e-12)  # money is where the actors say
    with pytest.raises(ValueError, match="read-only"):
        categories[0].balance[0] = 0.0
    rings = [a for a in actors if a.kind == "fraud_ring"]
    assert rings and sum(a.incidents for a in rings) > 0
    with pytest.raises(AttributeError, match="no 'velocity'"):
        rings[0].velocity  # noqa: B018


def test_keyword_parameters_are_checked_like_set():
    with pytest.raises(ScenarioError, match="cover_days"):  # did you mean
        SimModel(HURRICANE, cover_dayz=4)
    with pytest.raises(TypeError, match="pass its path"):
        SimModel(load_scenario(HURRICANE), cover_days=4)
    assert SimModel(load_scenario(HURRICANE), rng=11).scenario.seed == 11


def test_the_solara_page_renders_and_plots_steps():
    import ipywidgets
    import solara

    from sim import viz

    solara.render(viz.Page, handle_error=False)  # the whole page, headless
    assert viz.sliders(HURRICANE)["cover_days"] == {"type": "SliderInt", "value": 4, "label": "cover_days",
                                                     "min": 1, "max": 16, "step": 1}  # fmt: skip
    model = SimModel(HURRICANE, cover_days=8)
    model.step()
    for make, _ in viz.components():  # each plot draws the collected step
        _, rc = solara.render(make(model), handle_error=False)
        assert len(rc.find(ipywidgets.Image).widgets) == 1


def test_the_facade_writes_what_the_bare_loop_writes_and_a_run_needs_no_mesa(tmp_path):
    """`SimModel` steps the same `Simulation` the commands drive bare: the same rows, step by step; and
    `sim run` does not pay for importing Mesa (with pandas' DataFrame machinery, SciPy and networkx)."""
    import subprocess
    import sys

    from sim.engine.simulation import Simulation

    scenario = load_scenario(SCENARIOS / "quickstart.yaml", ["customers=300"])
    bare = Simulation(scenario)
    batches = []
    while bare.running:
        bare.step()
        batches.append(bare.batch)
    bare.release()
    assert run(SimModel(scenario)).equals(pa.Table.from_batches(batches))
    code = (
        "import sys; from pathlib import Path; from sim.runner import run_scenario; "
        "from sim.scenario import load_scenario; "
        f"run_scenario(load_scenario({str(SCENARIOS / 'quickstart.yaml')!r}, ['customers=300']), "
        f"Path({str(tmp_path / 'run')!r})); print('mesa' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
