"""Checks of a whole supply scenario, run by `sim validate` and `sim run` alike: demand stays under the
quantity ceiling over the whole horizon; a closed passage lies on the routes it closes."""

from __future__ import annotations

import math

from sim.domains.supply.events import RouteClosure
from sim.domains.supply.scenario import PeriodicDemand, StepDemand, SupplyScenario
from sim.scenario.types import CEILING


def _streams(path: tuple, demand) -> list[tuple[tuple, StepDemand | PeriodicDemand]]:
    """(field path, stream) of a `demand:` field: one stream, a list of them, or none."""
    if isinstance(demand, list):
        return [((*path, j), d) for j, d in enumerate(demand)]
    return [] if demand is None else [(path, demand)]


def check_scenario(scenario: SupplyScenario) -> list[tuple[tuple, str]]:
    """Demand stays under the quantity ceiling; a closure's passage is nearer than its routes' ends."""
    return _trends(scenario) + _passages(scenario)


def _passages(scenario: SupplyScenario) -> list[tuple[tuple, str]]:
    """A closure's `after_passage` is shorter than the longest direct route into its node: otherwise no
    goods on the way could ever be short of the passage, and the field would silently do nothing."""
    chain, problems = scenario.chain, []
    index = {n.name: i for i, n in enumerate(chain.nodes)}
    for e, event in enumerate(scenario.events):
        if not isinstance(event, RouteClosure) or event.after_passage is None or event.node not in index:
            continue
        longest = max(
            (lane.ship_delay for lane in chain.inbound(index[event.node]) if lane.via is None), default=0
        )
        after = scenario.steps_in(event.after_passage)
        if after >= longest:
            message = (f"{after} steps from the passage to {event.node!r}, but its direct routes take "
                       f"at most {longest}: the passage must lie on the way")  # fmt: skip
            problems.append((("events", e, "after_passage"), message))
    return problems


def _trends(scenario: SupplyScenario) -> list[tuple[tuple, str]]:
    """Demand stays under the quantity ceiling over the whole horizon: a trend compounds every step."""
    chain, problems = scenario.chain, []
    places = _streams(("chain", "demand"), chain.demand)
    for i, node in enumerate(chain.nodes):
        places += _streams(("chain", "nodes", i, "demand"), node.demand)
    biggest = max((p.scale for p in chain.products), default=1.0)
    for path, spec in places:
        if not isinstance(spec, StepDemand) or spec.trend <= 0:
            continue
        level = max(spec.before, spec.after) * biggest * (1 + spec.yearly_amplitude)
        if spec.weekly is not None:
            level *= max(spec.weekly) / (sum(spec.weekly) / 7)
        steps = scenario.horizon.steps
        if level > 0 and math.log(level) + (steps - 1) * math.log1p(spec.trend) > math.log(CEILING):
            message = (
                f"a trend of {spec.trend:g} a step over {steps:,} steps takes demand past {CEILING:.0e} "
                "units a step, the quantity ceiling: lower the trend or shorten the horizon"
            )
            problems.append(((*path, "trend"), message))
    return problems
