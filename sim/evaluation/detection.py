"""Detection: can a classifier tell synthetic rows from real ones? Cross-validated ROC-AUC of a gradient
boosting classifier on equal-sized samples (0.5: indistinguishable, 1: every row given away), shown next
to the same classifier on two random halves of the real data (the floor the sample sizes allow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from sim.evaluation.tables import Columns, categorical_mask, encode, fit_ready

MAX_ROWS = 50_000  # per side: the AUC's standard error is already below 0.003


def _model(columns: Columns, drop: tuple[str, ...], seed: int) -> HistGradientBoostingClassifier:
    mask = categorical_mask(columns, drop)
    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, categorical_features=mask if mask.any() else None, random_state=seed
    )


def detection_auc(first: pd.DataFrame, second: pd.DataFrame, columns: Columns, seed: int = 0,
                  folds: int = 5) -> float:  # fmt: skip
    """Cross-validated ROC-AUC of telling `second`'s rows (label 1) from `first`'s (label 0)."""
    rng = np.random.default_rng(seed)
    n = min(len(first), len(second), MAX_ROWS)
    if n < 2 * folds:
        raise ValueError(f"detection needs at least {2 * folds} rows on each side")
    first = first.iloc[rng.choice(len(first), n, replace=False)]
    second = second.iloc[rng.choice(len(second), n, replace=False)]
    a, b = encode([first, second], columns)
    x, y = fit_ready(np.vstack([a, b])), np.r_[np.zeros(n), np.ones(n)]
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(_model(columns, (), seed), x, y, cv=splits, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def detection(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, seed: int = 0) -> dict:
    """Real vs synthetic, and real vs real (two random halves)."""
    halves = np.random.default_rng(seed).permutation(len(real))
    first, second = real.iloc[halves[: len(real) // 2]], real.iloc[halves[len(real) // 2 :]]
    return {
        "detection_auc": detection_auc(real, synthetic, columns, seed),
        "detection_auc_real_vs_real": detection_auc(first, second, columns, seed),
    }
