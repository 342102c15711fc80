"""Settling a step's transactions on the ledger: the instant rule (`settle`, one time order over the whole
world) and the step rule (`settle_by_cells`: each cell decides its payers' rows on what they held when the
step began, then every row is booked in time order), with their NumPy twins held to them bit for bit
(tests/test_kernels.py).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from sim.domains.payments.kernels import (
    CASH_IN,
    CASH_OUT,
    FIXED,
    SHARE_OF_LIMIT,
    TRANSFER,
    UP_TO,
)


@numba.njit(cache=True, nogil=True, inline="always")
def to_cents(x):
    """The nearest whole cent (halves up): what a ledger holds."""
    return math.floor(x * 100.0 + 0.5) / 100.0


@numba.njit(cache=True, nogil=True)
def _share(share, balance, overdraft, mode):
    """A share of what the payer has (mode SHARE_OF_AVAILABLE) or can spend (SHARE_OF_LIMIT), rounded
    down to the cent; a whole share takes everything, to the last fraction of a cent. UP_TO: the amount
    `share`, or everything the payer has when that is less."""
    available = max(balance + overdraft, 0.0) if mode == SHARE_OF_LIMIT else max(balance, 0.0)
    if mode == UP_TO:
        return min(share, available)
    if share >= 1.0:
        return available
    return math.floor(share * available * 100.0) / 100.0


# a row's outcome (the last row of `settle`'s `out`)
SETTLED, DECLINED, NOT_MADE = 0.0, 1.0, 2.0


class Means(NamedTuple):
    """How a customer's own payment follows from what it holds (legitimate rows but CASH_IN). A payment
    within its positive balance is paid. One that is not:
    - a CASH_OUT or TRANSFER moves everything the payer holds instead, with probability `everything`
      (when it holds at least `least` of the amount): people cash out all they received;
    - else it is paid on the payer's granted overdraft, with probability `credit` (when that covers it);
    - else the payer tries anyway and is declined, with probability `attempt`;
    - else the payer does not pay, and a customer who can does: the payers of up to `tries` consecutive
      rows of the step's own payments from a random one on (customers drawn by activity, as every payer
      is), never the payee; when none can, the payment is declined.
    The volume of each hour and type stays what the scenario says; who makes it follows the balances."""

    everything: float
    least: float
    credit: float
    attempt: float
    tries: int


@numba.njit(cache=True, nogil=True, inline="always")
def _spendable(balance, spent, account):
    """What an account can spend now: its balance, less `spent` (under the step rule, `balance` is the
    booked balance when the step began and `spent` the account's debits in the step so far; under the
    instant rule `spent` is empty and `balance` the live ledger)."""
    if spent.shape[0] == 0:
        return balance[account]
    return balance[account] - spent[account]


@numba.njit(cache=True, nogil=True)
def settle(kind, origin, dest, amount, amount_mode, own, balance, overdraft, means, rng, out):
    """The instant rule: apply transactions in order to `balance`, each deciding on the ledger as the
    rows before it left it, recording each one's outcome.

    CASH_IN moves money from `dest` (a cash agent) to `origin`; every other kind moves it from `origin`
    to `dest`. Rows flagged `own` (customers' own payments) follow `means` (a `Means`; draws from `rng`
    only for payments beyond the payer's balance), and may change payer: `origin` is rewritten. Other
    rows: a share amount (rounded down to the cent) that comes to nothing is not made; a payer without
    `amount` within balance + overdraft is declined and nothing moves. `out` rows (one contiguous array
    each, ready to be columns): final amount, origin before/after, dest before/after, outcome (SETTLED,
    DECLINED or NOT_MADE).

    `decide` makes the same decisions under the step rule; the two loops are written out apart because
    routing this one, the hot loop of every run, through shared helpers made it 1.5 to 2.5 times slower
    under Numba (timed on captured paysim_month steps).
    """
    rows = np.arange(kind.shape[0])
    live = np.empty(0)  # nothing held back: every credit is spendable at once
    for i in range(kind.shape[0]):
        d = dest[i]
        amt = amount[i]
        outcome = SETTLED
        if kind[i] == CASH_IN:
            payer, payee = d, origin[i]
        else:
            payer, payee = origin[i], d
            if amount_mode[i] != FIXED:
                amt = _share(amt, balance[payer], overdraft[payer], amount_mode[i])
                if amt <= 0.0:
                    outcome = NOT_MADE
                elif balance[payer] + overdraft[payer] < amt:
                    outcome = DECLINED
            elif own[i] and amt > balance[payer]:
                payer, amt, outcome = _short(
                    kind[i], payer, d, amt, balance, live, overdraft, means, rng, origin, own, rows
                )
                origin[i] = payer
            elif not (amt > 0.0 and balance[payer] + overdraft[payer] >= amt):
                outcome = DECLINED
        o = origin[i]  # booked as decided (the same as `_book_row`, written out: the hot loop)
        ob = balance[o]
        db = balance[d]
        if outcome == SETTLED:  # balances stay whole cents: sums of cents drift (0.1 + 0.2)
            balance[payer] = to_cents(balance[payer] - amt)
            balance[payee] = to_cents(balance[payee] + amt)
        out[0, i] = amt
        out[1, i] = ob
        out[2, i] = balance[o]
        out[3, i] = db
        out[4, i] = balance[d]
        out[5, i] = outcome


@numba.njit(cache=True, nogil=True, inline="always")
def _book_row(i, origin, dest, payer, payee, balance, out):
    """Row i's booked balances before and after (out[1:5]); a settled row moves its amount (out[0])."""
    o = origin[i]
    d = dest[i]
    ob = balance[o]
    db = balance[d]
    if out[5, i] == SETTLED:  # balances stay whole cents: sums of cents drift (0.1 + 0.2)
        balance[payer] = to_cents(balance[payer] - out[0, i])
        balance[payee] = to_cents(balance[payee] + out[0, i])
    out[1, i] = ob
    out[2, i] = balance[o]
    out[3, i] = db
    out[4, i] = balance[d]


@numba.njit(cache=True, nogil=True)
def decide(rows, kind, origin, dest, amount, amount_mode, own, balance, spent, overdraft, means, rng, out):
    """The step rule, for one cell's rows (`rows`: their indexes, in time order): each row's amount
    (out[0]) and outcome (out[5]), as `settle` decides them, but on what the payer held when the step
    began (`balance`, not changed here) less its own debits in the step so far (`spent`: zeros in, zeros
    out): credits received in the step are spendable only when it is over, so no cell's decisions depend
    on another's. A stand-in payer is looked for among the cell's own rows; `origin` is rewritten."""
    for r in range(rows.shape[0]):
        i = rows[r]
        d = dest[i]
        amt = amount[i]
        outcome = SETTLED
        if kind[i] != CASH_IN:  # a cash agent's CASH_IN is never checked
            payer = origin[i]
            spendable = balance[payer] - spent[payer]
            if amount_mode[i] != FIXED:
                amt = _share(amt, spendable, overdraft[payer], amount_mode[i])
                if amt <= 0.0:
                    outcome = NOT_MADE
                elif spendable + overdraft[payer] < amt:
                    outcome = DECLINED
            elif own[i] and amt > spendable:
                payer, amt, outcome = _short(
                    kind[i], payer, d, amt, balance, spent, overdraft, means, rng, origin, own, rows
                )
                origin[i] = payer
            elif not (amt > 0.0 and spendable + overdraft[payer] >= amt):
                outcome = DECLINED
            if outcome == SETTLED:
                spent[payer] += amt
        out[0, i] = amt
        out[5, i] = outcome
    for r in range(rows.shape[0]):
        spent[origin[rows[r]]] = 0.0


@numba.njit(cache=True, nogil=True)
def book(kind, origin, dest, balance, out):
    """Decided rows (amount out[0], outcome out[5]) applied in time order to the booked balances, each
    row's before and after recorded (out[1:5])."""
    for i in range(kind.shape[0]):
        payer, payee = (dest[i], origin[i]) if kind[i] == CASH_IN else (origin[i], dest[i])
        _book_row(i, origin, dest, payer, payee, balance, out)


@numba.njit(cache=True, nogil=True, inline="always")
def _short(kind, payer, payee, amt, balance, spent, overdraft, means, rng, origin, own, rows):
    """A customer's payment beyond what it can spend (see `Means`): (payer, amount, outcome). One
    uniform draw decides: each choice takes its share of it and passes the rest on, rescaled to [0, 1),
    and what is left at the end picks where among `rows` the search for a stand-in starts."""
    u = rng.random()
    spendable = _spendable(balance, spent, payer)
    held = max(spendable, 0.0)
    if kind in (CASH_OUT, TRANSFER) and held >= means.least * amt and held >= 0.01:
        if u < means.everything:
            return payer, held, SETTLED
        u = (u - means.everything) / (1.0 - means.everything)
    if spendable + overdraft[payer] >= amt:
        if u < means.credit:
            return payer, amt, SETTLED
        u = (u - means.credit) / (1.0 - means.credit)
    if u < means.attempt:
        return payer, amt, DECLINED
    u = (u - means.attempt) / (1.0 - means.attempt)
    # consecutive rows: payers drawn independently by activity (two loops: the instant rule's, over the
    # whole step on the live ledger, is the hot one and reads no index)
    if spent.shape[0] == 0:
        n = origin.shape[0]
        j = min(int(u * n), n - 1)
        for _ in range(min(means.tries, n)):
            other = origin[j]
            if own[j] and other != payee and balance[other] >= amt:
                return other, amt, SETTLED
            j = j + 1 if j + 1 < n else 0
        return payer, amt, DECLINED
    n = rows.shape[0]
    j = min(int(u * n), n - 1)
    for _ in range(min(means.tries, n)):
        other = origin[rows[j]]
        if own[rows[j]] and other != payee and balance[other] - spent[other] >= amt:
            return other, amt, SETTLED
        j = j + 1 if j + 1 < n else 0
    return payer, amt, DECLINED


def settle_by_cells(cells, kind, origin, dest, amount, amount_mode, own, balance, overdraft, means, rngs, out,
                    spent):  # fmt: skip
    """The step rule over a step's rows: each cell's rows decided (`decide`, with that cell's generator
    from `rngs`), then every row booked in time order (`book`). `cells`: each row's cell."""
    for cell, rows in enumerate(rows_by_cell(cells, len(rngs))):
        rng = rngs[cell]
        decide(rows, kind, origin, dest, amount, amount_mode, own, balance, spent, overdraft, means, rng, out)
    book(kind, origin, dest, balance, out)


def rows_by_cell(cells: np.ndarray, n_cells: int) -> list[np.ndarray]:
    """Each cell's row indexes, in row (time) order (`cells`: each row's, in [0, n_cells))."""
    order, edges = _by_cell(cells, n_cells)
    return [order[edges[c] : edges[c + 1]] for c in range(n_cells)]


@numba.njit(cache=True, nogil=True)
def _by_cell(cells, n_cells):
    """A counting sort of the rows by cell, stable (a step's rows in a few cells: linear, where a sort
    of them is not): the order, and where each cell's rows start in it."""
    edges = np.zeros(n_cells + 1, np.int64)
    for i in range(cells.shape[0]):
        edges[cells[i] + 1] += 1
    for c in range(n_cells):
        edges[c + 1] += edges[c]
    fill = edges[:n_cells].copy()
    order = np.empty(cells.shape[0], np.int64)
    for i in range(cells.shape[0]):
        order[fill[cells[i]]] = i
        fill[cells[i]] += 1
    return order, edges


# --- NumPy twins: the same semantics written as plainly as possible --------------------------------------


def settle_reference(kind, origin, dest, amount, amount_mode, own, balance, overdraft, means, rng):
    """Twin of `settle` (the instant rule). Returns (balance, origin, out); `rng` is used in the same
    order."""
    balance, origin = balance.copy(), origin.copy()
    out = np.zeros((6, len(kind)))
    rows = list(range(len(kind)))
    for i in range(len(kind)):
        payer, payee, amt, outcome = _decide_reference(
            i, kind, origin, dest, amount, amount_mode, own, balance.__getitem__, overdraft, means, rng, rows
        )
        if kind[i] != CASH_IN:
            origin[i] = payer
        before = balance[origin[i]], balance[dest[i]]
        if outcome == SETTLED:
            balance[payer] = math.floor((balance[payer] - amt) * 100.0 + 0.5) / 100.0
            balance[payee] = math.floor((balance[payee] + amt) * 100.0 + 0.5) / 100.0
        out[:, i] = (amt, before[0], balance[origin[i]], before[1], balance[dest[i]], outcome)
    return balance, origin, out


def settle_by_cells_reference(cells, kind, origin, dest, amount, amount_mode, own, balance, overdraft, means,
                              rngs):  # fmt: skip
    """Twin of `settle_by_cells` (the step rule). Returns (balance, origin, out)."""
    balance, origin = balance.copy(), origin.copy()
    out = np.zeros((6, len(kind)))
    for cell, rng in enumerate(rngs):
        rows = [i for i in range(len(kind)) if cells[i] == cell]
        spent: dict[int, float] = {}

        def spendable(account, spent=spent):
            return balance[account] - spent.get(account, 0.0)

        for i in rows:
            payer, _, amt, outcome = _decide_reference(
                i, kind, origin, dest, amount, amount_mode, own, spendable, overdraft, means, rng, rows
            )
            if kind[i] != CASH_IN:
                origin[i] = payer
                if outcome == SETTLED:
                    spent[payer] = spent.get(payer, 0.0) + amt
            out[0, i], out[5, i] = amt, outcome
    for i in range(len(kind)):
        payer, payee = (dest[i], origin[i]) if kind[i] == CASH_IN else (origin[i], dest[i])
        before = balance[origin[i]], balance[dest[i]]
        if out[5, i] == SETTLED:
            balance[payer] = math.floor((balance[payer] - out[0, i]) * 100.0 + 0.5) / 100.0
            balance[payee] = math.floor((balance[payee] + out[0, i]) * 100.0 + 0.5) / 100.0
        out[1:5, i] = (before[0], balance[origin[i]], before[1], balance[dest[i]])
    return balance, origin, out


def _decide_reference(
    i, kind, origin, dest, amount, amount_mode, own, spendable, overdraft, means, rng, rows
):
    amt = amount[i]
    if kind[i] == CASH_IN:
        return dest[i], origin[i], amt, SETTLED
    payer, payee = origin[i], dest[i]
    if amount_mode[i] != FIXED:
        limit = spendable(payer) + (overdraft[payer] if amount_mode[i] == SHARE_OF_LIMIT else 0.0)
        available = max(limit, 0.0)
        if amount_mode[i] == UP_TO:
            amt = min(amt, available)
        else:
            amt = available if amt >= 1.0 else math.floor(amt * available * 100.0) / 100.0
        if amt <= 0:
            return payer, payee, amt, NOT_MADE
        return payer, payee, amt, DECLINED if spendable(payer) + overdraft[payer] < amt else SETTLED
    if own[i] and amt > spendable(payer):
        payer, amt, outcome = _short_reference(kind[i], payer, payee, amt, spendable, overdraft, means, rng,
                                               origin, own, rows)  # fmt: skip
        return payer, payee, amt, outcome
    ok = amt > 0 and spendable(payer) + overdraft[payer] >= amt
    return payer, payee, amt, SETTLED if ok else DECLINED


def _short_reference(kind, payer, payee, amt, spendable, overdraft, means, rng, origin, own, rows):
    u = rng.random()
    held = max(spendable(payer), 0.0)
    choices = []  # (eligible, probability, what it returns)
    everything_ok = kind in (CASH_OUT, TRANSFER) and held >= means.least * amt and held >= 0.01
    choices.append((everything_ok, means.everything, (payer, held, SETTLED)))
    choices.append((spendable(payer) + overdraft[payer] >= amt, means.credit, (payer, amt, SETTLED)))
    choices.append((True, means.attempt, (payer, amt, DECLINED)))
    for eligible, probability, result in choices:
        if eligible:
            if u < probability:
                return result
            u = (u - probability) / (1.0 - probability)
    start = min(int(u * len(rows)), len(rows) - 1)
    for step in range(min(means.tries, len(rows))):
        j = rows[(start + step) % len(rows)]
        if own[j] and origin[j] != payee and spendable(origin[j]) >= amt:
            return origin[j], amt, SETTLED
    return payer, amt, DECLINED
