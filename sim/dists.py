"""Small distribution specs used in scenario files, with analytic moments for calibration and tests.

Each spec is a frozen pydantic model tagged by `dist`, so YAML reads as
`{dist: lognormal, mean: 120, std: 80}` and validation errors point at the exact field.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


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


class LogNormal(_Dist):
    """Given by its own mean and standard deviation (not those of the log), as amounts are reported."""

    dist: Literal["lognormal"] = "lognormal"
    mean_: Positive = Field(alias="mean")
    std: Positive

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


class Gamma(_Dist):
    """Given by mean and shape; shape < 1 gives the heavy skew of real activity rates."""

    dist: Literal["gamma"] = "gamma"
    mean_: Positive = Field(alias="mean")
    shape: Positive

    def sample(self, rng, size):
        return rng.gamma(self.shape, self.mean_ / self.shape, size)

    @property
    def mean(self):
        return self.mean_

    @property
    def var(self):
        return self.mean_**2 / self.shape


Dist = Annotated[Constant | Uniform | LogNormal | Gamma, Field(discriminator="dist")]
