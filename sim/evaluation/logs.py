"""Transaction logs among the tables evaluation sees: which columns are the payer, the payee, the time and
the amount (ours, PaySim's and Sparkov's names), and each account's history before each of its events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.evaluation.tables import numbers, text_codes

HISTORY = {"1h": 3600.0, "24h": 86400.0}  # the windows of the history features (seconds)


class TransactionLog:
    """Which columns of a table are a transaction log's payer, payee, time and amount (ours, PaySim's and
    Sparkov's names), or None when it is not one."""

    ACCOUNT = ("origin", "nameorig", "cc_num", "account", "customer")
    COUNTERPARTY = ("dest", "namedest", "merchant", "counterparty")
    TIME = ("timestamp", "unix_time", "trans_date_trans_time", "step")
    AMOUNT = ("amount", "amt")

    def __init__(self, account: str, counterparty: str, time: str, amount: str):
        self.account, self.counterparty, self.time, self.amount = account, counterparty, time, amount

    @classmethod
    def of(cls, frame: pd.DataFrame) -> TransactionLog | None:
        lower = {c.lower(): c for c in frame.columns}
        found = [next((lower[n] for n in names if n in lower), None)
                 for names in (cls.ACCOUNT, cls.COUNTERPARTY, cls.TIME, cls.AMOUNT)]  # fmt: skip
        return cls(*found) if all(found) else None

    def seconds(self, frame: pd.DataFrame) -> np.ndarray:
        """Event times in seconds (PaySim's `step` counts hours)."""
        t = numbers(frame, self.time)
        return t * 3600.0 if self.time.lower() == "step" else t

    def history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row, the payer's and the payee's history before it: counts and sums over the previous
        hour and day, and seconds since their previous transaction (NaN for the first)."""
        t, amount = self.seconds(frame), np.nan_to_num(numbers(frame, self.amount))
        out = {}
        for role, column in (("payer", self.account), ("payee", self.counterparty)):
            codes = text_codes(frame[column])[0]
            out |= {f"{role}_{k}": v for k, v in account_history(codes, t, amount).items()}
        return pd.DataFrame(out, index=frame.index)


def account_history(account: np.ndarray, t: np.ndarray, amount: np.ndarray,
                    windows: dict[str, float] = HISTORY) -> dict[str, np.ndarray]:  # fmt: skip
    """For each event, the same account's events strictly before it in its order (by time, ties in table
    order): how many and how much within each window (seconds), and the time since the previous one."""
    n = len(t)
    if n == 0:
        return {
            name: np.empty(0)
            for name in (*(f"{k}_{w}" for k in ("count", "sum") for w in windows), "since_previous")
        }
    t = np.nan_to_num(t - np.nanmin(t), nan=0.0)  # from 0; a missing time counts as the first
    order = np.lexsort((t, account))  # stable: ties in table order
    out = sorted_history(account[order], t[order], amount[order], windows)
    back = np.empty(n, dtype=np.int64)
    back[order] = np.arange(n)
    return {name: values[back] for name, values in out.items()}


def sorted_history(account: np.ndarray, t: np.ndarray, amount: np.ndarray,
                   windows: dict[str, float] = HISTORY) -> dict[str, np.ndarray]:  # fmt: skip
    """`account_history` of events already sorted by account, then time (no time missing), in that order."""
    n = len(t)
    span = (t.max() if n else 0.0) + max(windows.values()) + 1.0
    key = account.astype(np.float64) * span + t  # accounts apart by more than any window
    position = np.arange(n)
    running = np.concatenate([[0.0], np.cumsum(amount)])
    out = {}
    for name, width in windows.items():
        start = np.searchsorted(key, key - width, side="left")
        out[f"count_{name}"] = (position - start).astype(np.float64)
        out[f"sum_{name}"] = running[position] - running[start]
    first = np.r_[True, account[1:] != account[:-1]]
    since = np.r_[np.nan, np.diff(t)]
    out["since_previous"] = np.where(first, np.nan, since)[:n]  # (none of an empty log)
    return out
