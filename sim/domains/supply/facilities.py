"""Ports and production lines: SimPy resources shared by the lanes (and products) through them. Goods
queue first come, first served for a server; while they wait they are `held` on their lane (counted as
on the way in, so ordering policies see them), and when they clear, they join the lane's pipeline."""

from __future__ import annotations

import numpy as np
import simpy

from sim.domains.supply.arrays import State


class Facilities:
    def __init__(self, specs: list, state: State, flows: list[dict]):
        self.specs = {f.name: f for f in specs}
        self.state = state  # the kernel's state: held goods and pipelines (replicate 0)
        self.flows = flows  # the world's log of orders and shipments
        self.queues: dict[str, simpy.Resource] = {}  # made on the timeline's clock when first used
        self.waits: dict[str, list[int]] = {name: [] for name in self.specs}  # steps each shipment queued
        self.pending: dict[int, dict] = {}  # shipments on their way to or through a facility, by id
        self.lengths: list[list[int]] = []  # per step, shipments waiting at each facility (`sample`)

    def __contains__(self, name: str) -> bool:
        return name in self.specs

    def queue(self, env: simpy.Environment, name: str) -> simpy.Resource:
        if name not in self.queues:
            self.queues[name] = simpy.PriorityResource(env, capacity=self.specs[name].servers)
        return self.queues[name]

    def close(self, env: simpy.Environment, name: str, end_step: int):
        """A SimPy process for a closure (a strike, a storm): it takes each server as it frees up and holds
        it until `end_step`; goods being handled finish, the rest (those queued before it too) wait behind
        the closure: it asks for the servers ahead of them."""
        queue = self.queue(env, name)
        requests = [queue.request(priority=-1) for _ in range(queue.capacity)]
        for request in requests:
            yield request
        yield env.timeout(max(end_step - env.now, 0))
        for request in requests:
            queue.release(request)

    def send(self, env: simpy.Environment, lane_index: int, lane, shipment: dict, extra: int) -> None:
        """Goods leave on a lane through a facility: pending until they clear it (see `through`)."""
        self.pending[id(shipment)] = shipment
        env.process(self.through(env, lane_index, lane, shipment, extra))

    def through(self, env: simpy.Environment, lane_index: int, lane, shipment: dict, extra: int):
        """A SimPy process: goods sent at step k (the clock reads k + 1) reach the facility after the
        lane's shipping delay (plus `extra`), wait for a free server, are handled, then take the onward
        delay; the shipment is logged with the step it arrives."""
        facility = self.specs[lane.via]
        queue = self.queue(env, lane.via)
        yield env.timeout(lane.ship_delay - 1 + extra)
        arrived = env.now
        handling = facility.handling
        if facility.units_per_step is not None:
            handling += int(np.ceil(shipment["quantity"] / facility.units_per_step))
        with queue.request() as request:
            yield request
            waited = int(env.now - arrived)
            yield env.timeout(handling)
        self.waits[lane.via].append(waited)
        cleared = int(env.now)  # before this step's kernel: the goods arrive `onward_delay` steps on
        self.state.held[0, lane_index] -= shipment["quantity"]
        self.state.pipe[0, lane_index, lane.onward_delay] += shipment["quantity"]
        self.flows.append({**shipment, "end_step": cleared + lane.onward_delay})
        del self.pending[id(shipment)]

    def sample(self) -> None:
        """Record how many shipments wait at each facility now (the end of a step)."""
        self.lengths.append([len(self.queues[n].queue) if n in self.queues else 0 for n in self.specs])

    def unfinished(self) -> list[dict]:
        """Shipments that had not cleared their facility when the run ended: their arrival is unknown."""
        return [{**shipment, "end_step": None} for shipment in self.pending.values()]

    def kpis(self) -> dict:
        """Per facility: shipments handled, and their mean and longest wait (steps)."""
        return {
            name: {
                "shipments": len(waits),
                "mean_wait": float(np.mean(waits)) if waits else None,
                "max_wait": max(waits, default=None),
            }
            for name, waits in self.waits.items()
        }
