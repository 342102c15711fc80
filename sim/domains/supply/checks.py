"""Checks of a whole supply scenario, run by `sim validate` and `sim run` alike: demand stays under the
quantity ceiling over the whole horizon."""

from __future__ import annotations

import math

from sim.domains.supply.scenario import PeriodicDemand, StepDemand, SupplyScenario
from sim.scenario.types import CEILING


def _streams(path: tuple, demand) -> list[tuple[tuple, StepDemand | PeriodicDemand]]:
    """(field path, stream) of a `demand:` field: one stream, a list of them, or none."""
    if isinstance(demand, list):
        return [((*path, j), d) for j, d in enumerate(demand)]
    return [] if demand is None else [(path, demand)]


def check_scenario(scenario: SupplyScenario) -> list[tuple[tuple, str]]:
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
