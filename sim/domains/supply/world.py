"""The supply world: a chain or distribution tree stepped period by period, one `timeseries` row per node
and step. Each step reads the calendar's active disruptions, turns them into the kernel's capacities,
detours, losses and demand factors, advances the kernel one period and logs orders and shipments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.domains.supply.chain import ORDER_UP_TO, R_Q, S_S, STERMAN, T_Q, Chain, ChainRun
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
        detours = [scenario.steps_in(e.extra_delay) for e in scenario.events if isinstance(e, RouteClosure)]
        self.supplier = chain.suppliers()
        self.chain = Chain(
            demand,
            supplier=self.supplier,
            mail_delay=[n.mail_delay for n in nodes],
            ship_delay=[n.ship_delay for n in nodes],
            initial_inventory=[n.initial_inventory * scale for n in nodes],
            initial_flow=chain.initial_flow * scale,
            fixed_weeks=chain.fixed_orders,
            holding_cost=[n.holding_cost for n in nodes],
            backlog_cost=[n.backlog_cost for n in nodes],
            max_extra_delay=max(detours, default=0),
            **_policy_arrays([n.policy for n in nodes], scale),
        )
        self.run: ChainRun = self.chain.run
        self.occurrences: list = []  # the disruptions seen, for the KPIs and the report
        self.flows: list[dict] = []  # every order and shipment, for the events table
        self.names = [n.name for n in nodes]
        self.node_names = pa.array(self.names, pa.string())
        self.product = pa.array([chain.product], pa.string())
        self.start_us, self.step_us = h.start_us, h.step_us

    def step(self, k: int, timeline) -> pa.RecordBatch:
        """One period: this step's disruptions, then the chain kernel; one row per node."""
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
        self.chain.week(k, capacity, extra, lost)
        self._log_flows(k, extra)
        r = self.run
        external = self.chain.demand[0, k]  # customers' demand at each node
        columns = [
            pa.array(np.full(n, k, dtype=np.int32)),
            pa.array(np.full(n, self.start_us + k * self.step_us), pa.timestamp("us")),
            pa.DictionaryArray.from_arrays(pa.array(np.arange(n, dtype=np.int32)), self.node_names),
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), self.product),
            pa.array(external),
            *(pa.array(series[0, k]) for series in (r.orders, r.incoming, r.shipped, r.received)),
            *(pa.array(series[0, k]) for series in (r.inventory, r.backlog, r.in_transit, r.lost, r.cost)),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=TIMESERIES)

    def _log_flows(self, k: int, extra: np.ndarray) -> None:
        """This step's orders (reaching the supplier after the mail delay) and shipments (arriving after
        the shipping delay plus any detour); the last node's supplier is the `source`."""
        r, nodes = self.run, self.scenario.chain.nodes
        for i, node in enumerate(nodes):
            j = self.supplier[i]
            supplier = self.names[j] if j >= 0 else "source"
            if r.orders[0, k, i] > 0:
                self.flows.append({"event": f"order:{node.name}", "kind": "order", "start_step": k,
                                   "end_step": k + node.mail_delay, "target": supplier, "source": node.name,
                                   "quantity": float(r.orders[0, k, i])})  # fmt: skip
            # goods put on the way to this node this step (its pipeline's growth plus what arrived)
            before = r.in_transit[0, k - 1, i] if k else self.scenario.chain.initial_flow * node.ship_delay
            sent = r.in_transit[0, k, i] - before + r.received[0, k, i]
            if sent > 1e-9:
                self.flows.append({"event": f"shipment:{node.name}", "kind": "shipment", "start_step": k,
                                   "end_step": k + node.ship_delay + int(extra[i]), "target": node.name,
                                   "source": supplier, "quantity": float(sent)})  # fmt: skip

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
        }

    def _flows(self, i: int) -> dict:
        """Node i's orders and deliveries, in counts and units, and their transport cost. A delivery is a
        step in which goods arrived; a customer order is delivered when it is filled in full at once and
        reaches the customer (after its stream's `delivery_time`) within the horizon."""
        r, node, steps = self.run, self.scenario.chain.nodes[i], self.chain.weeks
        orders, received = r.orders[0, :, i], r.received[0, :, i]
        before = np.concatenate(
            [[self.scenario.chain.initial_flow * node.ship_delay], r.in_transit[0, :-1, i]]
        )
        shipments = np.count_nonzero(r.in_transit[0, :, i] - before + received > 1e-9)  # sent to node i
        demand, filled = self.chain.demand[0, :, i], r.external[0, :, i]
        in_full = filled >= demand - 1e-9
        share = np.divide(filled, demand, out=np.zeros(steps), where=demand > 0)
        flows = {"orders_placed": int(np.count_nonzero(orders)), "units_ordered": float(orders.sum()),
                 "deliveries_received": int(np.count_nonzero(received)),
                 "units_received": float(received.sum()), "customer_orders": 0, "customer_units": 0.0,
                 "customer_orders_delivered": 0, "customer_units_delivered": 0.0,
                 "transport_cost": node.transport_cost * shipments}  # fmt: skip
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
