"""`Calibrator`: fit a scenario's parameters to target statistics, scikit-learn style.

    cal = Calibrator({"transactions_per_day": (0.2, 0.8)}, budget=60, random_state=7).fit(path, targets)
    cal.best_params_, cal.best_loss_, cal.history_, cal.posterior_, cal.intervals_, cal.fit_, cal.at_bounds_

Every candidate is scored by the method of simulated moments (`objective`); the runs use common random
numbers. With a `journal` path each scored candidate is appended to that file as it finishes, and a fit
started again with the same journal replays those scores instead of running them again: the back-ends
propose the same candidates from the same scores, so an interrupted calibration resumes to the same result.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.backends import BACKENDS, SAMPLERS, BudgetSpent, polish
from sim.calibration.simulator import Evaluation, Parameter, Simulator
from sim.calibration.targets import TargetsFile, load_targets
from sim.errors import InputError
from sim.journal import Journal

Progress = Callable[[int, int, float], None]


def as_space(space: Mapping[str, tuple[float, float]] | Sequence[Parameter]) -> list[Parameter]:
    if isinstance(space, Mapping):
        return [
            p if isinstance(p, Parameter) else Parameter(n, float(p[0]), float(p[1]))
            for n, p in space.items()
        ]
    return list(space)


def _key(params: dict) -> str:
    return json.dumps({k: params[k] for k in sorted(params)})


class Calibrator:
    def __init__(
        self,
        space: Mapping[str, tuple[float, float]] | Sequence[Parameter],
        backend: str = "optuna",
        budget: int = 100,
        random_state: int | None = None,
        *,
        sampler: str = "tpe",
        replicates: int = 1,
        scale: float = 1.0,
        overrides: Sequence[str] = (),
        polish_share: float = 0.3,
        journal: str | Path | None = None,
        progress: Progress | None = None,
        batch: int = 1,
        executor=None,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}")
        if budget < 1:
            raise ValueError("budget must be at least 1")
        self.space = as_space(space)
        self.backend, self.budget, self.random_state, self.sampler = backend, budget, random_state, sampler
        self.replicates, self.scale, self.overrides = replicates, scale, list(overrides)
        self.journal, self.progress = journal, progress
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.batch, self.executor = batch, executor  # candidates proposed together; where runs run
        if not 0 <= polish_share < 1:
            raise ValueError("polish_share must be in [0, 1)")
        self.polish_share = polish_share if backend == "optuna" else 0.0  # a posterior is left as drawn

    def fit(self, scenario: str | Path, targets: str | Path | TargetsFile) -> Calibrator:
        if self.backend == "abc" and importlib.util.find_spec("pyabc") is None:
            raise InputError('the abc back-end needs pyabc: pip install -e ".[abc]"')
        targets = targets if isinstance(targets, TargetsFile) else load_targets(targets)
        simulator = Simulator(
            scenario,
            targets,
            scale=self.scale,
            replicates=self.replicates,
            seed=self.random_state,
            overrides=self.overrides,
        )
        seed = simulator.base.seed if self.random_state is None else self.random_state
        start = {p.name: p.clip(simulator.base.parameters[p.name]) for p in self.space}
        identity = {
            "scenario": hashlib.sha256(Path(scenario).read_bytes()).hexdigest(),
            "targets": hashlib.sha256(json.dumps([t.model_dump() for t in targets]).encode()).hexdigest(),
            "space": [vars(p) for p in self.space],
            "backend": self.backend,
            "sampler": self.sampler,
            "polish_share": self.polish_share,
            "budget": self.budget,
            "seed": seed,
            "replicates": self.replicates,
            "scale": self.scale,
            "overrides": self.overrides,
            **({"batch": self.batch} if self.batch > 1 else {}),
        }
        journal = None
        if self.journal is not None:
            journal = Journal(Path(self.journal), identity, key=lambda e: e["key"])
        done: dict[str, dict] = dict(journal.done) if journal else {}
        self.resumed_ = len(done)
        evaluations: list[dict] = []
        started = time.perf_counter()
        vectors: dict[str, np.ndarray] = {}  # residuals of the candidates run here, for the polish
        kept: dict[str, Evaluation] = {}  # "start" and "best": whole results, not run twice
        start_key = _key(start)
        limit = [self.budget - int(self.polish_share * self.budget)]
        prefetched: dict[str, Evaluation] = {}

        def prefetch(candidates: list[dict]) -> None:
            """Run a batch's candidates together (on the executor's workers), before they are scored."""
            fresh = {_key(p): p for p in candidates if _key(p) not in done}
            for ev in simulator.evaluate_many(list(fresh.values()), self.executor):
                prefetched[_key(ev.params)] = ev

        def score(params: dict, vector: bool = False) -> tuple[dict, np.ndarray | None]:
            if len(evaluations) >= limit[0]:
                raise BudgetSpent
            key = _key(params)
            entry = done.get(key)
            if entry is None or (vector and key not in vectors):
                ev = prefetched.pop(key, None) or simulator.evaluate_many([params], self.executor)[0]
                vectors[key] = ev.residuals
                if entry is None:
                    entry = {"key": key, "params": params, "loss": ev.loss, "seconds": round(ev.seconds, 3)}
                    done[key] = entry
                    if journal:
                        journal.add(entry)
                if key == start_key:
                    kept["start"] = ev
                if "best" not in kept or ev.loss < kept["best"].loss:
                    kept["best"] = ev
            evaluations.append(entry)
            if self.progress:
                self.progress(len(evaluations), self.budget, min(e["loss"] for e in evaluations))
            return entry, vectors.get(key)

        search = BACKENDS[self.backend]
        kwargs = (
            {"sampler": self.sampler, "batch": self.batch, "prefetch": prefetch}
            if self.backend == "optuna"
            else {}
        )
        try:
            try:
                posterior = search(lambda p: score(p)[0]["loss"], self.space, limit[0], seed, start, **kwargs)
            except BudgetSpent:
                posterior = None
            limit[0] = self.budget
            if self.polish_share > 0 and evaluations and len(evaluations) < self.budget:
                leader = min(evaluations, key=lambda e: e["loss"])["params"]
                polish(lambda p: score(p, vector=True)[1], self.space, leader)
        finally:
            if journal:
                journal.close(remove=False)
        if not evaluations:
            raise RuntimeError("the back-end evaluated no candidate")
        self.history_ = pd.DataFrame(
            [
                {"trial": i, **e["params"], "loss": e["loss"], "seconds": e["seconds"]}
                for i, e in enumerate(evaluations)
            ]
        )
        chosen = evaluations[int(np.argmin([e["loss"] for e in evaluations]))]
        self.best_params_ = dict(chosen["params"])
        self.best_loss_ = float(chosen["loss"])
        best = kept.get("best")  # after a resume the best may be a replayed score: run it again
        final = best if best and _key(best.params) == chosen["key"] else simulator(self.best_params_)
        start_eval = kept.get("start") or (final if chosen["key"] == start_key else simulator(start))
        self.fit_, self.simulated_ = final.rows, final.simulated
        self.start_params_, self.start_fit_, self.start_loss_ = start, start_eval.rows, start_eval.loss
        self.start_simulated_ = start_eval.simulated
        self.posterior_ = posterior
        self.intervals_ = _intervals(posterior, self.space) if posterior is not None else None
        self.targets_, self.scenario_, self.simulator_, self.seed_ = targets, str(scenario), simulator, seed
        self.at_bounds_ = at_bounds(self.best_params_, self.space)
        self.noisy_ = noisy(self.fit_, targets)
        self.wall_seconds_ = time.perf_counter() - started
        return self


NEAR_BOUND = 0.01  # of a parameter's range


def at_bounds(best: dict, space: Sequence[Parameter]) -> dict[str, dict]:
    """The best values within 1 % of the range from a bound, with advice: the fit may lie beyond it, and
    the value found is then the range's edge rather than an estimate."""
    out = {}
    for p in space:
        value, margin = best[p.name], NEAR_BOUND * (p.high - p.low)
        side = "upper" if value >= p.high - margin else "lower" if value <= p.low + margin else None
        if side:
            edge, beyond = (p.high, "above") if side == "upper" else (p.low, "below")
            advice = (
                f"{p.name} = {value:.6g} is on its {side} bound {edge:g}: widen the range {beyond} it, "
                "if the model allows, and calibrate again"
            )
            out[p.name] = {"bound": side, "value": value, "range": [p.low, p.high], "advice": advice}
    return out


