"""Supply chains: the beer game, distribution networks, lanes, ports and production lines, disruptions.

The registry reads `DOMAIN`; the world and its kernel are imported only when a run needs them.
"""

from __future__ import annotations

from sim.domains.supply.card import CARD
from sim.domains.supply.checks import check_scenario
from sim.domains.supply.events import check_data
from sim.domains.supply.scenario import SupplyScenario
from sim.engine.world import Domain

DOMAIN = Domain(
    name="supply",
    scenario=SupplyScenario,
    world="sim.domains.supply.world:SupplyWorld",
    table="timeseries",
    check_data=check_data,
    check_scenario=check_scenario,
    card=CARD,
)
