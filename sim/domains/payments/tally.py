"""What a payments run's report shows, tallied step by step as rows settle (the written table may be a CSV
or be gone by then): per step, fraud rows by type and laundering rows by typology; per type, rows,
declines and amounts by label (legitimate, fraud, laundering) with a log-scale histogram for their
quantiles; per merchant category, purchases, amounts and fraud."""

from __future__ import annotations

import numpy as np

LABELS = ("legitimate", "fraud", "laundering")
BINS_PER_DECADE = 20
LOW_DECADE, HIGH_DECADE = -2, 10  # amounts from 0.01 to 1e10 (beyond: the end bins)
BINS = (HIGH_DECADE - LOW_DECADE) * BINS_PER_DECADE + 1  # bin 0 holds zero amounts


class ReportTally:
    def __init__(self, steps: int, types: int, fraud_types: int, typologies: int, categories: int):
        self.types = types
        self.fraud = np.zeros((steps, fraud_types), dtype=np.int64)
        self.laundering = np.zeros((steps, typologies), dtype=np.int64)
        self.declined = np.zeros((steps, len(LABELS)), dtype=np.int64)
        self.rows = np.zeros((types, len(LABELS)), dtype=np.int64)
        self.declined_by_type = np.zeros(types, dtype=np.int64)
        self.amount = np.zeros((types, len(LABELS)))
        self.histogram = np.zeros((types, len(LABELS), BINS), dtype=np.int64)
        self.category = np.zeros((max(categories, 1), 3))  # purchases, amount, fraud rows
        self.example: dict[int, int] = {}  # laundering typology code -> its first pattern's id
        self.example_rows: dict[int, list[tuple]] = {}  # typology -> (step, origin, dest, amount) rows

    def add(self, k: int, cols: dict[str, np.ndarray], amount: np.ndarray, declined: np.ndarray) -> None:
        """Step k's rows (`cols`: the world's columns; `fraud`, `typology`: 0 or the 1-based code;
        `category`: -1 or a code) with their settled amounts and whether each was declined."""
        kind, fraud, typology, category = cols["kind"], cols["fraud"], cols["typology"], cols["category"]
        label = np.where(typology > 0, 2, np.where(fraud > 0, 1, 0))
        cell = kind.astype(np.int64) * len(LABELS) + label
        size = self.types * len(LABELS)
        self.rows += np.bincount(cell, minlength=size).reshape(self.rows.shape)
        self.amount += np.bincount(cell, weights=amount, minlength=size).reshape(self.amount.shape)
        self.declined_by_type += np.bincount(kind[declined], minlength=self.types)
        self.declined[k] = np.bincount(label[declined], minlength=len(LABELS))
        decade = np.log10(np.where(amount > 0, amount, 1.0))  # bin 0 below: no -inf to cast
        bins = np.clip(np.floor((decade - LOW_DECADE) * BINS_PER_DECADE).astype(np.int64) + 1, 1, BINS - 1)
        bins[amount <= 0] = 0
        self.histogram += np.bincount(cell * BINS + bins, minlength=size * BINS).reshape(self.histogram.shape)
        if fraud.any() or typology.any():
            self.fraud[k] = np.bincount(fraud, minlength=self.fraud.shape[1] + 1)[1:]
            self.laundering[k] = np.bincount(typology, minlength=self.laundering.shape[1] + 1)[1:]
            self._examples(k, typology, cols["pattern"], cols["origin"], cols["dest"], amount, declined)
        bought = category >= 0
        if bought.any():
            codes, n = category[bought], len(self.category)
            self.category[:, 0] += np.bincount(codes, minlength=n)
            self.category[:, 1] += np.bincount(codes, weights=amount[bought], minlength=n)
            self.category[:, 2] += np.bincount(codes, weights=fraud[bought] > 0, minlength=n)

    def _examples(self, k, typology, pattern, origin, dest, amount, declined) -> None:
        """Keep every row of each laundering typology's first pattern (the report draws it)."""
        for row in np.flatnonzero(typology > 0):
            code = int(typology[row])
            first = self.example.setdefault(code, int(pattern[row]))
            if first == pattern[row] and not declined[row]:
                self.example_rows.setdefault(code, []).append(
                    (k, int(origin[row]), int(dest[row]), float(amount[row]))
                )

    def quantiles(self, t: int, label: int, levels: tuple[float, ...]) -> list[float | None]:
        """Approximate quantiles of type t's amounts with `label` (the histogram's bin centres: within
        about 6 % of the exact value); None where there are no rows."""
        counts = self.histogram[t, label]
        total = counts.sum()
        if total == 0:
            return [None] * len(levels)
        at = np.searchsorted(np.cumsum(counts), np.asarray(levels) * total, side="left")
        centres = 10 ** (LOW_DECADE + (at - 0.5) / BINS_PER_DECADE)
        return [0.0 if b == 0 else float(c) for b, c in zip(at, centres, strict=True)]
