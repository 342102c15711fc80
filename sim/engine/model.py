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

from sim.engine.simulation import Simulation
from sim.engine.timeline import Occurrence
from sim.engine.world import Actor, HasActors, WorldFactory
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
    """One run of a scenario as a Mesa model: `step()` steps its `Simulation` (`sim.engine.simulation`:
    due events, then the world's kernels for that step) and collects the step's figures.

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
        simulation = Simulation(scenario, world, scale=scale)
        mesa_seed = int(simulation.streams.seed_sequence("mesa").generate_state(1, np.uint32)[0])
        super().__init__(rng=mesa_seed)
        self.simulation = simulation
        self.scenario, self.streams, self.world = scenario, simulation.streams, simulation.world
        self.timeline = simulation.timeline
        self.env = self.timeline.env
        for event in scenario.events:
            EventActor(self, event.name)
        for actor in self.world.actors() if isinstance(self.world, HasActors) else ():
            AggregateAgent(self, actor)
        names = self.world.figure_names if simulation.collects else ()
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in names})

    @property
    def horizon(self) -> int:
        return self.scenario.horizon.steps

    @property
    def batch(self) -> pa.RecordBatch | None:
        """The last step's table rows."""
        return self.simulation.batch

    @property
    def figures(self) -> dict[str, float]:
        """The last step's figures (`StepFigures`), what `datacollector` keeps."""
        return self.simulation.figures

    def step(self) -> None:
        self.simulation.step()  # Mesa has already counted this step: the two counts agree
        if self.simulation.collects:
            self.datacollector.collect(self)  # row k: step k's figures
        self.running = self.simulation.running
        if not self.running:  # a sweep (`mesa.batch_run`) keeps finished models: let them go
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
