"""`SimModel`: the Mesa facade over a world's arrays, its RNG streams and its SimPy timeline.

The many simple agents (customers, merchants, mules) live in the world's arrays and are advanced by
kernels; only the few rich actors (scenario events such as a fraud ring's campaign) are `mesa.Agent`s.
The model knows no domain: it is handed a world factory, or asks `sim.domains.registry` for the one
registered under the scenario's `domain`.
"""

from __future__ import annotations

import mesa
import numpy as np
import pyarrow as pa

from sim.engine.timeline import Occurrence, Timeline
from sim.engine.world import EventHook, World, WorldFactory
from sim.rng import Streams
from sim.scenario.schema import Scenario


class EventActor(mesa.Agent):
    """A scenario event as a Mesa agent, so `model.agents` shows the campaigns and when they fired."""

    def __init__(self, model: SimModel, name: str):
        super().__init__(model)
        self.name = name

    @property
    def occurrences(self) -> list[Occurrence]:
        return [o for o in self.model.timeline.occurrences if o.event == self.name]


class SimModel(mesa.Model):
    """One run of a scenario. `step()` fires due events, then runs the world's kernels for that step."""

    def __init__(self, scenario: Scenario, world: WorldFactory | None = None, *, scale: float = 1.0):
        if scenario.seed is None:
            raise ValueError("resolve the scenario's seed before building a model (load_scenario does)")
        if world is None:
            from sim.domains import registry  # the one place that names domains, asked at run time

            world = registry.world_factory(scenario.domain)
        streams = Streams(scenario.seed)
        mesa_seed = int(streams.seed_sequence("mesa").generate_state(1, np.uint32)[0])
        super().__init__(rng=mesa_seed)
        self.scenario = scenario
        self.streams = streams
        self.world: World = world(scenario, streams, scale)
        self.timeline = Timeline(scenario, streams)
        self.env = self.timeline.env
        if isinstance(self.world, EventHook):  # a world with its own discrete-event processes
            self.timeline.on_start.append(self.world.on_event)
        for event in scenario.events:
            EventActor(self, event.name)
        self.batch: pa.RecordBatch | None = None

    @property
    def horizon(self) -> int:
        return self.scenario.horizon.steps

    def step(self) -> None:
        k = self.steps - 1  # Mesa has already counted this step
        self.timeline.advance_to(k)
        self.batch = self.world.step(k, self.timeline)
        self.running = self.steps < self.horizon

    def release(self) -> None:
        """Drop Mesa's class-level references to this model (mesa 3.3.1 keeps them in `Agent._ids`)."""
        self.remove_all_agents()
        mesa.Agent._ids.pop(self, None)
        self.world.close()
