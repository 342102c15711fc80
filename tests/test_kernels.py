"""Each Numba kernel agrees exactly with its NumPy reference twin, and settlement conserves money."""

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.domains.payments.kernels import (
    CASH_IN,
    FIXED,
    SHARE_OF_AVAILABLE,
    SHARE_OF_LIMIT,
    Channels,
    Draw,
    draw_keys,
    draw_legitimate,
    interleave,
    take_interleave,
)
from sim.domains.payments.legs import book_host, book_host_reference, incoming_order, leg_values, legs_away
from sim.domains.payments.settlement import (
    DECLINED,
    NOT_MADE,
    SETTLED,
    Means,
    settle,
    settle_by_cells,
    settle_by_cells_reference,
    settle_reference,
)
from sim.engine.kernels import alias_table


def random_book(seed: int, n_tx: int, n_acc: int):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 5, n_tx).astype(np.int8)
    origin = rng.integers(0, n_acc, n_tx)
    dest = rng.integers(0, n_acc, n_tx)
    mode = np.where(rng.random(n_tx) < 0.2, rng.integers(1, 4, n_tx), FIXED).astype(np.int8)
    mode[kind == CASH_IN] = FIXED  # a share is of what the payer holds: the world never gives a CASH_IN one
    amount = np.where(  # money in whole cents, as every amount the world gives settle is
        np.isin(mode, [SHARE_OF_AVAILABLE, SHARE_OF_LIMIT]),
        rng.random(n_tx),
        np.round(rng.exponential(500, n_tx), 2),
    )
    own = (mode == FIXED) & (rng.random(n_tx) < 0.7)
    balance = np.round(rng.exponential(1000, n_acc) - 200, 2)
    overdraft = np.where(rng.random(n_acc) < 0.3, 300.0, 0.0)
    means = Means(everything=rng.random(), least=0.2, credit=rng.random(), attempt=rng.random(),
                  tries=int(rng.integers(0, 5)))  # fmt: skip
    return kind, origin, dest, amount, mode, own, balance, overdraft, means


def settled(kind, origin, dest, amount, mode, own, balance, overdraft, means, seed=0, cells=None):
    """Run the kernel on copies: (balance, origin, out); with `cells` (each row's), the step rule."""
    balance, origin, out = balance.copy(), origin.copy(), np.empty((6, len(kind)))
    if cells is None:
        settle(
            kind, origin, dest, amount, mode, own, balance, overdraft, means, np.random.default_rng(seed), out
        )
        return balance, origin, out
    rngs = [np.random.default_rng([seed, c]) for c in range(int(cells.max(initial=0)) + 1)]
    spent = np.zeros(len(balance))
    settle_by_cells(cells, kind, origin, dest, amount, mode, own, balance, overdraft, means, rngs, out, spent)
    assert not spent.any()  # scratch back to zeros for the next step
    return balance, origin, out


def cells_of(seed: int, origin: np.ndarray, n_acc: int, cells: int) -> np.ndarray:
    """Each row's cell: its `origin` account's (the world's rule: a payer's rows are its cell's)."""
    return np.random.default_rng([seed, 99]).integers(0, cells, n_acc)[origin]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(0, 400), n_acc=st.integers(1, 30))
