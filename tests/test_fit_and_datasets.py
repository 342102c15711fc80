"""PaySim's NRMSE on known answers, the hourly tally, and the one-line dataset maker."""

import numpy as np
import pytest

from sim.datasets import make_fraud_transactions
from sim.domains.payments.fit import HOUR_US, HourlyTally, nrmse


def test_nrmse_is_rmse_over_the_range_of_the_real_series():
    real = np.array([0.0, 10.0, 5.0, 5.0])
    assert nrmse(real, real) == 0.0
    assert nrmse(real + 1.0, real) == pytest.approx(0.1)  # RMSE 1 over a range of 10
    assert nrmse(np.array([0.0, 0.0]), np.array([3.0, 3.0])) is None  # a flat target has no range


def test_hourly_tally_counts_each_row_in_its_hour_and_type():
    tally = HourlyTally(step_us=HOUR_US // 2)  # 30-minute steps: two per hour
    cols = {"offset": np.array([0.1, 0.5, 0.9]), "kind": np.array([0, 3, 3], dtype=np.int8)}
    out = np.zeros((6, 3))
    out[0] = [10.0, 20.0, 40.0]
    tally.add(0, cols, out)
    tally.add(3, cols, out)  # step 3 is the second half of hour 1
    assert tally.count[0].tolist() == [1, 0, 0, 2, 0] and tally.count[1].tolist() == [1, 0, 0, 2, 0]
    assert tally.total[1, 3] == 60.0


def test_make_fraud_transactions_is_exact_in_size_seeded_and_labelled():
    df = make_fraud_transactions(n_samples=20_000, fraud_rate=0.02, random_state=7)
    assert len(df) == 20_000
    assert df.equals(make_fraud_transactions(n_samples=20_000, fraud_rate=0.02, random_state=7))
    assert not df.equals(make_fraud_transactions(n_samples=20_000, fraud_rate=0.02, random_state=8))
    fraud = df.is_fraud.sum()
    # fraud rows come in incidents of two, so their count has about twice the Poisson variance
    assert abs(fraud - 400) < 5 * np.sqrt(2 * 400)
    assert set(df.fraud_type.dropna()) == {"account_takeover"}
    assert list(df.columns)[:4] == ["step", "timestamp", "type", "amount"]
    with pytest.raises(ValueError, match="fraud_rate"):
        make_fraud_transactions(100, fraud_rate=0.9)
