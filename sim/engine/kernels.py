"""Numba kernels: the per-step arithmetic over arrays, and their reference twins.

Kernels are pure functions of their inputs and of the `numpy.random.Generator` they are handed (Numba
draws from the same bit stream as NumPy), so a kernel and its twin must agree exactly
(tests/test_kernels.py holds them to it). Drawing kernels' twin is their own Python function (`py_func`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

# transaction kinds (indices into TX_TYPES)
CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER = range(5)
# how a transaction's amount is given: fixed, or a share of the payer's positive balance, or of its
# balance plus overdraft (what it can spend at most) at the moment it happens
FIXED, SHARE_OF_AVAILABLE, SHARE_OF_LIMIT = 0, 1, 2
# amount laws (sim.dists kernel codes)
CONSTANT, UNIFORM, LOGNORMAL, GAMMA = range(4)


@numba.njit(cache=True, nogil=True)
def sample_kernel(rng, code, p1, p2):
    """One draw from a `sim.dists` law given as (code, p1, p2)."""
    if code == CONSTANT:
        return p1
    if code == UNIFORM:
        return p1 + (p2 - p1) * rng.random()
    if code == LOGNORMAL:
        return math.exp(p1 + p2 * rng.standard_normal())
    return rng.gamma(p1, p2)


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
    Share amounts are rounded down to the cent. `out` columns: final amount, origin before/after,
    dest before/after, declined (0/1).
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
            available = max(balance[payer], 0.0)
            amt = available if amt >= 1.0 else math.floor(amt * available * 100.0) / 100.0
        elif amount_mode[i] == SHARE_OF_LIMIT:
            available = max(balance[payer] + overdraft[payer], 0.0)
            amt = available if amt >= 1.0 else math.floor(amt * available * 100.0) / 100.0
        ok = kind[i] == CASH_IN or (amt > 0 and balance[payer] + overdraft[payer] >= amt)
        if ok:
            balance[payer] -= amt
            balance[payee] += amt
        out[i] = (amt, before[0], balance[origin[i]], before[1], balance[dest[i]], 0.0 if ok else 1.0)
    return balance, out


@numba.njit(cache=True)
def alias_table(weights):
    """Walker/Vose alias table: an O(1) draw in proportion to `weights` (see `draw_legitimate`)."""
    n = weights.shape[0]
    prob = weights * (n / weights.sum())
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        prob[g] = prob[g] + prob[s] - 1.0
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0
    return prob, alias


@numba.njit(cache=True, nogil=True)
def draw_legitimate(
    rng, n, alias_prob, alias_idx, origin_start, cdf, ch_kind, ch_dest_start, ch_dest_size, ch_not_self,
    ch_code, ch_p1, ch_p2, ch_category, amount_scale, offset, kind, origin, dest, amount, category,
):  # fmt: skip
    """Draw n transactions of one step, already in time order.

    Times are the order statistics of n uniforms, made by exponential spacings (no sort). The origin is
    drawn by alias table in proportion to each account's rate; the channel (type, destination block,
    amount law, category) from the step's cumulative shares `cdf`; the destination uniformly in the
    channel's block, never the origin itself when `ch_not_self`. Amounts are scaled by the origin's
    spending level and rounded to the cent.
    """
    total = 0.0
    for i in range(n):
        total += rng.standard_exponential()
        offset[i] = total
    total += rng.standard_exponential()
    size = alias_prob.shape[0]
    last = cdf.shape[0] - 1
    for i in range(n):
        offset[i] /= total
        u = rng.random() * size
        j = min(int(u), size - 1)
        if u - j >= alias_prob[j]:
            j = alias_idx[j]
        o = origin_start + j
        v = rng.random()
        c = 0
        while c < last and v >= cdf[c]:
            c += 1
        low = cdf[c - 1] if c > 0 else 0.0
        w = min(max((v - low) / (cdf[c] - low), 0.0), 0.999999999)
        block = ch_dest_size[c]
        if ch_not_self[c] and block > 1:
            d = ch_dest_start[c] + (o - ch_dest_start[c] + 1 + int(w * (block - 1))) % block
        else:
            d = ch_dest_start[c] + int(w * block)
        a = sample_kernel(rng, ch_code[c], ch_p1[c], ch_p2[c]) * amount_scale[o]
        kind[i] = ch_kind[c]
        origin[i] = o
        dest[i] = d
        amount[i] = max(math.floor(a * 100.0 + 0.5) / 100.0, 0.01)
        category[i] = ch_category[c]
