"""A supply scenario's calendar of disruptions: what each kind does to the network, and the check that
each strikes a node of the chain (or closes a facility), run on the data as written."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.scenario.calendar import CalendarEvent
from sim.scenario.semantics import text
from sim.scenario.types import Name, NonNegative, Span


class _NodeEvent(CalendarEvent):
    """A disruption that strikes one node of the chain."""

    node: Name

    @property
    def target(self) -> str:
        return self.node


class NodeOutage(_NodeEvent):
    """A node ships nothing for `duration`; `stock_destroyed` of its stock is lost as it starts."""

    kind: Literal["node_outage"]
    stock_destroyed: Annotated[float, Field(ge=0, le=1)] = 0.0

    @property
    def intensity(self) -> float:
        return self.stock_destroyed


class RouteClosure(_NodeEvent):
    """Goods sent to `node` while the route is closed take `extra_delay` longer (a detour): the Ever
    Given blocked Suez for 6 days (2021); the way round the Cape adds about 12 days. With
    `after_passage` (how long goods take from the closed passage to `node`), goods already on their way
    that reach the passage while it is closed wait there and go on together when it reopens (the ships
    queued at the canal); goods through a facility are not held."""

    kind: Literal["route_closure"]
    extra_delay: Span
    after_passage: Span | None = None

    @property
    def intensity(self) -> float:
        return 0.0


class CapacityLoss(_NodeEvent):
    """A node can ship at most `capacity` units per step while it lasts."""

    kind: Literal["capacity_loss"]
    capacity: NonNegative

    @property
    def intensity(self) -> float:
        return self.capacity


class DemandShock(CalendarEvent):
    """Customer demand times `multiplier` for `duration`, then times `hangover` for `hangover_duration`
    (panic buying: US toilet paper +845 % over two days in March 2020, then -58 % weeks later)."""

    kind: Literal["demand_shock"]
    multiplier: Annotated[float, Field(ge=0, le=1000)] = 9.45
    hangover: Annotated[float, Field(ge=0, le=1000)] = 1.0
    hangover_duration: Span | None = None

    @property
    def target(self) -> str:
        return "demand"

    @property
    def intensity(self) -> float:
        return self.multiplier


# default magnitudes: ../shared/reference/logistics_targets/rare_event_targets.csv (sources named there)
Disruption = Annotated[NodeOutage | RouteClosure | CapacityLoss | DemandShock, Field(discriminator="kind")]


def check_data(body: dict) -> list[tuple[tuple, str]]:
    """Disruptions must strike a node of the chain (or close a facility), on the data as written."""
    problems: list[tuple[tuple, str]] = []
    events, chain = body.get("events"), body.get("chain")
    if not (isinstance(chain, dict) and isinstance(events, list)):
        return problems
    nodes = chain.get("nodes")
    names = {text(n, "name") for n in (nodes if isinstance(nodes, list) else []) if isinstance(n, dict)} - {
        None
    }
    facilities = chain.get("facilities")
    ports = {text(f, "name") for f in (facilities if isinstance(facilities, list) else [])} - {None}
    closable = f"; facilities close with node_outage: {', '.join(sorted(ports))}" if ports else ""
    for i, event in enumerate(events):
        node = text(event, "node")
        if node is None or node in names or (node in ports and text(event, "kind") == "node_outage"):
            continue
        known = ", ".join(sorted(names)) or "none"
        problems.append((("events", i, "node"), f"no node named {node!r} (nodes: {known}{closable})"))
    return problems
