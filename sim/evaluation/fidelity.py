"""Fidelity: how alike the columns and the pairs of columns are: the two properties of SDMetrics' quality
report, computed the way `sdmetrics` 0.32 computes them (tests/test_fidelity_sdmetrics.py holds us to its
numbers within 1e-6), in time linear in the rows. Each score is in [0, 1], 1 meaning the same distribution.

- Column shapes: KSComplement (1 - the Kolmogorov-Smirnov statistic) of numbers and times, TVComplement
  (1 - the total variation distance of the frequencies; missing values left out) of categories.
- Column pair trends: CorrelationSimilarity (1 - |Pearson r real - r synthetic| / 2) of two numbers;
  ContingencySimilarity (1 - the total variation distance of the joint frequencies; missing is a value)
  otherwise, a number cut into 10 equal-width bins of its own table's range, as SDMetrics does. As in
  SDMetrics' report, a pair counts only where the real data shows a trend: |r| above 0.5, or Cramér's V
  above 0.3. SDMetrics subsamples a pair's rows above 50,000 at random; we count every row
  (np.bincount over codes made once).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd

from sim.evaluation.tables import Columns, ks_statistic

PAIR_BINS = 10  # equal-width bins of a number paired with a category (SDMetrics' default)
DECIMALS = sys.float_info.dig - 1  # SDMetrics rounds numbers to this many decimals before its KS test
REGULARISATION = 1e-6  # SDMetrics' count for a category the real data never shows
CORRELATION_THRESHOLD = 0.5  # a pair of numbers counts when the real |r| is above this
ASSOCIATION_THRESHOLD = 0.3  # ... any other pair when the real Cramér's V is above this


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """1 - the Kolmogorov-Smirnov statistic (the largest gap between the two CDFs); missing left out.
    None when a side has no value (SDMetrics cannot compute it and leaves the column out)."""
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if len(real) == 0 or len(synthetic) == 0:
        return None
    return 1.0 - ks_statistic(np.sort(_rounded(real)), np.sort(_rounded(synthetic)))


def _rounded(x: np.ndarray) -> np.ndarray:
    """x to `DECIMALS` decimals, as SDMetrics rounds; a value of 2**52 or more is whole already (and
    rounding it would overflow on the way)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.abs(x) < 2.0**52, np.round(x, DECIMALS), x)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float | None:
    """1 - the total variation distance between the two categories' frequencies (missing left out)."""
    codes, _ = pd.factorize(pd.concat([real, synthetic], ignore_index=True))
    return _tv_of_codes(codes[: len(real)], codes[len(real) :])


def _tv_of_codes(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """TVComplement over category codes (-1: missing, left out), with SDMetrics' regularisation; None
    when a side has no value (SDMetrics leaves such a column out)."""
    real, synthetic = real[real >= 0], synthetic[synthetic >= 0]
    if len(real) == 0 or len(synthetic) == 0:
        return None
    size = int(max(real.max(), synthetic.max())) + 1
    p = np.bincount(real, minlength=size).astype(np.float64)
    q = np.bincount(synthetic, minlength=size).astype(np.float64)
    p[(p == 0) & (q > 0)] = REGULARISATION
    seen = p > 0
    return float(1.0 - 0.5 * np.abs(q[seen] / q.sum() - p[seen] / p.sum()).sum())


def correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray], threshold: float = 0.0
) -> float | None:
    """1 - |Pearson r (real) - r (synthetic)| / 2 over rows with both values; None when a column is
    constant or the real |r| is not above `threshold` (SDMetrics leaves such a pair out)."""
    return _similarity_of_r(_pearson(*real), _pearson(*synthetic), threshold)


