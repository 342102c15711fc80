"""Behaviour of the payments world that users rely on: conservation, counts, ordering, labels."""

import gc
import json
import weakref
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from sim.domains.payments import client_rates
from sim.domains.payments.customers import Rhythm
from sim.domains.payments.profiles import day_share_per_step, hour_shares
from sim.engine.model import SimModel
from sim.scenario import load_scenario
from tests.conftest import ROOT, small_scenario


def run_model(path, **kw):
    model = SimModel(load_scenario(path, **kw))
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    model.release()  # the world's arrays stay readable; its draw-ahead thread stops
    return model, pa.Table.from_batches(batches).to_pandas()


def test_money_is_conserved_and_flows_explain_every_balance(small):
    model, tx = run_model(small)
    world = model.world
    assert np.isclose(world.balance.sum(), world.accounts.opening.sum(), rtol=1e-12)
    # replay: each account's closing balance is its opening balance plus its recorded flows
    ok = ~tx.declined
    sign_origin = np.where(tx.type == "CASH_IN", 1.0, -1.0)
    index = {acc: i for i, acc in enumerate(world.accounts.account_id)}
    delta = np.zeros(world.accounts.n)
    np.add.at(delta, tx.origin[ok].map(index).to_numpy(), (sign_origin * tx.amount)[ok].to_numpy())
    np.add.at(delta, tx.dest[ok].map(index).to_numpy(), (-sign_origin * tx.amount)[ok].to_numpy())
    assert np.allclose(world.accounts.opening + delta, world.closing_balance(), atol=1e-6)
    # per-row bookkeeping
    moved = tx[ok]
    change = moved.origin_balance_after - moved.origin_balance_before
    expected = np.where(moved.type == "CASH_IN", moved.amount, -moved.amount)
    assert np.allclose(change, expected, atol=1e-6)


def test_balances_never_go_below_the_overdraft_limit(small):
    model, tx = run_model(small)
    customers = tx[~tx.type.eq("CASH_IN")]
    limit = model.scenario.populations["customers"].overdraft_limit
    assert customers.origin_balance_after.min() >= -limit - 1e-9


def test_timestamps_are_ordered_and_inside_their_step(small):
    model, tx = run_model(small)
    start = model.scenario.horizon.start.replace(tzinfo=UTC)  # a naive scenario date is UTC, as written
    step = model.scenario.horizon.step
    assert str(tx.timestamp.dt.tz) == "UTC"
    offsets = (tx.timestamp - start) / step
    assert np.all(np.floor(offsets) == tx.step)
    assert tx.groupby("step").timestamp.apply(lambda s: s.is_monotonic_increasing).all()


def test_transaction_count_matches_poisson_expectation(write):
    path = write(small_scenario(steps=48, customers=2000))
    model, tx = run_model(path)
    world = model.world
    expected = world.accounts.rate_per_day.sum() * world.activity.day_share.sum()
    legit = (~tx.is_fraud).sum()
    assert abs(legit - expected) <= 5 * np.sqrt(expected)


