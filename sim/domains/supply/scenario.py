"""Supply-chain scenarios (domain `supply`): a chain or distribution tree of stocking nodes, demand, policies.

The chain is listed from the customer-facing node upstream; the last node orders from an unlimited
source (a factory's production). Defaults are the beer game board (Sterman 1989; Edali & Yasarcan 2014).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from sim.dists import KernelDist
from sim.domains.supply.events import Disruption
from sim.scenario.schema import OutputsBase, ScenarioBase
from sim.scenario.types import CEILING, Name, NonNegative, Spec, Steps, tagged_union

Weeks = Annotated[int, Field(ge=1, le=1000, strict=True)]
Delay = Annotated[int, Field(ge=0, le=1000, strict=True)]
MAX_DRAWN_DELAY = 1000  # a drawn lane delay is capped as a written one: pipelines hold that many steps
Money = NonNegative


class Sterman(Spec):
    """Anchoring and adjustment: O = max(0, Lhat + alpha_s (S' - S - beta SL)), Lhat smoothed by theta."""

    kind: Literal["sterman"] = "sterman"
    theta: Annotated[float, Field(ge=0, le=1)] = 0.36
    alpha_s: Annotated[float, Field(ge=0, le=1)] = 0.26
    beta: Annotated[float, Field(ge=0, le=2)] = 0.34
    s_prime: NonNegative = 17.0


class MovingAverage(Spec):
    kind: Literal["moving_average"] = "moving_average"
    window: Annotated[int, Field(ge=1, le=1000, strict=True)] = 5


class Smoothing(Spec):
    kind: Literal["exponential"] = "exponential"
    alpha: Annotated[float, Field(gt=0, le=1)] = 0.36


class OrderUpTo(Spec):
    """Order up to `cover` periods of forecast demand plus `safety`, on the inventory position
    (on hand - backlog + everything ordered and not yet received)."""

    kind: Literal["order_up_to"]
    cover: Annotated[float, Field(gt=0, le=1000)]
    safety: NonNegative = 0.0
    forecast: Annotated[MovingAverage | Smoothing, Field(discriminator="kind")] = MovingAverage()


class MinMax(Spec):
    """(s, S): when the inventory position is at or below `s` + `safety`, order up to `S` + `safety`
    (anyLogistix's min-max policy with safety stock)."""

    kind: Literal["s_S"]
    s: NonNegative
    S: NonNegative
    safety: NonNegative = 0.0

    @model_validator(mode="after")
    def _ordered(self):
        if self.s > self.S:
            raise ValueError("S must be at least s")
        return self


class ReorderPoint(Spec):
    """(R, Q): when the inventory position is at or below `R`, order lots of `Q` until it is above."""

    kind: Literal["R_Q"]
    R: NonNegative
    Q: Annotated[float, Field(gt=0, le=CEILING, allow_inf_nan=False)]


class Periodic(Spec):
    """(T, Q): order `Q` every `T` steps."""

    kind: Literal["T_Q"]
    T: Annotated[int, Field(ge=1, le=10_000, strict=True)]
    Q: NonNegative


Policy = tagged_union(
    "kind",
    "sterman",  # the beer game's rule
    {"sterman": Sterman, "order_up_to": OrderUpTo, "s_S": MinMax, "R_Q": ReorderPoint, "T_Q": Periodic},
)


class _Demand(Spec):
    """A stream of customer orders at one node: one order in each step it asks for a positive quantity.
    Orders shipped reach the customer `delivery_time` steps later; each shipment costs `delivery_cost`."""

    delivery_time: Delay = 0
    delivery_cost: Money = 0.0
    noise: KernelDist | None = None  # an i.i.d. factor with mean 1; noisy demand is rounded to units


class StepDemand(_Demand):
    """Customer demand per step: `before`, then `after` from step `at` on (the beer game: 4, then 8 at 4);
    times a trend (1 + `trend`) ** step, weekday weights (`weekly`, Monday first, mean 1), a yearly wave
    1 + `yearly_amplitude` cos(2 pi (day of year - `yearly_peak`) / 365.25)."""

    kind: Literal["step"] = "step"
    before: NonNegative = 4.0
    after: NonNegative = 8.0
    at: Steps = 4
    trend: Annotated[float, Field(gt=-1, le=1)] = 0.0
    weekly: Annotated[list[NonNegative], Field(min_length=7, max_length=7)] | None = None
    yearly_amplitude: Annotated[float, Field(ge=0, lt=1)] = 0.0
    yearly_peak: Annotated[int, Field(ge=1, le=366, strict=True)] = 355  # just before Christmas

    @model_validator(mode="after")
    def _weekly_has_mass(self):
        if self.weekly is not None and sum(self.weekly) <= 0:
            raise ValueError("'weekly' needs at least one positive weight")
        return self


class PeriodicDemand(_Demand):
    """An order of `quantity` every `every` steps from step `first` (anyLogistix's periodic demand)."""

    kind: Literal["periodic"]
    quantity: NonNegative
    every: Annotated[int, Field(ge=1, le=100_000, strict=True)] = 1
    first: Steps = 0


Demand = tagged_union("kind", "step", {"step": StepDemand, "periodic": PeriodicDemand})
Demands = Annotated[
    Annotated[Demand, Tag("one")] | Annotated[list[Demand], Field(min_length=1, max_length=100), Tag("many")],
    Discriminator(lambda value: "many" if isinstance(value, list) else "one"),  # a stream, or several
]


class Lane(Spec):
    """A lane into a node from `supplier` (another node or `source`): its `share` of the node's orders (a
    weight: the node's lanes' shares are scaled to add up to 1; 0 keeps a qualified backup idle),
    `mail_delay` (0 only from the source: it ships at once), `ship_delay`, an optional drawn `delay` (whole
    steps added to each shipment, at most `MAX_DRAWN_DELAY`: lead-time uncertainty), `capacity` (units a
    step), `transport_cost` per shipment and `unit_cost` per unit carried. Goods may pass `via` a facility
    (a port, a production line): `ship_delay` takes them there, they queue for one of its servers, then
    take `onward_delay`."""

    supplier: Name
    share: NonNegative = 1.0
    mail_delay: Delay = 1
    ship_delay: Weeks = 2
    delay: KernelDist | None = None
    capacity: Annotated[float, Field(gt=0, le=CEILING)] | None = None
    transport_cost: Money = 0.0
    unit_cost: Money = 0.0
    via: Name | None = None
    onward_delay: Delay = 0

    @model_validator(mode="after")
    def _onward_needs_a_facility(self):
        if self.onward_delay and self.via is None:
            raise ValueError("onward_delay is the time after a facility: it needs 'via'")
        return self


class Facility(Spec):
    """A port or production line shared by the lanes through it: `servers` shipments handled at once,
    each for `handling` steps plus one step per `units_per_step` units (first come, first served)."""

    name: Name
    servers: Annotated[int, Field(ge=1, le=10_000, strict=True)] = 1
    handling: Delay = 1
    units_per_step: Annotated[float, Field(gt=0, le=CEILING)] | None = None


class ChainNode(Spec):
    """A stocking node. It orders from `supplier` (default: the next node listed; the last listed orders
    from the unlimited source; `source` says so explicitly) over one lane with the node's `mail_delay`,
    `ship_delay` and `transport_cost` per shipment, or splits its orders over `lanes` (dual sourcing). It
    may face its own customers' `demand`, one stream or several (default: the chain's `demand` if no node
    orders from it, none otherwise), and whether its customers wait for what it cannot fill
    (`unmet_demand`). Money: it pays `buy_price` per unit received and `order_cost` per
    order placed; it earns `sell_price` per unit shipped to its customers."""

    name: Name
    supplier: Name | None = None
    demand: Demands | None = None
    initial_inventory: NonNegative = 12.0
    # its pipelines and expectations at the start (default: the chain's); a DC's is its stores' together
    initial_flow: NonNegative | None = None
    # steps before its order reaches the supplier (last node: production request); 0 only from the
    # source, which then ships in the step the order is placed
    mail_delay: Delay = 2
    ship_delay: Weeks = 2  # steps goods travel from the supplier (last node: production)
    holding_cost: NonNegative = 0.5  # per unit on hand per step
    backlog_cost: NonNegative = 1.0  # per unit backlogged per step; per unit lost, once, with lost sales
    buy_price: Money = 0.0
    sell_price: Money = 0.0
    order_cost: Money = 0.0
    transport_cost: Money = 0.0
    # customers' demand the node cannot fill at once: they wait (the beer game), or they leave (a
    # shopper facing an empty shelf buys elsewhere or goes without: lost sales)
    unmet_demand: Literal["backlog", "lost"] = "backlog"
    policy: Policy = Sterman()
    lanes: Annotated[list[Lane], Field(min_length=1, max_length=20)] | None = None

    @model_validator(mode="after")
    def _one_way_to_say_where_from(self):
        if self.lanes is not None:
            single = {"supplier", "mail_delay", "ship_delay", "transport_cost"} & self.model_fields_set
            if single:
                raise ValueError(f"give 'lanes' or {', '.join(sorted(single))}, not both")
            if sum(lane.share for lane in self.lanes) <= 0:
                raise ValueError("at least one lane needs a positive share")
        return self

    def inbound(self, default_supplier: str) -> list[Lane]:
        """The lanes into this node (one, from its supplier, unless it lists them)."""
        if self.lanes is not None:
            return self.lanes
        return [Lane(supplier=self.supplier or default_supplier, mail_delay=self.mail_delay,
                     ship_delay=self.ship_delay, transport_cost=self.transport_cost)]  # fmt: skip


class Product(Spec):
    """A product moving through the network: `scale` times the scenario's quantities (demand, stock,
    policy levels; lane and node capacities are shared in proportion to the products' scales), `value`
    times its money per unit (prices, holding and backlog costs)."""

    name: Name
    scale: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    value: Annotated[float, Field(gt=0, le=1e6)] = 1.0


class SerialChain(Spec):
    """The network: its nodes, listed from the customer end upstream, the facilities its lanes pass
    through, and the products that move through it (each on its own stock, lanes shared)."""

    products: Annotated[list[Product], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: [Product(name="product")]
    )
    nodes: Annotated[list[ChainNode], Field(min_length=1, max_length=100)]
    facilities: Annotated[list[Facility], Field(max_length=100)] = Field(default_factory=list)
    initial_flow: NonNegative = 4.0  # every pipeline slot and every expectation at the start
    fixed_orders: Steps = 4  # warm-up steps ordering the initial flow
    demand: Demands = StepDemand()

    @model_validator(mode="after")
    def _a_network(self):
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError("node names must be unique")
        products = [p.name for p in self.products]
        if len(set(products)) != len(products):
            raise ValueError("product names must be unique")
        facilities = [f.name for f in self.facilities]
        if len(set(facilities)) != len(facilities):
            raise ValueError("facility names must be unique")
        for i, node in enumerate(self.nodes):
            for lane in self.inbound(i):
                if lane.supplier not in ("source", *names) or lane.supplier == node.name:
                    raise ValueError(f"node {node.name!r}: supplier must be another node or 'source'")
                if lane.mail_delay == 0 and lane.supplier != "source":
                    raise ValueError(f"node {node.name!r}: mail_delay 0 needs supplier 'source' (a stocking "
                                     "supplier handles orders in its next step)")  # fmt: skip
                if lane.via is not None and lane.via not in facilities:
                    raise ValueError(f"node {node.name!r}: no facility named {lane.via!r}")
        upstream = {i: [j for j, to, _ in self.lanes() if to == i and j >= 0] for i in range(len(names))}
        state = [0] * len(names)  # 0 unseen, 1 on the path, 2 done: a loop is a path back to itself

        def visit(i: int) -> None:
            state[i] = 1
            for j in upstream[i]:
                if state[j] == 1:
                    raise ValueError("suppliers form a loop: some node must order from 'source'")
                if state[j] == 0:
                    visit(j)
            state[i] = 2

        for i in range(len(names)):
            if state[i] == 0:
                visit(i)
        return self

    def inbound(self, i: int) -> list[Lane]:
        """Node i's lanes (by default from the next node listed; the last from the source)."""
        default = self.nodes[i + 1].name if i + 1 < len(self.nodes) else "source"
        return self.nodes[i].inbound(default)

    def lanes(self) -> list[tuple[int, int, Lane]]:
        """Every lane as (supplier index, -1 for the source; node index; the lane), node by node."""
        index = {n.name: i for i, n in enumerate(self.nodes)}
        return [
            (index.get(lane.supplier, -1), i, lane)
            for i in range(len(self.nodes))
            for lane in self.inbound(i)
        ]

    def demands(self) -> list[list[StepDemand | PeriodicDemand]]:
        """Each node's streams of customer orders: its own, or the chain's if no node orders from it."""
        supplied = {j for j, _, _ in self.lanes()}
        out = []
        for i, node in enumerate(self.nodes):
            streams = node.demand if node.demand is not None else (self.demand if i not in supplied else [])
            out.append(streams if isinstance(streams, list) else [streams])
        return out


class SupplyOutputs(OutputsBase):
    format: Literal["parquet", "csv"] = "parquet"
    tables: list[Literal["timeseries", "events"]] = Field(default_factory=lambda: ["timeseries", "events"])


class SupplyScenario(ScenarioBase):
    domain: Literal["supply"]
    chain: SerialChain
    events: list[Disruption] = Field(default_factory=list)
    outputs: SupplyOutputs = SupplyOutputs()
