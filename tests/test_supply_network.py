"""Lanes: dual sourcing, lane capacity, drawn lead times, and facilities (ports, production lines) as
SimPy queues, checked against closed forms; stock is conserved along every lane."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.runner import run_scenario
from sim.scenario import load_scenario

HEAD = """\
schema_version: 1
name: network
domain: supply
seed: 5
horizon: {steps: STEPS, step: 1d, start: 2026-01-01}
chain:
  initial_flow: 0
  fixed_orders: 0
"""


def run(tmp_path, write, body: str, steps: int = 60):
    scenario = load_scenario(write(HEAD.replace("STEPS", str(steps)) + body))
    out = run_scenario(scenario, tmp_path / "run")
    ts = pd.read_parquet(out / "timeseries.parquet")
    events = pd.read_parquet(out / "events.parquet")
    return scenario, ts, events, json.loads((out / "kpis.json").read_text())


def node(ts, name):
    return ts[ts.node == name].reset_index(drop=True)


DUAL = """\
  demand: {kind: periodic, quantity: 100}
  nodes:
    - name: store
      initial_inventory: 1000
      policy: {kind: T_Q, T: 1, Q: 100}
      lanes:
        - {supplier: near, share: 3, mail_delay: 1, ship_delay: 2, transport_cost: 50}
        - {supplier: far, share: 7, mail_delay: 1, ship_delay: 9, unit_cost: 2}
    - {name: near, supplier: source, initial_inventory: 500, mail_delay: 0, ship_delay: 5,
       policy: {kind: order_up_to, cover: 8, forecast: {kind: moving_average, window: 5}}}
    - {name: far, supplier: source, initial_inventory: 2000, mail_delay: 0, ship_delay: 5,
       policy: {kind: order_up_to, cover: 15, forecast: {kind: moving_average, window: 5}}}
"""


def test_dual_sourcing_splits_orders_and_each_lane_keeps_its_lead_time(tmp_path, write):
    _, ts, events, kpis = run(tmp_path, write, DUAL)
    store, near, far = node(ts, "store"), node(ts, "near"), node(ts, "far")
    # each supplier receives its share of the store's orders one step later (the mail)
    assert near.orders_received[1:].eq(30).all() and far.orders_received[1:].eq(70).all()
    shipments = events[(events.kind == "shipment") & (events.target == "store")]
    lead = (shipments.end_step - shipments.start_step).groupby(shipments.source).unique()
    assert lead["near"].tolist() == [2] and lead["far"].tolist() == [9]
    # what arrives at the store: near's shipments after 2 steps plus far's after 9
    sent = shipments.pivot_table(index="start_step", columns="source", values="quantity", aggfunc="sum")
    sent = sent.reindex(range(60), fill_value=0).fillna(0)
    expected = sent["near"].shift(2, fill_value=0) + sent["far"].shift(9, fill_value=0)
    assert np.allclose(store.received, expected)
    for name, start in (("store", 1000), ("near", 500), ("far", 2000)):
        rows = node(ts, name)
        assert np.allclose(rows.inventory, start + np.cumsum(rows.received - rows.shipped))
    # transport: 50 per shipment from near, 2 per unit from far
    near_shipments = int((sent["near"] > 0).sum())
    assert kpis["nodes"]["store"]["transport_cost"] == pytest.approx(
        50 * near_shipments + 2 * sent["far"].sum()
    )


def test_a_lane_carries_at_most_its_capacity(tmp_path, write):
    body = """\
  demand: {kind: periodic, quantity: 100}
  nodes:
    - name: store
      initial_inventory: 300
      policy: {kind: T_Q, T: 1, Q: 100}
      lanes: [{supplier: source, mail_delay: 0, ship_delay: 1, capacity: 60}]
"""
    _, ts, events, _ = run(tmp_path, write, body, steps=20)
    sent = events[events.kind == "shipment"].set_index("start_step").quantity
    assert sent.eq(60).all() and len(sent) == 20  # the source owes the rest, 40 more each day
    store = node(ts, "store")
    assert store.received.tolist() == [0] + [60] * 19
    # 300 + 60 a day in, 100 a day out: empty after 7 days, then 60 of 100 filled each day
    assert store.inventory.iloc[-1] == 0 and store.backlog.iloc[-1] == 20 * 100 - 300 - 19 * 60


def test_drawn_lead_times_have_the_declared_mean(tmp_path, write):
    body = """\
  demand: {kind: periodic, quantity: 10}
  nodes:
    - name: store
      initial_inventory: 100000
      policy: {kind: T_Q, T: 1, Q: 10}
      lanes: [{supplier: source, mail_delay: 0, ship_delay: 2, delay: {dist: gamma, mean: 3, shape: 2.25}}]
