"""Scheduled transactions of fraud and AML patterns: few rows, made ahead, merged into each step.

A pattern is decided when it starts (its accounts, times and amounts), so its rows can land in later
steps; the agenda holds them until their step. Times are continuous, in steps: `t = step + offset`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sim.domains.payments.kernels import FIXED
from sim.domains.payments.records import PATTERNS
from sim.records import TIMESTAMP, record_batch

FIELDS = {
    "time": (np.float64, None),
    "kind": (np.int8, None),
    "origin": (np.int64, None),
    "dest": (np.int64, None),
    "amount": (np.float64, None),
    "mode": (np.int8, FIXED),
    "fraud": (np.int8, 0),  # fraud_type code + 1
    "campaign": (np.int64, -1),
    "typology": (np.int8, 0),  # AML typology code + 1
    "pattern": (np.int64, -1),
    "category": (np.int8, -1),
}


def make_rows(**columns) -> dict[str, np.ndarray]:
    """Rows with every field: given columns are broadcast to the length of `time`, the rest defaulted."""
    n = len(columns["time"])
    out = {}
    for name, (dtype, default) in FIELDS.items():
        value = columns.pop(name, default)
        if value is None:
            raise TypeError(f"rows need '{name}'")
        out[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    if columns:
        raise TypeError(f"unknown row fields: {sorted(columns)}")
    return out


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return make_rows(time=np.empty(0), kind=0, origin=0, dest=0, amount=0.0)
    return {name: np.concatenate([p[name] for p in parts]) for name in FIELDS}


class Agenda:
    """Rows waiting for their step."""

    def __init__(self, horizon: int):
        self.horizon = horizon
        self._due: dict[int, list[dict[str, np.ndarray]]] = defaultdict(list)

    def add(self, rows: dict[str, np.ndarray]) -> None:
        step = np.floor(rows["time"]).astype(np.int64)
        keep = step < self.horizon  # after the horizon: never happens in this run
        order = np.argsort(step[keep], kind="stable")
        idx = np.flatnonzero(keep)[order]
        if len(idx) == 0:
            return
        steps, starts = np.unique(step[idx], return_index=True)
        for s, chunk in zip(steps, np.split(idx, starts[1:]), strict=True):
            self._due[int(s)].append({name: values[chunk] for name, values in rows.items()})

    def take(self, k: int) -> dict[str, np.ndarray]:
        """Step k's rows, in time order."""
        rows = concat(self._due.pop(k, []))
        order = np.argsort(rows["time"], kind="stable")
        return {name: values[order] for name, values in rows.items()}


@dataclass
class Membership:
    """Who took part in which pattern, and as what (the `patterns` table)."""

    rows: list[tuple] = field(default_factory=list)
    next_id: int = 1

    def new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids

    def add(self, kind, typology, pattern, accounts, member_role, campaign, start) -> None:
        """Vectorised: array arguments are aligned; scalars apply to every member."""
        accounts = np.atleast_1d(accounts)
        n = len(accounts)
        columns = [np.broadcast_to(np.asarray(v), (n,)) for v in (pattern, member_role, campaign, start)]
        self.rows.append((kind, typology, accounts, *columns))

    def table(self, account_id: np.ndarray, start_us: int, step_us: int) -> pa.Table:
        if not self.rows:
            return PATTERNS.empty_table()
        cols = {name: [] for name in PATTERNS.names}
        for kind, typology, accounts, pattern, member_role, campaign, start in self.rows:
            n = len(accounts)
            cols["pattern_id"].append(pattern.astype(np.int64))
            cols["kind"].append(np.full(n, kind, dtype=object))
            cols["typology"].append(np.full(n, typology, dtype=object))
            cols["account"].append(account_id[accounts])
            cols["member_role"].append(member_role.astype(object))
            cols["campaign_id"].append(campaign.astype(np.int64))
            cols["start"].append(start_us + (start.astype(np.float64) * step_us).astype(np.int64))
        arrays = {name: np.concatenate(v) for name, v in cols.items()}
        order = np.lexsort((arrays["member_role"].astype(str), arrays["pattern_id"]))
        campaign = arrays["campaign_id"][order]
        columns = {
            "pattern_id": pa.array(arrays["pattern_id"][order]),
            "kind": pa.array(arrays["kind"][order], pa.string()),
            "typology": pa.array(arrays["typology"][order], pa.string()),
            "account": pa.array(arrays["account"][order]),
            "member_role": pa.array(arrays["member_role"][order], pa.string()),
            "campaign_id": pa.array(campaign, mask=campaign < 0),
            "start": pa.array(arrays["start"][order], TIMESTAMP),
        }
        return pa.Table.from_batches([record_batch(PATTERNS, columns)])
