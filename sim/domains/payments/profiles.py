"""Defaults derived from PaySim's real aggregates (see the data/*.csv headers and tools/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from sim.dists import LogNormal
from sim.scenario.schema import TX_TYPES


def _read(name: str) -> pd.DataFrame:
    with files("sim.domains.payments").joinpath("data", name).open() as fh:
        return pd.read_csv(fh, comment="#")


@cache
def type_profile() -> pd.DataFrame:
    """Share, mean and standard deviation of the amount for each PaySim transaction type."""
    return _read("paysim_types.csv").set_index("type").loc[list(TX_TYPES)]


@cache
def hour_shares() -> np.ndarray:
    """Share of a day's transactions in each hour of the day (sums to 1)."""
    shares = _read("paysim_hours.csv").sort_values("hour")["share"].to_numpy(dtype=np.float64)
    return shares / shares.sum()


def default_type_mix() -> dict[str, float]:
    return type_profile()["share"].to_dict()


def default_amount(tx_type: str) -> LogNormal:
    row = type_profile().loc[tx_type]
    return LogNormal(mean=float(row["mean_amount"]), std=float(row["std_amount"]))


def day_share_per_step(start: datetime, step: timedelta, steps: int, rhythm: str) -> np.ndarray:
    """Expected share of one day's activity that falls in each step, integrating the hourly rhythm.

    A step of one hour at 19:00 gets that hour's share; a one-day step gets 1; a 30-minute step half
    its hour's share. With the flat rhythm this is simply the step length in days.
    """
    weights = hour_shares() if rhythm == "paysim" else np.full(24, 1 / 24)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    hours_from_midnight = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)) / timedelta(
        hours=1
    )
    edges = hours_from_midnight + np.arange(steps + 1) * (step / timedelta(hours=1))

    def integral(h: np.ndarray) -> np.ndarray:
        days, within = np.divmod(h, 24.0)
        hour = np.minimum(within.astype(np.int64), 23)
        return days + cumulative[hour] + (within - hour) * weights[hour]

    return np.diff(integral(edges))
