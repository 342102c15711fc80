"""Disruptions from the calendar act on the chain as declared, and stock stays accounted for."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.engine.timeline import Timeline
from sim.errors import ScenarioError
from sim.rng import Streams
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT

CHAIN = """\
schema_version: 1
name: disrupted
domain: supply
seed: 1
horizon: {steps: 60, step: 1d, start: 2026-01-01}
chain:
  initial_flow: 10
  fixed_orders: 0
  demand: {kind: step, before: 10, after: 10, at: 0}
  nodes:
    - {name: store, initial_inventory: 60, mail_delay: 1, ship_delay: 2,
       policy: {kind: order_up_to, cover: 6, forecast: {kind: moving_average, window: 3}}}
    - {name: dc, initial_inventory: 80, mail_delay: 1, ship_delay: 2,
       policy: {kind: order_up_to, cover: 6, forecast: {kind: moving_average, window: 3}}}
events:
EVENTS
"""


def run(tmp_path, write, events: str) -> tuple[pd.DataFrame, dict]:
    scenario = load_scenario(write(CHAIN.replace("EVENTS", events)))
    out = run_scenario(scenario, tmp_path / "run")
    ts = pd.read_parquet(out / "timeseries.parquet")
    return ts, json.loads((out / "kpis.json").read_text())


def node(ts, name):
    return ts[ts.node == name].reset_index(drop=True)


def assert_stock_accounted(ts, initial):
    for name, start in initial.items():
        rows = node(ts, name)
        before = np.concatenate([[start], rows.inventory[:-1]])
        assert np.allclose(rows.inventory, before + rows.received - rows.shipped - rows.lost)


def test_outage_stops_shipping_and_destroys_stock(tmp_path, write):
    events = "  - {kind: node_outage, name: fire, node: dc, start: 10, duration: 4, stock_destroyed: 0.5}"
    ts, kpis = run(tmp_path, write, events)
    dc = node(ts, "dc")
    assert (dc.shipped[10:14] == 0).all() and (dc.shipped[14:20] > 0).any()
    assert dc.lost[10] > 0 and dc.lost.drop(10).eq(0).all()
    assert dc.lost[10] == pytest.approx(0.5 * dc.inventory[9])  # half the stock it started the day with
    assert_stock_accounted(ts, {"store": 60, "dc": 80})
    (fire,) = kpis["disruptions"]
    assert (fire["event"], fire["start_step"], fire["end_step"]) == ("fire", 10, 14)


def test_goods_that_reach_a_closed_passage_wait_for_it_to_reopen(tmp_path, write):
    closure = "  - {kind: route_closure, name: canal, node: store, start: 10, duration: 6, extra_delay: 12d"
    ts, _ = run(tmp_path / "held", write, closure + ", after_passage: 1d}")
    sent, _ = run(tmp_path / "sent", write, closure + "}")
    store, before = node(ts, "store"), node(sent, "store")
    # as it closes on day 10, goods due on day 10 are past the passage (1 day out); those due on day 11
    # reach it on day 10: they wait until it reopens on day 16 and arrive on day 17
    assert store.received[10] == before.received[10] > 0 and before.received[11] > 0
    assert (store.received[11:17] == 0).all() and store.received[17] == before.received[11]
    assert (before.received[12:18] == 0).all()  # sent while it is closed: round the Cape in both runs
    assert (store.received[24:30] == before.received[24:30]).all() and store.received[24:30].min() > 0
    events = pd.read_parquet(tmp_path / "held" / "run" / "events.parquet")
    to_store = events[(events.kind == "shipment") & (events.target == "store")].set_index("start_step")
    assert to_store.end_step[8] == 10 and to_store.end_step[9] == 17  # the table says so too
    assert_stock_accounted(ts, {"store": 60, "dc": 80})


def test_lost_sales_leave_instead_of_waiting(tmp_path, write):
    events = "  - {kind: node_outage, name: fire, node: dc, start: 10, duration: 10}"
    waited, _ = run(tmp_path / "backlog", write, events)
    scenario = load_scenario(write(CHAIN.replace("{name: store,", "{name: store, unmet_demand: lost,")
                                   .replace("EVENTS", events)))  # fmt: skip
    out = run_scenario(scenario, tmp_path / "lost")
    ts, kpis = pd.read_parquet(out / "timeseries.parquet"), json.loads((out / "kpis.json").read_text())
    store, before = node(ts, "store"), node(waited, "store")
    assert (store.backlog == 0).all() and store.lost_sales.sum() > 0 and (before.lost_sales == 0).all()
    assert np.allclose(store.demand, store.shipped + store.lost_sales)  # sold at once, or gone
    assert before.backlog.max() > 0 and before.shipped.sum() > store.shipped.sum()  # waiters bought later
    assert_stock_accounted(ts, {"store": 60, "dc": 80})
    k = kpis["nodes"]["store"]
    assert k["lost_sales"] == pytest.approx(store.lost_sales.sum()) == kpis["total"]["lost_sales"]
    assert k["backlog_cost"] == pytest.approx(store.lost_sales.sum())  # 1 a unit lost, once
    assert k["fill_rate"] == pytest.approx(1 - store.lost_sales.sum() / store.demand.sum())
    assert k["cycle_service_level"] == pytest.approx(np.mean(store.lost_sales == 0))
    assert kpis["disruptions"][0]["impact"] == pytest.approx(store.lost_sales.max())


def test_route_closure_delays_goods_sent_while_it_lasts(tmp_path, write):
    events = "  - {kind: route_closure, name: canal, node: store, start: 10, duration: 6, extra_delay: 12d}"
    ts, _ = run(tmp_path, write, events)
    store, dc = node(ts, "store"), node(ts, "dc")
    # shipped on days 10-15 arrives on days 24-29; nothing shipped later can arrive before day 18
    assert (store.received[12:18] == 0).all()
    assert store.received[24:30].sum() >= dc.shipped[10:16].sum()
    assert_stock_accounted(ts, {"store": 60, "dc": 80})
    # nothing is lost: what the DC shipped either arrived or is still on its way
    initial_pipe = 10 * 2
    assert dc.shipped.sum() + initial_pipe == pytest.approx(store.received.sum() + store.in_transit.iloc[-1])


def test_demand_shock_and_its_hangover_scale_demand(tmp_path, write):
    events = ("  - {kind: demand_shock, name: panic, start: 20, duration: 2, multiplier: 5, hangover: 0.5, "
              "hangover_duration: 4}")  # fmt: skip
    ts, kpis = run(tmp_path, write, events)
    demand = node(ts, "store").demand
    assert demand[:20].eq(10).all() and demand[20:22].eq(50).all() and demand[22:26].eq(5).all()
    assert demand[26:].eq(10).all()
    (panic,) = kpis["disruptions"]
    assert panic["impact"] > 0 and panic["time_to_recover"] is not None


def test_capacity_loss_caps_shipments(tmp_path, write):
    events = "  - {kind: capacity_loss, name: strike, node: dc, start: 5, duration: 10, capacity: 4}"
    ts, _ = run(tmp_path, write, events)
    dc = node(ts, "dc")
    assert (dc.shipped[5:15] <= 4).all() and (dc.shipped[5:15] == 4).any()


def test_events_must_name_a_node_of_the_chain(write):
    events = "  - {kind: node_outage, name: fire, node: warehouse, start: 10, duration: 4}"
    with pytest.raises(ScenarioError, match=r"events.0.node: no node named 'warehouse' \(nodes: dc, store\)"):
        load_scenario(write(CHAIN.replace("EVENTS", events)))


def test_a_closed_passage_must_lie_on_the_route(write):
    events = "  - {kind: route_closure, name: canal, node: store, start: 10, duration: 6, extra_delay: 12d"
    text = CHAIN.replace("EVENTS", events + ", after_passage: 2}")
    message = "2 steps from the passage to 'store', but its direct routes take at most 2: the passage must"
    with pytest.raises(ScenarioError, match=r"events.0.after_passage: " + message):
        load_scenario(write(text))


def test_only_the_source_takes_orders_at_once(write):
    text = CHAIN.replace("EVENTS", "").replace(
        "{name: store, initial_inventory: 60, mail_delay: 1",
        "{name: store, initial_inventory: 60, mail_delay: 0",
    )
    with pytest.raises(ScenarioError, match="node 'store': mail_delay 0 needs supplier 'source'"):
        load_scenario(write(text.replace("events:\n", "")))


def test_the_shipped_disruption_scenario_runs(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "supply_disruptions.yaml")
    out = run_scenario(scenario, tmp_path / "run")
    events = pd.read_parquet(out / "events.parquet")
    events = events[~events.kind.isin(["order", "shipment"])]
    assert list(events.event) == ["canal_closed", "panic_buying", "dc_fire"]
    kpis = json.loads((out / "kpis.json").read_text())
    assert [d["event"] for d in kpis["disruptions"]] == list(events.event)
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert_stock_accounted(ts, {"store": 1000, "regional_dc": 1500, "importer": 3000})


def test_demand_has_its_weekday_pattern_yearly_wave_and_trend():
    from datetime import datetime, timedelta

    from sim.domains.supply.demand import expected_demand
    from sim.domains.supply.scenario import StepDemand

    weekly = [1, 1, 1, 1, 1, 2, 0]  # busy Saturdays, closed on Sundays
    spec = StepDemand(before=100, after=100, at=0, weekly=weekly)
    days = expected_demand(spec, datetime(2026, 1, 5), timedelta(days=1), 14)  # from a Monday
    assert (
        days[5] == pytest.approx(200 / np.mean(weekly)) and days[6] == 0 and days.mean() == pytest.approx(100)
    )
    wave = StepDemand(before=100, after=100, at=0, yearly_amplitude=0.3, yearly_peak=355)
    year = expected_demand(wave, datetime(2026, 1, 1), timedelta(days=1), 365)
    assert year.argmax() in range(352, 358) and year.min() == pytest.approx(70, abs=0.1)
    grow = StepDemand(before=100, after=100, at=0, trend=0.01)
    assert expected_demand(grow, datetime(2026, 1, 1), timedelta(days=1), 3).tolist() == pytest.approx(
        [100, 101, 102.01]
    )


def test_a_chained_recovery_starts_when_the_failure_ends(tmp_path, write):
    events = (
        "  - {kind: node_outage, name: fire, node: dc, trigger: {probability_per_step: 0.2}, duration: 4}\n"
        "  - {kind: capacity_loss, name: rebuild, node: dc, after: fire, duration: 6, capacity: 5}"
    )
    scenario = load_scenario(write(CHAIN.replace("EVENTS", events)))
    out = run_scenario(scenario, tmp_path / "run")
    occurred = pd.read_parquet(out / "events.parquet").set_index("event")
    assert occurred.loc["rebuild", "start_step"] == occurred.loc["fire", "end_step"]
    dc = node(pd.read_parquet(out / "timeseries.parquet"), "dc")
    start, end = occurred.loc["rebuild", ["start_step", "end_step"]]
    assert (dc.shipped[start:end] <= 5).all()


def test_chains_must_name_an_event_and_must_not_loop(write):
    events = (
        "  - {kind: node_outage, name: a, node: dc, after: b, duration: 4}\n"
        "  - {kind: node_outage, name: b, node: dc, after: a, duration: 4}\n"
        "  - {kind: node_outage, name: c, node: dc, after: nothing, duration: 4}"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(CHAIN.replace("EVENTS", events)))
    report = str(info.value)
    assert report.count("wait for each other in a loop") == 2
    assert "events.2.after: no event named 'nothing' (events: a, b, c)" in report


def test_events_log_every_order_and_shipment_and_shipments_arrive_as_logged(tmp_path, write):
    events = "  - {kind: route_closure, name: canal, node: store, start: 10, duration: 6, extra_delay: 12d}"
    scenario = load_scenario(write(CHAIN.replace("EVENTS", events)))
    out = run_scenario(scenario, tmp_path / "run")
    log = pd.read_parquet(out / "events.parquet")
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert {"order", "shipment", "route_closure"} <= set(log.kind)
    orders = log[log.kind == "order"]
    placed = orders.groupby(["source", "start_step"]).quantity.sum()
    for (name, t), quantity in placed.items():
        assert node(ts, name).orders_placed[t] == quantity
    shipments = log[log.kind == "shipment"]
    arriving = shipments.groupby(["target", "end_step"]).quantity.sum()
    for name in ("store", "dc"):
        received = node(ts, name).received
        for t in range(2, 60):  # after the initial pipeline has arrived
            assert received[t] == arriving.get((name, t), 0.0), (name, t)


TREE = """\
schema_version: 1
name: tree
domain: supply
seed: 3
horizon: {steps: 60, step: 1d, start: 2026-01-01}
chain:
  initial_flow: 10
  fixed_orders: 0
  demand: {kind: step, before: 10, after: 10, at: 0}
  nodes:
    - {name: north, supplier: dc, initial_inventory: 40, mail_delay: 1, ship_delay: 2,
       policy: {kind: order_up_to, cover: 5, forecast: {kind: moving_average, window: 3}}}
    - {name: south, supplier: dc, initial_inventory: 40, mail_delay: 1, ship_delay: 3,
       demand: {kind: step, before: 30, after: 30, at: 0},
       policy: {kind: order_up_to, cover: 6, forecast: {kind: moving_average, window: 3}}}
    - {name: dc, supplier: source, initial_inventory: 100, mail_delay: 1, ship_delay: 5,
       policy: {kind: s_S, s: 150, S: 400}}
