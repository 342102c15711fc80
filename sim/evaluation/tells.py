"""The tell audit: how easily is each label read off a row's own columns? A detector trained on synthetic
data should have to learn behaviour (sequence, timing, balances, the graph), not an artefact of how the
data was made; a label one column gives away is such an artefact, or a leak.

For every binary label of a table (boolean, 0/1, or a category that is empty on unlabelled rows):
- the ROC-AUC of each feature alone (cross-fitted: the label's rate per bin of the feature, learned on
  one half of the rows and scored on the other, on up to `SINGLE_ROWS` rows), the best of them, and
  every feature above 0.8 (a tell) or at 0.99 and above (a leak: a copy of the label under another name);
- a depth-3 decision tree's AUC on the row's own features, and a gradient-boosting classifier's (each
  fitted on two thirds of its sample and scored on the other third);
- on a transaction log (an account, a counterparty, a time and an amount column), the gradient boosting
  again with per-account history (counts and sums over the previous hour and day, time since the
  previous transaction, for the payer and the payee), so the gap shows how much of the signal is
  behaviour rather than the row itself.
Models see samples of documented sizes (all positives up to half of each), never the whole table, and
weigh the two classes equally (a rare label would otherwise be ignored by the boosting).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from sim.evaluation.logs import TransactionLog
from sim.evaluation.tables import Columns, balanced_rows, fit_ready, numbers, quantile_levels, text_codes

TELL = 0.8  # a single feature this good is a tell worth a look
LEAK = 0.99  # ... and this good, the label itself under another name
BINS = 32  # quantile bins of a number for its single-feature AUC
EDGE_ROWS = 100_000  # values the bins' edges are read from (a systematic sample)
SINGLE_ROWS = 200_000  # rows a single-feature AUC is read on (every positive up to half: AUC does not
# depend on the balance, and the positives, not the negatives, are what limits its precision)
TREE_ROWS = 100_000
BOOST_ROWS = 30_000
MIN_CLASS = 20  # fewer positives (or negatives) than this: no audit of that label


def binary_label(values: pd.Series) -> np.ndarray | None:
    """1 for labelled rows: a boolean or 0/1 column as it is, a category by being set; None otherwise."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(bool).astype(np.int8)
    if pd.api.types.is_numeric_dtype(values):
        present = set(pd.unique(values.dropna()))
        return values.fillna(0).to_numpy().astype(np.int8) if present <= {0, 1} else None
    if values.isna().any():
        return values.notna().to_numpy(np.int8)
    return None


def single_feature_auc(x: np.ndarray, y: np.ndarray, categorical: bool, seed: int) -> float:
    """AUC of one feature alone, symmetric (0.5: no signal, 1: it decides the label): the label's rate
    per bin (per category) learned on one half of the rows, scored on the other, both ways, averaged."""
    return _cross_fitted_auc(_codes(x, categorical), _Halves(y, seed))


class _Halves:
    """The two random halves of the rows a single-feature AUC is cross-fitted on, drawn once per label:
    (rows to learn the rates on, their labels, rows to score, their labels) for each way round."""

    def __init__(self, y: np.ndarray, seed: int):
        first = np.random.default_rng(seed).random(len(y)) < 0.5
        self.ways = []
        for fit in (first, ~first):
            fit_rows, score_rows = np.flatnonzero(fit), np.flatnonzero(~fit)
            y_fit, y_score = y[fit_rows], y[score_rows]
            if len(y_fit) and len(y_score) and y_fit.min() < y_fit.max() and y_score.min() < y_score.max():
                self.ways.append((fit_rows, y_fit, score_rows, y_score))


def _cross_fitted_auc(codes: np.ndarray, halves: _Halves) -> float:
    scores = []
    size = codes.max() + 1 if len(codes) else 1
    for fit_rows, y_fit, score_rows, y_score in halves.ways:
        fit_codes = codes[fit_rows]
        positive = np.bincount(fit_codes, weights=y_fit, minlength=size)
        total = np.bincount(fit_codes, minlength=size)
        rate = (positive + y_fit.mean()) / (total + 1.0)  # one pseudo-row at the prior: unseen bins score it
        scores.append(_auc_of_bins(codes[score_rows], y_score, rate))
    if not scores:
        return 0.5
    auc = float(np.mean(scores))
    return max(auc, 1.0 - auc)


