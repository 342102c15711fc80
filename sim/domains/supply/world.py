"""The supply world: a network of nodes, lanes and facilities carrying one or more products, stepped
period by period, one `timeseries` row per node, product and step. Each step reads the calendar's active
disruptions, turns them into the kernel's capacities, detours, losses and demand factors, advances the
kernel one period, logs orders and shipments and sends goods through facilities' SimPy queues. It
implements `sim.engine.world.World`, `EventHook` (facility closures), `LogsFlows`, `ServiceLevels`,
`StepFigures` and `HasActors` (what Mesa users collect and inspect).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import simpy

from sim.domains.supply.actors import supply_actors
from sim.domains.supply.arrays import ChainRun, Lanes
from sim.domains.supply.chain import Chain
from sim.domains.supply.demand import expected_demand
from sim.domains.supply.events import CapacityLoss, DemandShock, NodeOutage, RouteClosure
from sim.domains.supply.facilities import Facilities
from sim.domains.supply.kpis import NetworkKpis
from sim.domains.supply.policies import policy_arrays
from sim.domains.supply.records import TIMESERIES
from sim.domains.supply.report import write_report
from sim.domains.supply.scenario import MAX_DRAWN_DELAY, SupplyScenario
from sim.records import TIMESTAMP, record_batch
from sim.rng import Streams

SERIES = ("orders", "incoming", "shipped", "received", "inventory", "backlog", "lost_sales", "cost")
"""Weekly series per node (products summed) that calibration targets may name, as `<series>.<node>`."""


class SupplyWorld(NetworkKpis):
    schema = TIMESERIES
    figure_names = (
        "demand",
        "service_level",
        "orders",
        "shipped",
        "inventory",
        "backlog",
        "lost_sales",
        "cost",
    )

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
        closures = [e for e in scenario.events if isinstance(e, RouteClosure)]
        room = max([scenario.steps_in(e.extra_delay) for e in closures], default=0)
        room += int(self.lane_delay.max(initial=0))
        waits = [min(scenario.steps_in(e.duration), steps) for e in closures if e.after_passage is not None]
        room = max([room, *waits])  # goods held at a closed passage wait in the pipeline's later slots
        room = max([room] + [lane.onward_delay for _, _, lane, _ in self.lanes])
        weight = {i: sum(x.share for x in chain.inbound(i)) for i in range(n_nodes)}
        sizes = [scale * p.scale for p in products]
        policy = [policy_arrays([n.policy for n in nodes], size) for size in sizes]
        flows = [chain.initial_flow if n.initial_flow is None else n.initial_flow for n in nodes]
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
            initial_flow=[f * size for size in sizes for f in flows],
            fixed_weeks=chain.fixed_orders,
            holding_cost=[n.holding_cost * v for n, v in zip(self.spec_nodes, self.value, strict=True)],
            backlog_cost=[n.backlog_cost * v for n, v in zip(self.spec_nodes, self.value, strict=True)],
            max_extra_delay=room,
            lost_sales=[n.unmet_demand == "lost" for n in self.spec_nodes],
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
        self.steps_run = 0

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
                if k == o.start_step and spec.after_passage is not None:
                    self._wait_at_passage(i, self.scenario.steps_in(spec.after_passage), k, o.end_step)
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
        self.facilities.sample()
        r = self.run
        self.steps_run = k + 1
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
            "lost_sales": pa.array(r.lost_sales[0, k]),
            "cost": pa.array(r.cost[0, k]),
        }
        return record_batch(self.schema, columns)

    def figures(self) -> dict[str, float]:
        """The last step's totals over nodes and products, and the share of customers' demand filled at
        once (1 when there was none)."""
        k, r = self.steps_run - 1, self.run
        demand = float(self.chain.demand[0, k].sum())
        filled = float(r.external[0, k].sum())
        totals = {name: float(getattr(r, name)[0, k].sum()) for name in self.figure_names[2:]}
        return {"demand": demand, "service_level": filled / demand if demand > 0 else 1.0, **totals}

    def actors(self) -> list:
        return supply_actors(self)

    def _wait_at_passage(self, node: int, after: int, k: int, reopens: int) -> None:
        """A passage into `node` closes at step k until `reopens`: goods due at k + j reach it at
        k + j - `after`; those that reach it while it is closed wait, and all arrive at reopens + after."""
        pipe, n_nodes = self.chain.state.pipe[0], len(self.names)
        first, to = after, min(after + reopens - k, pipe.shape[1] - 1)  # slot j arrives at step k + j
        held = set()
        for index, (j, i, lane, _) in enumerate(self.lanes):
            if i % n_nodes == node and lane.via is None and first < to:
                pipe[index, to] += pipe[index, first:to].sum()
                pipe[index, first:to] = 0.0
                held.add((self._label(j) if j >= 0 else "source", self._label(i)))
        for flow in self.flows:  # the events table: their shipments' new arrival
            due = flow["end_step"]
            if (
                flow["kind"] == "shipment"
                and (flow["source"], flow["target"]) in held
                and k + first <= due < k + to
            ):
                flow["end_step"] = k + to

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

    def report(self, path: Path, kpis: dict) -> dict[str, str]:
        return write_report(self, path, kpis)

    def close(self) -> None:
        pass