events:
  - {kind: node_outage, name: dc_down, node: dc, start: 20, duration: 5}
"""


def test_a_distribution_tree_serves_each_store_and_shares_shortages(tmp_path, write):
    scenario = load_scenario(write(TREE))
    assert [j for j, _, _ in scenario.chain.lanes()] == [2, 2, -1]
    out = run_scenario(scenario, tmp_path / "run")
    ts = pd.read_parquet(out / "timeseries.parquet")
    log = pd.read_parquet(out / "events.parquet")
    north, south, dc = node(ts, "north"), node(ts, "south"), node(ts, "dc")
    assert north.demand.eq(10).all() and south.demand.eq(30).all() and dc.demand.eq(0).all()
    assert_stock_accounted(ts, {"north": 40, "south": 40, "dc": 100})
    # the DC's shipments are exactly what its two stores were sent; each store gets its share
    shipments = log[(log.kind == "shipment") & (log.source == "dc")]
    sent = shipments.groupby("start_step").quantity.sum().reindex(range(60), fill_value=0.0)
    assert np.allclose(sent.to_numpy(), dc.shipped.to_numpy())
    assert (dc.shipped[20:25] == 0).all()
    after = shipments[shipments.start_step.between(25, 30)]
    assert set(after.target) == {"north", "south"}  # both stores are served once the DC is back
    # stores order what they sell: south (3x the demand) receives about 3x what north does
    assert 2 < south.received[30:].sum() / north.received[30:].sum() < 4


def test_an_event_at_a_random_time_starts_once_uniformly_in_its_window(write):
    events = "  - {kind: node_outage, name: fire, node: dc, trigger: {between: [10, 40]}, duration: 3}"
    starts = []
    scenario = load_scenario(write(CHAIN.replace("EVENTS", events)))
    for seed in range(200):
        timeline = Timeline(scenario, Streams(seed))
        timeline.advance_to(scenario.horizon.steps)
        assert len(timeline.occurrences) == 1
        starts.append(timeline.occurrences[0].start_step)
    counts = np.bincount(starts, minlength=40)
    assert counts[:10].sum() == 0 and counts[40:].sum() == 0
    # uniform over 30 steps: chi-square with 29 degrees of freedom below its 0.999 quantile (58.3)
    assert ((counts[10:40] - 200 / 30) ** 2 / (200 / 30)).sum() < 58.3
    with pytest.raises(ScenarioError, match="give exactly one of 'probability_per_step' and 'between'"):
        load_scenario(
            write(CHAIN.replace("EVENTS", events.replace("between: [10, 40]", "max_occurrences: 2")))
        )
    with pytest.raises(ScenarioError, match="first time before its second"):
        load_scenario(write(CHAIN.replace("EVENTS", events.replace("[10, 40]", "[40, 10]"))))


def shipped_story(name: str, tmp_path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A shipped stress scenario run with its own seed: its disruptions (by name), flows and series."""
    out = run_scenario(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), tmp_path / "run")
    events = pd.read_parquet(out / "events.parquet")
    disruptions = events[~events.kind.isin(["order", "shipment"])].set_index("event")
    return disruptions, events[events.kind == "shipment"], pd.read_parquet(out / "timeseries.parquet")