def _auc_of_bins(codes: np.ndarray, y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of scoring each row by its bin's `score` (ties counted half), from counts per bin: O(n)."""
    size = len(score)
    positive = np.bincount(codes, weights=y, minlength=size)
    negative = np.bincount(codes, minlength=size) - positive
    levels, level = np.unique(score, return_inverse=True)  # bins with equal scores tie
    positive = np.bincount(level, weights=positive, minlength=len(levels))
    negative = np.bincount(level, weights=negative, minlength=len(levels))
    below = np.cumsum(negative) - negative  # negatives scored lower than each level
    return float((positive * (below + 0.5 * negative)).sum() / (positive.sum() * negative.sum()))


def _codes(x: np.ndarray, categorical: bool) -> np.ndarray:
    """Small non-negative integers: a category's code, a number's quantile bin (missing: a bin of its own)."""
    if categorical:
        return pd.factorize(x, use_na_sentinel=False)[0]
    finite = np.isfinite(x)
    values = x[finite]
    values = values[:: max(1, -(-len(values) // EDGE_ROWS))]  # every k-th value: for the edges only
    edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1])) if len(values) else []
    return np.where(finite, np.searchsorted(edges, np.where(finite, x, 0.0), side="right"), len(edges) + 1)


def boosting(categorical: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=100,
        early_stopping=False,
        class_weight="balanced",
        random_state=seed,
        categorical_features=categorical if categorical.any() else None,
    )


def _held_out_auc(model, x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """ROC-AUC on a stratified third of the rows of a model fitted on the other two thirds."""
    fit, score = train_test_split(np.arange(len(y)), test_size=1 / 3, stratify=y, random_state=seed)
    model.fit(fit_ready(x[fit]), y[fit])
    return float(roc_auc_score(y[score], model.predict_proba(x[score])[:, 1]))


def boosted_categories(x: np.ndarray, features: list[tuple[str, bool]]) -> np.ndarray:
    """Which features the boosting takes as categories: the categorical ones with fewer than 250 values
    (its 255 bins); one with more is read as its codes."""
    return np.array([c and len(np.unique(x[:, j])) < 250 for j, (_, c) in enumerate(features)], dtype=bool)


def feature_matrix(frame: pd.DataFrame, features: list[tuple[str, bool]]) -> np.ndarray:
    return np.column_stack([_feature(frame, name, categorical) for name, categorical in features])


def _feature(frame: pd.DataFrame, name: str, categorical: bool) -> np.ndarray:
    if name in frame.columns:
        if categorical:
            return text_codes(frame[name])[0].astype(np.float64)
        return numbers(frame, name)
    column, _, part = name.rpartition(".")  # derived from a time column: .hour, .weekday
    times = pd.to_datetime(frame[column])
    return (times.dt.hour if part == "hour" else times.dt.day_of_week).to_numpy(np.float64)


def row_features(frame: pd.DataFrame, columns: Columns) -> list[tuple[str, bool]]:
    """(name, categorical?) of the row's own features: numbers, categories, and for each time column
    its hour of day and day of week (a rhythm no raw timestamp shows)."""
    out = [(c, False) for c in columns.numeric] + [(c, True) for c in columns.categorical]
    for c in columns.numeric:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):
            out += [(f"{c}.hour", True), (f"{c}.weekday", True)]
    return out


def single_features(x: list[np.ndarray], y: np.ndarray, features: list[tuple[str, bool]],
                    seed: int) -> dict:  # fmt: skip
    """Each feature's single-feature AUC for the label `y` (`x`: the features' values), best first."""
    halves = _Halves(y, seed)
    single = {name: _cross_fitted_auc(_codes(values, categorical), halves)
              for values, (name, categorical) in zip(x, features, strict=True)}  # fmt: skip
    return dict(sorted(single.items(), key=lambda kv: -kv[1]))


def single_rows(y: np.ndarray, seed: int) -> np.ndarray:
    """The rows single-feature AUCs are read on: all of them, or `SINGLE_ROWS` (`balanced_rows`)."""
    if len(y) <= SINGLE_ROWS:
        return np.arange(len(y))
    return balanced_rows(y, SINGLE_ROWS, np.random.default_rng(seed))


def leak_check(frame: pd.DataFrame, columns: Columns, label: str, seed: int = 0) -> dict:
    """The cheap part of the audit, for one label: every feature's single-feature AUC and the leaks
    among them (what `sim evaluate` always checks of its target; the models are the audit's)."""
    features = [(n, c) for n, c in row_features(frame, columns) if n != label]
    y = binary_label(frame[label])
    if y is None or not features or min(y.sum(), len(y) - y.sum()) < 1:
        return {"checked": False, "leaks": []}
    rows = single_rows(y, seed)
    sample = frame.iloc[rows]
    single = single_features([_feature(sample, n, c) for n, c in features], y[rows], features, seed)
    best = next(iter(single))
    leaks = [n for n, auc in single.items() if auc >= LEAK]
    return {"checked": True, "best_single_feature": best, "best_single_feature_auc": single[best],
            "leaks": leaks, "single_feature_auc": single}  # fmt: skip


def audit(frame: pd.DataFrame, columns: Columns, labels: list[str], seed: int = 0,
          log: TransactionLog | None = None) -> dict:  # fmt: skip
    """The audit of each label in `labels` (see the module's docstring); features are `columns`' own,
    without the labels. `log` names a transaction log's columns, for the history features."""
    features = [(n, c) for n, c in row_features(frame, columns) if n not in labels]
    out = {}
    rng = np.random.default_rng(seed)
    x = feature_matrix(frame, features)
    mask = boosted_categories(x, features)
    history = log.history(frame) if log is not None else None
    seen: dict[bytes, str] = {}
    for label in labels:
        y = binary_label(frame[label])
        if y is None:
            continue
        same = seen.setdefault(hashlib.sha256(y.tobytes()).digest(), label)
        if same != label:  # fraud_type set exactly where is_fraud is: one audit says it
            out[label] = {"audited": False, "reason": f"set on the same rows as {same}"}
            continue
        positives = int(y.sum())
        if min(positives, len(y) - positives) < MIN_CLASS:
            out[label] = {"positives": positives, "audited": False,
                          "reason": f"fewer than {MIN_CLASS} rows in a class"}  # fmt: skip
            continue
        rows = single_rows(y, seed)
        single = single_features(list(x[rows].T), y[rows], features, seed)
        best = next(iter(single), None)
        tree_rows = balanced_rows(y, TREE_ROWS, rng)
        boost_rows = balanced_rows(y, BOOST_ROWS, rng)
        tree = DecisionTreeClassifier(max_depth=3, class_weight="balanced", random_state=seed)
        result = {
            "positives": positives,
            "audited": True,
            "best_single_feature": best,
            "best_single_feature_auc": single.get(best, 0.5),
            "single_feature_auc": single,
            "tells": [n for n, auc in single.items() if auc > TELL],
            "leaks": [n for n, auc in single.items() if auc >= LEAK],
            "tree_depth3_auc": _held_out_auc(tree, np.nan_to_num(x[tree_rows], nan=-1.0), y[tree_rows], seed),
            "boosting_auc": _held_out_auc(
                boosting(mask, seed), quantile_levels([x[boost_rows]], mask)[0], y[boost_rows], seed
            ),
        }
        if history is not None:
            both = np.column_stack([x[boost_rows], history.to_numpy()[boost_rows]])
            with_history = np.r_[mask, np.zeros(history.shape[1], bool)]
            both = quantile_levels([both], with_history)[0]
            auc = _held_out_auc(boosting(with_history, seed), both, y[boost_rows], seed)
            result["boosting_auc_with_history"] = auc
            result["history_features"] = list(history.columns)
        out[label] = result
    return out
