"""The supply world's aggregate actors, as Mesa users inspect them (`model.agents`): each node, with its
series so far (products summed) and its policy, and each facility with its queue as it stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.world import Actor

if TYPE_CHECKING:
    from sim.domains.supply.world import SupplyWorld

NODE_SERIES = ("inventory", "backlog", "orders", "shipped", "received", "lost_sales", "cost")


def supply_actors(world: SupplyWorld) -> list[Actor]:
    actors = []
    n_nodes = len(world.names)
    for i, spec in enumerate(world.scenario.chain.nodes):
        kernel = np.arange(i, len(world.spec_nodes), n_nodes)  # the node, once per product
        views = {name: _series(world, name, kernel) for name in NODE_SERIES}
        views["policy"] = lambda spec=spec: spec.policy.model_dump(mode="json", exclude_none=True)
        actors.append(Actor("supply_node", spec.name, views))
    facilities = world.facilities
    for name, spec in facilities.specs.items():
        views = {
            "servers": lambda spec=spec: spec.servers,
            "queue_length": lambda name=name: (
                len(facilities.queues[name].queue) if name in facilities.queues else 0
            ),
            "in_service": lambda name=name: facilities.queues[name].count if name in facilities.queues else 0,
            "waits": lambda name=name: np.asarray(facilities.waits[name], dtype=np.int64),
        }
        actors.append(Actor("facility", name, views))
    return actors


def _series(world: SupplyWorld, name: str, kernel: np.ndarray):
    """A node's series up to the last step run, products summed."""
    return lambda: getattr(world.run, name)[0, : world.steps_run][:, kernel].sum(axis=1)
