"""Runs a scenario at candidate parameters and returns its fit to the targets, with nothing written to disk.

Common random numbers: every candidate runs with the same replicate seeds, so two candidates differ only by
their parameters, not by luck; the statistics are averaged over the replicates before they are compared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.calibration.moments import UnknownStatistic, check_names, moments, needs_table
from sim.calibration.objective import average, evaluate, residuals, run_spread
from sim.calibration.targets import TargetsFile
from sim.engine.simulation import Simulation
from sim.errors import Problem, ScenarioError
from sim.scenario.load import load_scenario, resolve_document
from sim.scenario.parameters import OVERRIDE_SOURCE
from sim.scenario.yaml_lines import load_lined_yaml

SPACE_SOURCE = "<--params>"


@dataclass(frozen=True)
class Parameter:
    """A scenario parameter to calibrate, searched in [low, high] (whole numbers when `integer`)."""

    name: str
    low: float
    high: float
    integer: bool = False

    def clip(self, value: float) -> float | int:
        value = min(max(value, self.low), self.high)
        return round(value) if self.integer else float(value)


def parse_space(items: Sequence[str], scenario_path: str | Path) -> list[Parameter]:
    """`NAME=LO:HI` options (comma-separated or repeated) checked against the scenario's declared
    parameters; a parameter declared as a whole number is searched over whole numbers."""
    declared = load_scenario(scenario_path).parameters
    space, problems = [], []
    entries = [part.strip() for item in items for part in item.split(",") if part.strip()]
    for number, entry in enumerate(entries, start=1):
        name, sep, bounds = entry.partition("=")
        name = name.strip()
        low_text, colon, high_text = bounds.partition(":")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            low = high = None
        if not sep or not colon or low is None:
            problems.append(Problem(SPACE_SOURCE, number, name, f"expected NAME=LO:HI, got {entry!r}"))
        elif name not in declared:
            known = ", ".join(sorted(declared)) or "none are declared"
            problems.append(Problem(SPACE_SOURCE, number, name, f"not a parameter of the scenario ({known})"))
        elif isinstance(declared[name], bool) or not isinstance(declared[name], int | float):
            problems.append(Problem(SPACE_SOURCE, number, name, "only numeric parameters can be calibrated"))
        elif not (np.isfinite(low) and np.isfinite(high) and low < high):
            problems.append(Problem(SPACE_SOURCE, number, name, f"need finite LO < HI, got {low}:{high}"))
        elif name in {p.name for p in space}:
            problems.append(Problem(SPACE_SOURCE, number, name, "given twice"))
        else:
            space.append(Parameter(name, low, high, integer=isinstance(declared[name], int)))
    if not entries:
        problems.append(Problem(SPACE_SOURCE, 0, "", "give at least one NAME=LO:HI"))
    if problems:
        raise ScenarioError(problems)
    return space


@dataclass
class Evaluation:
    params: dict[str, float]
    loss: float
    rows: list[dict]  # per target: distance, nrmse, met (and run_sd: one run's sd, with replicates)
    simulated: dict  # the statistics, averaged over replicates
    seconds: float
    residuals: np.ndarray  # the loss as a vector, for least-squares polishing


class Simulator:
    """`simulator(params)` runs the scenario's replicates at those parameters and scores them."""

    def __init__(
        self,
        path: str | Path,
        targets: TargetsFile,
        *,
        scale: float = 1.0,
        replicates: int = 1,
        seed: int | None = None,
        overrides: Sequence[str] = (),
    ):
        if replicates < 1:
            raise ValueError("replicates must be at least 1")
        self.path, self.targets, self.scale, self.overrides = str(path), targets, scale, list(overrides)
        self.base = load_scenario(path, overrides)  # every problem of the file reported before any run
        self.document = load_lined_yaml(Path(path).read_bytes(), self.path)
        root = self.base.seed if seed is None else seed
        self.seeds = [int(s) for s in np.random.SeedSequence(root).generate_state(replicates, np.uint64) >> 1]
        self.wanted = [s.name for s in targets]

    def scenario(self, params: dict[str, float], seed: int | None = None):
        sets = [*self.overrides, *(f"{k}={_plain(v)!r}" for k, v in params.items())]
        try:
            return resolve_document(self.document, sets, seed)
        except ScenarioError as exc:  # a value the scenario rejects (a count that must be whole, ...)
            raise ScenarioError(
                [
                    p if p.file != OVERRIDE_SOURCE else Problem(SPACE_SOURCE, p.line, p.field, p.message)
                    for p in exc.problems
                ]
            ) from None

    def statistics(self, params: dict[str, float], seed: int) -> dict:
        """One run's statistics at `params` with `seed`."""
        model = Simulation(self.scenario(params, seed), scale=self.scale)
        batches: list[pa.RecordBatch] | None = [] if needs_table(self.wanted) else None
        try:
            try:
                check_names(model.world, self.wanted)  # before the run, not after it
                while model.running:
                    model.step()
                    if batches is not None and model.batch is not None:
                        batches.append(model.batch)  # a detector target learns from the rows
                table = None if batches is None else pa.Table.from_batches(batches, model.world.schema)
                return moments(model.world, self.scale, self.wanted, table, seed)
            except UnknownStatistic as exc:
                raise ScenarioError([self._unknown(name, known) for name, known in exc.missing]) from None
        finally:
            model.release()

    def _unknown(self, name: str, known: list[str]) -> Problem:
        shown = ", ".join(known[:40]) + (" ..." if len(known) > 40 else "")
        message = f"this scenario has no such statistic (it has: {shown})"
        return Problem(self.targets.file, self.targets.line(name), name, message)

    def __call__(self, params: dict[str, float]) -> Evaluation:
        return self.evaluate_many([params])[0]

    def evaluate_many(self, candidates: list[dict[str, float]], executor=None) -> list[Evaluation]:
        """Every candidate's replicates, run on `executor`'s workers (`sim.distributed.Backend`) or here;
        each result is the same either way (replicates are averaged in seed order)."""
        started = time.perf_counter()
        jobs = [(self, params, seed) for params in candidates for seed in self.seeds]
        runs = executor.map_ordered(_statistics, jobs) if executor else (_statistics(*job) for job in jobs)
        runs = list(runs)
        seconds = (time.perf_counter() - started) / max(1, len(candidates))
        out = []
        for i, params in enumerate(candidates):
            replicates = runs[i * len(self.seeds) : (i + 1) * len(self.seeds)]
            simulated = average(replicates)
            loss, rows = evaluate(self.targets, simulated)
            spread = run_spread(replicates)
            for row in rows:
                if row["name"] in spread:
                    row["run_sd"] = spread[row["name"]]
            out.append(
                Evaluation(dict(params), loss, rows, simulated, seconds, residuals(self.targets, simulated))
            )
        return out


def _statistics(simulator: Simulator, params: dict[str, float], seed: int) -> dict:
    """One replicate (runs on a worker)."""
    return simulator.statistics(params, seed)


def _plain(value) -> int | float:
    """A Python number (a NumPy scalar's repr is not a YAML number)."""
    return int(value) if isinstance(value, int | np.integer) else float(value)