def test_settle_matches_reference_twin(seed, n_tx, n_acc):
    book = random_book(seed, n_tx, n_acc)
    expected = settle_reference(*book, np.random.default_rng(seed))
    got = settled(*book, seed=seed)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_tx=st.integers(0, 400),
    n_acc=st.integers(1, 30),
    n_cells=st.integers(1, 4),
)
def test_settle_by_cells_matches_reference_twin(seed, n_tx, n_acc, n_cells):
    book = random_book(seed, n_tx, n_acc)
    cells = cells_of(seed, book[1], n_acc, n_cells)
    rngs = [np.random.default_rng([seed, c]) for c in range(int(cells.max(initial=0)) + 1)]
    expected = settle_by_cells_reference(cells, *book, rngs)
    got = settled(*book, seed=seed, cells=cells)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_tx=st.integers(1, 400),
    n_acc=st.integers(2, 30),
    n_cells=st.integers(1, 4),
)
def test_under_the_step_rule_a_payer_spends_only_what_it_held_when_the_step_began(seed, n_tx, n_acc, n_cells):
    """Credits of a step clear at its end: every payer's debits in the step stay within its opening
    balance plus overdraft, whatever it received meanwhile; money is conserved and the booked balances
    chain as under the instant rule. The same bound fails under the instant rule (checked below)."""
    book = random_book(seed, n_tx, n_acc)
    kind, balance, overdraft = book[0], book[6], book[7]
    after_all, payers, out = settled(*book, cells=cells_of(seed, book[1], n_acc, n_cells))
    assert np.isclose(after_all.sum(), balance.sum(), rtol=0, atol=1e-6 * (1 + np.abs(balance).sum()))
    paid = (out[5] == SETTLED) & (kind != CASH_IN)  # a cash agent's CASH_IN is never checked
    debits = np.zeros(n_acc)
    np.add.at(debits, payers[paid], out[0][paid])
    spenders = np.unique(payers[paid])
    assert np.all(debits[spenders] <= balance[spenders] + overdraft[spenders] + 1e-6)


def hosts_book(kind, origin, dest, out, offset, keys, owner, balance, hosts):
    """A step booked as a sharded run's hosts book it, the mailbox aside: each host's rows (those its
    accounts pay) with their destination sides on other hosts sent there as legs (`legs_away`,
    `leg_values`), each host booking its rows and the legs it received in time order on its own copy of
    the ledger (`incoming_order`, `book_host`) and the legs' balances sent back. Returns the rows'
    balances (out[1:5], in row order) and each host's ledger."""
    rows = [np.flatnonzero(owner[origin] == h) for h in range(hosts)]
    outs = [out[:, r].copy() for r in rows]
    for o in outs:
        o[1:5] = np.nan
    sent = []  # per host: {receiver: (its rows' indexes, legs)}
    locals_ = []
    for h, r in enumerate(rows):
        local, away = legs_away(kind[r], dest[r], outs[h], owner, h, hosts)
        sent.append(
            {g: (a, leg_values(kind[r], dest[r], outs[h], offset[r], keys[r], a)) for g, a in away.items()}
        )
        locals_.append(local)
    ledgers = []
    for h, r in enumerate(rows):
        received = [(g, sent[g][h][1]) for g in range(hosts) if g != h]
        legs = [np.concatenate([legs[c] for _, legs in received]) if received else np.empty(0, t)
                for c, t in enumerate((float, np.int64, np.int64, float, bool))]  # fmt: skip
        ledger, before, after = balance.copy(), np.empty(len(legs[2])), np.empty(len(legs[2]))
        book_host(kind[r], origin[r], dest[r], outs[h], offset[r], keys[r], locals_[h],
                  incoming_order(legs[0], legs[1]), *legs, ledger, before, after)  # fmt: skip
        at = 0
        for g, legs_g in received:  # each sender's legs' balances back into its rows
            n = len(legs_g[0])
            outs[g][3, sent[g][h][0]], outs[g][4, sent[g][h][0]] = before[at : at + n], after[at : at + n]
            at += n
        ledgers.append(ledger)
    got = np.full((4, len(kind)), np.nan)
    for h, r in enumerate(rows):
        got[:, r] = outs[h][1:5]
    return got, ledgers


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(1, 300), n_acc=st.integers(1, 20),
       n_in=st.integers(0, 50))  # fmt: skip
