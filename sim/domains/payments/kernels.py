"""The payments kernels: drawing customers' transactions and settling them on the ledger, with their twins.

A kernel and its NumPy twin agree exactly (tests/test_kernels.py); a drawing kernel's twin is its own
Python function (`py_func`). Inputs travel as the named tuples below, never as long positional lists.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from sim.engine.kernels import gallop, sample_kernel, sorted_uniforms

# transaction kinds (indices into TX_TYPES)
CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER = range(5)
# how a transaction's amount is given: fixed, or a share of the payer's positive balance, or of its
# balance plus overdraft (what it can spend at most) at the moment it happens
FIXED, SHARE_OF_AVAILABLE, SHARE_OF_LIMIT = 0, 1, 2


class Channels(NamedTuple):
    """The ways customers spend in a step: per channel a type, a destination block (`dest_start`,
    `dest_size`; never the payer itself when `not_self`), an amount law (`code`, `p1`, `p2`) and a
    merchant category; `cdf` the channels' cumulative shares. `cdf`, `p1` and `p2` have a row per
    profile row of the rhythm (`at(row)` is one step's channels)."""

    cdf: np.ndarray
    kind: np.ndarray
    dest_start: np.ndarray
    dest_size: np.ndarray
    not_self: np.ndarray
    code: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    category: np.ndarray

    def at(self, row: int) -> Channels:
        return self._replace(cdf=self.cdf[row], p1=self.p1[row], p2=self.p2[row])


class Draw(NamedTuple):
    """One step's drawn rows (columns of equal length), in time order."""

    offset: np.ndarray  # time within the step, in [0, 1)
    kind: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    amount: np.ndarray
    category: np.ndarray


@numba.njit(cache=True, nogil=True)
def _share(share, balance, overdraft, mode):
    """A share of what the payer has (mode SHARE_OF_AVAILABLE) or can spend (SHARE_OF_LIMIT), rounded
    down to the cent; a whole share takes everything, to the last fraction of a cent."""
    available = max(balance, 0.0) if mode == SHARE_OF_AVAILABLE else max(balance + overdraft, 0.0)
    if share >= 1.0:
        return available
    return math.floor(share * available * 100.0) / 100.0


@numba.njit(cache=True, nogil=True)
def settle(kind, origin, dest, amount, amount_mode, balance, overdraft, out):
    """Apply transactions in order to `balance`, recording each one's outcome.

    CASH_IN moves money from `dest` (a cash agent) to `origin`; every other kind moves it from `origin`
    to `dest`. A payer without `amount` within balance + overdraft is declined and nothing moves.
    Share amounts are rounded down to the cent. `out` rows (one contiguous array each, ready to be
    columns): final amount, origin before/after, dest before/after, declined (0/1).
    """
    for i in range(kind.shape[0]):
        o = origin[i]
        d = dest[i]
        ob = balance[o]
        db = balance[d]
        amt = amount[i]
        payer, payee = (d, o) if kind[i] == CASH_IN else (o, d)
        if amount_mode[i] != FIXED:
            amt = _share(amt, balance[payer], overdraft[payer], amount_mode[i])
        declined = 0.0
        if kind[i] == CASH_IN or (amt > 0.0 and balance[payer] + overdraft[payer] >= amt):
            balance[payer] = balance[payer] - amt
            balance[payee] = balance[payee] + amt
        else:
            declined = 1.0
        out[0, i] = amt
        out[1, i] = ob
        out[2, i] = balance[o]
        out[3, i] = db
        out[4, i] = balance[d]
        out[5, i] = declined


def settle_reference(kind, origin, dest, amount, amount_mode, balance, overdraft):
    """NumPy twin of `settle`: same semantics, written as plainly as possible. Returns (balance, out)."""
    balance = balance.copy()
    out = np.zeros((6, len(kind)))
    for i in range(len(kind)):
        payer, payee = (dest[i], origin[i]) if kind[i] == CASH_IN else (origin[i], dest[i])
        before = balance[origin[i]], balance[dest[i]]
        amt = amount[i]
        if amount_mode[i] == SHARE_OF_AVAILABLE:
            available = max(balance[payer], 0.0)
            amt = available if amt >= 1.0 else math.floor(amt * available * 100.0) / 100.0
        elif amount_mode[i] == SHARE_OF_LIMIT:
            available = max(balance[payer] + overdraft[payer], 0.0)
            amt = available if amt >= 1.0 else math.floor(amt * available * 100.0) / 100.0
        ok = kind[i] == CASH_IN or (amt > 0 and balance[payer] + overdraft[payer] >= amt)
        if ok:
            balance[payer] -= amt
            balance[payee] += amt
        out[:, i] = (amt, before[0], balance[origin[i]], before[1], balance[dest[i]], 0.0 if ok else 1.0)
    return balance, out


@numba.njit(cache=True, nogil=True)
def draw_legitimate(rng, n, rate_cumsum, origin_start, public, channels, amount_scale, out, order):
    """Draw n transactions of one step into `out` (a `Draw`), in time order; origins and destinations as
    `public` indexes.

    The origin is drawn in proportion to each account's rate by inverting `rate_cumsum` at uniforms made
    in increasing order (exponential spacings), so the search gallops forward and the account arrays are
    read front to back, never at random (3x faster on millions of accounts); each row then goes to a
    uniformly random position of the step, whose times are the order statistics of n uniforms (again
    spacings: no sort). The channel (one step's `Channels`: type, destination block, amount law,
    category) comes from the cumulative shares `cdf`; the destination is uniform in the channel's block,
    never the origin itself when `not_self`. Amounts are scaled by the origin's spending level and
    rounded to the cent. `order` is scratch space of n integers.
    """
    for i in range(n):  # Fisher-Yates: a uniformly random time position for each row
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        order[i], order[j] = order[j], order[i]
    offset = out.offset
    sorted_uniforms(rng, n, offset)
    t_channel = np.empty(n, np.int64)
    t_origin = np.empty(n, np.int64)
    t_dest = np.empty(n, np.int64)
    t_amount = np.empty(n)
    size = rate_cumsum.shape[0]
    scale = rate_cumsum[size - 1]
    cdf = channels.cdf
    last = cdf.shape[0] - 1
    j = 0
    for i in range(n):
        j = gallop(rate_cumsum, offset[i] * scale, j)
        o = origin_start + j
        v = rng.random()
        c = 0
        while c < last and v >= cdf[c]:
            c += 1
        low = cdf[c - 1] if c > 0 else 0.0
        w = min(max((v - low) / (cdf[c] - low), 0.0), 0.999999999)
        start = channels.dest_start[c]
        block = channels.dest_size[c]
        if channels.not_self[c] and block > 1:
            d = start + (o - start + 1 + int(w * (block - 1))) % block
        else:
            d = start + int(w * block)
        a = sample_kernel(rng, channels.code[c], channels.p1[c], channels.p2[c]) * amount_scale[o]
        # rows are made in origin order (sequential reads), then moved to their time positions below
        t_channel[i] = c
        t_origin[i] = public[o]
        t_dest[i] = public[d]
        t_amount[i] = max(math.floor(a * 100.0 + 0.5) / 100.0, 0.01)
    for i in range(n):
        p = order[i]
        c = t_channel[i]
        out.kind[p] = channels.kind[c]
        out.category[p] = channels.category[c]
        out.origin[p] = t_origin[i]
        out.dest[p] = t_dest[i]
        out.amount[p] = t_amount[i]
    sorted_uniforms(rng, n, offset)


@numba.njit(cache=True, nogil=True)
def interleave(base, extra, before, out):
    """`base` with `extra[j]` inserted after the first `before[j]` rows of base (`before` sorted):
    block copies, so merging a few scheduled rows into a large step costs a memcpy."""
    src = 0
    dst = 0
    for j in range(extra.shape[0]):
        stop = before[j]
        count = stop - src
        out[dst : dst + count] = base[src:stop]
        dst += count
        src = stop
        out[dst] = extra[j]
        dst += 1
    count = base.shape[0] - src
    out[dst : dst + count] = base[src:]
