"""Small distribution specs used in scenario files, with analytic moments for calibration and tests.

Each spec is a frozen pydantic model tagged by `dist`, so YAML reads as
`{dist: lognormal, mean: 120, std: 80}` and validation errors point at the exact field.
"""

from __future__ import annotations

import math
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

# The one table of law codes. A law travels into kernels as (code, p1, p2): `sim.engine.kernels.sample_kernel`
# draws one value inside Numba, `sample_law` many with NumPy, `scale_law` multiplies a law's values.
CONSTANT, UNIFORM, LOGNORMAL, GAMMA = range(4)
Law = tuple[int, float, float]

# parameters up to the scenario ceiling (sim.scenario.types.CEILING: money and units stay exact), so
# every draw, and a range's width, is a finite float
Positive = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
Finite = Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
MAX_SPREAD = 1000.0  # a lognormal's std over its mean: sigma 3.7, already draws 1e16 times the mean


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        raise NotImplementedError

    def kernel(self) -> tuple[int, float, float]:
        """(code, p1, p2) for `sample_kernel`, so Numba kernels draw from the same law."""
        raise NotImplementedError


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: Finite

    def sample(self, rng, size):
        return np.full(size, self.value, dtype=np.float64)

    @property
    def mean(self):
        return self.value

    @property
    def var(self):
        return 0.0

    def kernel(self):
        return CONSTANT, self.value, 0.0


class Uniform(_Dist):
    dist: Literal["uniform"] = "uniform"
    low: Finite
    high: Finite

    @model_validator(mode="after")
    def _ordered(self):
        if self.high <= self.low:
            raise ValueError("high must be greater than low")
        return self

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def var(self):
        return (self.high - self.low) ** 2 / 12

    def kernel(self):
        return UNIFORM, self.low, self.high


class LogNormal(_Dist):
    """Given by its own mean and standard deviation (not those of the log), as amounts are reported."""

    dist: Literal["lognormal"] = "lognormal"
    mean_: Positive = Field(alias="mean")
    std: Positive

    @model_validator(mode="after")
    def _finite_draws(self):
        if self.std > MAX_SPREAD * self.mean_:
            raise ValueError(f"std may be at most {MAX_SPREAD:,.0f} times the mean (wider, draws overflow)")
        return self

    @property
    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.std / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng, size):
        mu, sigma = self._log_params
        return rng.lognormal(mu, sigma, size)

    @property
    def mean(self):
        return self.mean_

    @property
    def var(self):
        return self.std**2

    def kernel(self):
        return (LOGNORMAL, *self._log_params)


class Gamma(_Dist):
    """Given by mean and shape; shape < 1 gives the heavy skew of real activity rates."""

    dist: Literal["gamma"] = "gamma"
    mean_: Positive = Field(alias="mean")
    shape: Annotated[float, Field(ge=1e-3, le=1e6, allow_inf_nan=False)]  # below 1e-3: zeros and overflows

    def sample(self, rng, size):
        return rng.gamma(self.shape, self.mean_ / self.shape, size)

    @property
    def mean(self):
        return self.mean_

    @property
    def var(self):
        return self.mean_**2 / self.shape

    def kernel(self):
        return GAMMA, self.shape, self.mean_ / self.shape


TABLES = {"paysim_opening_balances": ("sim.domains.payments", "paysim_opening_balances.csv")}


@cache
def _histogram(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    package, file = TABLES[name]
    with files(package).joinpath("data", file).open() as fh:
        lines = [line for line in fh if not line.startswith("#")][1:]  # comments, then a header row
    low, high, share = np.loadtxt(lines, delimiter=",", ndmin=2).T
    return low, high, np.cumsum(share / share.sum())


class Table(_Dist):
    """A shipped histogram (derived from reference data): pick a bin by its share, then uniform inside."""

    dist: Literal["table"] = "table"
    name: Literal["paysim_opening_balances"]

    def sample(self, rng, size):
        low, high, cdf = _histogram(self.name)
        bins = np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)
        return low[bins] + (high[bins] - low[bins]) * rng.random(size)

    @property
    def mean(self):
        low, high, cdf = _histogram(self.name)
        return float(np.diff(cdf, prepend=0) @ ((low + high) / 2))

    @property
    def var(self):
        low, high, cdf = _histogram(self.name)
        p = np.diff(cdf, prepend=0)
        second = (low**2 + low * high + high**2) / 3
        return float(p @ second - self.mean**2)


KernelDist = Annotated[Constant | Uniform | LogNormal | Gamma, Field(discriminator="dist")]
"""Laws a kernel can draw per transaction (amounts)."""
Dist = Annotated[Constant | Uniform | LogNormal | Gamma | Table, Field(discriminator="dist")]


def sample_law(rng: np.random.Generator, law: Law, size: int) -> np.ndarray:
    """`size` NumPy draws from a kernel law (code, p1, p2): what `sample_kernel` draws one at a time."""
    code, p1, p2 = law
    if code == CONSTANT:
        return np.full(size, p1)
    if code == UNIFORM:
        return rng.uniform(p1, p2, size)
    if code == LOGNORMAL:
        return rng.lognormal(p1, p2, size)
    if code == GAMMA:
        return rng.gamma(p1, p2, size)
    raise ValueError(f"unknown law code {code}")


def scale_law(law: Law, factor: float) -> Law:
    """A kernel law with its values multiplied by `factor`."""
    code, p1, p2 = law
    if factor == 1.0:
        return law
    if code == LOGNORMAL:
        return code, p1 + np.log(factor), p2
    if code == GAMMA:
        return code, p1, p2 * factor
    return code, p1 * factor, p2 * factor  # constant (p2 unused) and uniform
