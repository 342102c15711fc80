"""A payments run's statistics that calibration targets name, from its hourly tally (so a candidate run
writes nothing). Hour by hour from the start, per type T of CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER;
counts and volumes are divided by the run's scale, so a 1 % run is compared with the real month:
`volume`, `type_share.T`, `mean_amount.T`, `hourly_count.T`, `hourly_mean_amount.T`, `hourly_std_amount.T`.
"""

from __future__ import annotations

import numpy as np

from sim.domains.payments.customers import TX_TYPES
from sim.domains.payments.fit import HourlyTally

SERIES = ("hourly_count", "hourly_mean_amount", "hourly_std_amount")
NUMBERS = ("type_share", "mean_amount")
NAMES = ["volume", *(f"{family}.{t}" for family in (*SERIES, *NUMBERS) for t in TX_TYPES)]


def statistic(tally: HourlyTally, name: str, scale: float) -> float | np.ndarray:
    """One of `NAMES`."""
    count, total, square = tally.count, tally.total, tally.square
    if name == "volume":
        return float(count.sum()) / scale
    family, _, kind = name.partition(".")
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
