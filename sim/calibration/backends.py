"""Search back-ends behind one contract: `search(objective, space, budget, seed, start)`.

`objective(params) -> loss` is called at most `budget` times (it raises `BudgetSpent` after that), with
values inside the space; the back-end returns a posterior sample (a DataFrame of parameter columns and a
`weight` column summing to 1) when it has one, else None. Same seed and same losses, same proposals.

- `optuna` (default; `sampler` tpe or cmaes): the scenario's own values are tried first (CMA-ES starts
  its search there), then the sampler proposes the rest.
- `abc`: ABC-SMC by pyabc (`pip install -e ".[abc]"`), uniform priors over the space, distance the
  square root of the loss; the last complete generation is the posterior.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.simulator import Parameter
from sim.errors import InputError

Objective = Callable[[dict[str, float]], float]


class BudgetSpent(Exception):
    """The objective has been called `budget` times."""


def optuna_search(
    objective: Objective,
    space: list[Parameter],
    budget: int,
    seed: int,
    start: dict,
    sampler: str = "tpe",
    batch: int = 1,
    prefetch: Callable[[list[dict]], None] | None = None,
) -> None:
    """Optuna's TPE or CMA-ES. With `batch` > 1, that many candidates are proposed together (before any is
    scored) and `prefetch` may run them in parallel; the candidates depend on `batch`, never on where they
    run."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inside = {p.name: p.clip(start[p.name]) for p in space if p.name in start}
    if sampler == "cmaes":
        # a large population (about budget / 40 generations' worth) keeps CMA-ES global on rugged losses
        popsize = max(4 + int(3 * math.log(len(space))), min(64, budget // 80))
        with warnings.catch_warnings():  # `x0` is deprecated in Optuna 4.9 with no replacement for a start
            warnings.simplefilter("ignore", FutureWarning)
            chosen = optuna.samplers.CmaEsSampler(
                seed=seed, x0=inside or None, popsize=popsize, warn_independent_sampling=False
            )
    else:
        chosen = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, n_startup_trials=min(10, budget // 4 + 1)
        )
    study = optuna.create_study(direction="minimize", sampler=chosen)
    if len(inside) == len(space) and sampler != "cmaes":
        study.enqueue_trial(inside)
    distributions = {
        p.name: optuna.distributions.IntDistribution(int(p.low), int(p.high))
        if p.integer
        else optuna.distributions.FloatDistribution(p.low, p.high)
        for p in space
    }
    asked = 0
    while asked < budget:
        trials = [study.ask(distributions) for _ in range(min(batch, budget - asked))]
        asked += len(trials)
        if prefetch is not None and len(trials) > 1:
            prefetch([dict(t.params) for t in trials])
        for trial in trials:
            study.tell(trial, objective(dict(trial.params)))


def abc_search(
    objective: Objective, space: list[Parameter], budget: int, seed: int, start: dict
) -> pd.DataFrame:
    try:
        import pyabc
    except ImportError:
        raise InputError('the abc back-end needs pyabc: pip install -e ".[abc]"') from None
    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Epsilon", "ABC.Distance", "ABC.Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)
    prior = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.low, p.high - p.low) for p in space})

    def model(values):
        params = {p.name: p.clip(float(values[p.name])) for p in space}
        return {"loss": objective(params)}

    def distance(x, _):
        return math.sqrt(x["loss"])

    population = max(10, min(100, budget // 6))
    saved = np.random.get_state()  # noqa: NPY002 - pyabc draws from NumPy's global generator: seed it, then put it back
    np.random.seed(seed % 2**32)  # noqa: NPY002
    try:
        with tempfile.TemporaryDirectory() as folder:
            abc = pyabc.ABCSMC(
                model,
                prior,
                distance,
                population_size=population,
                sampler=pyabc.sampler.SingleCoreSampler(),
                eps=pyabc.QuantileEpsilon(alpha=0.5),
            )
            abc.new(f"sqlite:///{Path(folder) / 'abc.db'}", {"loss": 0.0})
            try:
                history = abc.run(max_total_nr_simulations=budget, max_nr_populations=100)
            except BudgetSpent:
                history = abc.history
            if history.max_t < 0:
                return None
            frame, weights = history.get_distribution()
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    frame = frame[[p.name for p in space]].reset_index(drop=True)
    frame["weight"] = np.asarray(weights) / np.sum(weights)
    return frame


BACKENDS = {"optuna": optuna_search, "abc": abc_search}
SAMPLERS = ("tpe", "cmaes")


def polish(residuals: Callable[[dict[str, float]], np.ndarray], space: list[Parameter], start: dict) -> None:
    """Least-squares refinement from `start` (trust-region reflective within the bounds, a finite-difference
    Jacobian under common random numbers): the MSM objective is a sum of squares, so a few Jacobians
    finish what a global search began. Whole-number parameters stay where the search left them."""
    from scipy.optimize import least_squares

    free = [p for p in space if not p.integer]
    if not free:
        return
    low, high = np.array([p.low for p in free]), np.array([p.high for p in free])
    x0 = np.clip([start[p.name] for p in free], low + 1e-9 * (high - low), high - 1e-9 * (high - low))

    def vector(x: np.ndarray) -> np.ndarray:
        return residuals({**start, **{p.name: p.clip(float(v)) for p, v in zip(free, x, strict=True)}})

    with contextlib.suppress(BudgetSpent):
        least_squares(vector, x0, bounds=(low, high), x_scale=high - low, diff_step=1e-2, method="trf")
