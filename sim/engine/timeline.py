"""The scenario's event calendar as SimPy processes on a clock measured in steps.

Each event is a process that waits for its start (a fixed step; a per-step probability or a uniformly
drawn step, from the event's own stream; or the end of another event), is active for its duration, then
ends. An event names its `target` (a population, a node) and an `intensity` (a rate or demand
multiplier, ...); worlds read the active ones. The model advances the clock to each step before running
that step's kernels, so an event starting at step k affects step k, and one lasting d steps affects
steps k .. k+d-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from sim.rng import Streams
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Occurrence:
    """One firing of a scenario event; `campaign_id` labels everything it causes."""

    event: str
    kind: str
    campaign_id: int
    start_step: int
    end_step: int
    target: str
    intensity: float
    spec: object  # the scenario's event, for the fields only its world knows


class Timeline:
    def __init__(self, scenario: Scenario, streams: Streams):
        self.env = simpy.Environment()
        self.scenario = scenario
        self.streams = streams
        self.occurrences: list[Occurrence] = []
        self._active: dict[str, list[Occurrence]] = {}
        self._ended = {event.name: self.env.event() for event in scenario.events}  # first end of each
        self.on_start: list = []  # callbacks (occurrence, env) run on the clock as an occurrence starts
        for event in scenario.events:
            self.env.process(self._run(event))

    def advance_to(self, step: int) -> None:
        """Fire every event due at or before `step`."""
        self.env.run(until=step + 1)

    @property
    def active(self) -> list[Occurrence]:
        """Occurrences under way at the current step."""
        return [o for group in self._active.values() for o in group]

    @property
    def intensity(self) -> dict[str, float]:
        """Multiplier on each target's rate (product of its active events)."""
        out: dict[str, float] = {}
        for population, active in self._active.items():
            value = 1.0
            for occurrence in active:
                value *= occurrence.intensity
            out[population] = value
        return out

    @property
    def campaign(self) -> dict[str, int]:
        """The most recent active campaign of each population."""
        return {p: active[-1].campaign_id for p, active in self._active.items() if active}

    def _run(self, event):
        sc = self.scenario
        duration = sc.steps_in(event.duration)
        if event.start is not None:
            yield self.env.timeout(sc.step_of(event.start))
            yield from self._occur(event, duration)
            return
        if event.after is not None:  # a chain: this one begins when that one ends
            yield self._ended[event.after]
            if self.env.now < sc.horizon.steps:
                yield from self._occur(event, duration)
            return
        if event.trigger.between is not None:  # once, at a uniformly drawn step
            first, end = (sc.step_of(when) for when in event.trigger.between)
            at = int(
                self.streams.generator(f"events.{event.name}").integers(max(first, 0), max(end, first + 1))
            )
            if at < sc.horizon.steps:
                yield self.env.timeout(at)
                yield from self._occur(event, duration)
            return
        fired = 0
        while fired < event.trigger.max_occurrences and self.env.now < sc.horizon.steps:
            draw = self.streams.generator(f"events.{event.name}", int(self.env.now)).random()
            if draw < event.trigger.probability_per_step:
                fired += 1
                yield from self._occur(event, duration)
            else:
                yield self.env.timeout(1)

    def _occur(self, event, duration: int):
        start = int(self.env.now)
        occurrence = Occurrence(
            event.name,
            event.kind,
            len(self.occurrences) + 1,
            start,
            min(start + duration, self.scenario.horizon.steps),
            event.target,
            event.intensity,
            event,
        )
        self.occurrences.append(occurrence)
        self._active.setdefault(event.target, []).append(occurrence)
        for hook in self.on_start:
            hook(occurrence, self.env)
        yield self.env.timeout(duration)
        self._active[event.target].remove(occurrence)
        if not self._ended[event.name].triggered:
            self._ended[event.name].succeed()
