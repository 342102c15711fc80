"""Properties of every payments world, over random small scenarios (hypothesis): money is conserved and
every balance is explained by recorded flows, nobody goes below their overdraft limit, and time is ordered."""

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.domains.payments.scenario import AML_TYPOLOGIES, FRAUD_TYPES, PaymentsScenario
from sim.engine.model import SimModel

FRAUD = list(FRAUD_TYPES)
AML = list(AML_TYPOLOGIES)


@st.composite
def worlds(draw):
    customers = draw(st.integers(5, 300))
    populations = {
        "customers": {
            "role": "customer",
            "count": customers,
            "opening_balance": {"dist": "lognormal", "mean": draw(st.floats(10, 1e5)), "std": 1000.0},
            "overdraft_limit": draw(st.sampled_from([0.0, 100.0, "paysim"])),
            "transactions_per_day": {"dist": "gamma", "mean": draw(st.floats(0.1, 20)), "shape": 0.5},
        },
        "merchants": {"role": "merchant", "count": draw(st.integers(1, 20))},
        "mules": {"role": "mule", "count": draw(st.integers(1, 5))},
    }
    for typology in draw(st.sets(st.sampled_from(FRAUD), max_size=3)):
        spec = {"role": "fraudster", "typology": typology, "count": draw(st.integers(1, 4))}
        if typology == "bust_out":
            spec["accounts"] = "customers"
        else:
            spec.update(attacks_per_day=draw(st.floats(0, 5)), victims="customers")
            if typology in ("account_takeover", "app_scam"):
                spec["mules"] = "mules"
        populations[f"f_{typology}"] = spec
    for typology in draw(st.sets(st.sampled_from(AML), max_size=3)):
        populations[f"l_{typology}"] = {
            "role": "launderer", "typology": typology, "patterns": draw(st.integers(1, 4)),
            "accounts": "customers", "spread": f"{draw(st.integers(1, 30))}h",
        }  # fmt: skip
    return PaymentsScenario.model_validate(
        {
            "schema_version": 1,
            "name": "prop",
            "domain": "payments",
            "seed": draw(st.integers(0, 2**32)),
            "horizon": {
                "steps": draw(st.integers(1, 30)),
                "step": draw(st.sampled_from(["30min", "1h", "6h"])),
            },
            "populations": populations,
        }
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_money_balances_overdraft_and_time(scenario):
    model = SimModel(scenario)
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    world = model.world
    model.release()
    tx = pa.Table.from_batches(batches, schema=world.schema).to_pandas()
    accounts = world.accounts
    # conservation: a closed system, and each balance = opening + recorded flows of settled rows
    assert np.isclose(world.balance.sum(), accounts.opening.sum(), rtol=1e-12, atol=1e-6)
    index = np.empty(accounts.n, dtype=np.int64)
    index[accounts.account_id - accounts.account_id.min()] = np.arange(accounts.n)
    ok = ~tx.declined.to_numpy()
    sign = np.where(tx.type == "CASH_IN", 1.0, -1.0)[ok]
    amount = tx.amount.to_numpy()[ok]
    delta = np.zeros(accounts.n)
    np.add.at(delta, index[tx.origin.to_numpy()[ok] - accounts.account_id.min()], sign * amount)
    np.add.at(delta, index[tx.dest.to_numpy()[ok] - accounts.account_id.min()], -sign * amount)
    assert np.allclose(
        accounts.opening + delta, world.closing_balance(), atol=1e-6 * max(1.0, accounts.opening.max())
    )
    # declined rows move nothing; balances never fall below minus the overdraft limit
    assert (tx.origin_balance_before == tx.origin_balance_after)[~ok].all()
    payer = np.where(tx.type == "CASH_IN", tx.dest, tx.origin)
    after = np.where(tx.type == "CASH_IN", tx.dest_balance_after, tx.origin_balance_after)
    limit = accounts.overdraft[index[payer - accounts.account_id.min()]]
    assert (after >= -limit - 1e-6).all()
    # time: every row inside its step, ordered within it
    step_us = scenario.horizon.step.total_seconds() * 1e6
    start = np.datetime64(scenario.horizon.start.replace(tzinfo=None), "us")
    offset = (tx.timestamp.dt.tz_convert(None).to_numpy() - start).astype(np.int64) / step_us
    assert (np.floor(offset) == tx.step).all()
    assert tx.timestamp.is_monotonic_increasing  # steps come in order too
