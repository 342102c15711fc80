"""Identifiability: can the targets pin the parameters down at all?

`check_recovery` simulates the scenario at known parameters (with a seed the calibration does not use, so
the "real" data is another draw, as real data would be), replaces the targets' values by that run's
statistics, calibrates, and reports per parameter how far the estimate is from the truth. The truth is
drawn (seeded, `AWAY` from the bounds and from the search's start, the scenario's own values) unless
given: from the start, which the search tries first, the check could not fail. A parameter is flagged,
with the reason, when
- moving it by `step` (10 %) from the estimate lowers the loss (the search has not converged: a larger
  budget, not the targets, is what is missing),
- moving it by `step` either way changes the loss by less than one tolerance unit (the targets cannot
  tell those values apart: flat, not identified), or
- another candidate almost as good (within one unit) sits far from the estimate (more than a fifth of the
  search range away: multi-modal or a ridge).
"""

from __future__ import annotations

import copy

import numpy as np

from sim.calibration.calibrator import Calibrator
from sim.calibration.simulator import Simulator
from sim.calibration.targets import Statistic, TargetsFile, load_targets
from sim.rng import Streams

UNIT = 1.0  # one tolerance unit of loss: a change the targets can see
AWAY = 0.15  # a drawn truth is this share of the range away from either bound and from the start


def draw_truth(space, start: dict, seed: int, given: dict | None = None) -> dict:
    """Each parameter's given value, or one drawn uniformly from the points of its range at least `AWAY`
    of the range from both bounds and from its start value."""
    rng = Streams(seed).generator("calibration.truth")
    truth = {}
    for p in space:
        width = p.high - p.low
        if given and p.name in given:
            truth[p.name] = p.clip(given[p.name])
            continue
        lo, hi, skip = p.low + AWAY * width, p.high - AWAY * width, AWAY * width
        gap_lo, gap_hi = max(lo, start[p.name] - skip), min(hi, start[p.name] + skip)
        removed = max(gap_hi - gap_lo, 0.0)
        u = lo + rng.random() * (hi - lo - removed)  # then step over the gap around the start
        truth[p.name] = p.clip(u + removed if removed and u >= gap_lo else u)
    return truth


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
    """Calibrate against a run at `truth` (the parameters it does not give drawn by `draw_truth`); returns
    the report and leaves the fitted calibrator in `calibrator`."""
    targets = targets if isinstance(targets, TargetsFile) else load_targets(targets)
    probe = Simulator(scenario, targets, scale=calibrator.scale, overrides=calibrator.overrides)
    start = {p.name: p.clip(probe.base.parameters[p.name]) for p in calibrator.space}
    seed = probe.base.seed if calibrator.random_state is None else calibrator.random_state
    given = sorted(truth or {})
    truth = draw_truth(calibrator.space, start, seed, truth)
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
        reason, converged = None, not rises or min(rises) >= 0
        if not converged:
            reason = (
                f"not converged: moving it {step:.0%} from the estimate lowers the loss by {-min(rises):.3g} "
                f"(a larger budget may find a better fit)"
            )
        elif rises and min(rises) < UNIT:
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
            "truth_given": p.name in given,
            "start": start[p.name],
            "estimate": best[p.name],
            "relative_error": float(error),
            "recovered": bool(error <= tolerance),
            "identified": reason is None,
            "converged": converged,
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
