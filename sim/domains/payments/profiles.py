"""Defaults derived from real data (PaySim's aggregated month, census tables); see data/*.csv and tools/."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

import numpy as np
import pyarrow.csv as pacsv

from sim.dists import LogNormal
from sim.domains.payments.customers import TX_TYPES, Rhythm

MONTH_HOURS = 720  # PaySim's real month: 30 days of hourly aggregates, step = day * 24 + hour
MONTH_DAYS = MONTH_HOURS / 24
# PaySim 2.0 paramFiles/overdraftLimits.csv: limit by the client's expected mean transaction amount
OVERDRAFT_BANDS = np.array([0.0, 50_000.0, 100_000.0, 200_000.0])
OVERDRAFT_LIMITS = np.array([0.0, 25_000.0, 75_000.0, 150_000.0, 200_000.0])


def read_table(name: str) -> dict[str, np.ndarray]:
    """A reference table of `data/` (CSV, `#` comment lines) as its columns by name; a missing number is
    NaN. Read with pyarrow, which a run has loaded already (pandas would cost every run its import)."""
    raw = files("sim.domains.payments").joinpath("data", name).read_bytes()
    text = b"".join(line for line in raw.splitlines(keepends=True) if not line.lstrip().startswith(b"#"))
    table = pacsv.read_csv(io.BytesIO(text))
    return {column: table.column(column).to_numpy(zero_copy_only=False) for column in table.column_names}


@cache
def type_profile() -> dict[str, np.ndarray]:
    """Count, share, mean and standard deviation of the amount of each PaySim transaction type, in
    `TX_TYPES` order."""
    table = read_table("paysim_types.csv")
    order = [list(table["type"]).index(t) for t in TX_TYPES]
    return {column: values[order] for column, values in table.items()}


@cache
def hour_shares() -> np.ndarray:
    """Share of a day's transactions in each hour of the day (sums to 1)."""
    table = read_table("paysim_hours.csv")
    shares = table["share"][np.argsort(table["hour"], kind="stable")].astype(np.float64)
    return shares / shares.sum()


@cache
def month_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share, mean, std) of the real month hour by hour, as [720 hours, 5 types] arrays; absent hours
    have share 0."""
    table = read_table("paysim_month.csv")
    share = np.zeros((MONTH_HOURS, len(TX_TYPES)))
    mean = np.ones_like(share)
    std = np.ones_like(share)
    col = np.array([TX_TYPES.index(t) for t in table["type"]])
    row = table["step"]
    share[row, col] = table["share"]
    mean[row, col] = table["mean_amount"]
    std[row, col] = np.maximum(np.nan_to_num(table["std_amount"], nan=0.0), 1e-6 * table["mean_amount"])
    for values in (share, mean, std):
        values.flags.writeable = False  # cached: shared by every caller
    return share, mean, std


def default_type_mix() -> dict[str, float]:
    return dict(zip(TX_TYPES, type_profile()["share"].tolist(), strict=True))


def default_amount(tx_type: str) -> LogNormal:
    profile, at = type_profile(), TX_TYPES.index(tx_type)
    return LogNormal(mean=float(profile["mean_amount"][at]), std=float(profile["std_amount"][at]))


def paysim_overdraft(expected_amount: np.ndarray) -> np.ndarray:
    """PaySim's overdraft rule: the limit grows with the client's expected mean transaction amount."""
    return OVERDRAFT_LIMITS[np.searchsorted(OVERDRAFT_BANDS, expected_amount, side="right")]


def day_share_per_step(start: datetime, step: timedelta, steps: int, rhythm: Rhythm) -> np.ndarray:
    """Expected share of one day's activity (in days) that falls in each step, integrating the rhythm.

    A step of one hour at 19:00 gets that hour's share; a one-day step gets about 1 (more on busy
    weekdays); a 30-minute step half its hour's share. With the month profile, step k is the real
    month's hour (hour of start + k) mod 720, scaled so the month averages one day per day.
    """
    hours_from_midnight = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)) / timedelta(
        hours=1
    )
    if rhythm.month:
        share = month_arrays()[0].sum(axis=1) * MONTH_DAYS
        return share[(int(hours_from_midnight) + np.arange(steps)) % MONTH_HOURS]
    if isinstance(rhythm.hours, str):
        hours = hour_shares() if rhythm.hours == "paysim" else np.full(24, 1 / 24)
    else:
        hours = np.asarray(rhythm.hours, dtype=np.float64)
    days = np.ones(7) if rhythm.weekdays == "flat" else np.asarray(rhythm.weekdays, dtype=np.float64)
    weekly = np.outer(days / days.mean(), hours / hours.sum()).ravel()  # 168 hours from Monday 00:00
    cumulative = np.concatenate([[0.0], np.cumsum(weekly)])
    edges = start.weekday() * 24 + hours_from_midnight + np.arange(steps + 1) * (step / timedelta(hours=1))

    def integral(h: np.ndarray) -> np.ndarray:
        weeks, within = np.divmod(h, 168.0)
        hour = np.minimum(within.astype(np.int64), 167)
        return weeks * 7 + cumulative[hour] + (within - hour) * weekly[hour]

    return np.diff(integral(edges))


@cache
def census_age_gender() -> dict[str, np.ndarray]:
    return read_table("census_age_gender.csv")


@cache
def census_states() -> dict[str, np.ndarray]:
    return read_table("census_states.csv")