def test_book_host_matches_reference_twin(seed, n_tx, n_acc, n_in):
    kind, origin, dest, amount, mode, own, balance, overdraft, means = random_book(seed, n_tx, n_acc)
    dest[np.random.default_rng(seed).random(n_tx) < 0.05] = origin[:1]  # a few payments to oneself
    _, origin, out = settled(kind, origin, dest, amount, mode, own, balance, overdraft, means, seed=seed,
                             cells=np.zeros(n_tx, np.int64))  # fmt: skip
    rng = np.random.default_rng([seed, 3])
    offset, keys = np.sort(np.floor(rng.random(n_tx) * 8) / 8), np.arange(n_tx)  # many at one instant
    local = (rng.random(n_tx) < 0.6) | (origin == dest)
    in_offset = np.floor(rng.random(n_in) * 8) / 8
    in_keys = rng.permutation(np.arange(n_tx, n_tx + 2 * n_in))[:n_in]  # other hosts' rows: other keys
    in_account, in_delta = rng.integers(0, n_acc, n_in), np.round(rng.normal(0, 50, n_in), 2)
    in_moves = rng.random(n_in) < 0.8
    got_balance, got_out = balance.copy(), out.copy()
    before, after = np.empty(n_in), np.empty(n_in)
    book_host(kind, origin, dest, got_out, offset, keys, local, incoming_order(in_offset, in_keys), in_offset,
              in_keys, in_account, in_delta, in_moves, got_balance, before, after)  # fmt: skip
    expected = book_host_reference(kind, origin, dest, out, offset, keys, local, in_offset, in_keys,
                                   in_account, in_delta, in_moves, balance)  # fmt: skip
    made = out[5] != NOT_MADE
    sides = np.vstack([made, made, made & local, made & local])  # a remote side comes back from its host
    assert np.array_equal(got_balance, expected[0]) and np.array_equal(
        got_out[1:5][sides], expected[1][1:5][sides]
    )
    assert np.array_equal(before, expected[2]) and np.array_equal(after, expected[3])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(1, 300), n_acc=st.integers(1, 20),
       hosts=st.integers(1, 4))  # fmt: skip
def test_hosts_booking_their_own_accounts_legs_book_what_one_ledger_books(seed, n_tx, n_acc, hosts):
    """A sharded run's booking (`hosts_book`), accounts split among hosts at random: the rows' balances
    before and after and the closing balances are what `book` gives on one ledger, bit for bit (payments
    to oneself and many rows at the very same instant too)."""
    kind, origin, dest, amount, mode, own, balance, overdraft, means = random_book(seed, n_tx, n_acc)
    dest[np.random.default_rng(seed).random(n_tx) < 0.05] = origin[:1]  # a few payments to oneself
    whole_balance, origin, out = settled(kind, origin, dest, amount, mode, own, balance, overdraft, means,
                                         seed=seed, cells=np.zeros(n_tx, np.int64))  # fmt: skip
    owner = np.random.default_rng([seed, 1]).integers(0, hosts, n_acc)
    times = np.random.default_rng([seed, 2]).random(n_tx)
    if seed % 2:  # many rows at the very same instant: their keys order them
        times = np.floor(times * 4) / 4
    offset, keys = np.sort(times), np.arange(n_tx)
    got, ledgers = hosts_book(kind, origin, dest, out, offset, keys, owner, balance, hosts)
    closing = np.choose(owner, ledgers) if hosts > 1 else ledgers[0]
    made = out[5] != NOT_MADE  # a row not made is dropped from the step: nothing to book
    assert np.array_equal(got[:, made], out[1:5, made]) and np.array_equal(closing, whole_balance)


