"""Privacy: distance to closest record (DCR). Synthetic rows should be no closer to the real rows a
generator learned from than new real rows are: compare each synthetic row's distance to its nearest
training row with the same distance for held-out real rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from sim.evaluation.tables import Columns, encode

MAX_ROWS = 10_000


def _space(frames: list[pd.DataFrame], columns: Columns, reference: int) -> list[np.ndarray]:
    """Numbers scaled by the reference frame's spread; each category one-hot with weight 1/sqrt(2), so
    that two rows differing in one category are at distance 1, like one standard deviation."""
    encoded = encode(frames, columns)
    n_num = len(columns.numeric)
    ref = encoded[reference]
    centre = np.nanmean(ref[:, :n_num], axis=0) if n_num else np.zeros(0)
    spread = np.nanstd(ref[:, :n_num], axis=0) if n_num else np.zeros(0)
    spread = np.where(spread > 0, spread, 1.0)
    out = []
    for x in encoded:
        parts = [np.nan_to_num((x[:, :n_num] - centre) / spread)]
        for j in range(n_num, x.shape[1]):
            levels = np.unique(np.concatenate([e[:, j] for e in encoded]))
            parts.append((x[:, j][:, None] == levels[None, :]) / np.sqrt(2))
        out.append(np.hstack(parts) if parts else np.zeros((len(x), 0)))
    return out


def dcr(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns,
        seed: int = 0) -> dict:  # fmt: skip
    """Median DCR of synthetic rows and of held-out real rows to the training rows; the share of
    synthetic rows that are exact copies, and that are closer than all but 5 % of held-out rows."""
    rng = np.random.default_rng(seed)

    def sample(frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame if len(frame) <= MAX_ROWS else frame.iloc[rng.choice(len(frame), MAX_ROWS, replace=False)]
        )

    train, holdout, synthetic = sample(train), sample(holdout), sample(synthetic)
    x_train, x_holdout, x_synth = _space([train, holdout, synthetic], columns, reference=0)
    nearest = NearestNeighbors(n_neighbors=1).fit(x_train)
    to_synth = nearest.kneighbors(x_synth)[0][:, 0]
    to_holdout = nearest.kneighbors(x_holdout)[0][:, 0]
    close = np.quantile(to_holdout, 0.05)
    return {
        "dcr_synthetic": float(np.median(to_synth)),
        "dcr_holdout": float(np.median(to_holdout)),
        "exact_copies": float(np.mean(to_synth <= 1e-6)),  # float error of the distance computation
        "closer_than_holdout_5pct": float(np.mean(to_synth < close)),
    }