def test_type_mix_matches_the_declared_shares(write):
    model, tx = run_model(write(small_scenario(steps=48, customers=2000)))
    legit = tx[~tx.is_fraud]
    activity = model.world.activity
    shares = np.diff(np.concatenate([[0.0], activity.channels.cdf[0]]))
    assert list(activity.channels.kind) == [0, 1, 2, 3, 4]  # one channel per type, in type order
    n = len(legit)
    for code, name in enumerate(["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]):
        observed = (legit.type == name).mean()
        assert abs(observed - shares[code]) <= 5 * np.sqrt(shares[code] * (1 - shares[code]) / n)


def test_fraud_is_labelled_and_campaign_tags_the_attack_wave(small):
    model, tx = run_model(small)
    fraud = tx[tx.is_fraud]
    assert len(fraud) > 0 and set(fraud.fraud_type) == {"account_takeover"}
    assert tx.fraud_type[~tx.is_fraud].isna().all()
    in_wave = fraud.step.between(10, 12)
    assert (fraud.campaign_id[in_wave] == 1).all()
    assert fraud.campaign_id[~in_wave].isna().all()
    # a takeover moves what a customer would, or all the victim has: never into its overdraft
    transfers = fraud[(fraud.type == "TRANSFER") & ~fraud.declined]
    assert len(transfers) and (transfers.amount <= transfers.origin_balance_before + 1e-9).all()
    assert (transfers.origin_balance_after >= -1e-9).all()
    (occurrence,) = model.timeline.occurrences
    assert (occurrence.start_step, occurrence.end_step) == (10, 13)


def test_attack_wave_raises_the_fraud_rate(write):
    text = small_scenario(steps=48).replace("intensity: 20", "intensity: 50")
    _, tx = run_model(write(text))
    attacks = tx[tx.is_fraud & (tx.type == "TRANSFER")].groupby("step").size()
    during = attacks.reindex(range(10, 13), fill_value=0).mean()
    outside = attacks.drop(range(10, 13), errors="ignore").sum() / 45
    assert during > 10 * outside


def test_ids_do_not_reveal_roles(write):
    model, _ = run_model(write(small_scenario(customers=3000)))
    world = model.world
    blocks = world.accounts.blocks
    mules = world.accounts.account_id[blocks["mules"].start : blocks["mules"].stop]
    merchants = world.accounts.account_id[blocks["merchants"].start : blocks["merchants"].stop]
    everyone = np.sort(world.accounts.account_id)
    # the special accounts are scattered through the id range, not a block at either end
    for special in (mules, merchants):
        ranks = np.searchsorted(everyone, special) / len(everyone)
        assert 0.1 < ranks.mean() < 0.9 and ranks.max() - ranks.min() > 0.5


def test_triggered_event_fires_at_most_max_occurrences(write):
    text = small_scenario(steps=48).replace(
        "    start: 10\n", "    trigger: {probability_per_step: 0.2, max_occurrences: 2}\n"
    )
    model, tx = run_model(write(text))
    occurrences = model.timeline.occurrences
    assert len(occurrences) == 2
    assert [o.campaign_id for o in occurrences] == [1, 2]
    assert occurrences[1].start_step >= occurrences[0].end_step
    assert set(tx.campaign_id.dropna()) <= {1, 2}


def test_day_share_integrates_the_hourly_rhythm():
    start = datetime(2026, 1, 1)
    paysim, flat = Rhythm(hours="paysim"), Rhythm(hours="flat")
    hourly = day_share_per_step(start, timedelta(hours=1), 48, paysim)
    assert np.allclose(hourly[:24], hour_shares()) and np.allclose(hourly[24:], hour_shares())
    assert np.allclose(day_share_per_step(start, timedelta(days=1), 3, paysim), 1.0)
    half = day_share_per_step(start + timedelta(hours=19), timedelta(minutes=30), 2, paysim)
    assert np.allclose(half, hour_shares()[19] / 2)
    assert np.allclose(day_share_per_step(start, timedelta(hours=6), 4, flat), 0.25)


def test_released_models_are_garbage_collected(small):
    scenario = load_scenario(small)
    model = SimModel(scenario)
    model.step()
    assert len(model.agents) == 1 + len(model.world.actors())  # the scenario's event and the aggregate actors
    ref = weakref.ref(model)
    model.release()
    del model
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_scale_multiplies_population_sizes(small, scale):
    model = SimModel(load_scenario(small), scale=scale)
    assert model.world.accounts.customers.size == round(300 * scale)
    assert model.world.accounts.merchants.size == round(20 * scale)
    model.release()


def test_each_customer_transacts_in_proportion_to_its_rate(write):
    """Poisson splitting keeps per-customer counts Poisson(rate x time): check by rate quartile (with
    customers who always pay themselves, or try: the written payer is the drawn one)."""
    always_try = "    overdraft_limit: 100\n    spending: {everything: 0, credit: 1, attempt: 1}\n"
    text = small_scenario(steps=48, customers=4000).replace("    overdraft_limit: 100\n", always_try)
    model, tx = run_model(write(text))
    world = model.world
    c = world.accounts.customers
    rates = world.accounts.rate_per_day[c.start : c.stop]
    exposure = world.activity.day_share.sum()
    legit = tx[~tx.is_fraud]
    index = {acc: i - c.start for i, acc in enumerate(world.accounts.account_id) if c.start <= i < c.stop}
    counts = np.bincount(legit.origin.map(index).dropna().astype(int), minlength=c.size)
    quartile = np.searchsorted(np.quantile(rates, [0.25, 0.5, 0.75]), rates)
    for q in range(4):
        expected = rates[quartile == q].sum() * exposure
        assert abs(counts[quartile == q].sum() - expected) <= 5 * np.sqrt(expected)
    # within the busiest quartile, a customer's own count still follows its own rate
    top = quartile == 3
    assert np.corrcoef(counts[top], rates[top])[0, 1] > 0.3


def test_segments_multiply_activity_spending_and_victimisation(write):
    """A segment's effects multiply its customers' own draws: three times the activity and twice the
    spending (means over thousands of customers, 5 standard errors), and a segment that is never robbed."""
    from sim.domains.payments.accounts import build_accounts
    from sim.rng import Streams

    segments = ("    segments: {kind: {busy: {share: 1, activity: 3, spending: 2},"
                " calm: {share: 1, victimisation: 0}}}\n")  # fmt: skip
    text = small_scenario().replace("    role: customer\n", "    role: customer\n" + segments, 1)
    text = text.replace("    count: 300\n", "    count: 6000\n", 1)
    scenario = load_scenario(write(text))
    accounts = build_accounts(scenario, Streams(scenario.seed), 1.0)
    c = accounts.customers
    kind = accounts.attributes["kind"][c.start : c.stop]
    rate, scale = accounts.rate_per_day[c.start : c.stop], accounts.amount_scale[c.start : c.stop]
    busy = kind == "busy"
    assert 0.45 < busy.mean() < 0.55
    error = np.sqrt(rate[busy].var() / busy.sum() + 9 * rate[~busy].var() / (~busy).sum())
    assert abs(rate[busy].mean() - 3 * rate[~busy].mean()) < 5 * error
    assert np.allclose(accounts.exposure[c.start : c.stop], np.where(busy, 1.0, 0.0))
    error = np.sqrt(scale[busy].var() / busy.sum() + 4 * scale[~busy].var() / (~busy).sum())
    assert abs(scale[busy].mean() - 2 * scale[~busy].mean()) < 5 * error + 1e-12
    model, _ = run_model(write(text))
    victims = np.flatnonzero(model.world.accounts.labels["is_victim"])
    assert len(victims) and set(model.world.accounts.attributes["kind"][victims]) == {"busy"}


def test_activity_by_type_gives_each_type_its_own_clients(write):
    """With `activity_by_type: paysim` each type is made by its own clients at their own rates (PaySim's
    client profiles: few customers cash in, most of them often): a customer's count of a type follows
    its rate of that type, a customer who is not a client of a type never makes one, every group's
    rates add up to its share of the same volume, and pay goes where the spending is."""
    always_try = "    overdraft_limit: 100\n    spending: {everything: 0, credit: 1, attempt: 1}\n"
    text = small_scenario(steps=72, customers=3000).replace("    overdraft_limit: 100\n", always_try)
    text = text.replace("    role: customer\n", "    role: customer\n    activity_by_type: paysim\n"
                        "    income_share: 0.5\n")  # fmt: skip
    model, tx = run_model(write(text))
    accounts = model.world.accounts
    c = accounts.customers
    groups = accounts.group_rates
    shares = client_rates.volume_shares(load_scenario(write(text)).populations["customers"])
    total = accounts.rate_per_day[c.start : c.stop].sum()
    for name, rates in groups.items():
        assert rates.sum() == pytest.approx(total * shares[name], rel=1e-9)
    for name in ("CASH_IN", "PAYMENT"):  # few cash in (often); every customer pays (now and then)
        rates, weights = client_rates.rate_laws()[name]
        u = min(1.0, total * client_rates.MONTH_DAYS * shares[name] / c.size / float(rates @ weights))
        clients = np.mean(groups[name] > 0)
        assert abs(clients - u) <= 5 * np.sqrt(u * (1 - u) / c.size) + 1e-12, (name, clients, u)
    assert np.mean(groups["CASH_IN"] > 0) < 0.25 and np.all(groups["PAYMENT"] > 0)
    exposure = model.world.activity.day_share.sum()
    index = {acc: i - c.start for i, acc in enumerate(accounts.account_id) if c.start <= i < c.stop}
    legit = tx[~tx.is_fraud]
    for name in ("CASH_IN", "PAYMENT", "TRANSFER"):
        rows = legit[(legit.type == name) & legit.origin.isin(index)]
        counts = np.bincount(rows.origin.map(index).astype(int), minlength=c.size)
        rates = groups[name]
        assert counts[rates == 0].sum() == 0, name
        busy = rates > np.quantile(rates[rates > 0], 0.5)
        for part in (busy, (rates > 0) & ~busy):
            expected = rates[part].sum() * exposure
            assert abs(counts[part].sum() - expected) <= 5 * np.sqrt(expected), name
    pay = legit[(legit.type == "TRANSFER") & ~legit.origin.isin(index)]  # from employers
    received = np.bincount(pay.dest.map(index).astype(int), minlength=c.size)
    assert received[groups["pay"] == 0].sum() == 0
    assert np.corrcoef(received, groups["pay"])[0, 1] > 0.5


def test_activity_by_type_law_reproduces_the_client_profiles():
    """The shipped rate laws, drawn as a simulator draws them, give monthly counts among the clients
    with at least one whose bins have the shares of PaySim's client profiles within sampling error:
    checked for CASH_IN, where one activity rate per customer split by a type mix fails worst (45 % of
    the real clients cash in 100 or more times a month)."""
    rates, weights = client_rates.rate_laws()["CASH_IN"]
    rng = np.random.default_rng(3)
    counts = rng.poisson(rates[rng.choice(len(rates), 400_000, p=weights)])
    seen = counts[counts > 0]
    assert abs(np.mean(seen >= 100) - (0.35864 + 0.08657 + 0.00264 + 0.00009)) < 0.02
    assert abs(np.mean(seen == 1) - 0.07869) < 0.01  # clientsProfiles.csv (PaySim 2.0), CASH_IN rows


def _step_spending(tx, accounts) -> tuple[np.ndarray, np.ndarray]:
    """Per (account, step) in which the account paid: what it paid (settled debits, CASH_IN's cash
    agents aside) and what it could spend when the step began (its booked balance before its first row
    of the step, as payer or payee, plus its overdraft)."""
    import pandas as pd

    sides = [
        pd.DataFrame(
            {"account": tx[side], "step": tx.step, "seq": tx.index, "before": tx[f"{side}_balance_before"]}
        )
        for side in ("origin", "dest")
    ]
    rows = pd.concat(sides).sort_values(["account", "step", "seq"], kind="stable")
    start = rows.groupby(["account", "step"]).before.first()
    paid = tx[~tx.declined & (tx.type != "CASH_IN")]
    spent = paid.groupby(["origin", "step"]).amount.sum()
    limit = accounts.set_index("account").overdraft_limit.fillna(np.inf)  # none: no limit (employers)
    keys = spent.index
    could = start.reindex(keys).to_numpy() + limit.reindex(keys.get_level_values(0)).to_numpy()
    return spent.to_numpy(), could


@pytest.mark.parametrize("scenario", ["fraud_ring_attack", "aml_typologies"])
def test_under_step_settlement_a_step_spends_only_what_was_there_when_it_began(scenario, tmp_path):
    """`settlement: step` (a clearing batch per step): no account pays out within a step more than it
    held at the step's start plus its overdraft, whatever it received in the step; under `instant`
    money received is spent on at once (mules and laundering hops do), so the same bound fails there.
    Money is conserved, and mules still cash out and laundering still moves, a step later."""
    import pandas as pd

    from sim.runner import run_scenario

    text = (ROOT / "scenarios" / f"{scenario}.yaml").read_text()
    broken = {}
    for rule in ("instant", "step"):
        path = tmp_path / f"{rule}.yaml"
        path.write_text(f"{text}\nsettlement: {rule}\n")
        out = run_scenario(load_scenario(path), tmp_path / rule, scale=0.2)
        tx = pd.read_parquet(out / "transactions.parquet").reset_index(drop=True)
        spent, could = _step_spending(tx, pd.read_parquet(out / "accounts.parquet"))
        broken[rule] = int(np.sum(spent > could + 1e-6))
        assert abs(json.loads((out / "kpis.json").read_text())["money"]["difference"]) < 1e-3
        crime = tx[tx.is_fraud | tx.is_laundering]
        assert (~crime.declined).mean() > 0.9 and ((crime.type == "CASH_OUT") & ~crime.declined).any()
    assert broken["step"] == 0 and broken["instant"] > 0


def test_the_accounts_table_is_the_same_whatever_its_batches(write):
    """Made in batches (a host of a long run never holds it whole), with one schema: an attribute that
    only customers have keeps its type in a batch of merchants alone."""
    text = small_scenario(steps=12, customers=60).replace(
        "    overdraft_limit: 100\n",
        "    overdraft_limit: 100\n    demographics: census\n    profile_fields: true\n",
    )
    model, _ = run_model(write(text))
    accounts, closing = model.world.accounts, model.world.closing_balance()
    whole = accounts.table(closing, rows=accounts.n).read_all()
    one_each = list(accounts.table(closing, rows=1))
    assert len(one_each) == accounts.n and all(b.schema == whole.schema for b in one_each)
    assert pa.Table.from_batches(one_each).equals(whole)
    table = whole.to_pandas()
    assert table.account.is_monotonic_increasing and table.closing_balance.sum() == pytest.approx(
        closing.sum()
    )
    customers = table.population == "customers"
    assert table.email[customers].str.contains("@").all() and table.email[~customers].isna().all()
    assert table.age[customers].between(18, 100).all() and table.age[~customers].isna().all()
    assert whole.schema.field("email").type == pa.string() and whole.schema.field("age").type == pa.float64()