def span(disruptions, event) -> range:
    return range(*disruptions.loc[event, ["start_step", "end_step"]].astype(int))


def test_hurricane_rush_then_landfall_then_water_in_that_order(tmp_path):
    disruptions, _, ts = shipped_story("hurricane", tmp_path)
    rush, landfall, water = (
        span(disruptions, e) for e in ("pre_landfall_rush", "landfall", "after_landfall_water")
    )
    assert (len(rush), len(landfall), len(water)) == (3, 3, 7)
    assert rush.stop == landfall.start and landfall.stop == water.start  # the comment's order, every seed
    store = node(ts, "store")
    normal = store.demand[: rush.start].mean()
    assert store.demand[list(rush)].mean() / normal == pytest.approx(7, rel=0.15)  # lognormal noise, sd 0.1
    assert store.demand[list(water)].mean() / normal == pytest.approx(2.35, rel=0.15)
    assert (store.shipped[list(landfall)] == 0).all()
    assert store.lost[landfall.start] == pytest.approx(0.1 * store.inventory[landfall.start - 1])


def test_supplier_outage_happens_with_its_shipped_seed_then_ramps_up(tmp_path):
    disruptions, _, ts = shipped_story("supplier_outage", tmp_path)
    down, ramp = span(disruptions, "supplier_down"), span(disruptions, "supplier_ramp_up")
    assert len(down) == 30 and ramp.start == down.stop and len(ramp) == 14
    supplier = node(ts, "supplier")
    assert (supplier.shipped[list(down)] == 0).all() and (supplier.shipped[list(ramp)] <= 60).all()
    assert supplier.lost[down.start] == pytest.approx(0.2 * supplier.inventory[down.start - 1])


