"""The statistics of a finished run that targets are compared with, by name.

Payments (hour by hour from the start, per type T of CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER; counts
and volumes are divided by the run's scale, so a 1 % run is compared with the real month):
`volume`, `type_share.T`, `mean_amount.T`, `hourly_count.T`, `hourly_mean_amount.T`, `hourly_std_amount.T`.
Supply (per node N, products summed, week by week): `orders.N`, `incoming.N`, `shipped.N`, `received.N`,
`inventory.N`, `backlog.N`, `cost.N`.
Any domain: `kpi.<dotted name>`, a number from the run's kpis.json (`kpi.team_cost`, `kpi.total.fill_rate`).
"""

from __future__ import annotations

import numpy as np

from sim.scenario.payments import TX_TYPES
from sim.stress import flatten

PAYMENT_SERIES = ("hourly_count", "hourly_mean_amount", "hourly_std_amount")
PAYMENT_NUMBERS = ("type_share", "mean_amount")
SUPPLY_SERIES = ("orders", "incoming", "shipped", "received", "inventory", "backlog", "cost")


class UnknownStatistic(KeyError):
    """A target names a statistic this run does not have; `known` lists what it has."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name, self.known = name, known


def names(world) -> list[str]:
    """Every statistic `moment` can compute for this world (kpi.* aside)."""
    if hasattr(world, "tally"):
        typed = [f"{f}.{t}" for f in (*PAYMENT_SERIES, *PAYMENT_NUMBERS) for t in TX_TYPES]
        return ["volume", *typed]
    return [f"{f}.{n}" for f in SUPPLY_SERIES for n in world.names]


def moments(world, scale: float, wanted: list[str]) -> dict[str, float | np.ndarray]:
    """The `wanted` statistics of a finished run; raises UnknownStatistic for a name it cannot compute."""
    out: dict[str, float | np.ndarray] = {}
    kpis = None
    for name in wanted:
        if name.startswith("kpi."):
            if kpis is None:
                kpis = flatten(world.kpis(scale))
            if name[4:] not in kpis:
                raise UnknownStatistic(name, sorted(f"kpi.{k}" for k in kpis))
            out[name] = kpis[name[4:]]
        elif hasattr(world, "tally"):
            out[name] = _payments(world.tally, scale, name, world)
        else:
            out[name] = _supply(world, name)
    return out


def _payments(tally, scale: float, name: str, world) -> float | np.ndarray:
    family, _, kind = name.partition(".")
    count, total, square = tally.count, tally.total, tally.square
    if name == "volume":
        return float(count.sum()) / scale
    if kind not in TX_TYPES or family not in (*PAYMENT_SERIES, *PAYMENT_NUMBERS):
        raise UnknownStatistic(name, names(world))
    t = TX_TYPES.index(kind)
    n, s, q = count[:, t], total[:, t], square[:, t]
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "type_share":
            return float(n.sum() / count.sum()) if count.sum() else np.nan
        if family == "mean_amount":
            return float(s.sum() / n.sum()) if n.sum() else np.nan
        if family == "hourly_count":
            return n / scale
        mean = np.where(n > 0, s / n, np.nan)
        if family == "hourly_mean_amount":
            return mean
        var = np.where(n > 1, (q - n * np.nan_to_num(mean) ** 2) / (n - 1), np.nan)
        return np.sqrt(np.clip(var, 0, None))


def _supply(world, name: str) -> np.ndarray:
    family, _, node = name.partition(".")
    if family not in SUPPLY_SERIES or node not in world.index:
        raise UnknownStatistic(name, names(world))
    n_nodes = len(world.names)
    ks = [world.index[node] + p * n_nodes for p in range(len(world.product_names))]
    return getattr(world.run, family)[0][:, ks].sum(axis=1).astype(np.float64)
