"""Fidelity: how alike the columns and the pairs of columns are (the two scores of SDMetrics' quality
report). Each score is in [0, 1], 1 meaning the same distribution."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from sim.evaluation.tables import Columns, as_text, numbers

PAIR_BINS = 10  # numbers are cut at the real data's deciles when paired with a category


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the Kolmogorov-Smirnov statistic (the largest gap between the two CDFs)."""
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if len(real) == 0 or len(synthetic) == 0:
        return 0.0
    return float(1.0 - stats.ks_2samp(real, synthetic).statistic)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the total variation distance between the two categories' frequencies."""
    p = as_text(real).value_counts(normalize=True)
    q = as_text(synthetic).value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> float:
    """1 - |Pearson r (real) - r (synthetic)| / 2."""

    def r(x: np.ndarray, y: np.ndarray) -> float:
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
            return 0.0
        return float(np.corrcoef(x[ok], y[ok])[0, 1])

    return 1.0 - abs(r(*real) - r(*synthetic)) / 2.0


def contingency_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """1 - the total variation distance between the two joint frequency tables of a pair of columns."""
    p = as_text(real).value_counts(normalize=True)
    q = as_text(synthetic).value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _binned(real: pd.DataFrame, synthetic: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series]:
    """A number cut at the real data's deciles, so it can be paired with a category."""
    x, y = numbers(real, column), numbers(synthetic, column)
    edges = np.unique(np.nanquantile(x, np.linspace(0, 1, PAIR_BINS + 1)[1:-1])) if len(x) else []
    return pd.Series(np.searchsorted(edges, x)), pd.Series(np.searchsorted(edges, y))


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, max_pairs: int = 200) -> dict:
    """Column shapes and column-pair trends, their means, the overall score and the worst columns."""
    shapes = {}
    for column in columns.numeric:
        shapes[column] = ks_complement(numbers(real, column), numbers(synthetic, column))
    for column in columns.categorical:
        shapes[column] = tv_complement(real[column], synthetic[column])
    pairs = {}
    for a, b in itertools.islice(itertools.combinations(columns.used, 2), max_pairs):
        if a in columns.numeric and b in columns.numeric:
            score = correlation_similarity(
                (numbers(real, a), numbers(real, b)), (numbers(synthetic, a), numbers(synthetic, b))
            )
        else:
            left = _binned(real, synthetic, a) if a in columns.numeric else (real[a], synthetic[a])
            right = _binned(real, synthetic, b) if b in columns.numeric else (real[b], synthetic[b])
            score = contingency_similarity(
                pd.DataFrame({"a": left[0].to_numpy(), "b": right[0].to_numpy()}),
                pd.DataFrame({"a": left[1].to_numpy(), "b": right[1].to_numpy()}),
            )
        pairs[f"{a} / {b}"] = score
    shape_score = float(np.mean(list(shapes.values()))) if shapes else None
    pair_score = float(np.mean(list(pairs.values()))) if pairs else None
    parts = [s for s in (shape_score, pair_score) if s is not None]
    return {
        "fidelity_score": float(np.mean(parts)) if parts else None,
        "column_shapes": shape_score,
        "column_pair_trends": pair_score,
        "column_scores": shapes,
        "pair_scores": pairs,
        "worst_columns": sorted(shapes, key=shapes.get)[:5],
        "worst_pairs": sorted(pairs, key=pairs.get)[:5],
    }