"""
    _, ts, events, _ = run(tmp_path, write, body, steps=2000)
    shipments = events[events.kind == "shipment"]
    extra = shipments.end_step - shipments.start_step - 2
    assert extra.min() >= 0
    # each shipment's extra delay is a gamma draw (sd 2) rounded to whole steps: mean 3 within 4 s.e.
    assert abs(extra.mean() - 3) < 4 * 2 / np.sqrt(len(extra)) + 0.05
    due = shipments[shipments.end_step < 2000]  # arrivals are exactly the shipments due in the run
    arrived = np.bincount(due.end_step, weights=due.quantity, minlength=2000)
    assert np.allclose(node(ts, "store").received, arrived)


PORT = """\
  demand: {kind: periodic, quantity: 10}
  facilities: [{name: port, servers: SERVERS, handling: 2}]
  nodes:
    - name: store
      initial_inventory: 100000
      policy: {kind: T_Q, T: 1, Q: 10}
      lanes: [{supplier: source, mail_delay: 0, ship_delay: 1, via: port, onward_delay: 1}]
"""


@pytest.mark.parametrize("servers", [1, 2, 3])
def test_a_port_queues_shipments_first_come_first_served(tmp_path, write, servers):
    """D/D/c: one shipment a day reaches the port, each berth takes 2 days. With one berth shipment n
    (sent on day n) starts at 2n + 1 and arrives at 2n + 4, waiting n days; with two or more, no wait.
    Every shipment sent is in the events table: those still queued when the run ends have no end."""
    _, ts, events, kpis = run(tmp_path, write, PORT.replace("SERVERS", str(servers)), steps=30)
    shipments = events[events.kind == "shipment"].sort_values("start_step")
    assert shipments.start_step.tolist() == list(range(30))  # one a day, cleared or not
    cleared = shipments[shipments.end_step.notna()]
    n = cleared.start_step.to_numpy()
    arrival = 2 * n + 4 if servers == 1 else n + 4
    assert cleared.end_step.tolist() == arrival.tolist()
    queued = shipments[shipments.end_step.isna()]
    sent = np.arange(30)
    clears = 2 * sent + 3 if servers == 1 else sent + 3  # a step before it arrives
    assert queued.end.isna().all() and queued.start_step.tolist() == sent[clears >= 30].tolist()
    waits = kpis["facilities"]["port"]
    assert waits["shipments"] == len(n) and waits["max_wait"] == (n.max() if servers == 1 else 0)
    store = node(ts, "store")
    # goods in the port queue still count as on their way in, so nothing is lost
    assert np.allclose(store.in_transit + np.cumsum(store.received), np.cumsum(store.orders_placed))


def test_production_line_handles_by_batch_size(tmp_path, write):
    body = PORT.replace("servers: SERVERS, handling: 2", "servers: 1, handling: 0, units_per_step: 5")
    _, _, events, _ = run(tmp_path, write, body, steps=10)
    shipments = events[events.kind == "shipment"].sort_values("start_step").dropna(subset="end_step")
    assert shipments.end_step.tolist() == [2 * n + 4 for n in range(len(shipments))]  # 10 units: 2 steps


@pytest.mark.parametrize(
    ("lanes", "message"),
    [
        ("supplier: source\n      lanes: [{supplier: source}]", "give 'lanes' or supplier, not both"),
        ("lanes: [{supplier: source, share: 0}, {supplier: source, share: 0}]", "needs a positive share"),
        ("lanes: [{supplier: source, via: dock}]", "no facility named 'dock'"),
        ("lanes: [{supplier: source, onward_delay: 2}]", "onward_delay is the time after a facility"),
        ("lanes: [{supplier: b}, {supplier: source}]\n    - {name: b, supplier: a}", "suppliers form a loop"),
    ],
)  # fmt: skip
def test_lane_mistakes_are_named(write, lanes, message):
    body = f"""\
  nodes:
    - name: a
      {lanes}
