"""A sharded run's booking: each host books its own rows and the legs other hosts send it (see `sharding`).

A host owns the payers of its rows, so a row's origin side is always its own; the destination's side may
be another host's. That side goes to its host as a *leg* (the row's time, time key, account and signed
amount, whether it moves money), whose balances before and after come back. Each host books, in the
step's time order (offset, then time key), its rows' sides on its accounts and the legs it received
(`book_host`, one pass merging the two time-ordered streams), so every account sees its rows in the
order `settlement.book` books them on one ledger: the same balances, bit for bit. `tests/test_kernels.py`
books random books by hosts through these functions to `book`'s bytes, and `book_host` against its twin.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.domains.payments.kernels import CASH_IN
from sim.domains.payments.settlement import NOT_MADE, SETTLED, _book_row, to_cents


def legs_away(kind, dest, out, host_of, me: int, hosts: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Which rows have their destination on this host (`local`), and for each other host the made rows
    (in time order) whose destination it owns: their legs go to it."""
    made = out[5] != NOT_MADE
    owner = host_of[dest]
    local = owner == me
    away = np.flatnonzero(made & ~local)
    return local, {h: away[owner[away] == h] for h in range(hosts) if h != me}


def leg_values(kind, dest, out, offset, keys, rows) -> tuple:
    """The legs of `rows`' destination sides: (offset, time key, account, signed amount, moves)."""
    amount = out[0, rows]
    delta = np.where(kind[rows] == CASH_IN, -amount, amount)  # a CASH_IN's destination pays
    return offset[rows], keys[rows], dest[rows], delta, out[5, rows] == SETTLED


def incoming_order(in_offset: np.ndarray, in_keys: np.ndarray) -> np.ndarray:
    """The order to book received legs in: by time (offset, then key). They come as a few runs already in
    that order (one per sender), which a stable sort by offset alone merges (timsort: about linear);
    rows at the very same offset (a chance of about 2**-52 per pair) take the full sort."""
    order = np.argsort(in_offset, kind="stable")
    sorted_offset, sorted_keys = in_offset[order], in_keys[order]
    if np.any((sorted_offset[1:] == sorted_offset[:-1]) & (sorted_keys[1:] != sorted_keys[:-1])):
        return np.lexsort((in_keys, in_offset))
    return order


@numba.njit(cache=True, nogil=True)
def book_host(kind, origin, dest, out, offset, keys, local, in_order, in_offset, in_keys, in_account,
              in_delta, in_moves, balance, in_before, in_after):  # fmt: skip
    """A host's booking: its rows (time-ordered by offset and key; `out` as `decide` left it) and the legs
    received (in `in_order`), merged in time order and applied to `balance`. A row's sides on this host
    get their balances before and after (out[1:5]; a destination side only where `local`: the others
    come back from their hosts), each received leg its own (`in_before`, `in_after`). A row whose both
    sides are one account (a payment to oneself) is one step, as `settlement.book` books it."""
    n, m = kind.shape[0], in_order.shape[0]
    i = 0
    j = 0
    while i < n or j < m:
        x = in_order[j] if j < m else -1
        if i < n and (
            x < 0 or offset[i] < in_offset[x] or (offset[i] == in_offset[x] and keys[i] < in_keys[x])
        ):
            if out[5, i] != NOT_MADE:
                if local[i]:
                    payer, payee = (dest[i], origin[i]) if kind[i] == CASH_IN else (origin[i], dest[i])
                    _book_row(i, origin, dest, payer, payee, balance, out)
                else:
                    o = origin[i]
                    out[1, i] = balance[o]
                    if out[5, i] == SETTLED:
                        delta = out[0, i] if kind[i] == CASH_IN else -out[0, i]
                        balance[o] = to_cents(balance[o] + delta)
                    out[2, i] = balance[o]
            i += 1
        else:
            a = in_account[x]
            in_before[x] = balance[a]
            if in_moves[x]:
                balance[a] = to_cents(balance[a] + in_delta[x])
            in_after[x] = balance[a]
            j += 1


# --- twin: the same semantics written as plainly as possible --------------------------------------------


def book_host_reference(kind, origin, dest, out, offset, keys, local, in_offset, in_keys, in_account,
                        in_delta, in_moves, balance):  # fmt: skip
    """Twin of `book_host`: every leg on this host (its rows' sides here, the legs received) sorted by
    time, key and the row's payer's side first, booked one account at a time. Returns (balance, out,
    in_before, in_after)."""
    balance, out = balance.copy(), out.copy()
    legs = []  # (offset, key, payer side second, account, delta, moves, where: ("row", i, side) / ("in", x))
    for i in range(len(kind)):
        if out[5, i] == NOT_MADE:
            continue
        cash_in, moves, amount = kind[i] == CASH_IN, out[5, i] == SETTLED, out[0, i]
        legs.append((offset[i], keys[i], int(cash_in), origin[i], amount if cash_in else -amount, moves,
                     ("row", i, 0)))  # fmt: skip
        if local[i]:
            legs.append((offset[i], keys[i], int(not cash_in), dest[i], -amount if cash_in else amount, moves,
                         ("row", i, 1)))  # fmt: skip
    for x in range(len(in_account)):
        legs.append((in_offset[x], in_keys[x], 0, in_account[x], in_delta[x], in_moves[x], ("in", x)))
    legs.sort(key=lambda leg: leg[:3])
    in_before, in_after = np.zeros(len(in_account)), np.zeros(len(in_account))
    g = 0
    while g < len(legs):  # a row's legs on one account (a payment to oneself) are one step
        h = g + 1
        while h < len(legs) and legs[h][:2] == legs[g][:2] and legs[h][3] == legs[g][3]:
            h += 1
        account = legs[g][3]
        held = balance[account]
        for leg in legs[g:h]:
            if leg[5]:
                balance[account] = math.floor((balance[account] + leg[4]) * 100.0 + 0.5) / 100.0
        for leg in legs[g:h]:
            where = leg[6]
            if where[0] == "in":
                in_before[where[1]], in_after[where[1]] = held, balance[account]
            else:
                out[1 + 2 * where[2], where[1]], out[2 + 2 * where[2], where[1]] = held, balance[account]
        g = h
    return balance, out, in_before, in_after
