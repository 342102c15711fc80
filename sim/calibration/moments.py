"""The statistics of a finished run that targets are compared with, by name.

Each world names and computes its own (`World.statistic_names`, `World.statistic`: payments' hourly
counts and amounts per type, supply's weekly series per node); any domain also has `kpi.<dotted name>`, a
number from the run's kpis.json (`kpi.team_cost`, `kpi.total.fill_rate`).
"""

from __future__ import annotations

import numpy as np

from sim.kpis import flatten


class UnknownStatistic(KeyError):
    """Targets name statistics this run does not have: `missing` holds each name with what the run has
    in its place (its statistics, or its KPIs for a `kpi.` name), every one of them at once."""

    def __init__(self, missing: list[tuple[str, list[str]]]):
        super().__init__(", ".join(name for name, _ in missing))
        self.missing = missing


def names(world) -> list[str]:
    """Every statistic `moment` can compute for this world (kpi.* aside)."""
    return world.statistic_names()


def check_names(world, wanted: list[str]) -> None:
    """Before a run: every wanted statistic but the KPIs (known only once it ends) is one the world has."""
    known = set(world.statistic_names())
    missing = [(name, names(world)) for name in wanted if not name.startswith("kpi.") and name not in known]
    if missing:
        raise UnknownStatistic(missing)


def moments(world, scale: float, wanted: list[str]) -> dict[str, float | np.ndarray]:
    """The `wanted` statistics of a finished run; raises UnknownStatistic naming every one it cannot
    compute."""
    check_names(world, wanted)
    out: dict[str, float | np.ndarray] = {}
    kpis = None
    missing = []
    for name in wanted:
        if name.startswith("kpi."):
            if kpis is None:
                kpis = flatten(world.kpis(scale))
            if name[4:] not in kpis:
                missing.append((name, sorted(f"kpi.{k}" for k in kpis)))
            else:
                out[name] = kpis[name[4:]]
        else:
            out[name] = world.statistic(name, scale)
    if missing:
        raise UnknownStatistic(missing)
    return out