def test_retail_panic_buying_follows_the_2020_calendar(tmp_path):
    disruptions, _, ts = shipped_story("retail_panic_buying", tmp_path)
    assert list(disruptions.index) == ["stockpiling", "panic", "easing"]
    assert str(disruptions.loc["stockpiling", "start"])[:10] == "2020-02-24"
    assert str(disruptions.loc["panic", "start"])[:10] == "2020-03-11"
    stores = ts[ts.node.str.startswith("store")]
    assert stores.node.nunique() == 90
    demand = stores.groupby("t").demand.sum()
    sales = (stores.demand - stores.lost_sales).groupby(stores.t).sum()
    run_up, panic = span(disruptions, "stockpiling"), span(disruptions, "panic")
    normal = demand[: run_up.start].mean()

    def within(days: int) -> float:  # 3 sd of a ratio of mean days to normal: 90 stores, noise sd 0.3
        return 3 * 0.3 / np.sqrt(90) * np.sqrt(1 / days + 1 / run_up.start)

    assert demand[list(run_up)].mean() / normal == pytest.approx(1.51, rel=within(len(run_up)))
    assert sales[list(run_up)].mean() / normal == pytest.approx(1.51, rel=within(len(run_up)))  # in stock
    assert demand[list(panic)].mean() / normal == pytest.approx(9.45, rel=within(len(panic)))
    # Apr 8-18: +27 % vs pre-COVID, what the mill could make (its capacity binds)
    apr = [(pd.Timestamp(f"2020-04-{d:02d}") - pd.Timestamp("2020-02-01")).days for d in range(8, 19)]
    assert sales[apr].mean() / normal == pytest.approx(1.27, abs=0.03)
    assert demand[apr].mean() / normal > 1.5  # shoppers asked for more than that
    # stores out of stock part of the day on Mar 23 / Apr 12 / Apr 19: 70 % / 73 % / 48 %, within 10 points
    short = (stores.lost_sales > 0).groupby(stores.t).mean()
    for day, cited in (("03-23", 0.70), ("04-12", 0.73), ("04-19", 0.48)):
        step = (pd.Timestamp(f"2020-{day}") - pd.Timestamp("2020-02-01")).days
        assert short[step] == pytest.approx(cited, abs=0.10), day
    assert short[: panic.start].max() == 0  # the run-up is served: production and stock keep up
    manufacturer = node(ts, "manufacturer")
    assert manufacturer.received[panic.start : apr[-1]].max() <= 11430  # production at most its capacity