def test_the_step_rules_bound_is_one_the_instant_rule_breaks():
    broken = 0
    for seed in range(20):
        kind, origin, dest, amount, mode, own, balance, overdraft, means = random_book(seed, 300, 10)
        _, payers, out = settled(kind, origin, dest, amount, mode, own, balance, overdraft, means)
        paid = (out[5] == SETTLED) & (kind != CASH_IN)
        debits = np.zeros(10)
        np.add.at(debits, payers[paid], out[0][paid])
        broken += np.any(debits > balance + overdraft + 1e-6)
    assert broken > 10


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(1, 400), n_acc=st.integers(2, 30))
def test_settle_conserves_money_and_respects_overdraft(seed, n_tx, n_acc):
    kind, origin, dest, amount, mode, own, balance, overdraft, means = random_book(seed, n_tx, n_acc)
    after_all, payers, out = settled(kind, origin, dest, amount, mode, own, balance, overdraft, means)
    assert np.isclose(after_all.sum(), balance.sum(), rtol=0, atol=1e-6 * (1 + np.abs(balance).sum()))
    # balances and amounts stay whole cents (no float noise a detector or a reader could see)
    for money in (after_all, out[0], out[1], out[2], out[3], out[4]):
        assert np.array_equal(money, np.round(money, 2))
    moved = out[5] == SETTLED
    payer_is_origin = kind != CASH_IN
    # every accepted payer stays within its overdraft limit at the moment it pays
    after = np.where(payer_is_origin, out[2], out[4])
    payer = np.where(payer_is_origin, payers, dest)
    checked = moved & payer_is_origin
    assert np.all(after[checked] >= -overdraft[payer[checked]] - 1e-9)
    # only customers' own payments change payer, and only to the payer of another of them
    changed = payers != origin
    assert np.all(own[changed]) and np.all(np.isin(payers[changed], origin[own]))
    # declined and unmade transactions move nothing; only share amounts can come to nothing
    still = ~moved
    assert np.array_equal(out[1, still], out[2, still])
    assert np.array_equal(out[3, still], out[4, still])
    assert np.all(mode[out[5] == NOT_MADE] != FIXED) and np.all(out[0, out[5] == NOT_MADE] == 0)


