"""Every registered domain ships a scenario, and every shipped scenario's world keeps the World contract
(`sim.engine.contract.check_world`, run on a short horizon and a small population)."""

from __future__ import annotations

import re

import pytest

from sim.domains import registry
from sim.engine.contract import ContractError, check_world
from sim.scenario import load_scenario
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "scenarios").rglob("*.yaml"))
STEPS = 48  # a short horizon: events after it simply do not happen
SCALE = {"payments": 0.05}


def domain_of(path) -> str:
    return re.search(r"^domain:\s*(\S+)", path.read_text(), re.MULTILINE).group(1)


def test_every_registered_domain_ships_a_scenario():
    assert set(registry.domains()) <= {domain_of(p) for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_world_keeps_its_contract(path):
    scenario = load_scenario(path)
    horizon = scenario.horizon.model_copy(update={"steps": min(scenario.horizon.steps, STEPS)})
    check_world(scenario.model_copy(update={"horizon": horizon}), scale=SCALE.get(scenario.domain, 1.0))


def test_a_broken_world_is_told_everything_it_breaks(small):
    from sim.domains.payments.world import PaymentsWorld

    class Broken(PaymentsWorld):
        def kpis(self, scale):
            return {"rate": float("nan")}

        def statistic_names(self):
            return ["volume", "kpi.nope"]

    with pytest.raises(ContractError) as caught:
        check_world(load_scenario(small), Broken, scale=0.1)
    assert len(caught.value.problems) == 3
    assert "finite numbers" in str(caught.value) and "kpi.* is the calibrator's own" in str(caught.value)
    assert "report() failed on the world's own kpis()" in str(caught.value)  # its report reads them
