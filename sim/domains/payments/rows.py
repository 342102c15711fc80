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

    def table(self, account_id: np.ndarray, start_us: int, step_us: int, rows: int) -> pa.RecordBatchReader:
        """The patterns table, ordered by pattern and member role, `rows` members a batch: its strings are
        made a batch at a time, so a long run's patterns are never held whole as Python strings."""
        if not self.rows:
            return PATTERNS.empty_table().to_reader()
        cols, names = self._columns()
        order = np.lexsort((cols["member_role"], cols["pattern_id"]))  # role codes sort as the names do

        def batch(at: np.ndarray) -> pa.RecordBatch:
            taken = {name: values[at] for name, values in cols.items()}
            columns = {name: pa.array(names[name][taken[name]], pa.string()) for name in NAMED}
            columns["pattern_id"] = pa.array(taken["pattern_id"])
            columns["account"] = pa.array(account_id[taken["account"]])
            columns["campaign_id"] = pa.array(taken["campaign_id"], mask=taken["campaign_id"] < 0)
            columns["start"] = pa.array(start_us + (taken["start"] * step_us).astype(np.int64), TIMESTAMP)
            return record_batch(PATTERNS, columns)

        batches = (batch(order[lo : lo + rows]) for lo in range(0, len(order), rows))
        return pa.RecordBatchReader.from_batches(PATTERNS, batches)

    def counts(self) -> dict[str, int]:
        """Patterns by `kind.typology`, in the order the table first lists each (its lowest pattern id)."""
        if not self.rows:
            return {}
        cols, names = self._columns()
        group = cols["kind"].astype(np.int64) * len(names["typology"]) + cols["typology"]
        group, pattern = np.unique(np.stack([group, cols["pattern_id"]]), axis=1)  # each pattern once
        groups, first, count = np.unique(group, return_index=True, return_counts=True)
        kind, typology = np.divmod(groups, len(names["typology"]))
        return {f"{names['kind'][kind[i]]}.{names['typology'][typology[i]]}": int(count[i])
                for i in np.argsort(pattern[first], kind="stable")}  # fmt: skip

    def _columns(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The members as numbers (kind, typology and role as codes into their names, sorted), and the
        names."""
        met = {name: {} for name in NAMED}  # name -> {value: code, in the order met}
        parts = {name: [] for name in ("pattern_id", *NAMED, "account", "campaign_id", "start")}
        for kind, typology, accounts, pattern, member_role, campaign, start in self.rows:
            n = len(accounts)
            roles, inverse = np.unique(member_role, return_inverse=True)
            found = [met["member_role"].setdefault(r, len(met["member_role"])) for r in roles]
            parts["member_role"].append(np.array(found, dtype=np.int64)[inverse.reshape(-1)])
            for name, value in (("kind", kind), ("typology", typology)):
                parts[name].append(np.full(n, met[name].setdefault(value, len(met[name]))))
            parts["pattern_id"].append(pattern.astype(np.int64))
            parts["account"].append(np.asarray(accounts, dtype=np.int64))
            parts["campaign_id"].append(campaign.astype(np.int64))
            parts["start"].append(start.astype(np.float64))
        cols = {name: np.concatenate(values) for name, values in parts.items()}
        names = {}
        for name, codes in met.items():
            ordered = sorted(codes, key=str)
            rank = np.empty(len(codes), dtype=np.int64)
            rank[[codes[v] for v in ordered]] = np.arange(len(ordered))
            cols[name] = rank[cols[name]]
            names[name] = np.asarray(ordered, dtype=object)
        return cols, names


NAMED = ("kind", "typology", "member_role")  # the patterns table's string columns
