"""Reweighting: keep the simulator's rows whole (labels, identifiers, balances that reconcile) and resample
them toward the real data. A classifier separates real from simulated rows; its odds p / (1 - p) estimate
the density ratio real / simulated (the classifier two-sample trick), clipped to [1/c, c] so no row takes
over. Rows are then thinned within each label class: row i is kept with probability w_i / (the largest
weight of its class), so the rows kept are an exact sample of the reweighted distribution of each class,
none repeated, and a rare class is thinned no more than its own weights ask (label rates may shift
toward it). About 1 in `clip` rows survive: simulate that many times the rows you need. Given `size`,
that many rows are drawn without replacement in proportion to w. A transaction log is thinned by payer
instead (`_accounts_kept`), so each kept payer's history stays whole, and its balances are replayed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from sim.evaluation.tables import Columns, categorical_mask, encode
from sim.refine.base import Refiner, label_keys
from sim.refine.ledger import floors, is_ledger, replay


class Reweight(Refiner):
    name = "reweight"

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None, clip: float = 10.0,
                 folds: int = 5, size: int | None = None):  # fmt: skip
        super().__init__(random_state, labels)
        self.clip = clip
        self.folds = folds
        self.size = size

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> Reweight:
        features, labels = self._columns(sim, real)
        # labels are features too: the refined data takes the real data's label rates
        self.columns_ = Columns(features.numeric, features.categorical + labels, [])
        self.labels_ = labels
        x_sim, x_real = encode([sim, real], self.columns_)
        self.reference_ = (sim, real)
        x, y = np.vstack([x_sim, x_real]), np.r_[np.zeros(len(sim)), np.ones(len(real))]
        mask = categorical_mask(self.columns_)
        # out-of-fold probabilities for the simulated rows, so no row is weighted by a model that saw it
        self.oof_ = np.zeros(len(sim))
        splits = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        self.models_ = []
        for train, test in splits.split(x, y):
            model = HistGradientBoostingClassifier(
                max_iter=200, categorical_features=mask if mask.any() else None,
                random_state=self.random_state, class_weight="balanced",
            )  # fmt: skip
            model.fit(x[train], y[train])
            self.models_.append(model)
            held = test[test < len(sim)]
            self.oof_[held] = model.predict_proba(x[held])[:, 1]
        return self

    def weights(self, sim: pd.DataFrame) -> np.ndarray:
        """Each simulated row's importance weight (density ratio real / simulated, clipped)."""
        if sim is self.reference_[0]:
            p = self.oof_
        else:
            x = encode([*self.reference_, sim], self.columns_)[2]  # the fitted frames first: same codes
            p = np.mean([m.predict_proba(x)[:, 1] for m in self.models_], axis=0)
        p = np.clip(p, 1e-6, 1 - 1e-6)
        odds = p / (1 - p)  # balanced classes: the odds are the density ratio itself
        return np.clip(odds, 1 / self.clip, self.clip)

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        w = self.weights(sim)
        rng = self._rng()
        if self.size is None and is_ledger(sim):
            kept = sim.iloc[self._accounts_kept(sim, w, rng)].reset_index(drop=True)
            return replay(kept, floors(sim))
        if self.size is None:
            keys = label_keys(sim, self.labels_)
            top = pd.Series(w, index=sim.index).groupby(keys).transform("max").to_numpy()
            rows = np.flatnonzero(rng.random(len(sim)) < w / top)
        else:
            rows = np.sort(rng.choice(len(sim), size=min(self.size, len(sim)), replace=False, p=w / w.sum()))
        return sim.iloc[rows].reset_index(drop=True)

    def _accounts_kept(self, sim: pd.DataFrame, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The rows of the payers kept. A transaction log is thinned by account, not by row: each payer's
        weight is the geometric mean of its rows' (its history's average density ratio), and a payer is
        kept, with every row it paid, with probability weight / the largest weight of its class (the set of
        label combinations its rows carry: victims apart from payers of plain rows only), so each kept
        payer's history (timing, velocity, counterparties) is whole. Balances are replayed after: the
        payees of payers left out lose those credits."""
        payer = pd.factorize(sim["origin"])[0]
        log_w = np.bincount(payer, np.log(w)) / np.bincount(payer)
        codes = pd.factorize(label_keys(sim, self.labels_))[0]  # few: the label combinations present
        classes = np.zeros(len(log_w), np.uint64)  # a payer's class: the set of combinations its rows have
        np.bitwise_or.at(classes, payer, np.left_shift(np.uint64(1), (codes % 64).astype(np.uint64)))
        top = pd.Series(log_w).groupby(classes).transform("max").to_numpy()
        kept = rng.random(len(log_w)) < np.exp(log_w - top)
        return np.flatnonzero(kept[payer])
