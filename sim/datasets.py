"""Toy datasets in one call, like `sklearn.datasets.make_classification`, from a real simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.domains import registry
from sim.engine.simulation import Simulation

DAYS = 7
TRANSACTIONS_PER_DAY = 2.0


def make_fraud_transactions(
    n_samples: int = 10_000,
    fraud_rate: float = 0.01,
    random_state: int | None = None,
    typology: str = "account_takeover",
) -> pd.DataFrame:
    """A labelled mobile-money transaction log in the `transactions` schema, exactly `n_samples` rows.

    A week of PaySim-like activity (real hour-of-day rhythm, type mix and amounts) with fraud incidents
    of `typology` (account_takeover or app_scam) at an expected `fraud_rate` share of the rows. The rows
    are the first `n_samples` in time order of a run sized to produce them.
    """
    if not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError("n_samples must be a positive integer")
    if not 0 <= fraud_rate < 0.5:
        raise ValueError("fraud_rate must be in [0, 0.5)")
    if typology not in ("account_takeover", "app_scam"):
        raise ValueError("typology must be 'account_takeover' or 'app_scam'")
    return _log(n_samples, fraud_rate, random_state, typology, {})


def make_bank_sample(n_samples: int = 20_000, random_state: int | None = None) -> pd.DataFrame:
    """A stand-in for a bank's own sample, to try `sim evaluate` and `sim refine` without data of one's own:
    the same schema as `make_fraud_transactions`, from a world with other habits (busier, more unequal
    spenders, no overdrafts, authorised push-payment scams at 2 % of rows), so a simulated log differs
    from it the way it would differ from a real bank's and refinement has something to move toward.

        python -c "from sim.datasets import make_bank_sample; make_bank_sample().to_parquet('real.parquet')"
    """
    if not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError("n_samples must be a positive integer")
    habits = {
        "transactions_per_day": {"dist": "gamma", "mean": TRANSACTIONS_PER_DAY, "shape": 0.4},
        "amount_scale": {"dist": "lognormal", "mean": 1.3, "std": 0.6},
        "overdraft_limit": 0,
    }
    return _log(n_samples, 0.02, random_state, "app_scam", habits)


def _log(
    n_samples: int, fraud_rate: float, random_state: int | None, typology: str, habits: dict
) -> pd.DataFrame:
    """A week of PaySim-like activity cut to `n_samples` rows; `habits` change the customers' spec."""
    seed = int(np.random.SeedSequence(random_state).generate_state(1, np.uint64)[0] >> 1)
    target = 1.1 * n_samples  # a little extra: Poisson volumes vary, rows are cut to n_samples
    customers = max(10, round(target * (1 - fraud_rate) / (TRANSACTIONS_PER_DAY * DAYS)))
    rows_per_incident = 2 if typology == "account_takeover" else 3  # app scams: ~2 payments + a cash-out
    incidents_per_day = target * fraud_rate / rows_per_incident / DAYS
    fraud = {
        "role": "fraudster",
        "typology": typology,
        "count": 1,
        "attacks_per_day": incidents_per_day,
        "victims": "customers",
        "mules": "mules",
    }
    scenario = registry.scenario_adapter().validate_python(
        {
            "schema_version": 1,
            "name": "make_fraud_transactions",
            "domain": "payments",
            "seed": seed,
            "horizon": {"steps": 2 * 24 * DAYS, "step": "1h", "start": "2026-01-05T00:00:00"},
            "populations": {
                "customers": {
                    "role": "customer",
                    "count": customers,
                    "opening_balance": {"dist": "table", "name": "paysim_opening_balances"},
                    "overdraft_limit": "paysim",
                    "transactions_per_day": {"dist": "gamma", "mean": TRANSACTIONS_PER_DAY, "shape": 0.7},
                    **habits,
                },
                "merchants": {"role": "merchant", "count": max(5, customers // 50)},
                "mules": {"role": "mule", "count": max(2, customers // 200)},
                "fraudsters": fraud,
            },
        }
    )
    model = Simulation(scenario)
    batches, rows = [], 0
    try:
        while model.running and rows < n_samples:
            model.step()
            batches.append(model.batch)
            rows += model.batch.num_rows
    finally:
        model.release()
    table = pa.Table.from_batches(batches, schema=model.world.schema).slice(0, n_samples)
    return table.to_pandas()