def test_a_customer_who_cannot_pay_mostly_leaves_it_to_one_who_can():
    """Short payments: declined at the `attempt` rate, else paid by a customer who can (never the payee)."""
    n, attempt = 20_000, 0.3
    balance = np.array([0.0, 0.0, 1e12, 1e12, 5.0])  # 0: the payer, 2 and 3 rich, 4 the payee
    means = Means(everything=1.0, least=0.2, credit=1.0, attempt=attempt, tries=50)
    # even rows: payer 0's purchases (nothing to move "everything" of, no overdraft to pay on); odd
    # rows: 2 and 3 cash in a cent (the step's other payers, among whom a stand-in is found)
    short = np.arange(2 * n) % 2 == 0
    kind = np.where(short, 3, 0).astype(np.int8)
    origin = np.where(short, 0, 2 + (np.arange(2 * n) // 2) % 2)
    amount, mode = np.where(short, 10.0, 0.01), np.zeros(2 * n, np.int8)
    _, payers, out = settled(kind, origin, np.full(2 * n, 4), amount, mode, np.ones(2 * n, bool), balance,
                             np.zeros(5), means)  # fmt: skip
    declined = out[5, short] == DECLINED
    assert abs(declined.mean() - attempt) < 5 * np.sqrt(attempt * (1 - attempt) / n)
    assert set(np.unique(payers[short][~declined])) == {2, 3} and np.all(payers[short][declined] == 0)


def test_short_cash_outs_move_everything_and_empty_thefts_are_not_made():
    means = Means(everything=1.0, least=0.2, credit=0.0, attempt=0.0, tries=0)
    kind = np.array([1, 1, 4], np.int8)  # CASH_OUT, CASH_OUT (too little held), TRANSFER share of nothing
    balance = np.array([300.0, 1000.0, 10.0, 0.0])
    _, _, out = settled(kind, np.array([0, 2, 3]), np.array([1, 1, 1]), np.array([1000.0, 1000.0, 1.0]),
                        np.array([FIXED, FIXED, SHARE_OF_AVAILABLE], np.int8), np.array([True, True, False]),
                        balance, np.zeros(4), means)  # fmt: skip
    assert out[0, 0] == 300.0 and out[2, 0] == 0.0 and out[5, 0] == SETTLED  # all it held
    assert out[5, 1] == DECLINED  # 10 of 1,000 is less than `least`: no one else can pay either
    assert out[5, 2] == NOT_MADE and out[0, 2] == 0.0


def draw_inputs(n_customers: int, seed: int):
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.5, 2.0, n_customers)
    n_acc = n_customers + 10
    table = alias_table(rates)
    channels = Channels(
        cdf=np.array([0.3, 0.8, 1.0]),
        kind=np.array([0, 3, 4], dtype=np.int8),
        dest_start=np.array([n_customers, n_customers, 0]),
        dest_size=np.array([10, 10, n_customers]),
        not_self=np.array([False, False, True]),
        code=np.array([2, 1, 0]),
        p1=np.array([5.0, 10.0, 42.0]),
        p2=np.array([0.5, 20.0, 0.0]),
        category=np.array([-1, 2, -1], dtype=np.int8),
        by_rate=np.array([False, False, True]),
        payee_prob=table[0],
        payee_alias=table[1],
        income=np.array([False, False, False]),
        employer=np.full(n_acc, -1),
        loyalty=0.0,
        favourites=5,
        salt=12345,
    )
    public = rng.permutation(n_acc)
    return np.cumsum(rates), public, channels, rng.lognormal(0, 0.2, n_acc)


def run_draw(fn, n, seed, cumsum, public, ch, scale):
    out = Draw(np.empty(n), np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n),
               np.empty(n, np.int8), np.empty(n, bool))  # fmt: skip
    fn(np.random.default_rng(seed), n, cumsum, 0, public, ch, scale, out, np.empty(n, np.int64))
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), customers=st.integers(1, 50))
def test_draw_legitimate_matches_its_python_twin(seed, n, customers):
    cumsum, public, ch, scale = draw_inputs(customers, seed)
    for channels in (ch, ch._replace(loyalty=0.6)):
        fast = run_draw(draw_legitimate, n, seed, cumsum, public, channels, scale)
        slow = run_draw(draw_legitimate.py_func, n, seed, cumsum, public, channels, scale)
        for a, b in zip(fast, slow, strict=True):
            assert np.array_equal(a, b)


def test_loyal_customers_keep_to_their_favourite_payees():
    """Loyalty 1: each customer's purchases go to at most `favourites` merchants, and different customers
    have different favourites (the merchants are used about evenly across customers)."""
    customers, n = 200, 200_000
    cumsum, public, ch, scale = draw_inputs(customers, 4)
    ch = ch._replace(loyalty=1.0, favourites=3)
    _, kind, origin, dest, *_ = run_draw(draw_legitimate, n, 5, cumsum, public, ch, scale)
    buys = pd.DataFrame({"origin": origin, "dest": dest})[kind == 3]
    assert buys.groupby("origin").dest.nunique().max() <= 3
    assert buys.dest.nunique() == 10  # every one of the 10 merchants is somebody's favourite


