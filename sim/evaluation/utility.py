"""Utility: does synthetic data train models as well as real data? Train-synthetic-test-real (TSTR) next to
train-real-test-real (TRTR) and train-real-test-synthetic (TRTS), by ROC-AUC and PR-AUC (fraud is rare,
so PR-AUC is the one to watch); and augmentation (real only, real + 15 % synthetic, real + SMOTE) over
several seeds, as in the seed paper's Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from sim.errors import InputError
from sim.evaluation.tables import (
    Columns,
    balanced_rows,
    categorical_mask,
    encode,
    fit_ready,
    quantile_levels,
    scoring_rows,
    shared_codes,
    uniform_rows,
)

HOLDOUT = 0.3
AUGMENT_SHARE = 0.15
TRAIN_ROWS = 50_000  # rows a utility model trains on: every positive up to half, negatives for the rest
SCORE_NEGATIVES = 100_000  # negative rows it is scored on, beside every positive (`scoring_rows`)
AUGMENT_ROWS = 30_000  # real training rows per augmentation seed, drawn uniformly (the imbalance as it is)
AUGMENT_RARE = 50  # ... with at least this many of the rare class where the training part has them


def labels(real: pd.Series, other: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels, 1 for the real data's rarer class (fraud, laundering, the minority outcome)."""
    codes = shared_codes([real, other])
    counts = np.bincount(codes[0])
    if np.count_nonzero(counts) != 2:
        raise InputError(
            f"the target needs exactly two classes in the real data; it has {np.count_nonzero(counts)}"
        )
    positive = 1 if counts[1] <= counts[0] else 0  # the rarer (a tie: the later to appear)
    return (codes[0] == positive).astype(int), (codes[1] == positive).astype(int)


def _fit(x: np.ndarray, y: np.ndarray, mask: np.ndarray, seed: int, balanced: bool = False):
    """Gradient boosting; `balanced` weighs the classes equally, so a rare target is learned at all (the
    ranking scores use it; augmentation does not: adding rare rows is the rebalancing it measures)."""
    if len(np.unique(y)) < 2:
        raise InputError("a training set has only one class of the target")
    model = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=mask if mask.any() else None, random_state=seed,
        class_weight="balanced" if balanced else None,
    )  # fmt: skip
    return model.fit(fit_ready(x), y)


def _scores(model, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> dict:
    p = model.predict_proba(x)[:, 1]
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None}
    return {"roc_auc": float(roc_auc_score(y, p, sample_weight=weights)),
            "pr_auc": float(average_precision_score(y, p, sample_weight=weights))}  # fmt: skip


def split_real(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the real data's training part and of its held-out part, in table order:
    `HOLDOUT` of each class's rows, drawn at random (stratified by the target `y`); positions, not
    copies of a million rows."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        held[rng.choice(rows, round(HOLDOUT * len(rows)), replace=False)] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def utility(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, target: str, seed: int = 0
) -> dict:
    """TSTR, TRTR and TRTS for `target`; the held-out real rows are never trained on. Models train on
    `TRAIN_ROWS` rows and are scored on every positive and `SCORE_NEGATIVES` weighted negatives."""
    rng = np.random.default_rng(seed)
    y_real, y_synth = labels(real[target], synthetic[target])
    train, test = split_real(y_real, seed)
    y_train, y_test = y_real[train], y_real[test]
    fit_real, fit_synth = balanced_rows(y_train, TRAIN_ROWS, rng), balanced_rows(y_synth, TRAIN_ROWS, rng)
    (score_real, weight_real), (score_synth, weight_synth) = (
        scoring_rows(y_test, SCORE_NEGATIVES, rng),
        scoring_rows(y_synth, SCORE_NEGATIVES, rng),
    )
    frames = [
        real.iloc[train[fit_real]],
        synthetic.iloc[fit_synth],
        real.iloc[test[score_real]],
        synthetic.iloc[score_synth],
    ]
    drop = (target,)
    mask = categorical_mask(columns, drop)
    x_train, x_synth, x_test, x_synth_test = encode(frames, columns, drop)
    x_train, x_test_real, x_synth_test = quantile_levels([x_train, x_test, x_synth_test], mask)
    x_synth, x_test_synth = quantile_levels([x_synth, x_test], mask)
    on_real = _fit(x_train, y_train[fit_real], mask, seed, balanced=True)
    on_synth = _fit(x_synth, y_synth[fit_synth], mask, seed, balanced=True)
    tstr, trtr, trts = (
        _scores(on_synth, x_test_synth, y_test[score_real], weight_real),
        _scores(on_real, x_test_real, y_test[score_real], weight_real),
        _scores(on_real, x_synth_test, y_synth[score_synth], weight_synth),
    )
    return {
        "tstr_auc": tstr["roc_auc"], "tstr_pr_auc": tstr["pr_auc"],
        "trtr_auc": trtr["roc_auc"], "trtr_pr_auc": trtr["pr_auc"],
        "trts_auc": trts["roc_auc"], "trts_pr_auc": trts["pr_auc"],
        "positive_rate_real": float(y_real.mean()), "positive_rate_synthetic": float(y_synth.mean()),
    }  # fmt: skip