def test_suez_closure_shuts_the_canal_on_its_date(tmp_path):
    disruptions, shipments, ts = shipped_story("suez_closure", tmp_path)
    shut = span(disruptions, "ever_given")
    assert str(disruptions.loc["ever_given", "start"])[:10] == "2021-03-23" and len(shut) == 6
    by_sea = shipments[shipments.target == "importer"]
    days, due = by_sea.end_step - by_sea.start_step, by_sea.start_step + 21
    rerouted = by_sea.start_step.isin(shut)
    queued = (due - 10).isin(shut)  # at sea, reaching the canal (10 days out) while it is shut
    assert rerouted.sum() >= 3 and (days[rerouted] == 21 + 12).all()  # round the Cape
    assert queued.sum() >= 3 and (by_sea.end_step[queued] == shut.stop + 10).all()  # sail on together
    assert (days[~rerouted & ~queued] == 21).all()  # through the canal before and after
    importer = node(ts, "importer")
    assert importer.received[shut.stop + 10] >= by_sea.quantity[queued].sum()
    assert (importer.received[shut.start + 10 : shut.stop + 10] == 0).all()  # where the queued were due
    assert (importer.received[shut.start + 21 : shut.stop + 21] == 0).all()  # and the rerouted
    for _, ship in by_sea[rerouted].iterrows():  # which arrive 12 days late
        assert importer.received[ship.end_step] >= ship.quantity


def test_port_lockout_lets_only_the_goods_being_handled_leave(tmp_path):
    disruptions, shipments, _ = shipped_story("port_congestion", tmp_path)
    lockout = span(disruptions, "lockout")
    assert (lockout.start, len(lockout)) == (270, 10)
    crossing = shipments[shipments.source.str.startswith("factory")]
    cleared = crossing.end_step - 2  # the onward delay from the port to the DC
    handling = 1 + np.ceil(crossing.quantity / 400)  # a day, plus a day per 400 units
    during = cleared.isin(lockout)
    assert (cleared[during] < lockout.start + handling[during]).all()  # in service when the port shut
    assert cleared.isin(range(lockout.stop, lockout.stop + 3)).any()  # the queue moves when it reopens
