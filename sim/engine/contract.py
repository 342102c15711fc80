"""`check_world`: does a world keep the World contract? The way scikit-learn's `check_estimator` checks an
estimator, so a new domain's author finds every broken promise at once, before a user does.

It builds the world twice from the same scenario and seed, steps both through the horizon and checks
what the runner, stress sweeps and calibration rely on: the protocol's members, batches of exactly the
declared schema, the same bytes from the same seed, JSON-able KPIs, computable statistics, end-of-run
tables, a report whose files exist, a `close` that may be called again, and the optional capabilities'
promises.
"""

from __future__ import annotations

import json
import tempfile
import typing
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.engine.model import SimModel
from sim.engine.world import EventHook, LogsFlows, ServiceLevels, World, WorldFactory
from sim.scenario.schema import Scenario

MEMBERS = ("schema", "step", "tables", "kpis", "statistic_names", "statistic", "report", "close")
FLOW_FIELDS = ("event", "kind", "start_step", "end_step", "target")


class ContractError(AssertionError):
    """Every way a world breaks the contract, one per line."""

    def __init__(self, name: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{name}: the world breaks its contract:\n" + "\n".join(f"- {p}" for p in problems))


def check_world(scenario: Scenario, world: WorldFactory | None = None, *, scale: float = 1.0) -> None:
    """Raise `ContractError` listing every broken promise of the scenario's world (`world`, or the one
    registered for its domain). Give a small scenario: it runs twice, whole."""
    problems: list[str] = []
    first, batches = _run(scenario, world, scale)
    try:
        w = first.world
        missing = [m for m in MEMBERS if not hasattr(w, m)]
        if missing:
            raise ContractError(scenario.name, [f"missing members of World: {', '.join(missing)}"])
        if not isinstance(w, World):
            problems.append("not a sim.engine.world.World")
        problems += _check_batches(w, batches, scenario.horizon.steps)
        second, again = _run(scenario, world, scale)
        try:
            if [b.serialize().to_pybytes() for b in batches] != [b.serialize().to_pybytes() for b in again]:
                problems.append(
                    "the same scenario and seed gave different batches (draw only from `streams`)"
                )
        finally:
            second.release()
        problems += _check_kpis(w, scale)
        problems += _check_statistics(w, scale)
        problems += _check_tables(w, scenario)
        problems += _check_capabilities(w, scenario.horizon.steps)
    finally:
        first.release()
    try:
        first.world.close()  # a second close must be harmless
    except Exception as exc:  # any failure is the finding
        problems.append(f"close() failed when called again: {exc!r}")
    if problems:
        raise ContractError(scenario.name, problems)


def _run(scenario: Scenario, world: WorldFactory | None, scale: float) -> tuple[SimModel, list]:
    model = SimModel(scenario, world, scale=scale)
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    return model, batches


def _check_batches(world, batches: list, steps: int) -> list[str]:
    problems = []
    if not isinstance(world.schema, pa.Schema):
        return ["`schema` is not a pyarrow.Schema"]
    if len(batches) != steps:
        problems.append(f"{len(batches)} batches for {steps} steps")
    for k, batch in enumerate(batches):
        if not isinstance(batch, pa.RecordBatch):
            problems.append(f"step {k} returned {type(batch).__name__}, not a pyarrow.RecordBatch")
            break
        if not batch.schema.equals(world.schema):
            problems.append(f"step {k}'s batch has columns {batch.schema.names} of other types than `schema`")
            break
    return problems


def _check_kpis(world, scale: float) -> list[str]:
    kpis = world.kpis(scale)
    if not isinstance(kpis, dict):
        return [f"kpis() returned {type(kpis).__name__}, not a dict"]
    try:
        json.dumps(kpis, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [f"kpis() is not plain JSON with finite numbers: {exc}"]
    return []


def _check_statistics(world, scale: float) -> list[str]:
    problems = []
    names = world.statistic_names()
    if not isinstance(names, list) or not all(isinstance(n, str) and not n.startswith("kpi.") for n in names):
        return ["statistic_names() must be a list of names (kpi.* is the calibrator's own)"]
    for name in names:
        value = world.statistic(name, scale)
        if isinstance(value, np.ndarray):
            if value.dtype.kind != "f" or value.ndim != 1:
                problems.append(f"statistic {name!r} is not a 1-d float series")
        elif not isinstance(value, float):
            problems.append(f"statistic {name!r} is {type(value).__name__}, not a float or a series")
    return problems


def _check_tables(world, scenario: Scenario) -> list[str]:
    problems = []
    offered = set(_table_names(scenario))
    for name, make in world.tables().items():
        if name not in offered:
            problems.append(f"end-of-run table {name!r} is not one the scenario's outputs can name")
        if not isinstance(make(), pa.RecordBatchReader):
            problems.append(f"tables()[{name!r}]() did not return a pyarrow.RecordBatchReader")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            written = world.report(Path(tmp), world.kpis(1.0))
        except Exception as exc:  # any failure is the finding
            return [*problems, f"report() failed on the world's own kpis(): {exc!r}"]
        if not isinstance(written, dict):
            return [*problems, "report() must return {manifest name: relative path}"]
        for name, relative in written.items():
            if not (Path(tmp) / relative).is_file():
                problems.append(f"report() lists {name!r} at {relative!r}, which it did not write")
    return problems


def _table_names(scenario: Scenario) -> list[str]:
    annotation = type(scenario.outputs).model_fields["tables"].annotation
    return list(typing.get_args(typing.get_args(annotation)[0]))


def _check_capabilities(world, steps: int) -> list[str]:
    problems = []
    if isinstance(world, LogsFlows):
        for row in world.logged_flows():
            if not all(field in row for field in FLOW_FIELDS):
                problems.append(f"a logged flow lacks some of {FLOW_FIELDS}: {row}")
                break
    if isinstance(world, ServiceLevels):
        level = np.asarray(world.service_level())
        if level.shape != (steps,) or not np.all((level >= 0) & (level <= 1)):
            problems.append("service_level() must give one share in [0, 1] per step")
    if isinstance(world, EventHook) and not callable(world.on_event):
        problems.append("on_event is not callable")
    return problems