def smote(x: np.ndarray, y: np.ndarray, count: int, mask: np.ndarray, seed: int, k: int = 5) -> np.ndarray:
    """`count` new rows of the rare class (y == 1) by imbalanced-learn's SMOTE (Chawla et al. 2002):
    each on the segment between a rare row and one of its k nearest rare neighbours; SMOTE-NC (the
    neighbours' most frequent category) where some features are categories. Missing numbers are filled
    with the column's median first (SMOTE cannot place a point between missing values)."""
    from imblearn.over_sampling import SMOTE, SMOTENC

    rare = int((y == 1).sum())
    if rare < 2:
        return np.repeat(x[y == 1], count, axis=0)
    filled = np.where(np.isnan(x), np.nanmedian(x, axis=0), x) if np.isnan(x).any() else x
    filled = np.nan_to_num(filled)  # an all-missing column
    options = {"sampling_strategy": {1: rare + count}, "k_neighbors": min(k, rare - 1), "random_state": seed}
    categorical = np.flatnonzero(mask).tolist()  # imbalanced-learn wants a list
    sampler = SMOTENC(categorical_features=categorical, **options) if categorical else SMOTE(**options)
    resampled, _ = sampler.fit_resample(filled, y)
    return resampled[len(x) :]  # imbalanced-learn appends the new rows after the originals


def augmentation(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, target: str,
                 seeds: int = 5) -> dict:  # fmt: skip
    """Precision, recall, F1 and PR-AUC on held-out real rows of a classifier trained on the real rows
    alone, plus 15 % more rows of the rare class from the synthetic data, or plus as many SMOTE rows;
    mean and standard deviation over `seeds` splits. Each seed trains on `AUGMENT_ROWS` real rows (at
    least `AUGMENT_RARE` of the rare class) and is scored on every held-out positive and
    `SCORE_NEGATIVES` weighted held-out negatives (`scoring_rows`)."""
    y_real, y_synth = labels(real[target], synthetic[target])
    drop = (target,)
    mask = categorical_mask(columns, drop)
    positives = synthetic[y_synth == 1]
    if len(positives) == 0:
        raise InputError("the synthetic data has no row of the rare class to augment with")
    arms: dict[str, list[dict]] = {"real": [], "real+synthetic": [], "real+smote": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        train, test = split_real(y_real, seed)
        y_train, y_test = y_real[train], y_real[test]
        fit = uniform_rows(len(train), AUGMENT_ROWS, rng)
        score, weights = scoring_rows(y_real[test], SCORE_NEGATIVES, rng)
        short = AUGMENT_RARE - int(y_train[fit].sum())
        if short > 0:  # top the rare class up (from the rows not drawn)
            spare = np.setdiff1d(np.flatnonzero(y_train == 1), fit)
            fit = np.sort(np.r_[fit, rng.choice(spare, min(short, len(spare)), replace=False)])
        train, y_train, test, y_test = (
            real.iloc[train[fit]],
            y_train[fit],
            real.iloc[test[score]],
            y_test[score],
        )
        if y_train.min() == y_train.max():
            raise InputError(f"a training sample of {len(fit):,} rows has only one class of the target")
        extra = max(1, round(AUGMENT_SHARE * len(train)))
        pick = positives.iloc[rng.choice(len(positives), extra, replace=extra > len(positives))]
        x_train, x_test, x_extra = encode([train, test, pick], columns, drop)
        x_smote = smote(x_train, y_train, extra, mask, seed)
        sets = {
            "real": (x_train, y_train),
            "real+synthetic": (np.vstack([x_train, x_extra]), np.r_[y_train, np.ones(extra, int)]),
            "real+smote": (np.vstack([x_train, x_smote]), np.r_[y_train, np.ones(extra, int)]),
        }
        for arm, (x, y) in sets.items():
            model = _fit(x, y, mask, seed)
            probability = model.predict_proba(x_test)[:, 1]
            predicted = (probability > 0.5).astype(int)  # what `predict` says, from one pass
            weighted = {"sample_weight": weights}
            arms[arm].append({
                "precision": float(precision_score(y_test, predicted, zero_division=0, **weighted)),
                "recall": float(recall_score(y_test, predicted, zero_division=0, **weighted)),
                "f1": float(f1_score(y_test, predicted, zero_division=0, **weighted)),
                "pr_auc": float(average_precision_score(y_test, probability, **weighted)),
            })  # fmt: skip
    return {
        arm: {m: {"mean": float(np.mean([r[m] for r in runs])), "std": float(np.std([r[m] for r in runs]))}
              for m in runs[0]}
        for arm, runs in arms.items()
    } | {"seeds": seeds, "rows_added": "15 % of the real training rows, of the rare class"}  # fmt: skip
