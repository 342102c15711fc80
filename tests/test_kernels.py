"""Each Numba kernel agrees exactly with its NumPy reference twin, and settlement conserves money."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domains.payments.kernels import (
    CASH_IN,
    SHARE_OF_AVAILABLE,
    Channels,
    Draw,
    draw_legitimate,
    interleave,
    settle,
    settle_reference,
)


def random_book(seed: int, n_tx: int, n_acc: int):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 5, n_tx).astype(np.int8)
    origin = rng.integers(0, n_acc, n_tx)
    dest = rng.integers(0, n_acc, n_tx)
    mode = (rng.random(n_tx) < 0.2).astype(np.int8)
    amount = np.where(mode == SHARE_OF_AVAILABLE, rng.random(n_tx), rng.exponential(500, n_tx))
    balance = rng.exponential(1000, n_acc) - 200
    overdraft = np.where(rng.random(n_acc) < 0.3, 300.0, 0.0)
    return kind, origin, dest, amount, mode, balance, overdraft


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(0, 400), n_acc=st.integers(1, 30))
def test_settle_matches_reference_twin(seed, n_tx, n_acc):
    kind, origin, dest, amount, mode, balance, overdraft = random_book(seed, n_tx, n_acc)
    expected_balance, expected_out = settle_reference(kind, origin, dest, amount, mode, balance, overdraft)
    got_balance, got_out = balance.copy(), np.empty((6, n_tx))
    settle(kind, origin, dest, amount, mode, got_balance, overdraft, got_out)
    assert np.array_equal(got_out, expected_out)
    assert np.array_equal(got_balance, expected_balance)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(1, 400), n_acc=st.integers(2, 30))
def test_settle_conserves_money_and_respects_overdraft(seed, n_tx, n_acc):
    kind, origin, dest, amount, mode, balance, overdraft = random_book(seed, n_tx, n_acc)
    start = balance.copy()
    out = np.empty((6, n_tx))
    settle(kind, origin, dest, amount, mode, balance, overdraft, out)
    assert np.isclose(balance.sum(), start.sum(), rtol=0, atol=1e-6 * (1 + np.abs(start).sum()))
    moved = out[5] == 0
    payer_is_origin = kind != CASH_IN
    # every accepted payer stays within its overdraft limit at the moment it pays
    after = np.where(payer_is_origin, out[2], out[4])
    payer = np.where(payer_is_origin, origin, dest)
    checked = moved & payer_is_origin
    assert np.all(after[checked] >= -overdraft[payer[checked]] - 1e-9)
    # declined transactions move nothing
    declined = ~moved
    assert np.array_equal(out[1, declined], out[2, declined])
    assert np.array_equal(out[3, declined], out[4, declined])


def draw_inputs(n_customers: int, seed: int):
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.5, 2.0, n_customers)
    n_acc = n_customers + 10
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
    )
    public = rng.permutation(n_acc)
    return np.cumsum(rates), public, channels, rng.lognormal(0, 0.2, n_acc)


def run_draw(fn, n, seed, cumsum, public, ch, scale):
    out = Draw(np.empty(n), np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n),
               np.empty(n, np.int8))  # fmt: skip
    fn(np.random.default_rng(seed), n, cumsum, 0, public, ch, scale, out, np.empty(n, np.int64))
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), customers=st.integers(1, 50))
def test_draw_legitimate_matches_its_python_twin(seed, n, customers):
    cumsum, public, ch, scale = draw_inputs(customers, seed)
    fast = run_draw(draw_legitimate, n, seed, cumsum, public, ch, scale)
    slow = run_draw(draw_legitimate.py_func, n, seed, cumsum, public, ch, scale)
    for a, b in zip(fast, slow, strict=True):
        assert np.array_equal(a, b)


def test_draw_legitimate_laws():
    """Origins in proportion to rates, channels at their shares, never paying oneself, times ordered."""
    customers, n = 200, 400_000
    cumsum, public, ch, scale = draw_inputs(customers, 3)
    offset, kind, origin, dest, amount, category = run_draw(draw_legitimate, n, 9, cumsum, public, ch, scale)
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
    assert np.all(amount[transfers] == np.round(42.0 * scale[inverse[origin[transfers]]], 2))
    assert set(np.unique(category[kind == 3])) == {2}


def test_interleave_puts_each_extra_row_after_its_predecessors():
    base = np.arange(10) * 10
    out = np.empty(13, dtype=base.dtype)
    interleave(base, np.array([-1, -2, -3]), np.array([0, 4, 10]), out)
    assert out.tolist() == [-1, 0, 10, 20, 30, -2, 40, 50, 60, 70, 80, 90, -3]
