"""`SimModel`: the Mesa facade over a world's arrays, its RNG streams and its SimPy timeline.

The many simple agents (customers, merchants, mules) live in the world's arrays and are advanced by
kernels; the scenario's events and the world's aggregate actors (merchant categories, fraud rings,
supply nodes) are `mesa.Agent`s in `model.agents`, the latter with read-only views of their arrays. Mesa's
conventions hold: keyword parameters (the scenario's `parameters`, and `rng` for its seed), a
`datacollector` collecting the world's per-step figures, so `mesa.batch_run` sweeps it. The model knows
no domain: it is handed a world factory, or asks `sim.domains.registry` for the one registered under the
scenario's `domain`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pyarrow as pa

from sim.engine.timeline import Occurrence, Timeline
from sim.engine.world import Actor, EventHook, HasActors, StepFigures, World, WorldFactory
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


class AggregateAgent(mesa.Agent):
    """One of the world's aggregate actors (`sim.engine.world.Actor`): `kind`, `name`, and its views as
    attributes, each read from the world's arrays when asked and handed out read-only."""

    def __init__(self, model: SimModel, actor: Actor):
        super().__init__(model)
        self.kind, self.name, self._views = actor.kind, actor.name, actor.views

    def __getattr__(self, attribute: str) -> Any:
        views = self.__dict__.get("_views", {})
        if attribute not in views:
            raise AttributeError(f"{type(self).__name__} {self.__dict__.get('name')!r} has no {attribute!r}")
        value = views[attribute]()
        if isinstance(value, np.ndarray):
            value = value.view()
            value.flags.writeable = False
        return value

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._views]

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name!r}: {', '.join(self._views)}>"


class SimModel(mesa.Model):
    """One run of a scenario. `step()` fires due events, then runs the world's kernels for that step.

    `scenario` is a validated `Scenario`, or a scenario file's path; with a path, keyword arguments
    override the file's `parameters` (as `--set` does), so `mesa.batch_run(SimModel, {"scenario": path,
    "order_up_to": [10, 20]})` sweeps it. `rng` (or Mesa's older `seed`) replaces the scenario's seed.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        world: WorldFactory | None = None,
        *,
        scale: float = 1.0,
        rng: int | None = None,
        seed: int | None = None,
        **kwargs: Any,  # the scenario's parameters (Mesa's SolaraViz wants this name)
    ):
        scenario = _scenario(scenario, kwargs, seed if rng is None else rng)
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
        for actor in self.world.actors() if isinstance(self.world, HasActors) else ():
            AggregateAgent(self, actor)
        self.batch: pa.RecordBatch | None = None
        self.figures: dict[str, float] = {}  # the last step's (`StepFigures`), what `datacollector` keeps
        self._collects = isinstance(self.world, StepFigures)  # asked once: a protocol check is not free
        names = self.world.figure_names if self._collects else ()
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in names})

    @property
    def horizon(self) -> int:
        return self.scenario.horizon.steps

    def step(self) -> None:
        k = self.steps - 1  # Mesa has already counted this step
        self.timeline.advance_to(k)
        self.batch = self.world.step(k, self.timeline)
        if self._collects:
            self.figures = self.world.figures()
            self.datacollector.collect(self)  # row k: step k's figures
        self.running = self.steps < self.horizon
        if not self.running:  # a sweep (`mesa.batch_run`) keeps finished models: let them go
            self.world.close()
            mesa.Agent._ids.pop(self, None)

    def release(self) -> None:
        """Drop Mesa's class-level references to this model (mesa 3.3.1 keeps them in `Agent._ids`)."""
        self.remove_all_agents()
        mesa.Agent._ids.pop(self, None)
        self.world.close()


def _scenario(scenario: Scenario | str | Path, parameters: dict[str, Any], seed: int | None) -> Scenario:
    """The scenario itself, or one loaded from a path with `parameters` set; `seed`, if given, replaces
    its seed."""
    if isinstance(scenario, str | Path):
        from sim.scenario import load_scenario  # the engine reads files only when given a path

        sets = [
            f"{name}={str(value).lower() if isinstance(value, bool) else value}"
            for name, value in parameters.items()
        ]
        return load_scenario(scenario, sets, seed)
    if parameters:
        names = ", ".join(parameters)
        raise TypeError(f"parameters ({names}) are set on a scenario file: pass its path, not a Scenario")
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def _reporter(name: str):
    return lambda model: model.figures[name]
