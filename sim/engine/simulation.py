"""`Simulation`: one run of a scenario, step by step, with no framework around it.

The loop every command drives (run, stress, calibrate): the world's arrays and RNG streams, the SimPy
timeline firing the calendar's events, and one record batch per step. `SimModel` (`sim.engine.model`)
is the Mesa facade over this same loop; the commands drive it bare, so a run does not import Mesa and
what Mesa imports (SciPy's spatial module, networkx, its visualisation and batch modules): about 0.5
CPU-s of a warm quickstart run.
"""

from __future__ import annotations

import pyarrow as pa

from sim.engine.timeline import Timeline
from sim.engine.world import EventHook, StepFigures, World, WorldFactory
from sim.rng import Streams
from sim.scenario.schema import Scenario


class Simulation:
    """`step()` fires the events due, then runs the world's kernels for that step; `batch` is the step's
    table rows and `figures` its per-step figures (a `StepFigures` world's). `running` turns false after
    the horizon's last step; `release()` stops the world's helpers."""

    def __init__(self, scenario: Scenario, world: WorldFactory | None = None, *, scale: float = 1.0):
        if scenario.seed is None:
            raise ValueError("resolve the scenario's seed before running it (load_scenario does)")
        if world is None:
            from sim.domains import registry  # the one place that names domains, asked at run time

            world = registry.world_factory(scenario.domain)
        self.scenario = scenario
        self.streams = Streams(scenario.seed)
        self.world: World = world(scenario, self.streams, scale)
        self.timeline = Timeline(scenario, self.streams)
        if isinstance(self.world, EventHook):  # a world with its own discrete-event processes
            self.timeline.on_start.append(self.world.on_event)
        self.collects = isinstance(self.world, StepFigures)  # asked once: a protocol check is not free
        self.batch: pa.RecordBatch | None = None
        self.figures: dict[str, float] = {}
        self.steps = 0  # steps done
        self.running = self.horizon > 0

    @property
    def horizon(self) -> int:
        return self.scenario.horizon.steps

    def step(self) -> None:
        k = self.steps
        self.timeline.advance_to(k)
        self.batch = self.world.step(k, self.timeline)
        if self.collects:
            self.figures = self.world.figures()
        self.steps += 1
        self.running = self.steps < self.horizon
        if not self.running:
            self.world.close()

    def release(self) -> None:
        self.world.close()
