"""A third domain defined here, in a few lines, runs through `sim validate`, `run`, `stress` and
`calibrate` with no change to any module: the World contract and the registry are all it needs."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pydantic import Field

from sim.cli import main
from sim.domains import registry
from sim.engine.contract import check_world
from sim.engine.model import SimModel
from sim.engine.world import Domain
from sim.report import write_page
from sim.scenario import load_scenario
from sim.scenario.calendar import CalendarEvent
from sim.scenario.schema import OutputsBase, ScenarioBase

# --- the toy domain: walkers drifting on a line, pushed harder while a gust blows -------------------


class Gust(CalendarEvent):
    kind: Literal["gust"]
    strength: Annotated[float, Field(ge=0, le=100)] = 2.0

    @property
    def target(self) -> str:
        return "walkers"

    @property
    def intensity(self) -> float:
        return self.strength


class WalkOutputs(OutputsBase):
    format: Literal["parquet", "csv"] = "parquet"
    tables: list[Literal["positions", "events"]] = Field(default_factory=lambda: ["positions", "events"])


class WalkScenario(ScenarioBase):
    domain: Literal["toy_walk"]
    walkers: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    drift: Annotated[float, Field(ge=-10, le=10)]
    events: list[Gust] = Field(default_factory=list)
    outputs: WalkOutputs = WalkOutputs()


class WalkWorld:
    schema = pa.schema([("step", pa.int32()), ("walker", pa.int32()), ("position", pa.float64())])

    def __init__(self, scenario: WalkScenario, streams, scale: float = 1.0):
        self.scenario, self.streams = scenario, streams
        self.position = np.zeros(max(1, round(scenario.walkers * scale)))
        self.path: list[float] = []

    def step(self, k, timeline):
        push = self.scenario.drift * timeline.intensity.get("walkers", 1.0)
        self.position += push + self.streams.generator("toy_walk.steps", k).standard_normal(
            len(self.position)
        )
        self.path.append(float(self.position.mean()))
        n = len(self.position)
        return pa.RecordBatch.from_arrays(
            [
                pa.array(np.full(n, k, np.int32)),
                pa.array(np.arange(n, dtype=np.int32)),
                pa.array(self.position),
            ],
            schema=self.schema,
        )

    def tables(self):
        return {}

    def kpis(self, scale):
        return {"mean_position": float(self.position.mean()), "spread": float(self.position.std())}

    def statistic_names(self):
        return ["mean_path"]

    def statistic(self, name, scale):
        return np.array(self.path)

    def report(self, path, kpis):
        return {"report": write_page(path, self.scenario, kpis, {})}

    def close(self):
        pass


WALK = Domain(name="toy_walk", scenario=WalkScenario, world=WalkWorld, table="positions")

SCENARIO = """\
schema_version: 1
name: toy_walk
domain: toy_walk
seed: 5
horizon: {steps: 40, step: 1d, start: 2026-01-01}
parameters:
  drift: 0.3
strategies:
  drift: [0.1, 0.5]
walkers: 400
drift: ${drift}
events:
  - {kind: gust, name: storm, start: 10, duration: 5, strength: 3.0}
"""


@pytest.fixture
def toy(write):
    registry.register(WALK)
    try:
        yield write(SCENARIO, "walk.yaml")
    finally:
        registry.unregister("toy_walk")


def test_the_toy_world_keeps_the_contract(toy):
    check_world(load_scenario(toy))


def test_validate_knows_the_toy_domain_and_names_it_among_the_domains(toy, write, capsys):
    assert main(["validate", str(toy)]) == 0
    bad = write(SCENARIO.replace("domain: toy_walk", "domain: toy_wlak"), "bad.yaml")
    assert main(["validate", str(bad)]) == 2
    assert "domain: must be 'payments', 'supply' or 'toy_walk'" in capsys.readouterr().err


def test_sim_run_writes_the_toy_table_and_its_events(toy, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(toy), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and set(manifest["files"]) >= {
        "positions",
        "events",
        "kpis",
        "report",
    }
    positions = pq.read_table(out / "positions.parquet").to_pandas()
    assert len(positions) == 400 * 40
    # the mean walker moved drift x (35 calm days + 3 x 5 gusty days); its noise is sqrt(40 / 400)
    final = positions[positions.step == 39].position.mean()
    assert abs(final - 0.3 * (35 + 3 * 5)) < 5 * np.sqrt(40 / 400)
    events = pq.read_table(out / "events.parquet").to_pylist()
    assert [(e["event"], e["start_step"], e["end_step"]) for e in events] == [("storm", 10, 15)]


def test_sim_stress_compares_the_toy_strategies(toy, tmp_path):
    out = tmp_path / "stress"
    assert main(["stress", str(toy), "--replicates", "3", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())["strategies"]
    assert set(summary) == {"drift=0.1", "drift=0.5"}
    assert summary["drift=0.5"]["mean_position"]["mean"] > summary["drift=0.1"]["mean_position"]["mean"] + 5


def test_sim_calibrate_recovers_the_toy_drift(toy, write, tmp_path):
    truth = load_scenario(toy, ["drift=0.62"])
    model = SimModel(truth)
    while model.running:
        model.step()
    path = model.world.statistic("mean_path", 1.0)
    model.release()
    targets = {
        "targets_version": 1,
        "name": "toy_walk_path",
        "provenance": "simulated by this test at drift 0.62",
        "statistics": [{"name": "mean_path", "value": [round(float(x), 6) for x in path], "tolerance": 0.1}],
    }
    targets_file = write(yaml.safe_dump(targets), "targets.yaml")
    out = tmp_path / "calibration"
    args = ["calibrate", str(toy), "--targets", str(targets_file), "--params", "drift=0:1", "--budget", "16",
            "--seed", "1", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    best = json.loads((out / "calibration.json").read_text())["best_params"]["drift"]
    assert abs(best - 0.62) < 0.03  # common random numbers: the same seed's path, so nearly exact


def test_a_malformed_domain_is_refused_with_every_problem_named():
    class NoEvents(ScenarioBase):
        domain: Literal["other"]
        outputs: WalkOutputs = WalkOutputs()

    with pytest.raises(TypeError) as caught:
        registry.register(Domain(name="toy_bad", scenario=NoEvents, world=WalkWorld, table="rows"))
    message = str(caught.value)
    assert "domain: Literal['toy_bad']" in message
    assert "no 'events' field" in message
    assert "tables must offer 'rows' and 'events'" in message
    assert "toy_bad" not in registry.domains()
