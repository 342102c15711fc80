"""The supply world: a chain or distribution tree stepped period by period, one `timeseries` row per node
and step. Each step reads the calendar's active disruptions, turns them into the kernel's capacities,
detours, losses and demand factors, advances the kernel one period and logs orders and shipments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import simpy

from sim.domains.supply.chain import ORDER_UP_TO, R_Q, S_S, STERMAN, T_Q, Chain, ChainRun, Lanes
from sim.domains.supply.demand import expected_demand
from sim.records import TIMESERIES
from sim.report import write_page
from sim.rng import Streams
from sim.scenario.schema import SupplyScenario
from sim.scenario.supply import (
    CapacityLoss,
    DemandShock,
    MinMax,
    MovingAverage,
    NodeOutage,
    OrderUpTo,
    ReorderPoint,
    RouteClosure,
    Sterman,
)


def _policy_arrays(policies: list, scale: float) -> dict[str, list]:
    """Each node's policy as the kernel's per-node parameters (quantities scale with the run)."""
    out = {k: [] for k in ("theta", "alpha_s", "beta", "s_prime", "policy", "window", "cover", "safety",
                           "reorder", "target", "quantity", "period")}  # fmt: skip
    for p in policies:
        row = {"theta": 0.0, "alpha_s": 0.0, "beta": 0.0, "s_prime": 0.0, "window": 0, "cover": 0.0,
               "safety": 0.0, "reorder": 0.0, "target": 0.0, "quantity": 1.0, "period": 1}  # fmt: skip
        if isinstance(p, Sterman):
            row.update(
                policy=STERMAN, theta=p.theta, alpha_s=p.alpha_s, beta=p.beta, s_prime=p.s_prime * scale
            )
        elif isinstance(p, OrderUpTo):
            row.update(policy=ORDER_UP_TO, cover=p.cover, safety=p.safety * scale)
            if isinstance(p.forecast, MovingAverage):
                row["window"] = p.forecast.window
            else:
                row["theta"] = p.forecast.alpha
        elif isinstance(p, MinMax):
            row.update(policy=S_S, reorder=(p.s + p.safety) * scale, target=(p.S + p.safety) * scale)
        elif isinstance(p, ReorderPoint):
            row.update(policy=R_Q, reorder=p.R * scale, quantity=p.Q * scale)
        else:
            row.update(policy=T_Q, period=p.T, quantity=p.Q * scale)
        for key, value in row.items():
            out[key].append(value)
    return out


class SupplyWorld:
    stream_name = "timeseries"
    schema = TIMESERIES

    def __init__(self, scenario: SupplyScenario, streams: Streams, scale: float = 1.0):
        self.scenario = scenario
        chain = scenario.chain
        nodes = chain.nodes
        steps = scenario.horizon.steps
        h = scenario.horizon
        # each stream of customer orders: its node, expected orders per step, noise factors, its spec
        self.streams = []
        for i, specs in enumerate(chain.demands()):
            for j, spec in enumerate(specs):
                noise = None
                if spec.noise is not None:
                    noise = spec.noise.sample(streams.generator("supply.demand", i, j), steps)
                self.streams.append((i, expected_demand(spec, h.start, h.step, steps) * scale, noise, spec))
        demand = np.zeros((1, steps, len(nodes)))
        self.stream_orders = np.zeros((steps, len(self.streams)))  # what each stream orders, per step
        self.customers = np.unique([i for i, *_ in self.streams]).astype(np.int64)  # nodes facing customers
        self.index = {n.name: i for i, n in enumerate(nodes)}
        self.lanes = chain.lanes()  # (supplier index or -1, node index, lane)
        self.lane_delay = np.zeros((steps, len(self.lanes)), dtype=np.int64)  # drawn extra steps
        for k, (_, _, lane) in enumerate(self.lanes):
            if lane.delay is not None:
                drawn = lane.delay.sample(streams.generator("supply.lane_delay", k), steps)
                self.lane_delay[:, k] = np.maximum(np.round(drawn), 0)
        detours = [scenario.steps_in(e.extra_delay) for e in scenario.events if isinstance(e, RouteClosure)]
        room = max(detours, default=0) + int(self.lane_delay.max(initial=0))
        room = max([room] + [lane.onward_delay for *_, lane in self.lanes])
        self.chain = Chain(
            demand,
            lanes=Lanes.build(
                [j for j, _, _ in self.lanes],
                [i for _, i, _ in self.lanes],
                [x.share / sum(y.share for y in chain.inbound(i)) for _, i, x in self.lanes],
                [x.mail_delay for *_, x in self.lanes],
                [x.ship_delay for *_, x in self.lanes],
                [x.capacity * scale if x.capacity else np.inf for *_, x in self.lanes],
                [x.via is not None for *_, x in self.lanes],
            ),
            nodes=len(nodes),
            initial_inventory=[n.initial_inventory * scale for n in nodes],
            initial_flow=chain.initial_flow * scale,
            fixed_weeks=chain.fixed_orders,
            holding_cost=[n.holding_cost for n in nodes],
            backlog_cost=[n.backlog_cost for n in nodes],
            max_extra_delay=room,
            **_policy_arrays([n.policy for n in nodes], scale),
        )
        self.facilities = {f.name: f for f in chain.facilities}
        self.queues: dict[str, simpy.Resource] = {}  # made on the timeline's clock at the first step
        self.waits: dict[str, list[int]] = {f.name: [] for f in chain.facilities}  # steps queued
        self.run: ChainRun = self.chain.run
        self.occurrences: list = []  # the disruptions seen, for the KPIs and the report
        self.flows: list[dict] = []  # every order and shipment, for the events table
        self.names = [n.name for n in nodes]
        self.node_names = pa.array(self.names, pa.string())
        self.product = pa.array([chain.product], pa.string())
        self.start_us, self.step_us = h.start_us, h.step_us

    def step(self, k: int, timeline) -> pa.RecordBatch:
        """One period: this step's disruptions, then the network kernel, then goods sent through
        facilities join their queues; one row per node."""
        n = len(self.node_names)
        capacity, extra, lost = np.full(n, np.inf), np.zeros(n, dtype=np.int64), np.zeros(n)
        factor = 1.0
        for o in timeline.active:
            spec = o.spec
            if o not in self.occurrences:
                self.occurrences.append(o)
            if isinstance(spec, DemandShock):
                factor *= spec.multiplier
                continue
            i = self.index[spec.node]
            if isinstance(spec, NodeOutage):
                capacity[i] = 0.0
                lost[i] = spec.stock_destroyed if k == o.start_step else 0.0
            elif isinstance(spec, CapacityLoss):
                capacity[i] = min(capacity[i], spec.capacity)
            else:
                extra[i] = max(extra[i], self.scenario.steps_in(spec.extra_delay))
        for o in self.occurrences:  # panic buying's hangover, after the shock itself
            spec = o.spec
            hangover = isinstance(spec, DemandShock) and spec.hangover_duration is not None
            if hangover and o.end_step <= k < o.end_step + self.scenario.steps_in(spec.hangover_duration):
                factor *= spec.hangover
        demand = np.zeros(n)
        for j, (i, expected, noise, _) in enumerate(self.streams):
            wanted = expected[k] * factor
            self.stream_orders[k, j] = wanted if noise is None else np.round(wanted * noise[k])
            demand[i] += self.stream_orders[k, j]
        self.chain.demand[0, k] = demand
        lane_extra = extra[[i for _, i, _ in self.lanes]] + self.lane_delay[k]  # detours into a node
        self.chain.week(k, capacity, lane_extra, lost)
        self._log_flows(k, lane_extra, timeline.env)
        r = self.run
        columns = [
            pa.array(np.full(n, k, dtype=np.int32)),
            pa.array(np.full(n, self.start_us + k * self.step_us), pa.timestamp("us")),
            pa.DictionaryArray.from_arrays(pa.array(np.arange(n, dtype=np.int32)), self.node_names),
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), self.product),
            pa.array(demand),
            *(pa.array(series[0, k]) for series in (r.orders, r.incoming, r.shipped, r.received)),
            *(pa.array(series[0, k]) for series in (r.inventory, r.backlog, r.in_transit, r.lost, r.cost)),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=TIMESERIES)

    def _log_flows(self, k: int, extra: np.ndarray, env: simpy.Environment) -> None:
        """This step's orders (reaching the supplier after the mail delay) and shipments (arriving after
        the shipping delay plus any detour or drawn delay; through a facility, when they clear it)."""
        r = self.run
        for index, (j, i, lane) in enumerate(self.lanes):
            supplier, node = self.names[j] if j >= 0 else "source", self.names[i]
            ordered, sent = float(r.lane_orders[0, k, index]), float(r.lane_shipped[0, k, index])
            if ordered > 0:
                self.flows.append({"event": f"order:{node}", "kind": "order", "start_step": k,
                                   "end_step": k + lane.mail_delay, "target": supplier, "source": node,
                                   "quantity": ordered})  # fmt: skip
            if sent <= 0:
                continue
            shipment = {"event": f"shipment:{node}", "kind": "shipment", "start_step": k, "target": node,
                        "source": supplier, "quantity": sent}  # fmt: skip
            if lane.via is None:
                self.flows.append({**shipment, "end_step": k + lane.ship_delay + int(extra[index])})
            else:
                env.process(self._through_facility(env, index, lane, shipment, int(extra[index])))

    def _through_facility(self, env: simpy.Environment, index: int, lane, shipment: dict, extra: int):
        """A SimPy process: goods sent at step k (the clock reads k + 1) reach the facility after the
        lane's shipping delay, wait for a free server, are handled, and then take the onward delay."""
        facility = self.facilities[lane.via]
        if lane.via not in self.queues:
            self.queues[lane.via] = simpy.Resource(env, capacity=facility.servers)
        yield env.timeout(lane.ship_delay - 1 + extra)
        arrived = env.now
        handling = facility.handling
        if facility.units_per_step is not None:
            handling += int(np.ceil(shipment["quantity"] / facility.units_per_step))
        with self.queues[lane.via].request() as request:
            yield request
            waited = int(env.now - arrived)
            yield env.timeout(handling)
        self.waits[lane.via].append(waited)
        cleared = int(env.now)  # before this step's kernel: the goods arrive `onward_delay` steps on
        state = self.chain.state
        state.held[0, index] -= shipment["quantity"]
        state.pipe[0, index, lane.onward_delay] += shipment["quantity"]
        self.flows.append({**shipment, "end_step": cleared + lane.onward_delay})

    def tables(self) -> dict:
        return {}

    def kpis(self, scale: float) -> dict:
        """Per node and for the chain: service, stock, flows, money and the bullwhip ratio."""
        r = self.run
        per_node = {}
        for i, (name, node) in enumerate(zip(self.names, self.scenario.chain.nodes, strict=True)):
            incoming = r.incoming[0, :, i]
            inventory, backlog = r.inventory[0, :, i], r.backlog[0, :, i]
            received_var = float(np.var(incoming))
            kpis = {
                "fill_rate": float(self._filled_at_once(i).sum() / incoming.sum())
                if incoming.sum() > 0
                else None,
                "cycle_service_level": float(np.mean(backlog == 0)),
                "mean_inventory": float(inventory.mean()),
                "mean_backlog": float(backlog.mean()),
                "end_inventory": float(inventory[-1]),
                "bullwhip": float(np.var(r.orders[0, :, i]) / received_var) if received_var > 0 else None,
                **self._flows(i),
                "holding_cost": float(node.holding_cost * inventory.sum()),
                "backlog_cost": float(node.backlog_cost * backlog.sum()),
            }
            kpis["purchase_cost"] = node.buy_price * kpis["units_received"]
            kpis["ordering_cost"] = node.order_cost * kpis["orders_placed"]
            kpis["revenue"] = node.sell_price * float(r.sold[0, :, i].sum())
            costs = ("holding_cost", "backlog_cost", "purchase_cost", "ordering_cost", "transport_cost")
            kpis["total_cost"] = float(sum(kpis[c] for c in costs))
            kpis["profit"] = kpis["revenue"] - kpis["total_cost"]
            per_node[name] = kpis
        cost_by_node = {name: k["total_cost"] for name, k in per_node.items()}
        summed = ("end_inventory", "orders_placed", "units_ordered", "deliveries_received",
                  "units_received", "customer_orders", "customer_units", "customer_orders_delivered",
                  "customer_units_delivered", "holding_cost", "backlog_cost", "purchase_cost",
                  "ordering_cost", "transport_cost", "total_cost", "revenue", "profit")  # fmt: skip
        total = {key: float(sum(k[key] for k in per_node.values())) for key in summed}
        orders = total["customer_orders"] + total["orders_placed"]  # every order placed, by anyone
        units = total["customer_units"] + total["units_ordered"]
        total.update(
            fill_rate=float(self.run.external[0].sum() / max(self.chain.demand[0].sum(), 1e-12)),
            mean_inventory=float(r.inventory[0].sum(axis=1).mean()),
            mean_backlog=float(r.backlog[0].sum(axis=1).mean()),
            cost_per_order=total["total_cost"] / orders if orders else None,
            cost_per_unit=total["total_cost"] / units if units else None,
        )
        return {
            "disruptions": [self._recovery(o) for o in self.occurrences],
            "nodes": per_node,
            "cost_by_node": cost_by_node,
            "team_cost": float(sum(cost_by_node.values())),
            "total": total,
            "facilities": {
                name: {
                    "shipments": len(waits),
                    "mean_wait": float(np.mean(waits)) if waits else None,
                    "max_wait": max(waits, default=None),
                }
                for name, waits in self.waits.items()
            },
        }

    def _flows(self, i: int) -> dict:
        """Node i's orders and deliveries, in counts and units, and their transport cost. A delivery is a
        step in which goods arrived; a customer order is delivered when it is filled in full at once and
        reaches the customer (after its stream's `delivery_time`) within the horizon."""
        r, steps = self.run, self.chain.weeks
        orders, received = r.orders[0, :, i], r.received[0, :, i]
        transport = 0.0
        for index, (_, to, lane) in enumerate(self.lanes):
            if to == i:  # per shipment sent to node i, and per unit carried
                sent = r.lane_shipped[0, :, index]
                transport += lane.transport_cost * np.count_nonzero(sent) + lane.unit_cost * float(sent.sum())
        demand, filled = self.chain.demand[0, :, i], r.external[0, :, i]
        in_full = filled >= demand - 1e-9
        share = np.divide(filled, demand, out=np.zeros(steps), where=demand > 0)
        flows = {"orders_placed": int(np.count_nonzero(orders)), "units_ordered": float(orders.sum()),
                 "deliveries_received": int(np.count_nonzero(received)),
                 "units_received": float(received.sum()), "customer_orders": 0, "customer_units": 0.0,
                 "customer_orders_delivered": 0, "customer_units_delivered": 0.0,
                 "transport_cost": transport}  # fmt: skip
        for j, (node_index, _, _, spec) in enumerate(self.streams):
            if node_index != i:
                continue
            placed = self.stream_orders[:, j]
            arrives = np.arange(steps) + spec.delivery_time < steps
            flows["customer_orders"] += int(np.count_nonzero(placed))
            flows["customer_units"] += float(placed.sum())
            flows["customer_orders_delivered"] += int(np.count_nonzero((placed > 0) & in_full & arrives))
            flows["customer_units_delivered"] += float((placed * share)[arrives].sum())
            flows["transport_cost"] += spec.delivery_cost * int(np.count_nonzero((placed > 0) & (filled > 0)))
        return flows

    def _filled_at_once(self, i: int) -> np.ndarray:
        """Per step, how much of the orders node i received it filled at once (older backlog first)."""
        r = self.run
        incoming, shipped = r.incoming[0, :, i], r.shipped[0, :, i]
        backlog_before = r.backlog[0, :, i] - incoming + shipped
        on_hand_for_new = np.maximum(r.inventory[0, :, i] + shipped - backlog_before, 0.0)
        return np.minimum(incoming, on_hand_for_new)

    def service_level(self) -> np.ndarray:
        """Per step, the share of customers' demand (at every node facing customers) filled at once."""
        demand = self.chain.demand[0].sum(axis=1)
        filled = self.run.external[0].sum(axis=1)
        return np.divide(filled, demand, out=np.ones_like(demand), where=demand > 0)

    def _recovery(self, occurrence) -> dict:
        """What end customers felt: from the disruption's start (until the next one starts), the first
        stretch in which the nodes facing customers run a backlog, its peak (`impact`), and the steps from
        the start until it is cleared (`time_to_recover`; 0 when customers never noticed, None if it does
        not clear before the next disruption or the end)."""
        later = [o.start_step for o in self.occurrences if o.start_step > occurrence.start_step]
        stop = min(later, default=None)  # until the next disruption starts
        backlog = self.run.backlog[0, occurrence.start_step : stop][:, self.customers].sum(axis=1)
        short = np.flatnonzero(backlog > 0)
        recover, impact = 0, 0.0
        if len(short):
            clear = np.flatnonzero(backlog[short[0] :] == 0)
            recover = int(short[0] + clear[0]) if len(clear) else None
            impact = float(backlog[short[0] : None if recover is None else recover].max())
        return {
            "event": occurrence.event,
            "kind": occurrence.kind,
            "target": occurrence.target,
            "start_step": occurrence.start_step,
            "end_step": occurrence.end_step,
            "impact": impact,
            "time_to_recover": recover,
        }

    def report(self, path: Path, kpis: dict) -> dict[str, str]:
        """Inventory, backlog and orders per node over time (`figures/chain.png`)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        r = self.run
        names = self.node_names.to_pylist()
        fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
        for i, name in enumerate(names):
            axes[0].plot(r.inventory[0, :, i], label=name)
            axes[1].plot(r.backlog[0, :, i], label=name)
            axes[2].plot(r.orders[0, :, i], label=name)
        axes[2].plot(self.chain.demand[0].sum(axis=1), "k--", lw=1, label="customer demand")
        for ax, title in zip(axes, ("inventory", "backlog", "orders placed"), strict=True):
            ax.set_title(title, fontsize=10)
            for o in self.occurrences:  # disruption periods shaded
                ax.axvspan(o.start_step, o.end_step, color="0.85", zorder=0)
        axes[2].legend(fontsize=8)
        axes[2].set_xlabel("step")
        fig.tight_layout()
        (path / "figures").mkdir(exist_ok=True)
        fig.savefig(path / "figures" / "chain.png", dpi=80)
        plt.close(fig)
        figure = "figures/chain.png"
        page = write_page(path, self.scenario, kpis, {"Inventory, backlog and orders per node": figure})
        return {"figure_chain": figure, "report": page}

    def close(self) -> None:
        pass
