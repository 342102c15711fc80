"""A sharded run's booking by legs: each decided row is a payer's leg and a payee's, and each host books
the legs of the accounts it owns (see `sharding`).

A row's balances before and after are what `settlement.book` records on one ledger: every leg of an
account in the step's time order (the row's offset, then its time key), a row's payer's side first, the
two legs of a payment to oneself as one step. `tests/test_kernels.py` books random books by hosts
through these kernels to `book`'s bytes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.domains.payments.kernels import CASH_IN
from sim.domains.payments.settlement import NOT_MADE, SETTLED, to_cents


@numba.njit(cache=True, nogil=True)
def split_legs(kind, origin, dest, out, offset, keys, host_of, me, hosts, floats, ints):
    """A host's decided rows (`out` as `decide` left it) as legs for `book_legs`: each made row's payer's
    and payee's side. Legs of accounts this host owns (`host_of[account] == me`) come first, then the
    others grouped by their host, in booking order within each group (time, then a row's payer's side
    first). Per leg, `floats` holds (offset,
    delta) and `ints` (time key, account, flags: 2 if it moves money, plus 1 for the side booked second
    in its row, the payee's; slot: the row * 2, plus 1 for its destination's side). Returns where each
    group starts: this host's legs are [0, starts[0]), host h's [starts[h], starts[h + 1])."""
    counts = np.zeros(hosts, np.int64)
    mine = 0
    for i in range(kind.shape[0]):
        if out[5, i] != NOT_MADE:
            mine += 1
            h = host_of[dest[i]]
            if h == me:
                mine += 1
            else:
                counts[h] += 1
    starts = np.empty(hosts + 1, np.int64)
    starts[0] = mine
    for h in range(hosts):
        starts[h + 1] = starts[h] + counts[h]
    fill = starts[:hosts].copy()
    at = 0
    for i in range(kind.shape[0]):
        if out[5, i] == NOT_MADE:
            continue
        amount = out[0, i]
        moves = 2 if out[5, i] == SETTLED else 0
        cash_in = kind[i] == CASH_IN  # its payer is the dest: that side is booked first
        for k in range(2):
            side = 1 - k if cash_in else k  # the payer's side first, so a row's local legs are in order
            if side == 0:
                j = at
                at += 1
                account, delta, second = origin[i], amount if cash_in else -amount, 1 if cash_in else 0
            else:
                h = host_of[dest[i]]
                if h == me:
                    j = at
                    at += 1
                else:
                    j = fill[h]
                    fill[h] += 1
                account, delta, second = dest[i], -amount if cash_in else amount, 0 if cash_in else 1
            floats[0, j] = offset[i]
            floats[1, j] = delta
            ints[0, j] = keys[i]
            ints[1, j] = account
            ints[2, j] = moves + second
            ints[3, j] = i * 2 + side
    return starts


@numba.njit(cache=True, nogil=True)
def scatter_legs(slot, before, after, out):
    """Booked legs' balances into their rows: out[1:3] for a row's origin side, out[3:5] for its dest."""
    for j in range(slot.shape[0]):
        row, side = slot[j] >> 1, slot[j] & 1
        out[1 + 2 * side, row] = before[j]
        out[2 + 2 * side, row] = after[j]


@numba.njit(cache=True, nogil=True)
def book_legs(order, offset, tiebreak, account, delta, moves, balance, before, after):
    """A shard's half of `book`: each leg (one account's side of a decided row: `account`, its signed
    `delta`, whether it `moves`) applied to `balance` in the order `order` gives (the rows' time order,
    then the payer's leg before the payee's), its account's balance before and after the row recorded.
    The two legs of a row on one account (a payment to oneself) are one step: both record the balance
    before the row and after it, as `book` does."""
    n = order.shape[0]
    g = 0
    while g < n:
        first = order[g]
        a = account[first]
        h = g + 1
        while (h < n and account[order[h]] == a and offset[order[h]] == offset[first]
               and tiebreak[order[h]] == tiebreak[first]):  # fmt: skip
            h += 1
        held = balance[a]
        for x in range(g, h):
            if moves[order[x]]:
                balance[a] = to_cents(balance[a] + delta[order[x]])
        for x in range(g, h):
            before[order[x]] = held
            after[order[x]] = balance[a]
        g = h


def booking_order(offset: np.ndarray, keys: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The order to book legs in: by time (offset, then key), a row's payer's side first. The legs come
    as a few runs already in that order (this host's, and each other host's), which a stable sort by
    offset alone merges (timsort: about linear); rows at the very same offset (a chance of about 2**-52
    per pair) take the full sort."""
    order = np.argsort(offset, kind="stable")
    sorted_offset, sorted_keys = offset[order], keys[order]
    if np.any((sorted_offset[1:] == sorted_offset[:-1]) & (sorted_keys[1:] != sorted_keys[:-1])):
        return np.lexsort((second, keys, offset))
    return order


# --- twin: the same semantics written as plainly as possible --------------------------------------------


def book_legs_reference(order, offset, tiebreak, account, delta, moves, balance):
    """Twin of `book_legs`. Returns (balance, before, after)."""
    balance = balance.copy()
    before, after = np.zeros(len(account)), np.zeros(len(account))
    groups: list[list[int]] = []
    for i in order:
        key = (account[i], offset[i], tiebreak[i])
        if groups and (account[groups[-1][0]], offset[groups[-1][0]], tiebreak[groups[-1][0]]) == key:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        a = account[group[0]]
        held = balance[a]
        for i in group:
            if moves[i]:
                balance[a] = math.floor((balance[a] + delta[i]) * 100.0 + 0.5) / 100.0
        for i in group:
            before[i], after[i] = held, balance[a]
    return balance, before, after