def test_draw_legitimate_laws():
    """Origins in proportion to rates, channels at their shares, never paying oneself, times ordered."""
    customers, n = 200, 400_000
    cumsum, public, ch, scale = draw_inputs(customers, 3)
    offset, kind, origin, dest, amount, category, own = run_draw(
        draw_legitimate, n, 9, cumsum, public, ch, scale
    )
    assert own.all()  # no pay channel here: every row is a customer's own
    assert np.all(np.diff(offset) >= 0) and offset[0] >= 0 and offset[-1] < 1
    inverse = np.argsort(public)
    counts = np.bincount(inverse[origin], minlength=customers + 10)[:customers]
    expected = n * np.diff(cumsum, prepend=0.0) / cumsum[-1]
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < customers + 5 * np.sqrt(2 * customers)  # chi-square with ~customers dof
    shares = np.bincount(kind, minlength=5)[[0, 3, 4]] / n
    assert np.allclose(shares, [0.3, 0.5, 0.2], atol=5 * np.sqrt(0.25 / n))
    transfers = kind == 4
    assert not np.any(origin[transfers] == dest[transfers])
    # payees by activity among the others: payer o sends to d with probability rate_d / (R - rate_o)
    rate = np.diff(cumsum, prepend=0.0)
    senders = np.bincount(inverse[origin[transfers]], minlength=customers)[:customers]
    share = rate[None, :] / (cumsum[-1] - rate[:, None])
    np.fill_diagonal(share, 0.0)
    expected = senders @ share
    received = np.bincount(inverse[dest[transfers]], minlength=customers)[:customers]
    seen = expected > 5  # the chi-square approximation needs expected counts of 5 or more
    chi2 = ((received[seen] - expected[seen]) ** 2 / expected[seen]).sum()
    assert chi2 < seen.sum() + 5 * np.sqrt(2 * seen.sum())
    assert np.all(amount[transfers] == np.round(42.0 * scale[inverse[origin[transfers]]], 2))
    assert set(np.unique(category[kind == 3])) == {2}


def test_interleave_puts_each_extra_row_after_its_predecessors():
    base = np.arange(10) * 10
    out = np.empty(13, dtype=base.dtype)
    interleave(base, np.array([-1, -2, -3]), np.array([0, 4, 10]), out)
    assert out.tolist() == [-1, 0, 10, 20, 30, -2, 40, 50, 60, 70, 80, 90, -3]


@settings(max_examples=30, deadline=None)
@given(weights=st.lists(st.floats(0, 100), min_size=1, max_size=40))
@example(weights=[1e-320, 5e-324, 0.0])  # subnormal: n / total overflows
def test_alias_table_gives_each_index_its_weight(weights):
    """Each column's mass (prob to itself, the rest to its alias) adds up to n * weight / total."""
    w = np.array(weights)
    prob, alias = alias_table(w)
    assert np.array_equal(prob, alias_table.py_func(w)[0]) and np.all((prob >= 0) & (prob <= 1))
    mass = prob.copy()
    np.add.at(mass, alias, 1.0 - prob)
    expected = len(w) * w / w.sum() if w.sum() > 0 else np.ones(len(w))
    assert np.allclose(mass, expected, atol=1e-9 * len(w))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19), st.booleans()), max_size=200))
def test_draw_keys_rank_each_row_within_the_cell_that_drew_it(rows):
    """The key: the drawing cell (the payer's, or for pay the customer paid) shifted 32 bits, then the
    row's place among that cell's earlier rows; and the payer's host."""
    cell_of = np.arange(20, dtype=np.int64) % 7
    host_of = (cell_of % 3).astype(np.int64)
    origin = np.array([r[0] for r in rows], dtype=np.int64)
    dest = np.array([r[1] for r in rows], dtype=np.int64)
    own = np.array([r[2] for r in rows], dtype=bool)
    keys, payer = draw_keys(origin, dest, own, cell_of, host_of, 7)
    drawer = [int(cell_of[o if w else d]) for o, d, w in rows]
    expected = [(c << 32) | drawer[:i].count(c) for i, c in enumerate(drawer)]
    assert keys.tolist() == expected and payer.tolist() == host_of[origin].tolist()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(0, 30), m=st.integers(0, 6))
def test_take_interleave_is_interleave_of_the_kept_rows(data, n, m):
    base = np.arange(n, dtype=np.float64) * 10
    keep = np.array(sorted(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n))) if n else [], int)
    extra = -1.0 - np.arange(m)
    before = np.sort(np.array(data.draw(st.lists(st.integers(0, len(keep)), min_size=m, max_size=m)), int))
    expected, out = np.empty(len(keep) + m), np.empty(len(keep) + m)
    interleave(base[keep], extra, before, expected)
    take_interleave(base, keep, extra, before, out)
    assert out.tolist() == expected.tolist()
