"""How close a run is to PaySim's real month: hourly count and mean amount per type, scored by PaySim's
NRMSE (RMSE divided by the range, max - min, of the real series).

The run is tallied hour by hour as it goes, every logged transaction (declined attempts too: a log's
volume, as PaySim's own output counts it), so no output has to be read back.
"""

from __future__ import annotations

import numpy as np

from sim.domains.payments import profiles
from sim.domains.payments.customers import TX_TYPES
from sim.domains.payments.sums import add_cents, add_squared_cents, as_float

HOUR_US = 3_600_000_000


class HourlyTally:
    """Logged transactions, their amounts and squared amounts per (hour since the start, type), summed
    exactly (in cents: `sim.domains.payments.sums`), so tallies of disjoint rows `merge` into the figures
    of all of them whatever the order."""

    def __init__(self, step_us: int):
        self.step_us = step_us
        self.hours = 0
        self._count = np.zeros((64, len(TX_TYPES)), dtype=np.int64)
        self._total = np.zeros((64, len(TX_TYPES)), dtype=np.int64)  # cents
        self._high = np.zeros((64, len(TX_TYPES)), dtype=np.uint64)  # squared cents, 128 bits: the spread
        self._low = np.zeros((64, len(TX_TYPES)), dtype=np.uint64)

    @property
    def count(self) -> np.ndarray:
        return self._count[: self.hours].astype(np.float64)

    @property
    def total(self) -> np.ndarray:
        return self._total[: self.hours] / 100.0

    @property
    def square(self) -> np.ndarray:
        return as_float(self._high[: self.hours], self._low[: self.hours]) / 1e4

    def _grow(self, hours: int) -> None:
        while hours > len(self._count):  # by doubling
            for name in ("_count", "_total", "_high", "_low"):
                values = getattr(self, name)
                setattr(self, name, np.vstack([values, np.zeros_like(values)]))

    def add(self, k: int, cols: dict[str, np.ndarray], out: np.ndarray) -> None:
        types = len(TX_TYPES)
        first, last = k * self.step_us // HOUR_US, ((k + 1) * self.step_us - 1) // HOUR_US
        if first == last:  # the whole step lies in one hour: no per-row hour needed
            cell = cols["kind"].astype(np.int64)
        else:
            us = k * self.step_us + (cols["offset"] * self.step_us).astype(np.int64)
            cell = (us // HOUR_US - first) * types + cols["kind"]
        self._grow(int(last) + 1)
        size = int(last - first + 1) * types
        self._count[first : last + 1] += np.bincount(cell, minlength=size).reshape(-1, types)
        flat = slice(int(first) * types, int(last + 1) * types)
        add_cents(cell, out[0], self._total.reshape(-1)[flat])
        add_squared_cents(cell, out[0], self._high.reshape(-1)[flat], self._low.reshape(-1)[flat])
        self.hours = max(self.hours, int(last) + 1)

    def merge(self, other: HourlyTally) -> None:
        """Add another tally's rows (another host's, in a sharded run)."""
        self._grow(other.hours)
        h = other.hours
        self._count[:h] += other._count[:h]
        self._total[:h] += other._total[:h]
        low = self._low[:h] + other._low[:h]  # wraps around 2**64: the carry goes to the high word
        self._high[:h] += other._high[:h] + (low < self._low[:h]).astype(np.uint64)
        self._low[:h] = low
        self.hours = max(self.hours, h)


def nrmse(simulated: np.ndarray, real: np.ndarray) -> float | None:
    spread = float(real.max() - real.min()) if len(real) else 0.0
    if spread <= 0:
        return None
    return float(np.sqrt(np.mean((simulated - real) ** 2)) / spread)


def fit_series(tally: HourlyTally, start_hour: int) -> dict[str, np.ndarray]:
    """Simulated and real hourly curves over the run's first (at most) 720 hours, aligned by hour of day.
    The real counts are scaled to the run's volume in the window (`real_volume` is the unscaled total)."""
    hours = min(len(tally.count), profiles.MONTH_HOURS)
    share, mean, _ = profiles.month_arrays()
    rows = (start_hour + np.arange(hours)) % profiles.MONTH_HOURS
    real_count = share[rows] * float(profiles.type_profile()["count"].sum())
    sim_count = tally.count[:hours]
    real_volume = float(real_count.sum())
    factor = sim_count.sum() / real_volume if real_volume > 0 else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        sim_mean = np.where(sim_count > 0, tally.total[:hours] / sim_count, np.nan)
    real_mean = np.where(real_count > 0, mean[rows], np.nan)
    return {
        "sim_count": sim_count,
        "real_count": real_count * factor,
        "sim_mean": sim_mean,
        "real_mean": real_mean,
        "real_volume": real_volume,
    }


def paysim_fit(tally: HourlyTally, start_hour: int, scale: float) -> dict:
    """NRMSE per type of the hourly count (shape and type mix: the real series is scaled to the run's
    volume) and of the hourly mean amount (hours where both have transactions); `volume_ratio` compares
    the volume itself with the real month's at the run's scale."""
    s = fit_series(tally, start_hour)
    volume = float(s["sim_count"].sum())
    out: dict = {
        "hours_compared": len(s["sim_count"]),
        "volume": volume,
        "real_volume": s["real_volume"],
        "volume_ratio": volume / (s["real_volume"] * scale) if s["real_volume"] > 0 else None,
        "nrmse_count": {},
        "nrmse_mean_amount": {},
    }
    for t, name in enumerate(TX_TYPES):
        out["nrmse_count"][name] = nrmse(s["sim_count"][:, t], s["real_count"][:, t])
        both = ~np.isnan(s["sim_mean"][:, t]) & ~np.isnan(s["real_mean"][:, t])
        out["nrmse_mean_amount"][name] = nrmse(s["sim_mean"][both, t], s["real_mean"][both, t])
    return out
