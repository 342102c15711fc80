"""The refiners' one contract: `fit(sim, real) -> self`, `transform(sim) -> DataFrame`, `random_state`.
A refiner moves simulated rows toward a real sample; labels and identifiers survive it unchanged, and
every column keeps its dtype (`sim.refine.types`). A refiner writes `_transform`; `transform` holds it to
the types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.evaluation.tables import Columns, as_text, describe, is_identifier, is_label
from sim.refine.types import conform


class Refiner:
    """Base of every refiner. `labels` are the columns kept and conditioned on (default: the label
    columns by name: is_fraud, fraud_type, is_laundering, typology, target, ...); identifiers (account ids,
    incident ids) are kept as they are. Fitted attributes end in `_`."""

    name = "refiner"

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None):
        self.random_state = random_state
        self.labels = labels

    def _columns(self, sim: pd.DataFrame, real: pd.DataFrame) -> tuple[Columns, list[str]]:
        """The shared columns by kind, and the label columns (those not in both tables are dropped)."""
        if self.labels is None:  # the labels themselves; label-derived ids (campaign_id) are kept as ids
            labels = [c for c in sim.columns if is_label(c) and not is_identifier(c)]
        else:
            labels = self.labels
        labels = [c for c in labels if c in sim.columns and c in real.columns]
        missing = [c for c in (self.labels or []) if c not in labels]
        if missing:
            raise InputError(f"label columns not in both tables: {', '.join(missing)}")
        columns = describe(real, sim)
        features = Columns(
            [c for c in columns.numeric if c not in labels and not is_identifier(c)],
            [c for c in columns.categorical if c not in labels and not is_identifier(c)],
            columns.identifiers + [c for c in columns.labels if c not in labels],
        )
        if not features.used:
            raise InputError("no feature column to refine: the tables share only labels and identifiers")
        return features, labels

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> Refiner:
        raise NotImplementedError

    def transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        """The refined rows, each column in the simulated table's dtype."""
        return conform(self._transform(sim), sim)

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def fit_transform(self, sim: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
        return self.fit(sim, real).transform(sim)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.random_state)


def label_keys(frame: pd.DataFrame, labels: list[str]) -> pd.Series:
    """Each row's combination of label values, as one text key (the class it is conditioned on)."""
    if not labels:
        return pd.Series("all", index=frame.index)
    return as_text(frame[labels]).agg("|".join, axis=1)