NOISY_SHARE = 0.1  # of single runs outside a target's tolerance, above which the fit says so


def noisy(fit: list[dict], targets: TargetsFile) -> dict[str, dict]:
    """Targets a single run would often miss although the replicates' mean meets them: one run's value
    strays from the mean by `run_sd` (normal, by the central limit theorem over what the statistic counts).
    A team that will use one run needs a tolerance wider than about 1.6 sd, or a run holding more of what
    the statistic counts (a larger scale); the advice says so."""
    out = {}
    for row, statistic in zip(fit, targets, strict=True):
        sd = row.get("run_sd")
        if not sd or statistic.tolerance is None or statistic.is_series or "simulated" not in row:
            continue
        tolerance, off = statistic.scale, row["simulated"] - row["real"]
        inside = 0.5 * (
            math.erf((tolerance - off) / (sd * math.sqrt(2)))
            + math.erf((tolerance + off) / (sd * math.sqrt(2)))
        )
        outside = 1.0 - inside
        if outside > NOISY_SHARE:
            advice = (
                f"{row['name']}: one run's value strays from the calibrated mean by {sd:.3g} (sd between "
                f"seeds), so a single run lands outside the tolerance +-{tolerance:.3g} about "
                f"{outside:.0%} of the time: calibrate at a larger --scale (more of what the statistic "
                "counts) or allow a wider tolerance"
            )
            out[row["name"]] = {
                "run_sd": sd,
                "tolerance": tolerance,
                "outside_share": outside,
                "advice": advice,
            }
    return out


def _intervals(posterior: pd.DataFrame, space: list[Parameter], level: float = 0.9) -> dict:
    """Equal-tailed credible intervals (and the posterior mean) from a weighted sample."""
    out = {}
    w = posterior["weight"].to_numpy()
    for p in space:
        x = posterior[p.name].to_numpy()
        order = np.argsort(x)
        cdf = np.cumsum(w[order])
        lo = x[order][np.searchsorted(cdf, (1 - level) / 2)]
        hi = x[order][min(np.searchsorted(cdf, 1 - (1 - level) / 2), len(x) - 1)]
        out[p.name] = {"mean": float(np.sum(w * x)), "low": float(lo), "high": float(hi), "level": level}
    return out
