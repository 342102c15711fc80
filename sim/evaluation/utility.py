"""Utility: does synthetic data train models as well as real data? Train-synthetic-test-real (TSTR) next to
train-real-test-real (TRTR) and train-real-test-synthetic (TRTS), by ROC-AUC and PR-AUC (fraud is rare,
so PR-AUC is the one to watch); and augmentation (real only, real + 15 % synthetic, real + SMOTE) over
several seeds, as in the seed paper's Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

from sim.errors import InputError
from sim.evaluation.tables import Columns, as_text, categorical_mask, encode

HOLDOUT = 0.3
AUGMENT_SHARE = 0.15


def labels(real: pd.Series, other: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels, 1 for the real data's rarer class (fraud, laundering, the minority outcome)."""
    values = as_text(real)
    counts = values.value_counts()
    if len(counts) != 2:
        raise InputError(f"the target needs exactly two classes in the real data; it has {len(counts)}")
    positive = counts.index[-1]
    return (values == positive).to_numpy(int), (as_text(other) == positive).to_numpy(int)


def _fit(x: np.ndarray, y: np.ndarray, mask: np.ndarray, seed: int, balanced: bool = False):
    """Gradient boosting; `balanced` weighs the classes equally, so a rare target is learned at all (the
    ranking scores use it; augmentation does not: adding rare rows is the rebalancing it measures)."""
    if len(np.unique(y)) < 2:
        raise InputError("a training set has only one class of the target")
    model = HistGradientBoostingClassifier(
        max_iter=200, categorical_features=mask if mask.any() else None, random_state=seed,
        class_weight="balanced" if balanced else None,
    )  # fmt: skip
    return model.fit(x, y)


def _scores(model, x: np.ndarray, y: np.ndarray) -> dict:
    p = model.predict_proba(x)[:, 1]
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None}
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p))}


def split_real(real: pd.DataFrame, y: np.ndarray, seed: int):
    """The real data's training part and its held-out part (stratified by the target)."""
    return train_test_split(real, y, test_size=HOLDOUT, stratify=y, random_state=seed)


def utility(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, target: str, seed: int = 0
) -> dict:
    """TSTR, TRTR and TRTS for `target`; the held-out real rows are never trained on."""
    y_real, y_synth = labels(real[target], synthetic[target])
    train, test, y_train, y_test = split_real(real, y_real, seed)
    drop = (target,)
    mask = categorical_mask(columns, drop)
    x_train, x_test, x_synth = encode([train, test, synthetic], columns, drop)
    on_real = _fit(x_train, y_train, mask, seed, balanced=True)
    on_synth = _fit(x_synth, y_synth, mask, seed, balanced=True)
    tstr, trtr, trts = (
        _scores(on_synth, x_test, y_test),
        _scores(on_real, x_test, y_test),
        _scores(on_real, x_synth, y_synth),
    )
    return {
        "tstr_auc": tstr["roc_auc"], "tstr_pr_auc": tstr["pr_auc"],
        "trtr_auc": trtr["roc_auc"], "trtr_pr_auc": trtr["pr_auc"],
        "trts_auc": trts["roc_auc"], "trts_pr_auc": trts["pr_auc"],
        "positive_rate_real": float(y_real.mean()), "positive_rate_synthetic": float(y_synth.mean()),
    }  # fmt: skip


def smote(x: np.ndarray, count: int, mask: np.ndarray, rng: np.random.Generator, k: int = 5) -> np.ndarray:
    """SMOTE (Chawla et al. 2002): new minority rows on the segment between a row and one of its k
    nearest minority neighbours; categories are the row's own."""
    if len(x) < 2:
        return np.repeat(x, count, axis=0)
    filled = np.nan_to_num(x)
    neighbours = NearestNeighbors(n_neighbors=min(k + 1, len(x))).fit(filled)
    _, index = neighbours.kneighbors(filled)
    base = rng.integers(0, len(x), count)
    partner = index[base, rng.integers(1, index.shape[1], count)]
    step = rng.random((count, 1))
    new = x[base] + step * (x[partner] - x[base])
    new[:, mask] = x[base][:, mask]
    return new


def augmentation(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, target: str,
                 seeds: int = 5) -> dict:  # fmt: skip
    """Precision, recall, F1 and PR-AUC on held-out real rows of a classifier trained on the real rows
    alone, plus 15 % more rows of the rare class from the synthetic data, or plus as many SMOTE rows;
    mean and standard deviation over `seeds` splits."""
    y_real, y_synth = labels(real[target], synthetic[target])
    drop = (target,)
    mask = categorical_mask(columns, drop)
    positives = synthetic[y_synth == 1]
    if len(positives) == 0:
        raise InputError("the synthetic data has no row of the rare class to augment with")
    arms: dict[str, list[dict]] = {"real": [], "real+synthetic": [], "real+smote": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        train, test, y_train, y_test = split_real(real, y_real, seed)
        extra = max(1, round(AUGMENT_SHARE * len(train)))
        pick = positives.iloc[rng.choice(len(positives), extra, replace=extra > len(positives))]
        x_train, x_test, x_extra = encode([train, test, pick], columns, drop)
        x_smote = smote(x_train[y_train == 1], extra, mask, rng)
        sets = {
            "real": (x_train, y_train),
            "real+synthetic": (np.vstack([x_train, x_extra]), np.r_[y_train, np.ones(extra, int)]),
            "real+smote": (np.vstack([x_train, x_smote]), np.r_[y_train, np.ones(extra, int)]),
        }
        for arm, (x, y) in sets.items():
            model = _fit(x, y, mask, seed)
            predicted = model.predict(x_test)
            arms[arm].append({
                "precision": float(precision_score(y_test, predicted, zero_division=0)),
                "recall": float(recall_score(y_test, predicted, zero_division=0)),
                "f1": float(f1_score(y_test, predicted, zero_division=0)),
                "pr_auc": float(average_precision_score(y_test, model.predict_proba(x_test)[:, 1])),
            })  # fmt: skip
    return {
        arm: {m: {"mean": float(np.mean([r[m] for r in runs])), "std": float(np.std([r[m] for r in runs]))}
              for m in runs[0]}
        for arm, runs in arms.items()
    } | {"seeds": seeds, "rows_added": "15 % of the real training rows, of the rare class"}  # fmt: skip
