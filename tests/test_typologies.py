"""Fraud and AML typologies have the shapes their names promise, and labels agree with each other."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim.domains.payments.scenario import AML_TYPOLOGIES
from sim.engine.model import SimModel
from sim.scenario import load_scenario

WORLD = """\
schema_version: 1
name: typologies
domain: payments
seed: 5
horizon: {steps: 240, step: 1h, start: 2026-01-05T00:00:00}
populations:
  customers:
    role: customer
    count: 3000
    opening_balance: {dist: lognormal, mean: 20000, std: 20000}
    overdraft_limit: 500
    transactions_per_day: {dist: gamma, mean: 1.0, shape: 1.0}
  merchants:
    role: merchant
    count: 60
    categories:
      food: {weight: 0.7, amount: {dist: lognormal, mean: 40, std: 20}}
      travel: {weight: 0.3, amount: {dist: lognormal, mean: 400, std: 200}}
  mules: {role: mule, count: 20, cash_out_share: 0.9}
  takeover: {role: fraudster, typology: account_takeover, count: 5, attacks_per_day: 1, victims: customers,
             mules: mules}
  scam: {role: fraudster, typology: app_scam, count: 5, attacks_per_day: 1, victims: customers, mules: mules}
  theft: {role: fraudster, typology: card_theft, count: 5, attacks_per_day: 1, victims: customers}
  testing: {role: fraudster, typology: card_testing, count: 5, attacks_per_day: 1, victims: customers,
            delay: 3h}
  bust: {role: fraudster, typology: bust_out, count: 8, accounts: customers, credit_limit: 4000}
{aml}
"""
AML = list(AML_TYPOLOGIES)


@pytest.fixture(scope="module")
def ended(tmp_path_factory):
    """The run's model (released: its world's arrays stay readable) and its transactions."""
    aml = "\n".join(
        f"  {t}: {{role: launderer, typology: {t}, patterns: 6, accounts: customers, size: [4, 7], "
        "spread: 2d}"
        for t in AML
    )
    path = tmp_path_factory.mktemp("typologies") / "world.yaml"
    path.write_text(WORLD.replace("{aml}", aml))
    model = SimModel(load_scenario(path))
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    model.release()
    return model, pa.Table.from_batches(batches).to_pandas()


@pytest.fixture(scope="module")
def world(ended):
    model, tx = ended
    return tx, model.world.patterns_table().read_pandas(), model.world.accounts_table().read_pandas()


def test_the_patterns_table_is_the_same_whatever_its_batches_and_counts_its_patterns(ended, world):
    w, (_, patterns, _) = ended[0].world, world
    few = list(w.membership.table(w.accounts.account_id, w.start_us, w.step_us, rows=7))
    assert all(b.num_rows <= 7 for b in few) and len(few) >= len(patterns) / 7
    assert pa.Table.from_batches(few).to_pandas().equals(patterns)
    # the KPIs' count of each kind.typology's distinct patterns, in the order the table first lists them
    expected = {
        f"{kind}.{typology}": patterns[
            (patterns.kind == kind) & (patterns.typology == typology)
        ].pattern_id.nunique()
        for kind, typology in patterns[["kind", "typology"]].drop_duplicates().itertuples(index=False)
    }
    assert list(w.membership.counts().items()) == list(expected.items())
    assert len(expected) == len(AML) + 5  # every typology of the world


def laundering(tx, typology):
    rows = tx[tx.typology == typology]
    assert rows.pattern_id.nunique() >= 5, typology
    return rows.groupby("pattern_id")


def test_labels_are_consistent(world):
    tx, patterns, _ = world
    assert (tx.is_fraud == tx.fraud_type.notna()).all()
    assert (tx.is_laundering == tx.typology.notna()).all()
    labelled = tx.is_fraud | tx.is_laundering
    assert (labelled == tx.pattern_id.notna()).all()
    assert not (tx.is_fraud & tx.is_laundering).any()
    # every account in a labelled row is a member of that pattern in the patterns table
    members = set(zip(patterns.pattern_id, patterns.account, strict=True))
    for row in tx[tx.is_laundering & (tx.type == "TRANSFER")].itertuples():
        assert (row.pattern_id, row.origin) in members and (row.pattern_id, row.dest) in members


def test_fan_in_and_fan_out_degrees(world):
    tx, patterns, _ = world
    for pid, rows in laundering(tx, "fan_in"):
        transfers = rows[rows.type == "TRANSFER"]
        sinks = patterns[(patterns.pattern_id == pid) & (patterns.member_role == "sink")].account
        assert transfers.dest.nunique() == 1 and transfers.dest.iloc[0] == sinks.iloc[0]
        assert transfers.origin.nunique() == len(transfers) == (patterns.pattern_id == pid).sum() - 1
    for _, rows in laundering(tx, "fan_out"):
        transfers = rows[rows.type == "TRANSFER"]
        assert transfers.origin.nunique() == 1 and transfers.dest.nunique() == len(transfers) >= 3


def test_cycle_closes_and_walks_in_order(world):
    tx, _, _ = world
    for _, rows in laundering(tx, "cycle"):
        hops = rows[rows.type == "TRANSFER"].sort_values("timestamp")
        assert (hops.dest.to_numpy()[:-1] == hops.origin.to_numpy()[1:]).all()
        assert hops.dest.iloc[-1] == hops.origin.iloc[0]
        assert (np.diff(hops.amount.to_numpy()) < 0).all()  # each hop keeps its fee


def test_placement_comes_before_layering_and_stages_stay_in_order(world):
    tx, _, _ = world
    for typology in AML[:-1]:
        for _, rows in laundering(tx, typology):
            placed = rows[rows.type == "CASH_IN"].timestamp.max()
            assert placed < rows[rows.type == "TRANSFER"].timestamp.min(), typology


def test_bipartite_connects_every_sender_to_every_receiver(world):
    tx, _, _ = world
    for _, rows in laundering(tx, "bipartite"):
        t = rows[rows.type == "TRANSFER"]
        assert len(t) == t.origin.nunique() * t.dest.nunique()
        assert not set(t.origin) & set(t.dest)


def test_scatter_gather_and_gather_scatter_pass_through_the_middle(world):
    tx, patterns, _ = world
    for pid, rows in laundering(tx, "scatter_gather"):
        t = rows[rows.type == "TRANSFER"]
        middle = set(
            patterns[(patterns.pattern_id == pid) & (patterns.member_role == "intermediate")].account
        )
        first = t[~t.origin.isin(middle)]
        second = t[t.origin.isin(middle)]
        assert set(first.dest) == middle == set(second.origin) and second.dest.nunique() == 1
    for pid, rows in laundering(tx, "gather_scatter"):
        t = rows[rows.type == "TRANSFER"]
        (hub,) = patterns[(patterns.pattern_id == pid) & (patterns.member_role == "hub")].account
        assert ((t.dest == hub) | (t.origin == hub)).all()


def test_stack_moves_money_layer_by_layer(world):
    tx, patterns, _ = world
    for pid, rows in laundering(tx, "stack"):
        t = rows[rows.type == "TRANSFER"]
        role = patterns[patterns.pattern_id == pid].set_index("account").member_role
        pairs = set(zip(role[t.origin], role[t.dest], strict=True))
        assert pairs <= {("source", "intermediate"), ("intermediate", "sink")}


def test_structuring_stays_just_under_the_threshold(world):
    tx, _, _ = world
    for _, rows in laundering(tx, "structuring"):
        assert (rows.type == "CASH_IN").all() and rows.origin.nunique() == 1
        assert rows.amount.between(9_000, 10_000, inclusive="left").all()
        assert len(rows) >= 4


def test_account_takeover_drains_then_the_mule_cashes_out(world):
    tx, _, accounts = world
    fraud = tx[tx.fraud_type == "account_takeover"].sort_values("timestamp")
    mules = set(accounts.account[accounts.role == "mule"])
    drained = 0
    for _, rows in fraud.groupby("pattern_id"):
        drains = rows[rows.type == "TRANSFER"]
        if drains.empty:  # a theft of nothing is not made: the mule cashes out what it already held
            assert (rows.type == "CASH_OUT").all() and set(rows.origin) <= mules
            continue
        drained += 1
        drain, cash_out = rows.iloc[0], rows.iloc[1]
        assert (drain.type, cash_out.type) == ("TRANSFER", "CASH_OUT")
        assert drain.dest == cash_out.origin and drain.dest in mules
        assert drain.amount > 0  # never a row of nothing
        if not drain.declined:  # what a customer would move, or all there was: never more
            assert (
                0 <= drain.origin_balance_after == pytest.approx(drain.origin_balance_before - drain.amount)
            )
    assert drained >= 5


def test_a_mule_recruited_among_customers_forwards_what_it_was_sent_and_keeps_its_savings(tmp_path):
    rich = WORLD.replace("mean: 20000, std: 20000", "mean: 1.0e+9, std: 1.0e+8")  # every theft is whole
    rich = rich.replace("{role: mule, count: 20, cash_out_share: 0.9}",
                        "{role: mule, count: 20, cash_out_share: 0.9, among: customers}")  # fmt: skip
    path = tmp_path / "rich.yaml"
    path.write_text(rich.replace("{aml}", ""))
    model = SimModel(load_scenario(path))
    batches = []
    while model.running:
        model.step()
        batches.append(model.batch)
    model.release()
    tx = pa.Table.from_batches(batches).to_pandas()
    takeovers = tx[tx.fraud_type == "account_takeover"].sort_values("timestamp").groupby("pattern_id")
    checked = 0
    for _, rows in takeovers:
        drain, cash_out = rows.iloc[0], rows.iloc[1]
        assert (drain.type, cash_out.type) == ("TRANSFER", "CASH_OUT") and drain.dest == cash_out.origin
        assert drain.origin_balance_after > 0  # the victim had more than the thief took
        assert cash_out.amount == pytest.approx(0.9 * drain.amount, abs=0.011)
        assert cash_out.origin_balance_after > 10 * cash_out.amount  # its own savings stay (not 10 % of all)
        checked += 1
    assert checked >= 10


def test_app_scam_victims_keep_part_of_their_balance(world):
    tx, _, _ = world
    pays = tx[(tx.fraud_type == "app_scam") & (tx.type == "TRANSFER") & ~tx.declined]
    assert len(pays) > 10
    assert (pays.origin_balance_after >= 0).all() and (pays.origin_balance_after > 0).mean() > 0.9


def test_card_testing_probes_small_then_spends_big_after_the_delay(world):
    tx, _, _ = world
    for _, rows in tx[tx.fraud_type == "card_testing"].groupby("pattern_id"):
        probes, spends = rows[rows.amount < 5], rows[rows.amount >= 5]
        assert len(probes) >= 3
        if len(spends):
            gap = spends.timestamp.min() - probes.timestamp.max()
            assert gap >= pd.Timedelta(hours=2)  # delay 3h after a 1h probing window


def test_card_theft_is_a_burst_of_purchases(world):
    tx, _, _ = world
    theft = tx[tx.fraud_type == "card_theft"]
    assert (theft.type == "PAYMENT").all() and theft.category.notna().all()
    spans = theft.groupby("pattern_id").timestamp.agg(lambda s: s.max() - s.min())
    assert (spans <= pd.Timedelta(hours=3)).all()
    legit = tx[(tx.type == "PAYMENT") & ~tx.is_fraud & ~tx.is_laundering]
    assert theft.amount.median() > 2 * legit.amount.median()


def test_bust_out_maxes_out_the_credit_line(world):
    tx, _, accounts = world
    busts = tx[tx.fraud_type == "bust_out"]
    fraudsters = accounts[accounts.is_fraudster]
    assert len(fraudsters) == 8 and (fraudsters.overdraft_limit == 4000).all()
    assert set(busts.origin) <= set(fraudsters.account)
    for _, rows in busts.groupby("pattern_id"):
        last = rows.sort_values("timestamp").iloc[-1]
        if not last.declined:
            assert last.origin_balance_after == pytest.approx(-4000)
