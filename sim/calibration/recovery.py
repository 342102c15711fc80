"""Identifiability: can the targets pin the parameters down at all?

`check_recovery` simulates the scenario at known parameters (with a seed the calibration does not use, so
the "real" data is another draw, as real data would be), replaces the targets' values by that run's
statistics, calibrates, and reports per parameter how far the estimate is from the truth. A parameter is
flagged as not identified, with the reason, when
- moving it by `step` (10 %) either way from the estimate changes the loss by less than one tolerance unit
  (the targets cannot tell those values apart: flat), or
- another candidate almost as good (within one unit) sits far from the estimate (more than a fifth of the
  search range away: multi-modal or a ridge).
"""

from __future__ import annotations

import copy

import numpy as np

from sim.calibration.calibrator import Calibrator
from sim.calibration.simulator import Simulator
from sim.calibration.targets import Statistic, TargetsFile, load_targets

UNIT = 1.0  # one tolerance unit of loss: a change the targets can see


def synthetic_targets(targets: TargetsFile, simulated: dict) -> TargetsFile:
    """The same statistics (names, tolerances, weights) with values from a simulated run."""
    statistics = []
    for s in targets:
        value = simulated[s.name]
        if s.is_series:
            value = [None if not np.isfinite(v) else float(v) for v in np.asarray(value)[: len(s.array)]]
        else:
            value = float(value)
        statistics.append(Statistic.model_validate({**s.model_dump(), "value": value}))
    made = copy.copy(targets)
    made.targets = targets.targets.model_copy(
        update={
            "statistics": statistics,
            "provenance": "simulated at known parameters (sim calibrate --check-recovery)",
        }
    )
    return made


def check_recovery(
    calibrator: Calibrator,
    scenario,
    targets,
    truth: dict | None = None,
    *,
    tolerance: float = 0.10,
    step: float = 0.10,
) -> dict:
    """Calibrate against a run at `truth` (default: the scenario's own values); returns the report and
    leaves the fitted calibrator in `calibrator`."""
    targets = targets if isinstance(targets, TargetsFile) else load_targets(targets)
    probe = Simulator(scenario, targets, scale=calibrator.scale, overrides=calibrator.overrides)
    truth = {
        p.name: p.clip(truth[p.name] if truth and p.name in truth else probe.base.parameters[p.name])
        for p in calibrator.space
    }
    hidden_seed = int(np.random.SeedSequence([probe.base.seed, 1]).generate_state(1, np.uint64)[0] >> 1)
    observed = probe.statistics(truth, hidden_seed)
    calibrator.fit(scenario, synthetic_targets(targets, observed))
    best, best_loss = calibrator.best_params_, calibrator.best_loss_
    history = calibrator.history_
    report = {}
    for p in calibrator.space:
        size = abs(truth[p.name]) if truth[p.name] != 0 else p.high - p.low
        error = abs(best[p.name] - truth[p.name]) / size
        delta = step * (abs(best[p.name]) if best[p.name] != 0 else p.high - p.low)
        rises = []
        for value in (best[p.name] - delta, best[p.name] + delta):
            if p.low <= value <= p.high:
                rises.append(calibrator.simulator_({**best, p.name: p.clip(value)}).loss - best_loss)
        near = history[
            (history["loss"] <= best_loss + UNIT)
            & ((history[p.name] - best[p.name]).abs() > 0.2 * (p.high - p.low))
        ]
        reason = None
        if rises and min(rises) < UNIT:
            reason = (
                f"flat: moving it {step:.0%} from the estimate changes the loss by {min(rises):.3g}, less "
                f"than one tolerance unit"
            )
        elif len(near):
            other = near.sort_values("loss").iloc[0]
            reason = (
                f"multi-modal: an almost equal fit (loss {other['loss']:.4g} vs {best_loss:.4g}) at "
                f"{p.name}={other[p.name]:.4g}"
            )
        report[p.name] = {
            "truth": truth[p.name],
            "estimate": best[p.name],
            "relative_error": float(error),
            "recovered": bool(error <= tolerance),
            "identified": reason is None,
            "reason": reason,
            "loss_rise_at_10pct": [float(r) for r in rises],
        }
    return {
        "truth": truth,
        "hidden_seed": hidden_seed,
        "tolerance": tolerance,
        "parameters": report,
        "all_recovered": all(r["recovered"] for r in report.values()),
    }
