"""Customer demand of a supply scenario: each stream's mean per step (the noise is drawn by the world)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from sim.domains.supply.scenario import PeriodicDemand, StepDemand


def expected_demand(
    spec: StepDemand | PeriodicDemand, start: datetime, step: timedelta, steps: int
) -> np.ndarray:
    """Periodic orders; or level (with its step change and trend) x weekday weight x yearly wave."""
    t = np.arange(steps)
    if isinstance(spec, PeriodicDemand):
        return np.where((t >= spec.first) & ((t - spec.first) % spec.every == 0), spec.quantity, 0.0)
    level = np.where(t < spec.at, spec.before, spec.after) * (1.0 + spec.trend) ** t
    when = [start + k * step for k in range(steps)]
    if spec.weekly is not None:
        weights = np.asarray(spec.weekly) / np.mean(spec.weekly)
        level = level * weights[[d.weekday() for d in when]]
    if spec.yearly_amplitude:
        day = np.array([d.timetuple().tm_yday for d in when])
        level = level * (1 + spec.yearly_amplitude * np.cos(2 * np.pi * (day - spec.yearly_peak) / 365.25))
    return level
