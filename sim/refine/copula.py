"""A Gaussian copula, conditional on the labels: for each label class of the real data, every feature is
mapped to a normal score through its real marginal (numbers by rank, categories by their cumulative
frequency interval, as SDV does), and the scores' correlation is estimated. `transform` keeps each
simulated row's labels and identifiers and draws its features from the copula of its class."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.evaluation.tables import MISSING, as_text, numbers
from sim.refine.base import Refiner, label_keys

MIN_ROWS = 5  # a label class with fewer real rows uses the copula of all real rows


class _Copula:
    """One class's marginals and correlation."""

    def __init__(self, frame: pd.DataFrame, numeric: list[str], categorical: list[str], rng):
        self.numeric, self.categorical = numeric, categorical
        n = len(frame)
        scores = []
        self.sorted = {}
        for column in numeric:
            x = numbers(frame, column)
            self.sorted[column] = np.sort(x[~np.isnan(x)])
            ranks = stats.rankdata(x, method="average")
            scores.append(stats.norm.ppf((ranks - 0.5) / n))
        self.levels = {}
        for column in categorical:
            freq = as_text(frame[column]).value_counts(normalize=True)
            upper = freq.cumsum().to_numpy()
            lower = upper - freq.to_numpy()
            self.levels[column] = (freq.index.to_numpy(), upper)
            code = pd.Index(freq.index).get_indexer(as_text(frame[column]))
            u = lower[code] + rng.random(n) * freq.to_numpy()[code]  # a random point of its interval
            scores.append(stats.norm.ppf(np.clip(u, 1e-9, 1 - 1e-9)))
        z = np.column_stack(scores)
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant score has no correlation: 0
            self.correlation = np.corrcoef(z, rowvar=False) if n > 2 else np.eye(z.shape[1])
        self.correlation = np.atleast_2d(np.nan_to_num(self.correlation))
        np.fill_diagonal(self.correlation, 1.0)

    def sample(self, count: int, rng) -> dict[str, np.ndarray]:
        k = self.correlation.shape[0]
        values, vectors = np.linalg.eigh(self.correlation)  # a square root that tolerates rank deficiency
        root = vectors * np.sqrt(np.clip(values, 0, None))
        u = stats.norm.cdf(rng.standard_normal((count, k)) @ root.T)
        out = {}
        for j, column in enumerate(self.numeric):
            data = self.sorted[column]
            out[column] = np.interp(u[:, j] * (len(data) - 1), np.arange(len(data)), data)
        for j, column in enumerate(self.categorical, start=len(self.numeric)):
            names, upper = self.levels[column]
            out[column] = names[np.minimum(np.searchsorted(upper, u[:, j]), len(names) - 1)]
        return out


class GaussianCopula(Refiner):
    name = "copula"

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> GaussianCopula:
        self.features_, self.labels_ = self._columns(sim, real)
        rng = self._rng()
        numeric, categorical = self.features_.numeric, self.features_.categorical
        self.all_ = _Copula(real, numeric, categorical, rng)
        keys = label_keys(real, self.labels_)
        self.by_class_ = {key: _Copula(group, numeric, categorical, rng)
                          for key, group in real.groupby(keys) if len(group) >= MIN_ROWS}  # fmt: skip
        self.integer_ = {c for c in numeric if np.allclose(np.nan_to_num(numbers(real, c)) % 1, 0)}
        return self

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        rng = self._rng()
        drawn = {column: np.empty(len(sim), dtype=object) for column in self.features_.used}
        keys = label_keys(sim, self.labels_).to_numpy()
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            for column, values in self.by_class_.get(key, self.all_).sample(len(rows), rng).items():
                drawn[column][rows] = values
        out = sim.copy()  # drawn values; `transform` casts them to the simulated dtypes
        for column in self.features_.numeric:
            values = drawn[column].astype(np.float64)
            out[column] = np.round(values) if column in self.integer_ else values
        for column in self.features_.categorical:
            out[column] = pd.Series(drawn[column], index=sim.index).replace(MISSING, None)
        return out
