"""Validate-then-run fuzzing: mutants of every shipped scenario either fail validation with located errors,
or run to completion (a short horizon, payments at 1 % of their populations) with finite outputs, or are
refused by the run with a clear error. Anything else (a traceback, a non-finite figure) fails.

`python -m tests.fuzzing 10000` prints the counts for a closing note (the tests run the same mutants);
`--random` draws other mutants than CI's."""

from __future__ import annotations

import copy
import math
import re
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import runner
from sim.errors import InputError, ScenarioError, SimError
from sim.scenario import load_scenario
from tests.conftest import ROOT, paths_into

SCALE = 0.01  # of payments populations; supply quantities at 1 % too (they scale the same way)
SHORT = (24, 48, 96, 200)  # the shortest horizon (steps) at which a base still validates


def _shortened(path: Path) -> dict:
    """A shipped scenario with the shortest horizon from SHORT at which it still validates (its dated
    events must fall inside), so each run takes a fraction of a second."""
    data = yaml.safe_load(path.read_text())
    steps = data["horizon"]["steps"]
    with tempfile.TemporaryDirectory() as tmp:
        for cap in [c for c in SHORT if c < steps]:
            trial = copy.deepcopy(data)
            trial["horizon"]["steps"] = cap
            file = Path(tmp) / path.name
            file.write_text(yaml.safe_dump(trial))
            try:
                load_scenario(file)
            except ScenarioError:
                continue
            return trial
    return data


BASES = {
    p.relative_to(ROOT / "scenarios").as_posix(): _shortened(p)
    for p in sorted((ROOT / "scenarios").glob("*.yaml"))
    + sorted((ROOT / "scenarios" / "validation").glob("*.yaml"))
}


def _at(data, path):
    for step in path:
        data = data[step]
    return data


# numbers at and past every ceiling, signs, fractions and non-finite values
HOSTILE_NUMBERS = [0, -1, 1, 2, 0.5, -0.5, 1e-9, 1e-300, 1e15, 1e16, 1e300, 1e308, 2**63, 2**80,
                   math.inf, -math.inf, math.nan]  # fmt: skip
HOSTILE_DURATIONS = ["0s", "0.0000001s", "1s", "36500d", "99999999999d", "1e9h", "-1d", "3x"]
HOSTILE_DATES = ["0001-01-01T00:00:00", "9999-12-31T00:00:00", "2026-02-30T00:00:00", "9999-12-31"]
# a horizon's length is drawn from these only: a long horizon that validates runs for minutes
STEPS = [0, -1, 1, 2, 3, 1.5, 10_000_001, 2**63, 2**80, 1e300, "1", "x"]
_random = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@st.composite
def mutants(draw) -> str:
    """A shipped scenario with one to three changes: a number replaced by a hostile neighbour (scaled by
    10^k, or one of HOSTILE_NUMBERS; most mutants), a duration or a date by an extreme one, a key
    deleted, a list item repeated, or any node replaced by arbitrary data."""
    data = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["number"] * 6 + ["duration", "date", "delete", "repeat", "random"]))
        fits = {
            "number": lambda v: _is_number(v),
            "date": lambda v: isinstance(v, datetime) or (isinstance(v, str) and v[:2] in ("19", "20")),
            "duration": lambda v: isinstance(v, str) and re.fullmatch(r"\d+(\.\d+)?[smhdw]", v) is not None,
            "repeat": lambda v: isinstance(v, list) and bool(v),
        }.get(how, lambda v: True)
        paths = [p for p in paths_into(data) if fits(_at(data, p))]
        if how == "delete":
            paths = [p for p in paths if isinstance(_at(data, p[:-1]), dict)]
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent, key, value = _at(data, path[:-1]), path[-1], _at(data, path)
        if path[-2:] == ("horizon", "steps") and how != "delete":
            parent[key] = draw(st.sampled_from(STEPS))
        elif how == "number":
            scaled = st.integers(-15, 15).map(lambda k, v=value: v * 10.0**k)
            parent[key] = draw(st.sampled_from(HOSTILE_NUMBERS) | scaled)
        elif how == "duration":
            parent[key] = draw(st.sampled_from(HOSTILE_DURATIONS))
        elif how == "date":
            parent[key] = draw(st.sampled_from(HOSTILE_DATES))
        elif how == "delete":
            del parent[key]
        elif how == "repeat":
            value.append(copy.deepcopy(value[draw(st.integers(0, len(value) - 1))]))
        else:
            parent[key] = draw(_random)
    return yaml.safe_dump(data, allow_unicode=True)


def _finite_tables(run: Path) -> bool:
    """Every floating-point column of every table the run wrote holds finite numbers."""
    for table in run.glob("*.parquet"):
        for column in pq.read_table(table).itercolumns():
            if pa.types.is_floating(column.type) and pc.all(pc.is_finite(column)).as_py() is False:
                return False
    return True


def check(text: str, where: Path, counts: Counter, report: bool = False) -> None:
    """One mutant: validated, then run. Counts what happened; an assertion or the exception itself
    fails the caller. `report` draws the report's figures too (a second each, so only some mutants)."""
    file = where / "mutant.yaml"
    file.write_text(text)
    counts["mutants"] += 1
    try:
        scenario = load_scenario(file)
    except ScenarioError as exc:
        assert exc.problems and all(p.file == str(file) and p.line >= 1 for p in exc.problems), str(exc)
        counts["located errors"] += 1
        return
    counts["validated"] += 1
    out = where / f"run{counts['mutants']}"
    original = runner._kpis_and_report

    def without_figures(path, world, scale):
        world.report = lambda path, kpis: {}
        return original(path, world, scale)

    try:
        with mock.patch.object(runner, "_kpis_and_report", original if report else without_figures):
            run = runner.run_scenario(scenario, out, scale=SCALE)
    except (InputError, SimError) as exc:  # refused by the run with a message, nothing left behind
        assert str(exc) and not out.exists()
        counts["refused at run time"] += 1
        return
    assert _finite_tables(run), f"non-finite values in the tables of {run}"
    counts["ran"] += 1


def fuzz(examples: int, counts: Counter, derandomize: bool = True) -> None:
    """Run `examples` mutants through `check` (deterministic by default, as in CI)."""

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(text=mutants(), report=st.integers(0, 19).map(lambda n: n == 0))
    def one(text, report):
        with tempfile.TemporaryDirectory() as tmp:
            check(text, Path(tmp), counts, report)

    one()


if __name__ == "__main__":
    counts: Counter = Counter()
    try:
        fuzz(int(sys.argv[1]) if len(sys.argv) > 1 else 300, counts, derandomize="--random" not in sys.argv)
    finally:
        shown = ("mutants", "validated", "ran", "refused at run time", "located errors")
        print(", ".join(f"{key}: {counts[key]}" for key in shown))
