"""Each Numba kernel agrees exactly with its NumPy reference twin, and settlement conserves money."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.kernels import (
    CASH_IN,
    SHARE_OF_AVAILABLE,
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
