"""The supply world: a network of nodes, lanes and facilities carrying one or more products, stepped
period by period, one `timeseries` row per node, product and step. Each step reads the calendar's active
disruptions, turns them into the kernel's capacities, detours, losses and demand factors, advances the
kernel one period, logs orders and shipments and sends goods through facilities' SimPy queues. It
implements `sim.engine.world.World`, `EventHook` (facility closures), `LogsFlows` and `ServiceLevels`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import simpy

from sim.domains.supply.arrays import ChainRun, Lanes
from sim.domains.supply.chain import Chain
from sim.domains.supply.demand import expected_demand
from sim.domains.supply.facilities import Facilities
from sim.domains.supply.policies import policy_arrays
from sim.domains.supply.records import TIMESERIES
from sim.domains.supply.scenario import (
    MAX_DRAWN_DELAY,
    CapacityLoss,
    DemandShock,
    NodeOutage,
    RouteClosure,
    SupplyScenario,
)
from sim.records import TIMESTAMP, record_batch
from sim.report import write_page
from sim.rng import Streams

SERIES = ("orders", "incoming", "shipped", "received", "inventory", "backlog", "cost")
"""Weekly series per node (products summed) that calibration targets may name, as `<series>.<node>`."""


class SupplyWorld:
    schema = TIMESERIES

    def __init__(self, scenario: SupplyScenario, streams: Streams, scale: float = 1.0):
        """The kernel runs one copy of the network per product: node i of product p is kernel node
        p * N + i, lane l of product p kernel lane p * L + l."""
        self.scenario = scenario
        chain = scenario.chain
        nodes, products = chain.nodes, chain.products
        steps = scenario.horizon.steps
        h = scenario.horizon
        self.names = [n.name for n in nodes]
        self.product_names = [p.name for p in products]
        self.index = {n.name: i for i, n in enumerate(nodes)}
        n_nodes = len(nodes)
        volume = np.array([p.scale for p in products])
        self.portion = volume / volume.sum()  # each product's part of a shared capacity
        self.value = np.repeat([p.value for p in products], n_nodes)  # per kernel node
        self.spec_nodes = [nodes[k % n_nodes] for k in range(len(products) * n_nodes)]
        # each stream of customer orders: kernel node, expected orders per step, noise factors, its spec
        self.streams = []
        for p, product in enumerate(products):
            for i, specs in enumerate(chain.demands()):
                for j, spec in enumerate(specs):
                    noise = None
                    if spec.noise is not None:
                        noise = spec.noise.sample(streams.generator("supply.demand", p, i, j), steps)
                    expected = expected_demand(spec, h.start, h.step, steps) * scale * product.scale
                    self.streams.append((p * n_nodes + i, expected, noise, spec))
        self.stream_orders = np.zeros((steps, len(self.streams)))  # what each stream orders, per step
        self.customers = np.unique([k for k, *_ in self.streams]).astype(np.int64)  # kernel nodes facing them
        spec_lanes = chain.lanes()  # (supplier index or -1, node index, lane)
        # every product's lanes: (supplier kernel node or -1, kernel node, lane, product)
        self.lanes = [(j + p * n_nodes if j >= 0 else -1, i + p * n_nodes, lane, p)
                      for p in range(len(products)) for j, i, lane in spec_lanes]  # fmt: skip
        self.lane_delay = np.zeros((steps, len(self.lanes)), dtype=np.int64)  # drawn extra steps
        for k, (_, _, lane, _) in enumerate(self.lanes):
            if lane.delay is not None:
                drawn = lane.delay.sample(streams.generator("supply.lane_delay", k), steps)
                self.lane_delay[:, k] = np.clip(np.round(drawn), 0, MAX_DRAWN_DELAY)
        detours = [scenario.steps_in(e.extra_delay) for e in scenario.events if isinstance(e, RouteClosure)]
        room = max(detours, default=0) + int(self.lane_delay.max(initial=0))
        room = max([room] + [lane.onward_delay for _, _, lane, _ in self.lanes])
        weight = {i: sum(x.share for x in chain.inbound(i)) for i in range(n_nodes)}
        sizes = [scale * p.scale for p in products]
        policy = [policy_arrays([n.policy for n in nodes], size) for size in sizes]
        self.chain = Chain(
            np.zeros((1, steps, len(self.spec_nodes))),
            lanes=Lanes.build(
                [j for j, _, _, _ in self.lanes],
                [i for _, i, _, _ in self.lanes],
                [x.share / weight[i % n_nodes] for _, i, x, _ in self.lanes],
                [x.mail_delay for _, _, x, _ in self.lanes],
                [x.ship_delay for _, _, x, _ in self.lanes],
                [x.capacity * scale * self.portion[p] if x.capacity else np.inf for _, _, x, p in self.lanes],
                [x.via is not None for _, _, x, _ in self.lanes],
            ),
            nodes=len(self.spec_nodes),
            initial_inventory=[n.initial_inventory * size for size in sizes for n in nodes],
            initial_flow=[chain.initial_flow * size for size in sizes for _ in nodes],
            fixed_weeks=chain.fixed_orders,
            holding_cost=[n.holding_cost * v for n, v in zip(self.spec_nodes, self.value, strict=True)],
            backlog_cost=[n.backlog_cost * v for n, v in zip(self.spec_nodes, self.value, strict=True)],
            max_extra_delay=room,
            **{key: [x for arrays in policy for x in arrays[key]] for key in policy[0]},
        )
        self.run: ChainRun = self.chain.run
        self.occurrences: list = []  # the disruptions seen, for the KPIs and the report
        self.flows: list[dict] = []  # every order and shipment, for the events table
        self.facilities = Facilities(chain.facilities, self.chain.state, self.flows)
        count = len(self.spec_nodes)
        self.node_column = pa.DictionaryArray.from_arrays(
            pa.array(np.arange(count, dtype=np.int32) % n_nodes), pa.array(self.names, pa.string())
        )
        self.product_column = pa.DictionaryArray.from_arrays(
            pa.array(np.arange(count, dtype=np.int32) // n_nodes), pa.array(self.product_names, pa.string())
        )
        self.start_us, self.step_us = h.start_us, h.step_us

    def _label(self, k: int) -> str:
        """Kernel node k's name in the events table: the node, and its product when there are several."""
        name = self.names[k % len(self.names)]
        return name if len(self.product_names) == 1 else f"{name}/{self.product_names[k // len(self.names)]}"

    def step(self, k: int, timeline) -> pa.RecordBatch:
        """One period: this step's disruptions, then the network kernel, then goods sent through
        facilities join their queues; one row per node and product. A node's capacity is shared by its
        products in proportion to their scales."""
        n_nodes, n = len(self.names), len(self.spec_nodes)
        capacity, extra, lost = np.full(n_nodes, np.inf), np.zeros(n_nodes, dtype=np.int64), np.zeros(n_nodes)
        factor = 1.0
        for o in timeline.active:
            spec = o.spec
            if o not in self.occurrences:
                self.occurrences.append(o)
            if isinstance(spec, DemandShock):
                factor *= spec.multiplier
                continue
            if spec.node in self.facilities:  # closed by `on_event`
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
        lane_extra = extra[[i % n_nodes for _, i, _, _ in self.lanes]] + self.lane_delay[k]  # detours
        shared = (self.portion[:, None] * capacity[None, :]).ravel()  # inf stays inf
        self.chain.week(k, shared, lane_extra, np.tile(lost, len(self.product_names)))
        self._log_flows(k, lane_extra, timeline.env)
        r = self.run
        columns = {
            "t": pa.array(np.full(n, k, dtype=np.int32)),
            "date": pa.array(np.full(n, self.start_us + k * self.step_us), TIMESTAMP),
            "node": self.node_column,
            "product": self.product_column,
            "demand": pa.array(demand),
            "orders_placed": pa.array(r.orders[0, k]),
            "orders_received": pa.array(r.incoming[0, k]),
            "shipped": pa.array(r.shipped[0, k]),
            "received": pa.array(r.received[0, k]),
            "inventory": pa.array(r.inventory[0, k]),
            "backlog": pa.array(r.backlog[0, k]),
            "in_transit": pa.array(r.in_transit[0, k]),
            "lost": pa.array(r.lost[0, k]),
            "cost": pa.array(r.cost[0, k]),
        }
        return record_batch(self.schema, columns)

    def _log_flows(self, k: int, extra: np.ndarray, env: simpy.Environment) -> None:
        """This step's orders (reaching the supplier after the mail delay) and shipments (arriving after
        the shipping delay plus any detour or drawn delay; through a facility, when they clear it)."""
        r = self.run
        for index, (j, i, lane, _) in enumerate(self.lanes):
            supplier, node = self._label(j) if j >= 0 else "source", self._label(i)
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
                self.facilities.send(env, index, lane, shipment, int(extra[index]))

    def on_event(self, occurrence, env: simpy.Environment) -> None:
        """On the clock, as an occurrence starts: an outage of a facility closes it."""
        if isinstance(occurrence.spec, NodeOutage) and occurrence.target in self.facilities:
            env.process(self.facilities.close(env, occurrence.target, occurrence.end_step))

    def tables(self) -> dict:
        return {}

    def logged_flows(self) -> list[dict]:
        """Every order and shipment, for the events table; one still on its way to or queued at a
        facility when the run ends has no end."""
        return self.flows + self.facilities.unfinished()

    def statistic_names(self) -> list[str]:
        return [f"{family}.{node}" for family in SERIES for node in self.names]

    def statistic(self, name: str, scale: float) -> np.ndarray:
        """A weekly series of one node, its products summed."""
        family, _, node = name.partition(".")
        n_nodes = len(self.names)
        ks = [self.index[node] + p * n_nodes for p in range(len(self.product_names))]
        return getattr(self.run, family)[0][:, ks].sum(axis=1).astype(np.float64)

    ADDITIVE = ("end_inventory", "orders_placed", "units_ordered", "deliveries_received", "units_received",
                "customer_orders", "customer_units", "customer_orders_delivered", "customer_units_delivered",
                "holding_cost", "backlog_cost", "purchase_cost", "ordering_cost", "transport_cost",
                "total_cost", "revenue", "profit")  # fmt: skip

    def kpis(self, scale: float) -> dict:
        """Per node (its products together) and for the network: service, stock, flows, money and the
        bullwhip ratio; per product too when there are several."""
        n_nodes, n_products = len(self.names), len(self.product_names)
        per_node = {
            name: self._kpis_of([p * n_nodes + i for p in range(n_products)])
            for i, name in enumerate(self.names)
        }
        cost_by_node = {name: k["total_cost"] for name, k in per_node.items()}
        out = {
            "disruptions": [self._recovery(o) for o in self.occurrences],
            "nodes": per_node,
            "cost_by_node": cost_by_node,
            "team_cost": float(sum(cost_by_node.values())),
            "total": self._total(per_node, range(n_nodes * n_products)),
            "facilities": self.facilities.kpis(),
        }
        if n_products > 1:
            out["products"] = {}
            for p, product in enumerate(self.product_names):
                nodes = {name: self._kpis_of([p * n_nodes + i]) for i, name in enumerate(self.names)}
                out["products"][product] = {
                    "nodes": nodes,
                    "total": self._total(nodes, range(p * n_nodes, (p + 1) * n_nodes)),
                }
        return out

    def _total(self, per_node: dict, kernel_nodes) -> dict:
        """The network's KPIs from its nodes' (sums) and from the kernel nodes' series (service, stock)."""
        r, ks = self.run, list(kernel_nodes)
        total = {key: float(sum(k[key] for k in per_node.values())) for key in self.ADDITIVE}
        orders = total["customer_orders"] + total["orders_placed"]  # every order placed, by anyone
        units = total["customer_units"] + total["units_ordered"]
        total.update(
            fill_rate=float(r.external[0][:, ks].sum() / max(self.chain.demand[0][:, ks].sum(), 1e-12)),
            mean_inventory=float(r.inventory[0][:, ks].sum(axis=1).mean()),
            mean_backlog=float(r.backlog[0][:, ks].sum(axis=1).mean()),
            cost_per_order=total["total_cost"] / orders if orders else None,
            cost_per_unit=total["total_cost"] / units if units else None,
        )
        return total

    def _kpis_of(self, ks: list[int]) -> dict:
        """KPIs of kernel nodes `ks` taken together (one node's products, or one product at one node)."""
        r = self.run

        def summed(series: np.ndarray) -> np.ndarray:
            return series[0][:, ks].sum(axis=1)

        incoming, inventory, backlog = summed(r.incoming), summed(r.inventory), summed(r.backlog)
        received_var = float(np.var(incoming))
        kpis = {
            "fill_rate": float(sum(self._filled_at_once(k).sum() for k in ks) / incoming.sum())
            if incoming.sum() > 0
            else None,
            "cycle_service_level": float(np.mean(backlog == 0)),
            "mean_inventory": float(inventory.mean()),
            "mean_backlog": float(backlog.mean()),
            "bullwhip": float(np.var(summed(r.orders)) / received_var) if received_var > 0 else None,
        }
        money = [self._flows_and_money(k) for k in ks]
        kpis.update({key: float(sum(m[key] for m in money)) for key in self.ADDITIVE})
        return kpis

    def _flows_and_money(self, k: int) -> dict:
        """Kernel node k's orders and deliveries, in counts and units, and its money. A delivery is a step
        in which goods arrived; a customer order is delivered when it is filled in full at once and reaches
        the customer (after its stream's `delivery_time`) within the horizon."""
        r, steps, node, value = self.run, self.chain.weeks, self.spec_nodes[k], self.value[k]
        orders, received = r.orders[0, :, k], r.received[0, :, k]
        inventory, backlog = r.inventory[0, :, k], r.backlog[0, :, k]
        transport = 0.0
        for index, (_, to, lane, _) in enumerate(self.lanes):
            if to == k:  # per shipment sent to node k, and per unit carried
                sent = r.lane_shipped[0, :, index]
                transport += lane.transport_cost * np.count_nonzero(sent) + lane.unit_cost * float(sent.sum())
        demand, filled = self.chain.demand[0, :, k], r.external[0, :, k]
        in_full = filled >= demand - 1e-9
        share = np.divide(filled, demand, out=np.zeros(steps), where=demand > 0)
        out = {"end_inventory": float(inventory[-1]), "orders_placed": int(np.count_nonzero(orders)),
               "units_ordered": float(orders.sum()), "deliveries_received": int(np.count_nonzero(received)),
               "units_received": float(received.sum()), "customer_orders": 0, "customer_units": 0.0,
               "customer_orders_delivered": 0, "customer_units_delivered": 0.0,
               "transport_cost": transport}  # fmt: skip
        for j, (node_index, _, _, spec) in enumerate(self.streams):
            if node_index != k:
                continue
            placed = self.stream_orders[:, j]
            arrives = np.arange(steps) + spec.delivery_time < steps
            out["customer_orders"] += int(np.count_nonzero(placed))
            out["customer_units"] += float(placed.sum())
            out["customer_orders_delivered"] += int(np.count_nonzero((placed > 0) & in_full & arrives))
            out["customer_units_delivered"] += float((placed * share)[arrives].sum())
            out["transport_cost"] += spec.delivery_cost * int(np.count_nonzero((placed > 0) & (filled > 0)))
        out["holding_cost"] = float(node.holding_cost * value * inventory.sum())
        out["backlog_cost"] = float(node.backlog_cost * value * backlog.sum())
        out["purchase_cost"] = node.buy_price * value * out["units_received"]
        out["ordering_cost"] = node.order_cost * out["orders_placed"]
        out["revenue"] = node.sell_price * value * float(r.sold[0, :, k].sum())
        costs = ("holding_cost", "backlog_cost", "purchase_cost", "ordering_cost", "transport_cost")
        out["total_cost"] = float(sum(out[c] for c in costs))
        out["profit"] = out["revenue"] - out["total_cost"]
        return out

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
        """Inventory, backlog and orders per node (its products together) over time (`figures/chain.png`)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        r, steps = self.run, self.chain.weeks

        def by_node(series: np.ndarray) -> np.ndarray:  # [T, N]: products summed
            return series[0].reshape(steps, len(self.product_names), len(self.names)).sum(axis=1)

        fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
        inventory, backlog, orders = by_node(r.inventory), by_node(r.backlog), by_node(r.orders)
        for i, name in enumerate(self.names):
            axes[0].plot(inventory[:, i], label=name)
            axes[1].plot(backlog[:, i], label=name)
            axes[2].plot(orders[:, i], label=name)
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
