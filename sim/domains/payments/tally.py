"""What a payments run's report shows, tallied step by step as rows settle (the written table may be a CSV
or be gone by then): per step, fraud rows by type and laundering rows by typology; per type, rows,
declines and amounts by label (legitimate, fraud, laundering) with a log-scale histogram for their
quantiles; per merchant category, purchases, amounts and fraud. Amounts are summed exactly (in cents), so
the tallies of a sharded run's hosts `merge` into the whole run's."""

from __future__ import annotations

import numpy as np

from sim.domains.payments.sums import add_cents

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
        self.cents = np.zeros((types, len(LABELS)), dtype=np.int64)
        self.histogram = np.zeros((types, len(LABELS), BINS), dtype=np.int64)
        self.purchases = np.zeros((max(categories, 1), 3), dtype=np.int64)  # purchases, cents, fraud rows
        self.example: dict[int, int] = {}  # laundering typology code -> its lowest pattern id seen
        self._example_rows: dict[int, list[tuple]] = {}  # typology -> (step, offset, origin, dest, amount)

    @property
    def amount(self) -> np.ndarray:
        return self.cents / 100.0

    @property
    def category(self) -> np.ndarray:
        """Per category: purchases, amount, fraud rows."""
        return self.purchases * np.array([1.0, 0.01, 1.0])

    @property
    def example_rows(self) -> dict[int, list[tuple]]:
        """The settled rows (step, origin, dest, amount) of each laundering typology's example pattern (its
        lowest id), in time order."""
        return {code: [(k, o, d, a) for k, _, o, d, a in sorted(rows)]
                for code, rows in self._example_rows.items() if rows}  # fmt: skip

    def add(self, k: int, cols: dict[str, np.ndarray], amount: np.ndarray, declined: np.ndarray) -> None:
        """Step k's rows (`cols`: the world's columns; `fraud`, `typology`: 0 or the 1-based code;
        `category`: -1 or a code) with their settled amounts and whether each was declined."""
        kind, fraud, typology, category = cols["kind"], cols["fraud"], cols["typology"], cols["category"]
        label = np.where(typology > 0, 2, np.where(fraud > 0, 1, 0))
        cell = kind.astype(np.int64) * len(LABELS) + label
        size = self.types * len(LABELS)
        self.rows += np.bincount(cell, minlength=size).reshape(self.rows.shape)
        add_cents(cell, amount, self.cents.reshape(-1))
        self.declined_by_type += np.bincount(kind[declined], minlength=self.types)
        self.declined[k] = np.bincount(label[declined], minlength=len(LABELS))
        decade = np.log10(np.where(amount > 0, amount, 1.0))  # bin 0 below: no -inf to cast
        bins = np.clip(np.floor((decade - LOW_DECADE) * BINS_PER_DECADE).astype(np.int64) + 1, 1, BINS - 1)
        bins[amount <= 0] = 0
        self.histogram += np.bincount(cell * BINS + bins, minlength=size * BINS).reshape(self.histogram.shape)
        if fraud.any() or typology.any():
            self.fraud[k] = np.bincount(fraud, minlength=self.fraud.shape[1] + 1)[1:]
            self.laundering[k] = np.bincount(typology, minlength=self.laundering.shape[1] + 1)[1:]
            self._examples(k, cols, amount, declined)
        bought = category >= 0
        if bought.any():
            codes, n = category[bought].astype(np.int64), len(self.purchases)
            self.purchases[:, 0] += np.bincount(codes, minlength=n)
            add_cents(codes, amount[bought], self.purchases[:, 1])
            self.purchases[:, 2] += np.bincount(codes[fraud[bought] > 0], minlength=n)

    def _examples(self, k, cols, amount, declined) -> None:
        """Keep every settled row of each laundering typology's lowest pattern id (the report draws it)."""
        typology, pattern = cols["typology"], cols["pattern"]
        for row in np.flatnonzero(typology > 0):
            self._example(int(typology[row]), int(pattern[row]), [] if declined[row] else [
                (k, float(cols["offset"][row]), int(cols["origin"][row]), int(cols["dest"][row]),
                 float(amount[row]))])  # fmt: skip

    def _example(self, code: int, pattern: int, rows: list[tuple]) -> None:
        lowest = self.example.get(code)
        if lowest is None or pattern < lowest:
            self.example[code], self._example_rows[code] = pattern, []
        if pattern == self.example[code]:
            self._example_rows[code] += rows

    def merge(self, other: ReportTally) -> None:
        """Add another tally's rows (another host's, in a sharded run)."""
        for name in ("fraud", "laundering", "declined", "rows", "declined_by_type", "cents", "histogram",
                     "purchases"):  # fmt: skip
            getattr(self, name).__iadd__(getattr(other, name))
        for code, pattern in other.example.items():
            self._example(code, pattern, other._example_rows.get(code, []))

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
