"""Behaviour: what row-by-row generators destroy and an agent-based simulator must keep (arXiv 2604.13125,
"Synthetic Tabular Generators Fail to Preserve Behavioral Fraud Patterns": degradation 17-100x).

Each metric is a distance between the synthetic and the real transaction log, beside the same distance
between two halves of the real log (its noise floor); their ratio is the degradation (about 1: as alike
as the real data is to itself). Halves are split by paying account, so every account's sequence stays
whole; the synthetic side is a random share of its paying accounts with about as many rows as a real
half. Floor and distance are means over `SPLITS` random splits (a single split's floor is itself noise).
Distributions are compared whole (each table's values are sorted once; a split keeps its share of that
order), so a distance carries no sampling noise of its own.

Metrics (distributions compared by the Kolmogorov-Smirnov statistic, rates and counts by their absolute
difference):
- `inter_event_time`: seconds between an account's consecutive payments (log scale);
- `burstiness`: per account with 3 or more payments, (sigma - mu) / (sigma + mu) of those gaps;
- `velocity_count_W`, `velocity_sum_W` for W in 1h, 24h, 7d: the share of payments whose payer had
  already made more (or paid more) within W than 99 % of the real half's payments had: how often a
  velocity rule set on the real data fires;
- `out_degree`, `in_degree`: distinct counterparties per payer and per payee (log scale);
- `fan_out`, `fan_in`: the share of payers paying, and of payees paid by, 5 or more distinct accounts;
- `cycles_2`, `cycles_3`, `cycles_4`: closed walks of 2, 3 and 4 payments among accounts that both pay
  and are paid, per 1,000 payers;
- `shared_counterparties`: pairs of payers paying the same payee (one paid by 2 to 50 accounts: a
  shared beneficiary, not a shop), per 1,000 payers;
- where balances exist: `balance_after` (the payer's balance after, signed log scale), `emptied` (the
  share of payments leaving a payer with money at exactly 0) and `negative` (the share ending below 0).
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from sim.evaluation.logs import TransactionLog, sorted_history
from sim.evaluation.tables import numbers, shared_codes

SPLITS = 10
VELOCITY = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
RULE_QUANTILE = 0.99
FAN = 5
SHARED_MAX = 50
KS_POINTS = 10_000  # quantiles of each side a KS distance is read at: its error is at most about 1e-4
BALANCES = (("origin_balance_before", "origin_balance_after"), ("oldbalanceOrg", "newbalanceOrig"))


class Log:
    """A transaction log's behaviour material, computed once per table: every payer's gaps and
    burstiness, every payment's velocity values (the payer's history before it), the distinct
    payer-payee edges and the payer's balances; a split keeps what belongs to its payers."""

    def __init__(self, frame: pd.DataFrame, log: TransactionLog):
        payer, payee = shared_codes([frame[log.account], frame[log.counterparty]])
        codes = np.r_[payer, payee]
        t, amount = log.seconds(frame), np.nan_to_num(numbers(frame, log.amount))
        t = np.nan_to_num(t - np.nanmin(t), nan=0.0) if len(t) else t  # a missing time: the first
        self.accounts = int(codes.max(initial=-1)) + 1
        self.payers = _distinct(payer)
        # rows by payer, then time: a payer's sequence in one run (what a split selects is a set of rows)
        order = np.lexsort((t, payer))
        sorted_payer, sorted_t = payer[order], t[order]
        self.payer = sorted_payer
        same = sorted_payer[1:] == sorted_payer[:-1]
        gap = np.log10(np.maximum(np.diff(sorted_t)[same], 0.0) + 1.0)
        self.gap_payer, self.gap = _ascending(sorted_payer[1:][same], gap)
        self.burst_payer, self.burst = _ascending(*_burstiness(sorted_payer, sorted_t, same))
        history = sorted_history(sorted_payer, sorted_t, amount[order], VELOCITY)
        self.rule_names = [f"velocity_{k}_{w}" for k in ("count", "sum") for w in VELOCITY]
        self.rules = np.stack([history[name.removeprefix("velocity_")] for name in self.rule_names])
        edges = _distinct(payer.astype(np.int64) * self.accounts + payee)
        src, dst = np.divmod(edges, self.accounts)
        self.src, self.dst = src[src != dst], dst[src != dst]
        lower = {c.lower(): c for c in frame.columns}
        pair = next(((lower[b.lower()], lower[a.lower()]) for b, a in BALANCES
                     if b.lower() in lower and a.lower() in lower), None)  # fmt: skip
        self.balances = None
        if pair:  # whether the payment emptied its payer, whether it left it negative, its balance after
            before, after = numbers(frame, pair[0])[order], numbers(frame, pair[1])[order]
            self.balances = (after == 0) & (before > 0), after < 0
            self.after_payer, self.after = _ascending(sorted_payer, np.sign(after) * np.log1p(np.abs(after)))

    @property
    def rows(self) -> int:
        return len(self.payer)

    def split(self, share: float, rng: np.random.Generator) -> np.ndarray:
        """A random `share` of the paying accounts, as a mask over accounts."""
        chosen = np.zeros(self.accounts, dtype=bool)
        chosen[rng.choice(self.payers, round(share * len(self.payers)), replace=False)] = True
        return chosen

    def profile(self, payers: np.ndarray) -> dict:
        """Every metric's raw material for the payments of the `payers` (a mask over accounts). Rows
        are picked with np.compress and np.take, twice as fast as boolean or fancy indexing here."""
        rows = np.flatnonzero(payers[self.payer])
        out: dict = {
            "inter_event_time": np.compress(payers[self.gap_payer], self.gap),
            "burstiness": np.compress(payers[self.burst_payer], self.burst),
            "rules": dict(zip(self.rule_names, np.take(self.rules, rows, axis=1), strict=True)),
        }
        keep = payers[self.src]
        src, dst = np.compress(keep, self.src), np.compress(keep, self.dst)
        out_degree = np.bincount(src, minlength=self.accounts)
        in_degree = np.bincount(dst, minlength=self.accounts)
        paying, paid = out_degree[out_degree > 0], in_degree[in_degree > 0]
        out["out_degree"], out["in_degree"] = np.log1p(np.sort(paying)), np.log1p(np.sort(paid))
        out["fan_out"] = float(np.mean(paying >= FAN)) if len(paying) else 0.0
        out["fan_in"] = float(np.mean(paid >= FAN)) if len(paid) else 0.0
        per = 1000.0 / max(len(paying), 1)
        out |= {f"cycles_{k}": v * per for k, v in _closed_walks(src, dst, out_degree, in_degree).items()}
        shared = in_degree[(in_degree >= 2) & (in_degree <= SHARED_MAX)]
        out["shared_counterparties"] = float((shared * (shared - 1) / 2).sum()) * per
        if self.balances is not None:
            emptied, negative = (np.take(values, rows) for values in self.balances)
            out["balance_after"] = np.compress(payers[self.after_payer], self.after)
            out["emptied"] = float(np.mean(emptied)) if len(rows) else 0.0
            out["negative"] = float(np.mean(negative)) if len(rows) else 0.0
        return out


