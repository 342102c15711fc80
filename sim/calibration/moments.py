"""The statistics of a finished run that targets are compared with, by name.

Each world names and computes its own (`World.statistic_names`, `World.statistic`: payments' hourly
counts and amounts per type, supply's weekly series per node); any domain also has `kpi.<dotted name>`, a
number from the run's kpis.json (`kpi.team_cost`, `kpi.total.fill_rate`), and `detector.<metric>.<label>`
for each boolean label of its table: how well a detector trained on half the run's rows finds the label in
the other half (`sim.evaluation.difficulty`: `pr_auc` or `roc_auc`), so data can be made as hard as a real
problem.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sim.kpis import flatten

DETECTOR = "detector."
DETECTOR_METRICS = ("pr_auc", "roc_auc")


class UnknownStatistic(KeyError):
    """Targets name statistics this run does not have: `missing` holds each name with what the run has
    in its place (its statistics, or its KPIs for a `kpi.` name), every one of them at once."""

    def __init__(self, missing: list[tuple[str, list[str]]]):
        super().__init__(", ".join(name for name, _ in missing))
        self.missing = missing


def names(world) -> list[str]:
    """Every statistic `moment` can compute for this world (kpi.* aside)."""
    return world.statistic_names() + detector_names(world)


def detector_names(world) -> list[str]:
    """`detector.<metric>.<label>` for each boolean label column of the world's table."""
    labels = [f.name for f in world.schema if pa.types.is_boolean(f.type) and f.name.startswith("is_")]
    return [f"{DETECTOR}{metric}.{label}" for label in labels for metric in DETECTOR_METRICS]


def needs_table(wanted: list[str]) -> bool:
    """Whether the run's rows must be kept for these statistics (a detector learns from them)."""
    return any(name.startswith(DETECTOR) for name in wanted)


def check_names(world, wanted: list[str]) -> None:
    """Before a run: every wanted statistic but the KPIs (known only once it ends) is one the world has."""
    known = set(names(world))
    missing = [(name, names(world)) for name in wanted if not name.startswith("kpi.") and name not in known]
    if missing:
        raise UnknownStatistic(missing)


def moments(world, scale: float, wanted: list[str], table: pa.Table | None = None,
            seed: int = 0) -> dict[str, float | np.ndarray]:  # fmt: skip
    """The `wanted` statistics of a finished run (`table`: its rows, for detector statistics; `seed`: the
    detector's); raises UnknownStatistic naming every one it cannot compute."""
    check_names(world, wanted)
    out: dict[str, float | np.ndarray] = {}
    kpis = None
    missing = []
    detected: dict[str, dict[str, float]] = {}  # per label: one detector gives both metrics
    frame = None  # the rows as a data frame, made once for every detector target
    for name in wanted:
        if name.startswith(DETECTOR):
            from sim.evaluation.difficulty import detector_scores  # scikit-learn: only when asked

            metric, _, label = name.removeprefix(DETECTOR).partition(".")
            if label not in detected:
                frame = table.to_pandas() if frame is None else frame
                detected[label] = detector_scores(frame, label, seed % 2**32)
            out[name] = detected[label][metric]
        elif name.startswith("kpi."):
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
