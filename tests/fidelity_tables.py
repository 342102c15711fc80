"""Tables that pin our fidelity metrics to SDMetrics' numbers (tests/test_fidelity_sdmetrics.py; the
answers are made by tools/derive_sdmetrics_answers.py in an environment with sdmetrics installed). Under
50,000 rows each, so SDMetrics' quality report scores every pair on all rows, as we do."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

SDTYPES = {"float": "numerical", "amount": "numerical", "count": "numerical", "sparse": "numerical",
           "when": "datetime", "kind": "categorical", "flag": "boolean", "constant": "numerical"}  # fmt: skip


def _table(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    """Numbers, a time, a category with missing values, a flag and a constant, with strong pairs (so
    SDMetrics scores them: real |r| above 0.5, Cramér's V above 0.3) and weak ones."""
    base = rng.normal(shift, 1, n)
    kind = np.array(["a", "b", "c", "d", "e"], dtype=object)[
        np.clip((base + rng.normal(0, 0.5, n) + 2).astype(int), 0, 4)
    ]
    kind[rng.random(n) < 0.03] = None  # missing categories
    sparse = 10 + 3 * base + rng.normal(0, 1 + shift, n)
    sparse[rng.random(n) < 0.2] = np.nan
    amount = np.exp(4 + 0.8 * base + rng.normal(0, 0.3, n))
    count = rng.poisson(3 + 4 * (kind == "c"), n).astype(np.int64)
    seconds = 86400 * (5 + 2 * base + rng.normal(0, 1, n))
    return pd.DataFrame({
        "float": base,
        "amount": amount,
        "count": count,
        "sparse": sparse,
        "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, "s"),
        "kind": kind,
        "flag": (np.isin(kind, ["a", "b"]) & (rng.random(n) < 0.9 - 0.2 * shift)) | (rng.random(n) < 0.05),
        "constant": np.full(n, 1.5),
    })  # fmt: skip


def tables() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """(real, synthetic) pairs: alike, shifted, and of different sizes."""
    rng = np.random.default_rng(20261130)
    return {
        "alike": (_table(rng, 20_000, 0.0), _table(rng, 20_000, 0.0)),
        "shifted": (_table(rng, 30_000, 0.0), _table(rng, 10_000, 0.7)),
        "small": (_table(rng, 500, 0.0), _table(rng, 300, 0.3)),
    }


def digest(frame: pd.DataFrame) -> str:
    """The table's content, so a changed random stream shows up as such, not as a metric error. Values
    are hashed as plain bytes (numbers as float32, times as microseconds, text as UTF-8): not through
    pandas' own hashing, which changed for text columns between pandas releases, and not to the last
    bit, which NumPy's vectorised `exp` changes with the CPU it dispatches to (the answers are compared
    within 1e-6, so a last-bit difference changes none of them)."""
    h = hashlib.sha256()
    for column in frame.columns:
        values = frame[column]
        h.update(column.encode())
        if pd.api.types.is_datetime64_any_dtype(values):
            h.update(values.astype("datetime64[us]").to_numpy().view(np.int64).tobytes())
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            h.update(values.to_numpy(np.float64).astype(np.float32).tobytes())
        else:
            h.update("\x1f".join("\x00" if pd.isna(v) else str(v) for v in values).encode())
    return h.hexdigest()