def _distinct(values: np.ndarray) -> np.ndarray:
    """`np.unique` by a sort (numpy 2's hashing unique is several times slower on a million integers)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _ascending(owner: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values in ascending order, each with its owner: any selection of owners keeps them sorted."""
    order = np.argsort(values)
    return owner[order], values[order]


def _burstiness(payer: np.ndarray, t: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigma - mu) / (sigma + mu) of each account's gaps, for accounts with 3 or more payments (given
    sorted by account and time): (accounts, values)."""
    if not same.any():
        return np.empty(0, dtype=payer.dtype), np.empty(0)
    gaps = np.diff(t)[same]
    owner = payer[1:][same]
    starts = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    count = np.diff(np.r_[starts, len(gaps)])
    total = np.add.reduceat(gaps, starts)
    squares = np.add.reduceat(gaps * gaps, starts)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    ok = (count >= 2) & (std + mean > 0)
    return owner[starts][ok], ((std - mean) / (std + mean))[ok]


def _closed_walks(src: np.ndarray, dst: np.ndarray, out_degree: np.ndarray, in_degree: np.ndarray) -> dict:
    """Closed walks of 2, 3 and 4 steps (the traces of A^2, A^3, A^4) on the graph of accounts that both
    pay and are paid (no other account is on a cycle)."""
    both = (out_degree > 0) & (in_degree > 0)
    keep = both[src] & both[dst]
    index = np.cumsum(both) - 1  # an account's number among those kept
    walks = closed_walks(index[src[keep]], index[dst[keep]], int(both.sum()))
    return {k: float(v) for k, v in zip((2, 3, 4), walks, strict=True)}


@numba.njit(cache=True, nogil=True)
def closed_walks(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[int, int, int]:
    """Closed walks of 2, 3 and 4 steps over the distinct edges src -> dst among nodes 0..n-1: for each
    node k, the 2-paths from k to every node i (counted in a scratch row), then the walks that close
    back to k from i in 0, 1 or 2 more steps. Its work is that of the 2-paths, with no matrix product
    built (three times faster than sparse products on a million payments)."""
    out_start, out_next = _adjacency(src, dst, n)
    in_start, in_next = _adjacency(dst, src, n)
    paths = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    two = three = four = 0
    for k in range(n):
        m = 0
        for a in range(out_start[k], out_start[k + 1]):
            j = out_next[a]
            for b in range(out_start[j], out_start[j + 1]):
                i = out_next[b]
                if paths[i] == 0:
                    touched[m] = i
                    m += 1
                paths[i] += 1
        two += paths[k]  # k -> j -> k
        for a in range(in_start[k], in_start[k + 1]):
            last = in_next[a]
            three += paths[last]  # k -> j -> last -> k
            for b in range(in_start[last], in_start[last + 1]):
                four += paths[in_next[b]]  # k -> j -> i -> last -> k
        for t in range(m):
            paths[touched[t]] = 0
    return two, three, four


@numba.njit(cache=True, nogil=True)
def _adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows: the nodes after node k are next[start[k]:start[k + 1]]."""
    start = np.zeros(n + 1, np.int64)
    for e in range(len(src)):
        start[src[e] + 1] += 1
    for k in range(n):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    following = np.empty(len(src), np.int64)
    for e in range(len(src)):
        following[fill[src[e]]] = dst[e]
        fill[src[e]] += 1
    return start, following