def _similarity_of_r(r_real: float | None, r_synth: float | None, threshold: float) -> float | None:
    if r_real is None or r_synth is None or abs(r_real) <= threshold:
        return None
    return 1.0 - abs(r_real - r_synth) / 2.0


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson r over the rows with both values; None when a side is constant there."""
    ok = ~(np.isnan(x) | np.isnan(y))
    return _r_of_centred(*_centred(x[ok]), *_centred(y[ok]))


def _centred(x: np.ndarray) -> tuple[np.ndarray, float] | tuple[None, None]:
    """x less its mean and that vector's length; (None, None) for fewer than 2 values or a constant."""
    if len(x) < 2 or np.all(x == x[0]):
        return None, None
    x = x / np.abs(x).max()  # r does not depend on the scale; a sum of numbers near 1e308 would overflow
    x = x - x.mean()
    return x, float(np.sqrt(np.dot(x, x)))


def _r_of_centred(x, x_length, y, y_length) -> float | None:
    return None if x is None or y is None else float(np.dot(x, y) / (x_length * y_length))


def contingency_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """1 - the total variation distance between the two joint frequency tables of a pair of columns."""
    a = pd.factorize(
        pd.concat([real.iloc[:, 0], synthetic.iloc[:, 0]], ignore_index=True), use_na_sentinel=False
    )
    b = pd.factorize(
        pd.concat([real.iloc[:, 1], synthetic.iloc[:, 1]], ignore_index=True), use_na_sentinel=False
    )
    n = len(real)
    return _joint_tv(a[0][:n], b[0][:n], a[0][n:], b[0][n:])


def _joint_tv(a_real: np.ndarray, b_real: np.ndarray, a_synth: np.ndarray, b_synth: np.ndarray) -> float:
    """ContingencySimilarity over two columns' codes (non-negative integers, shared by both tables)."""
    if len(a_real) == 0 or len(a_synth) == 0:
        return 0.0
    width = int(max(b_real.max(), b_synth.max())) + 1
    key_real = a_real.astype(np.int64) * width + b_real
    key_synth = a_synth.astype(np.int64) * width + b_synth
    size = int(max(key_real.max(), key_synth.max())) + 1
    if size > 4 * (len(key_real) + len(key_synth)):  # sparse: count the keys present only
        keys, codes = np.unique(np.concatenate([key_real, key_synth]), return_inverse=True)
        size, key_real, key_synth = len(keys), codes[: len(key_real)], codes[len(key_real) :]
    p = np.bincount(key_real, minlength=size) / len(key_real)
    q = np.bincount(key_synth, minlength=size) / len(key_synth)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cramér's V of two columns' codes (the values seen only), or None for a table under 2 x 2."""
    return _cramers_v_of_seen(*_seen(a), *_seen(b))


def _cramers_v_of_seen(a: np.ndarray, rows: int, b: np.ndarray, cols: int) -> float | None:
    if min(rows, cols) < 2:
        return None
    observed = np.bincount(a * cols + b, minlength=rows * cols).reshape(rows, cols)
    n = observed.sum()
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(rows, cols) - 1))))


def _seen(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes renumbered 0..k-1 over the values present (in order), and k: np.unique's inverse in O(n)."""
    present = np.bincount(codes) > 0
    return (np.cumsum(present) - 1)[codes], int(present.sum())


