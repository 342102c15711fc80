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


CENT = 0.011  # amounts and balances are written to the cent: a leg moves or chains within this


def checks(frame: pd.DataFrame) -> dict[str, float]:
    """Shares of rows breaking the ledger: balances that do not chain from the account's previous row
    (`unchained`, of the links between an account's consecutive legs), approved rows that do not move
    their amount from payer to payee (`approved_not_moving`), declined rows that move money
    (`declined_moving`); and the approved payments (not CASH_IN) that leave their payer below zero
    (`negative`). A log the engine wrote has the first three at 0."""
    amount = frame["amount"].to_numpy(np.float64)
    n = len(frame)
    declined = frame["declined"].to_numpy(bool) if "declined" in frame.columns else np.zeros(n, bool)
    cash_in = (as_text(frame["type"]) == "CASH_IN").to_numpy()
    before = np.r_[
        frame["origin_balance_before"].to_numpy(np.float64), frame["dest_balance_before"].to_numpy(np.float64)
    ]
    after = np.r_[
        frame["origin_balance_after"].to_numpy(np.float64), frame["dest_balance_after"].to_numpy(np.float64)
    ]
    expected = np.where(cash_in, amount, -amount)
    move = after - before
    moves = np.isclose(move[:n], expected, atol=CENT) & np.isclose(move[n:], -expected, atol=CENT)
    still = np.isclose(move[:n], 0, atol=CENT) & np.isclose(move[n:], 0, atol=CENT)
    account = np.r_[frame["origin"].to_numpy(), frame["dest"].to_numpy()]
    rows = np.r_[np.arange(n), np.arange(n)]
    leg = np.lexsort((np.r_[np.zeros(n), np.ones(n)], rows, account))  # each account's legs, row by row
    same = account[leg][1:] == account[leg][:-1]
    chained = np.isclose(before[leg][1:][same], after[leg][:-1][same], atol=CENT)
    paying = ~declined & ~cash_in
    return {
        "unchained": float(1 - chained.mean()) if same.any() else 0.0,
        "approved_not_moving": float((~moves[~declined]).mean()) if (~declined).any() else 0.0,
        "declined_moving": float((~still[declined]).mean()) if declined.any() else 0.0,
        "negative": float((after[:n][paying] < 0).mean()) if paying.any() else 0.0,
    }
