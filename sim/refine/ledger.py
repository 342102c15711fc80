"""Make a refined transaction log a ledger again.

A generator (copula, VAE) draws each row's amount and balances from learned laws, one row at a time, so a
refined log no longer says that an account's balance after one transaction is its balance before the next,
or that money moves. `replay` restores both: rows in time order, each account opening at the balance its
first row shows, then every transaction that is not declined moves its amount from payer to payee (for
CASH_IN the cash agent, `dest`, pays the customer, as the engine logs it) and the before/after columns are
recomputed. Money is conserved by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.evaluation.tables import as_text

LEDGER = ("type", "amount", "origin", "dest", "origin_balance_before", "origin_balance_after",
          "dest_balance_before", "dest_balance_after")  # fmt: skip


def is_ledger(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in LEDGER)


def replay(frame: pd.DataFrame) -> pd.DataFrame:
    """The log with consistent balances, in time order (by `timestamp`, else `step`, else as given)."""
    order = next((c for c in ("timestamp", "step") if c in frame.columns), None)
    out = (frame.sort_values(order, kind="stable") if order else frame).reset_index(drop=True)
    n = len(out)
    amount = out["amount"].to_numpy(np.float64)
    moved = ~out["declined"].to_numpy(bool) if "declined" in out.columns else np.ones(n, bool)
    cash_in = (as_text(out["type"]) == "CASH_IN").to_numpy()
    origin_delta = np.where(moved, np.where(cash_in, amount, -amount), 0.0)
    legs = 2 * n  # the origin's leg, then the destination's, row by row
    account, delta, shown = np.empty(legs, np.int64), np.empty(legs), np.empty(legs)
    account[0::2], account[1::2] = out["origin"].to_numpy(), out["dest"].to_numpy()
    delta[0::2], delta[1::2] = origin_delta, -origin_delta
    shown[0::2], shown[1::2] = out["origin_balance_before"].to_numpy(), out["dest_balance_before"].to_numpy()
    _, first, code = np.unique(account, return_index=True, return_inverse=True)
    after = shown[first][code] + pd.Series(delta).groupby(code).cumsum().to_numpy()
    before = after - delta
    out["origin_balance_before"], out["origin_balance_after"] = before[0::2], after[0::2]
    out["dest_balance_before"], out["dest_balance_after"] = before[1::2], after[1::2]
    return out