class _Prepared:
    """Every column once: numbers as floats (times in nanoseconds, as SDMetrics converts them), each
    number's 10 equal-width bins of its own table, and categories as codes shared by both tables; on
    first use, a number's centred values (for Pearson's r) and a real column's codes renumbered over the
    values seen (for Cramér's V), so that no pair recomputes what belongs to one column."""

    def __init__(self, real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns):
        self.numeric, self.bins, self.codes = {}, {}, {}
        self._centred: dict[str, list] = {}
        self._seen: dict[str, tuple[np.ndarray, int]] = {}
        for column in columns.numeric:
            pair = [_as_float(real[column]), _as_float(synthetic[column])]
            self.numeric[column] = pair
            self.bins[column] = [_equal_width_bins(x) for x in pair]
        for column in columns.categorical:
            codes, _ = pd.factorize(pd.concat([real[column], synthetic[column]], ignore_index=True),
                                    use_na_sentinel=False)  # fmt: skip
            missing = pd.concat([real[column], synthetic[column]], ignore_index=True).isna().to_numpy()
            self.codes[column] = (codes, missing, len(real))

    def category(self, column: str, with_missing: bool) -> tuple[np.ndarray, np.ndarray]:
        codes, missing, n = self.codes[column]
        if not with_missing:
            codes = np.where(missing, -1, codes)
        return codes[:n], codes[n:]

    def discrete(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            (self.bins[column][0], self.bins[column][1])
            if column in self.bins
            else self.category(column, True)
        )

    def correlation(self, a: str, b: str) -> float | None:
        """CorrelationSimilarity of two numbers (centred once per column where neither has a gap)."""
        pairs = self.numeric[a], self.numeric[b]
        if any(np.isnan(x).any() for pair in pairs for x in pair):
            return correlation_similarity((pairs[0][0], pairs[1][0]), (pairs[0][1], pairs[1][1]),
                                          CORRELATION_THRESHOLD)  # fmt: skip
        for column in (a, b):
            if column not in self._centred:
                self._centred[column] = [_centred(x) for x in self.numeric[column]]
        (real_a, synth_a), (real_b, synth_b) = self._centred[a], self._centred[b]
        return _similarity_of_r(_r_of_centred(*real_a, *real_b), _r_of_centred(*synth_a, *synth_b),
                                CORRELATION_THRESHOLD)  # fmt: skip

    def contingency(self, a: str, b: str) -> float | None:
        """ContingencySimilarity of a pair where the real Cramér's V is above its threshold, else None."""
        for column in (a, b):
            if column not in self._seen:
                self._seen[column] = _seen(self.discrete(column)[0])
        v = _cramers_v_of_seen(*self._seen[a], *self._seen[b])
        if v is None or v <= ASSOCIATION_THRESHOLD:
            return None
        (real_a, synth_a), (real_b, synth_b) = self.discrete(a), self.discrete(b)
        return _joint_tv(real_a, real_b, synth_a, synth_b)


def _as_float(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        ns = values.dt.tz_localize(None) if values.dt.tz is not None else values
        out = ns.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(np.float64)
        out[values.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)


def _equal_width_bins(x: np.ndarray) -> np.ndarray:
    """SDMetrics' discrete version of a number: np.digitize on 10 equal-width bins of the values' own range
    (a missing value, like the maximum, falls in the last index; an infinity, in the first or the last;
    a range too narrow for distinct edges, or wider than a float holds, still gets its 10 bins)."""
    finite = x[np.isfinite(x)]
    lowest, highest = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    with np.errstate(over="ignore"):
        too_wide = not np.isfinite(highest - lowest)
    if too_wide:  # edges halved, then doubled
        return np.digitize(x, 2 * np.linspace(lowest / 2, highest / 2, PAIR_BINS + 1))
    try:
        edges = np.histogram_bin_edges(finite, PAIR_BINS) if len(finite) else np.linspace(0, 1, PAIR_BINS + 1)
    except ValueError:  # too narrow: some edges repeat
        edges = np.linspace(lowest, highest, PAIR_BINS + 1)
    return np.digitize(x, edges)


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, max_pairs: int = 200) -> dict:
    """Column shapes and column-pair trends, their means, the overall score and the worst columns. With
    more than `max_pairs` pairs, the first `max_pairs` in column order are scored."""
    prepared = _Prepared(real, synthetic, columns)
    shapes = {column: ks_complement(*prepared.numeric[column]) for column in columns.numeric}
    shapes |= {
        column: _tv_of_codes(*prepared.category(column, with_missing=False)) for column in columns.categorical
    }
    shapes = {column: score for column, score in shapes.items() if score is not None}
    pairs = {}
    for a, b in itertools.islice(itertools.combinations(columns.used, 2), max_pairs):
        if a in prepared.numeric and b in prepared.numeric:
            score = prepared.correlation(a, b)
        else:
            score = prepared.contingency(a, b)
        if score is not None:
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
