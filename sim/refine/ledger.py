"""Make a refined transaction log a ledger again.

A generator (copula, VAE) draws each row's amount and balances from learned laws, one row at a time, so a
refined log no longer says that an account's balance after one transaction is its balance before the next,
or that money moves; a log thinned by payer (reweighting) loses credits its payees had counted on.
`replay` restores the ledger: rows in time order, each account opening at the balance its first row shows,
then every transaction that is not declined moves its amount from payer to payee (for CASH_IN the cash
agent, `dest`, pays the customer, as the engine logs it) and the before/after columns are recomputed, one
row after another as the engine books them. Money is conserved by construction. Given each account's
`floors` (the lowest balance it was granted: minus its overdraft), declines follow the replayed balances:
a made payment its payer can no longer cover down to the floor is declined and moves nothing, and a
declined one its payer's own money now covers is made (the engine pays those, and declines or pays on
credit the rest by its customers' habits, which the log keeps), so no balance ends below what was granted
and a log the engine wrote replays to itself.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from sim.evaluation.tables import as_text

LEDGER = ("type", "amount", "origin", "dest", "origin_balance_before", "origin_balance_after",
          "dest_balance_before", "dest_balance_after")  # fmt: skip


def is_ledger(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in LEDGER)


def floors(frame: pd.DataFrame) -> pd.Series:
    """Each account's lowest balance in a log the engine wrote (0 where it never went below zero): what it
    was granted, since the engine declines whatever would take a payer further."""
    accounts = np.r_[frame["origin"].to_numpy(), frame["dest"].to_numpy()]
    sides = ("origin", "dest")
    balances = np.concatenate([frame[f"{side}_balance_{when}"].to_numpy(np.float64)
                               for when in ("before", "after") for side in sides])  # fmt: skip
    lowest = pd.Series(balances).groupby(np.tile(accounts, 2)).min()
    return lowest.clip(upper=0.0)


def replay(frame: pd.DataFrame, floor: pd.Series | None = None) -> pd.DataFrame:
    """The log with consistent balances, in time order (by `timestamp`, else `step`, else as given); with
    `floor` (see `floors`) and a `declined` column, its declines decided again on the replayed balances."""
    order = next((c for c in ("timestamp", "step") if c in frame.columns), None)
    out = (frame.sort_values(order, kind="stable") if order else frame).reset_index(drop=True)
    n = len(out)
    has_declines = "declined" in out.columns
    declined = out["declined"].to_numpy(bool).copy() if has_declines else np.zeros(n, bool)
    cash_in = (as_text(out["type"]) == "CASH_IN").to_numpy()
    ids = np.r_[out["origin"].to_numpy(), out["dest"].to_numpy()]
    shown = np.r_[
        out["origin_balance_before"].to_numpy(np.float64), out["dest_balance_before"].to_numpy(np.float64)
    ]
    legs = np.empty(2 * n, np.int64)  # each row's origin leg, then its destination leg, row by row
    legs[0::2], legs[1::2] = np.arange(n), np.arange(n, 2 * n)
    accounts, first, code = np.unique(ids[legs], return_index=True, return_inverse=True)
    balance = shown[legs][first]  # each account opens at the balance its first row shows
    lowest = (
        np.zeros(len(accounts)) if floor is None else floor.reindex(accounts, fill_value=0.0).to_numpy(float)
    )
    before = np.empty((2, n))
    book(code[0::2], code[1::2], out["amount"].to_numpy(np.float64), cash_in, balance, lowest,
         floor is not None and has_declines, declined, before)  # fmt: skip
    delta = np.where(declined, 0.0, np.where(cash_in, 1.0, -1.0) * out["amount"].to_numpy(np.float64))
    out["origin_balance_before"], out["origin_balance_after"] = before[0], before[0] + delta
    out["dest_balance_before"], out["dest_balance_after"] = before[1], before[1] - delta
    if has_declines:
        out["declined"] = pd.Series(declined, dtype=out["declined"].dtype)
    return out


HALF_CENT = 0.005  # a payment within half a cent of the floor is covered (amounts are whole cents)


@numba.njit(cache=True, nogil=True)
def book(origin, dest, amount, cash_in, balance, floor, decide, declined, before):
    """Book rows in order: each row's origin leg, then its destination's. The payer (the origin; for
    CASH_IN the agent, `dest`) pays if the row is not declined; with `decide`, declines are decided again
    first (see the module). Fills `before` (origin, destination), updates `balance` and, with `decide`,
    `declined`."""
    for i in range(len(amount)):
        o, d = origin[i], dest[i]
        payer = d if cash_in[i] else o
        if decide and declined[i]:  # a payment its own money covers is paid (as the engine pays it)
            declined[i] = balance[payer] < amount[i] - HALF_CENT
        elif decide:  # one that cannot be covered down to the floor is declined
            declined[i] = balance[payer] - amount[i] < floor[payer] - HALF_CENT
        delta = 0.0 if declined[i] else (amount[i] if cash_in[i] else -amount[i])
        before[0, i] = balance[o]
        balance[o] += delta
        before[1, i] = balance[d]
        balance[d] -= delta


def book_twin(origin, dest, amount, cash_in, balance, floor, decide, declined, before):
    """`book` in plain Python, held to it bit for bit (tests/test_refine.py)."""
    for i in range(len(amount)):
        o, d = origin[i], dest[i]
        payer = d if cash_in[i] else o
        if decide and declined[i]:  # a payment its own money covers is paid (as the engine pays it)
            declined[i] = balance[payer] < amount[i] - HALF_CENT
        elif decide:  # one that cannot be covered down to the floor is declined
            declined[i] = balance[payer] - amount[i] < floor[payer] - HALF_CENT
        delta = 0.0 if declined[i] else (amount[i] if cash_in[i] else -amount[i])
        before[0, i] = balance[o]
        balance[o] += delta
        before[1, i] = balance[d]
        balance[d] -= delta


CENT = 0.011  # amounts and balances are written to the cent: a leg moves or chains within this


def checks(frame: pd.DataFrame) -> dict[str, float]:
    """Shares of rows breaking the ledger: balances that do not chain from the account's previous row
    (`unchained`, of the links between an account's consecutive legs), approved rows that do not move
    their amount from payer to payee (`approved_not_moving`), declined rows that move money
    (`declined_moving`); and the approved payments (not CASH_IN) that leave their payer below zero
    (`negative`) and the rows declined (`declined`). A log the engine wrote has the first three at 0."""
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
        "declined": float(declined.mean()) if n else 0.0,
    }