def _ks(x: np.ndarray, y: np.ndarray, points: int = KS_POINTS) -> float:
    """The Kolmogorov-Smirnov statistic of two sorted samples (1 where only one is empty), read at
    `points` quantiles of each side: between two neighbours of that grid neither CDF rises by more than
    1/points (plus one value), which bounds the error; binary searches, not a merge of the samples."""
    if len(x) == 0 or len(y) == 0:
        return 0.0 if len(x) == len(y) else 1.0
    at = np.concatenate([_grid(x, points), _grid(y, points)])
    gaps = [np.searchsorted(x, at, side) / len(x) - np.searchsorted(y, at, side) / len(y)
            for side in ("left", "right")]  # fmt: skip
    return float(max(np.abs(gaps[0]).max(), np.abs(gaps[1]).max()))


def _grid(values: np.ndarray, points: int) -> np.ndarray:
    if len(values) <= points:
        return values
    return values[np.linspace(0, len(values) - 1, points).astype(int)]


def rules(profile: dict) -> dict[str, tuple[float, float]]:
    """Each velocity rule set on a profile: its threshold (the profile's 99 % quantile) and how often it
    fires there."""
    out = {}
    for rule, values in profile["rules"].items():
        threshold = np.quantile(values, RULE_QUANTILE) if len(values) else 0.0
        out[rule] = threshold, _share_above(values, threshold)
    return out


def _share_above(values: np.ndarray, threshold: float) -> float:
    return np.count_nonzero(values > threshold) / len(values) if len(values) else 0.0


def distances(reference: dict, other: dict, rules_set: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Each metric's distance between two profiles; velocity rules as `rules_set` on the reference."""
    out = {}
    for name, value in reference.items():
        if name == "rules":
            for rule, (threshold, fires) in rules_set.items():
                others = other["rules"][rule]
                out[rule] = abs(_share_above(others, threshold) - fires)
        elif name in other:
            out[name] = _ks(value, other[name]) if isinstance(value, np.ndarray) else abs(value - other[name])
    return out


def behaviour(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> dict | None:
    """The degradation of each metric (see the module's docstring), or None when either table is not a
    transaction log."""
    real_log, synth_log = TransactionLog.of(real), TransactionLog.of(synthetic)
    if real_log is None or synth_log is None:
        return None
    rng = np.random.default_rng(seed)
    real_all, synth_all = Log(real, real_log), Log(synthetic, synth_log)
    floors, values = [], []
    share = min(1.0, 0.5 * real_all.rows / max(synth_all.rows, 1))  # about a real half's rows
    for _ in range(SPLITS):
        half = real_all.split(0.5, rng)
        first, second = real_all.profile(half), real_all.profile(~half)
        part = synth_all.profile(synth_all.split(share, rng))
        rules_set = rules(first)
        floors.append(distances(first, second, rules_set))
        values.append(distances(first, part, rules_set))
    metrics = {}
    for name in floors[0]:
        floor = float(np.mean([f[name] for f in floors]))
        value = float(np.mean([v[name] for v in values]))
        metrics[name] = {
            "distance": value,
            "noise_floor": floor,
            "ratio": value / floor if floor > 0 else None,
        }
    ratios = {k: m["ratio"] for k, m in metrics.items() if m["ratio"] is not None}
    return {
        "splits": SPLITS,
        "metrics": metrics,
        "median_ratio": float(np.median(list(ratios.values()))) if ratios else None,
        "max_ratio": max(ratios.values()) if ratios else None,
        "worst": max(ratios, key=ratios.get) if ratios else None,
    }
