"""The method-of-simulated-moments objective: a weighted sum of squared distances, one per target.

A target's distance is its RMSE (over the series elements both sides have; for a number, the absolute error)
divided by its scale (`Statistic.scale`: the tolerance, or the range / size): so 1 means "off by exactly the
tolerance" and the loss is a diagonal-weighted MSM distance in tolerance units. PaySim's NRMSE (RMSE over
the range of the real series) is reported beside it for every target.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from sim.calibration.targets import Statistic, TargetsFile

UNMATCHED = 1e6  # the distance of a statistic the run could not produce at all (no transactions of a type)


def compare(statistic: Statistic, simulated: float | np.ndarray) -> dict:
    """Distance, NRMSE and whether it is within tolerance, for one target against one simulated value."""
    real = statistic.array
    sim = np.atleast_1d(np.asarray(simulated, dtype=np.float64))
    n = min(len(real), len(sim))
    both = ~np.isnan(real[:n]) & ~np.isnan(sim[:n])
    if not both.any():
        return {"name": statistic.name, "distance": UNMATCHED, "nrmse": None, "compared": 0, "met": False}
    error = float(np.sqrt(np.mean((sim[:n][both] - real[:n][both]) ** 2)))
    distance = error / statistic.scale
    spread = statistic.spread
    row = {
        "name": statistic.name,
        "distance": distance,
        "nrmse": error / spread if spread > 0 else None,
        "compared": int(both.sum()),
        "met": statistic.tolerance is None or distance <= 1.0,
    }
    if not statistic.is_series:
        row.update(real=float(real[0]), simulated=float(sim[0]))
    return row


def evaluate(targets: TargetsFile, simulated: dict[str, float | np.ndarray]) -> tuple[float, list[dict]]:
    """(loss, per-target rows) for one set of simulated statistics."""
    rows = [compare(s, simulated[s.name]) for s in targets]
    loss = sum(s.weight * r["distance"] ** 2 for s, r in zip(targets, rows, strict=True))
    return (loss if math.isfinite(loss) else UNMATCHED**2), rows


def average(replicates: list[dict[str, float | np.ndarray]]) -> dict[str, float | np.ndarray]:
    """The simulated statistics averaged over replicate runs (element by element; nan where none has one)."""
    out = {}
    for name in replicates[0]:
        values = [np.atleast_1d(np.asarray(r[name], dtype=np.float64)) for r in replicates]
        n = min(len(v) for v in values)
        stacked = np.array([v[:n] for v in values])
        with warnings.catch_warnings():  # an hour no replicate had a transaction in stays nan
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(stacked, axis=0)
        out[name] = mean if np.ndim(replicates[0][name]) else float(mean[0])
    return out


def run_spread(replicates: list[dict[str, float | np.ndarray]]) -> dict[str, float]:
    """Each single-number statistic's sd between replicate runs (ddof 1): how far one run's value strays
    from the mean the calibration fits, which a target's tolerance has to allow for."""
    if len(replicates) < 2:
        return {}
    out = {}
    for name, value in replicates[0].items():
        if np.ndim(value) == 0:
            values = np.array([float(r[name]) for r in replicates])
            values = values[~np.isnan(values)]
            if len(values) >= 2:
                out[name] = float(np.std(values, ddof=1))
    return out


def residuals(targets: TargetsFile, simulated: dict[str, float | np.ndarray]) -> np.ndarray:
    """The loss as a vector whose squares sum to (about) it: each element's error in tolerance units,
    times sqrt(weight / elements), so a least-squares solver can polish a fit. A series element the run
    has no value for is skipped (as `compare` skips it); a number it has none for counts as UNMATCHED."""
    parts = []
    for s in targets:
        real = s.array
        sim = np.full(len(real), np.nan)
        value = np.atleast_1d(np.asarray(simulated[s.name], dtype=np.float64))[: len(real)]
        sim[: len(value)] = value
        known = ~np.isnan(real)
        missing = 0.0 if s.is_series else UNMATCHED * s.scale
        error = np.where(np.isnan(sim[known]), missing, sim[known] - real[known])
        parts.append(error / s.scale * np.sqrt(s.weight / known.sum()))
    return np.concatenate(parts)
