"""Time series (supply outputs, long form: a step column `t`, series keyed by node and product): the
distance between autocorrelation functions, and TimeGAN's discriminative and predictive scores
(Yoon et al. 2019) with gradient boosting in place of their recurrent networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sim.evaluation.tables import as_text

KEYS = ("node", "product")
LAGS = 10
WINDOW = 8


def is_series(frame: pd.DataFrame) -> bool:
    return "t" in frame.columns and any(k in frame.columns for k in KEYS)


def _series(frame: pd.DataFrame, values: list[str]) -> dict[tuple, np.ndarray]:
    """Each key's series, [steps, values], in step order; a time column (`date`) as days elapsed since
    the table's first time, never as an epoch (whose size would drown every other value's error)."""
    keys = [k for k in KEYS if k in frame.columns]
    numbers = pd.DataFrame(index=frame.index)
    for column in values:
        values_of = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values_of):
            numbers[column] = (values_of - values_of.min()) / pd.Timedelta(days=1)
        else:
            numbers[column] = pd.to_numeric(values_of, errors="coerce")
    numbers["t"] = frame["t"]
    out = {}
    for key, group in numbers.sort_values("t").groupby([as_text(frame[k]) for k in keys], sort=True):
        out[key] = group[values].to_numpy(dtype=np.float64)
    return out


def acf(x: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """Sample autocorrelation at lags 1..`lags` (0 for a constant series)."""
    x = x - x.mean()
    denominator = (x * x).sum()
    if denominator == 0 or len(x) <= lags:
        return np.zeros(lags)
    return np.array([(x[:-k] * x[k:]).sum() / denominator for k in range(1, lags + 1)])


def _windows(series: dict[tuple, np.ndarray], width: int) -> np.ndarray:
    """Every window of `width` steps of every series, flattened: [windows, width * values]."""
    out = [s[i : i + width].ravel() for s in series.values() for i in range(len(s) - width + 1)]
    return np.array(out) if out else np.zeros((0, 0))


def timeseries_scores(real: pd.DataFrame, synthetic: pd.DataFrame, values: list[str], seed: int = 0) -> dict:
    """ACF distance (mean |ACF real - ACF synthetic| over shared series, values and lags 1-10), the
    discriminative score (|cross-validated accuracy - 0.5| of telling windows apart; 0 is best) and the
    predictive score (MAE on real windows of next-step values predicted by a model trained on synthetic
    windows, beside the same model trained on real ones)."""
    r, s = _series(real, values), _series(synthetic, values)
    shared = sorted(set(r) & set(s))
    distances = [np.abs(acf(r[k][:, j]) - acf(s[k][:, j])).mean() for k in shared for j in range(len(values))]
    out = {"acf_distance": float(np.mean(distances)) if distances else None}
    wr, ws = _windows(r, WINDOW), _windows(s, WINDOW)
    if min(len(wr), len(ws)) < 20:
        return out | {
            "discriminative_score": None,
            "predictive_mae_synthetic": None,
            "predictive_mae_real": None,
        }
    rng = np.random.default_rng(seed)
    n = min(len(wr), len(ws), 20_000)
    wr, ws = wr[rng.choice(len(wr), n, replace=False)], ws[rng.choice(len(ws), n, replace=False)]
    x, y = np.vstack([wr, ws]), np.r_[np.zeros(n), np.ones(n)]
    accuracy = cross_val_score(HistGradientBoostingClassifier(max_iter=100, random_state=seed), x, y,
                               cv=StratifiedKFold(5, shuffle=True, random_state=seed)).mean()  # fmt: skip
    k = len(values)
    past, nxt = slice(0, (WINDOW - 1) * k), slice((WINDOW - 1) * k, WINDOW * k)
    half = n // 2  # real windows: train on the first half (TRTR), test both models on the second
    mae = {}
    for name, train in (("synthetic", ws[:half]), ("real", wr[:half])):
        errors = []
        for j in range(k):
            model = HistGradientBoostingRegressor(max_iter=100, random_state=seed)
            model.fit(train[:, past], train[:, nxt][:, j])
            errors.append(mean_absolute_error(wr[half:, nxt][:, j], model.predict(wr[half:, past])))
        mae[name] = float(np.mean(errors))
    return out | {
        "discriminative_score": float(abs(accuracy - 0.5)),
        "predictive_mae_synthetic": mae["synthetic"],
        "predictive_mae_real": mae["real"],
    }
