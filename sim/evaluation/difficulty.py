"""Difficulty: how well the detector a team would build finds a label in a table; the figure a difficulty
target names (`detector.pr_auc.is_fraud`), so data can be asked to be as hard as a team's real problem.

The detector is the tell audit's strongest: gradient boosting on the row's own features and, on a
transaction log, the payer's and payee's history before the row. The rows are split into two random
halves (stratified by the label); a detector trained on one half (`TRAIN_ROWS` rows, every positive up
to half) is scored on the other (every positive, `SCORE_NEGATIVES` negatives weighted to stand for all,
so PR-AUC is read at the table's own prevalence), both ways round, and the two scores are averaged
(cross-fitting: every positive is scored once, which halves the noise of one split). Absolute times are
left out (a detector meets new dates); their hour of day and day of week stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from sim.errors import InputError
from sim.evaluation.logs import TransactionLog
from sim.evaluation.tables import (
    Columns,
    balanced_rows,
    describe,
    fit_ready,
    quantile_levels,
    scoring_rows,
)
from sim.evaluation.tells import (
    MIN_CLASS,
    binary_label,
    boosted_categories,
    boosting,
    feature_matrix,
    row_features,
)

METRICS = {"pr_auc": average_precision_score, "roc_auc": roc_auc_score}
TRAIN_ROWS = 30_000
SCORE_NEGATIVES = 100_000


def detector_scores(frame: pd.DataFrame, label: str, seed: int = 0) -> dict[str, float]:
    """PR-AUC and ROC-AUC of the detector (see the module's docstring) for the binary `label`."""
    if label not in frame.columns:
        raise InputError(f"no column {label!r} to detect")
    y = binary_label(frame[label])
    if y is None:
        raise InputError(f"{label!r} is not a binary label (boolean, 0/1, or set only on labelled rows)")
    columns = describe(frame, frame)
    log = TransactionLog.of(frame)
    clocks = {name.lower() for name in TransactionLog.TIME}  # a log's own clock columns (PaySim's `step`)
    times = [
        c for c in columns.numeric if pd.api.types.is_datetime64_any_dtype(frame[c]) or c.lower() in clocks
    ]
    kept = Columns(
        [c for c in columns.numeric if c != label], [c for c in columns.categorical if c != label], []
    )
    features = [(n, c) for n, c in row_features(frame, kept) if n not in times]
    x = feature_matrix(frame, features)
    mask = boosted_categories(x, features)
    if log is not None:
        x = np.column_stack([x, log.history(frame).to_numpy()])
        mask = np.r_[mask, np.zeros(x.shape[1] - len(mask), dtype=bool)]
    positives = int(y.sum())
    if min(positives, len(y) - positives) < 2 * MIN_CLASS:
        counts = f"{positives} rows of {label!r} and {len(y) - positives} without"
        raise InputError(f"the table has {counts}: a detector needs {2 * MIN_CLASS} of each")
    rng = np.random.default_rng(seed)
    first = np.zeros(len(y), dtype=bool)
    for value in (0, 1):  # halves stratified by the label
        rows = np.flatnonzero(y == value)
        first[rng.choice(rows, len(rows) // 2, replace=False)] = True
    scores = []
    for fit_pool, score_pool in ((np.flatnonzero(first), np.flatnonzero(~first)),
                                 (np.flatnonzero(~first), np.flatnonzero(first))):  # fmt: skip
        fit = fit_pool[balanced_rows(y[fit_pool], TRAIN_ROWS, rng)]
        drawn, weights = scoring_rows(y[score_pool], SCORE_NEGATIVES, rng)
        score = score_pool[drawn]
        x_fit, x_score = quantile_levels([x[fit], x[score]], mask)
        model = boosting(mask, seed).fit(fit_ready(x_fit), y[fit])
        p = model.predict_proba(x_score)[:, 1]
        scores.append({name: metric(y[score], p, sample_weight=weights) for name, metric in METRICS.items()})
    return {name: float(np.mean([s[name] for s in scores])) for name in METRICS}
