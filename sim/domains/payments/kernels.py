"""The payments kernels that draw customers' transactions, with their twins (settling them on the ledger:
`sim.domains.payments.settlement`).

A kernel and its NumPy twin agree exactly (tests/test_kernels.py); a drawing kernel's twin is its own
Python function (`py_func`). Inputs travel as the named tuples below, never as long positional lists.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from sim.engine.kernels import alias_pick, gallop, sample_kernel, sorted_uniforms

# transaction kinds (indices into TX_TYPES)
CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER = range(5)
# how a transaction's amount is given: fixed, or a share of the payer's positive balance, or of its
# balance plus overdraft (what it can spend at most) at the moment it happens, or a fixed amount up to
# the payer's positive balance (a thief takes what a customer would move, or what there is)
FIXED, SHARE_OF_AVAILABLE, SHARE_OF_LIMIT, UP_TO = 0, 1, 2, 3


class Channels(NamedTuple):
    """The ways customers spend in a step: per channel a type, a destination block (`dest_start`,
    `dest_size`; never the payer itself when `not_self`), an amount law (`code`, `p1`, `p2`) and a
    merchant category; `cdf` the channels' cumulative shares. `cdf`, `p1` and `p2` have a row per
    profile row of the rhythm (`at(row)` is one step's channels). A `by_rate` channel's payee is
    drawn in proportion to activity (`payee_prob`, `payee_alias`: an alias table of the block's rates;
    people send money to people who use it), any other uniformly in its block. An `income` channel
    runs the other way: the customer's `employer` (an account index per account) pays the customer.
    Habits: with probability `loyalty` a payment goes to one of the customer's `favourites` payees of
    that channel (the same few shops, the same people), fixed per customer by a hash salted per run."""

    cdf: np.ndarray
    kind: np.ndarray
    dest_start: np.ndarray
    dest_size: np.ndarray
    not_self: np.ndarray
    code: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    category: np.ndarray
    by_rate: np.ndarray
    payee_prob: np.ndarray
    payee_alias: np.ndarray
    income: np.ndarray
    employer: np.ndarray
    loyalty: float
    favourites: int
    salt: int  # the run's salt of the favourites' hash

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
    own: np.ndarray  # a customer's own payment (not its pay, paid by its employer)


@numba.njit(cache=True, nogil=True)
def favourite(customer, channel, slot, block, salt):
    """The `slot`-th favourite payee (an offset in the channel's block) of a customer: a hash salted by
    the run (so each seed has its own habits), in integers that never overflow (the key is kept below
    2**31), so the kernel and its Python twin agree."""
    h = (((customer ^ salt) & 2147483647) * 2654435761 + channel * 40503 + slot * 2246822519) % 4294967296
    h = ((h ^ (h >> 15)) * 73244475) % 4294967296
    return (h ^ (h >> 13)) % block


@numba.njit(cache=True, nogil=True)
def draw_legitimate(rng, n, rate_cumsum, origin_start, public, channels, amount_scale, out, order):
    """Draw n transactions of one step into `out` (a `Draw`), in time order; origins and destinations as
    `public` indexes.

    The origin is drawn in proportion to each account's rate by inverting `rate_cumsum` at uniforms made
    in increasing order (exponential spacings), so the search gallops forward and the account arrays are
    read front to back, never at random (3x faster on millions of accounts); each row then goes to a
    uniformly random position of the step, whose times are the order statistics of n uniforms (again
    spacings: no sort). The channel (one step's `Channels`: type, destination block, amount law,
    category) comes from the cumulative shares `cdf`; the destination is uniform in the channel's block
    or by activity (`by_rate`), never the origin itself when `not_self`; an `income` channel's row is
    the customer's pay, from its employer. Amounts are scaled by the customer's spending level and
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
    t_own = np.empty(n, np.bool_)
    size = rate_cumsum.shape[0]
    scale = rate_cumsum[size - 1]
    cdf = channels.cdf
    last = cdf.shape[0] - 1
    prob, alias = channels.payee_prob, channels.payee_alias
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
        if channels.by_rate[c] and prob.shape[0] == block:
            k = alias_pick(prob, alias, w)
            redraws = 0
            while channels.not_self[c] and start + k == o and block > 1 and redraws < 32:
                k = alias_pick(prob, alias, rng.random())
                redraws += 1
            if channels.not_self[c] and start + k == o and block > 1:  # the payer is all the activity
                k = (k + 1) % block
            d = start + k
        elif channels.not_self[c] and block > 1:
            d = start + (o - start + 1 + int(w * (block - 1))) % block
        else:
            d = start + int(w * block)
        if channels.loyalty > 0.0 and block > 1 and not channels.income[c]:
            u = rng.random()
            if u < channels.loyalty:  # a habit: one of its favourite payees of this channel
                k = favourite(o, c, int(u / channels.loyalty * channels.favourites), block, channels.salt)
                if not (channels.not_self[c] and start + k == o):
                    d = start + k
        a = sample_kernel(rng, channels.code[c], channels.p1[c], channels.p2[c]) * amount_scale[o]
        # rows are made in origin order (sequential reads), then moved to their time positions below
        t_channel[i] = c
        if channels.income[c]:
            t_origin[i] = public[channels.employer[o]]
            t_dest[i] = public[o]
        else:
            t_origin[i] = public[o]
            t_dest[i] = public[d]
        t_own[i] = not channels.income[c]
        t_amount[i] = max(math.floor(a * 100.0 + 0.5) / 100.0, 0.01)
    for i in range(n):
        p = order[i]
        c = t_channel[i]
        out.kind[p] = channels.kind[c]
        out.category[p] = channels.category[c]
        out.origin[p] = t_origin[i]
        out.dest[p] = t_dest[i]
        out.amount[p] = t_amount[i]
        out.own[p] = t_own[i]
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


@numba.njit(cache=True, nogil=True)
def take_interleave(base, keep, extra, before, out):
    """`interleave(base[keep], extra, before, out)` in one pass, without making `base[keep]`."""
    src = 0
    dst = 0
    for j in range(extra.shape[0]):
        for t in range(src, before[j]):
            out[dst] = base[keep[t]]
            dst += 1
        src = before[j]
        out[dst] = extra[j]
        dst += 1
    for t in range(src, keep.shape[0]):
        out[dst] = base[keep[t]]
        dst += 1


@numba.njit(cache=True, nogil=True)
def draw_keys(origin, dest, own, cell_of, host_of, cells):
    """A host's drawn rows: each row's time key (the cell that drew it, shifted 32 bits, then its place
    among that cell's rows: pay is drawn by the customer paid, `dest`) and the host of its payer."""
    seen = np.zeros(cells, np.int64)
    keys = np.empty(origin.shape[0], np.int64)
    payer = np.empty(origin.shape[0], host_of.dtype)
    for i in range(origin.shape[0]):
        drawer = cell_of[origin[i]] if own[i] else cell_of[dest[i]]
        keys[i] = (np.int64(drawer) << 32) | seen[drawer]
        seen[drawer] += 1
        payer[i] = host_of[origin[i]]
    return keys, payer
