"""The statistics of a finished run that targets are compared with, by name.

Each world names and computes its own (`World.statistic_names`, `World.statistic`: payments' hourly
counts and amounts per type, supply's weekly series per node); any domain also has `kpi.<dotted name>`, a
number from the run's kpis.json (`kpi.team_cost`, `kpi.total.fill_rate`).
"""

from __future__ import annotations

import numpy as np

from sim.kpis import flatten


class UnknownStatistic(KeyError):
    """A target names a statistic this run does not have; `known` lists what it has."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name, self.known = name, known


def names(world) -> list[str]:
    """Every statistic `moment` can compute for this world (kpi.* aside)."""
    return world.statistic_names()


def moments(world, scale: float, wanted: list[str]) -> dict[str, float | np.ndarray]:
    """The `wanted` statistics of a finished run; raises UnknownStatistic for a name it cannot compute."""
    out: dict[str, float | np.ndarray] = {}
    kpis = None
    known = set(world.statistic_names())
    for name in wanted:
        if name.startswith("kpi."):
            if kpis is None:
                kpis = flatten(world.kpis(scale))
            if name[4:] not in kpis:
                raise UnknownStatistic(name, sorted(f"kpi.{k}" for k in kpis))
            out[name] = kpis[name[4:]]
        elif name in known:
            out[name] = world.statistic(name, scale)
        else:
            raise UnknownStatistic(name, names(world))
    return out