"""
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(HEAD.replace("STEPS", "10") + body))


PRODUCTS = """\
  products: [{name: small}, {name: big, scale: 3, value: 2}]
  demand: {kind: periodic, quantity: 10, every: 2}
  nodes:
    - name: store
      initial_inventory: 50
      holding_cost: 0.1
      buy_price: 4
      sell_price: 5
      policy: {kind: s_S, s: 20, S: 60}
      lanes: [{supplier: dc, mail_delay: 1, ship_delay: 2, transport_cost: 7}]
    - {name: dc, supplier: source, initial_inventory: 100, mail_delay: 0, ship_delay: 3, holding_cost: 0.05,
       policy: {kind: R_Q, R: 40, Q: 50}}
"""


def test_products_are_scaled_copies_with_their_own_stock(tmp_path, write):
    _, ts, events, kpis = run(tmp_path, write, PRODUCTS, steps=40)
    assert sorted(ts["product"].unique()) == ["big", "small"] and len(ts) == 40 * 2 * 2
    for name in ("store", "dc"):
        small = ts[(ts.node == name) & (ts["product"] == "small")].reset_index(drop=True)
        big = ts[(ts.node == name) & (ts["product"] == "big")].reset_index(drop=True)
        for column in ("demand", "orders_placed", "inventory", "backlog", "received", "in_transit"):
            assert np.allclose(big[column], 3 * small[column]), (name, column)
    parts = kpis["products"]
    store = {p: parts[p]["nodes"]["store"] for p in ("small", "big")}
    # value 2 doubles money per unit (3x the units): holding, purchases and revenue are 6x
    for money in ("holding_cost", "purchase_cost", "revenue"):
        assert store["big"][money] == pytest.approx(6 * store["small"][money])
    assert store["big"]["transport_cost"] == store["small"]["transport_cost"]  # per shipment
    for key in ("holding_cost", "units_received", "customer_units", "total_cost"):  # nodes add products up
        assert kpis["nodes"]["store"][key] == pytest.approx(store["small"][key] + store["big"][key])
    assert set(events[events.kind == "shipment"].target) == {"store/small", "store/big", "dc/small", "dc/big"}


def test_products_share_a_facility_and_queue_for_it(tmp_path, write):
    """Two products, one shipment each a day, one berth taking 2 days: the k-th shipment to reach the
    port (day k // 2) starts at 2k + 1 and arrives at 2k + 4, after waiting 2k - k // 2 days."""
    both = PORT.replace("SERVERS", "1").replace("  demand:", "  products: [{name: a}, {name: b}]\n  demand:")
    _, _, events, kpis = run(tmp_path, write, both, steps=30)
    shipments = events[events.kind == "shipment"].dropna(subset="end_step")  # cleared the port
    k = np.arange(len(shipments))
    assert sorted(shipments.end_step) == (2 * k + 4).tolist()
    assert kpis["facilities"]["port"]["mean_wait"] == pytest.approx(np.mean(2 * k - k // 2))
    assert set(shipments.target) == {"store/a", "store/b"}


def test_a_closed_port_holds_everything_until_it_reopens(tmp_path, write):
    """One berth, one day per shipment, one shipment a day (utilisation 1): a 5-day closure from day 10
    delays the shipment reaching the port on day 10 and every one after it by 5 days, for good."""
    body = PORT.replace("servers: SERVERS, handling: 2", "servers: 1, handling: 1").replace(
        "onward_delay: 1", "onward_delay: 0"
    )
    body += "events:\n  - {kind: node_outage, name: lockout, node: port, start: 10, duration: 5}\n"
    _, _, events, kpis = run(tmp_path, write, body, steps=40)
    shipments = events[events.kind == "shipment"].sort_values("start_step").dropna(subset="end_step")
    n = shipments.start_step.to_numpy()
    assert shipments.end_step.tolist() == np.where(n < 9, n + 2, n + 7).tolist()
    assert kpis["facilities"]["port"]["max_wait"] == 5


def test_only_facilities_and_nodes_can_be_struck(write):
    body = (
        PORT.replace("SERVERS", "1")
        + "events:\n  - {kind: capacity_loss, name: x, node: port, start: 1, duration: 2, capacity: 1}\n"
    )
    with pytest.raises(ScenarioError, match=r"no node named 'port' .*close with node_outage: port"):
        load_scenario(write(HEAD.replace("STEPS", "10") + body))
