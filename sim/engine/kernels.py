"""Numba kernels: the sequential per-step arithmetic over arrays, and their NumPy reference twins.

Random draws happen outside, vectorised, from named streams; kernels are pure functions of their inputs,
so each kernel and its twin must agree exactly (tests/test_kernels.py holds them to it).
"""

from __future__ import annotations

import numba
import numpy as np

# transaction kinds (indices into TX_TYPES)
CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER = range(5)
# how a transaction's amount is given
FIXED, SHARE_OF_AVAILABLE = 0, 1


@numba.njit(cache=True, nogil=True)
def settle(kind, origin, dest, amount, amount_mode, balance, overdraft, out):
    """Apply transactions in order to `balance`, recording each one's outcome.

    CASH_IN moves money from `dest` (a cash agent) to `origin`; every other kind moves it from `origin`
    to `dest`. A payer without `amount` within balance + overdraft is declined and nothing moves.
    `SHARE_OF_AVAILABLE` amounts are a share of the payer's positive balance at that moment
    (account takeover drains, mule cash-outs). `out` columns: final amount, origin before/after,
    dest before/after, declined (0/1).
    """
    for i in range(kind.shape[0]):
        o = origin[i]
        d = dest[i]
        ob = balance[o]
        db = balance[d]
        amt = amount[i]
        if amount_mode[i] == SHARE_OF_AVAILABLE:
            amt = amt * max(ob, 0.0)
        payer, payee = (d, o) if kind[i] == CASH_IN else (o, d)
        declined = 0.0
        if kind[i] == CASH_IN or (amt > 0.0 and balance[payer] + overdraft[payer] >= amt):
            balance[payer] = balance[payer] - amt
            balance[payee] = balance[payee] + amt
        else:
            declined = 1.0
        out[i, 0] = amt
        out[i, 1] = ob
        out[i, 2] = balance[o]
        out[i, 3] = db
        out[i, 4] = balance[d]
        out[i, 5] = declined


def settle_reference(kind, origin, dest, amount, amount_mode, balance, overdraft):
    """NumPy twin of `settle`: same semantics, written as plainly as possible. Returns (balance, out)."""
    balance = balance.copy()
    out = np.zeros((len(kind), 6))
    for i in range(len(kind)):
        payer, payee = (dest[i], origin[i]) if kind[i] == CASH_IN else (origin[i], dest[i])
        before = balance[origin[i]], balance[dest[i]]
        amt = amount[i]
        if amount_mode[i] == SHARE_OF_AVAILABLE:
            amt *= max(before[0], 0.0)
        ok = kind[i] == CASH_IN or (amt > 0 and balance[payer] + overdraft[payer] >= amt)
        if ok:
            balance[payer] -= amt
            balance[payee] += amt
        out[i] = (
            amt,
            before[0],
            balance[origin[i]],
            before[1],
            balance[dest[i]],
            0.0 if ok else 1.0,
        )
    return balance, out
