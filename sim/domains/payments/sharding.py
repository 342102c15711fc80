"""Shards of a payments world: groups of whole customer cells, drawn on a backend's workers.

A sharded payments run keeps one coordinator (the fraud and laundering agenda, settlement in time order,
the ledger) and farms out the heavy, balance-independent work: drawing customers' transactions (each
shard draws whole customer cells, see `sim.domains.payments.activity`) and encoding and writing Parquet
(each shard's rows, by the payer's cell, go to its own part files). Transfers between shards are settled
by the coordinator in the single time order of the whole world, so money is conserved exactly and every
row is what an unsharded run writes.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

import numpy as np

from sim.domains.payments.accounts import build_accounts
from sim.domains.payments.activity import CELL_CUSTOMERS, Activity, merge_in_time
from sim.errors import InputError
from sim.rng import Streams

if TYPE_CHECKING:
    from sim.distributed import Backend


def shard_cells(cells: int, shards: int, name: str) -> list[range]:
    """Contiguous groups of whole cells, one per shard."""
    if shards < 1:
        raise InputError("--shards must be at least 1")
    if shards > cells:
        raise InputError(
            f"{name}: at most {cells} shard(s) at this scale (its customers form {cells} cell(s) of at "
            f"least {CELL_CUSTOMERS:,}); use --shards {cells} or fewer"
        )
    edges = np.linspace(0, cells, shards + 1).astype(int)
    return [range(lo, hi) for lo, hi in itertools.pairwise(edges)]


def cell_of_accounts(accounts, bounds: np.ndarray) -> np.ndarray:
    """The cell each account belongs to, indexed by public position: a customer's is its own cell;
    every other account (merchants, banks, mules' other roles) is spread over the cells round-robin by
    its place in the population. A function of the population alone, like the cells themselves."""
    cells = len(bounds) - 1
    cell = (np.arange(accounts.n) % cells).astype(np.int64)
    c = accounts.customers
    for k in range(cells):
        cell[c.start + bounds[k] : c.start + bounds[k + 1]] = k
    by_public = np.empty_like(cell)
    by_public[accounts.public] = cell
    return by_public


def shard_of_accounts(accounts, bounds: np.ndarray, groups: list[range]) -> np.ndarray:
    """The shard owning each account, indexed by public position: the shard of the account's cell."""
    shard_of_cell = np.empty(len(bounds) - 1, dtype=np.int16)
    for shard, cells in enumerate(groups):
        shard_of_cell[cells.start : cells.stop] = shard
    return shard_of_cell[cell_of_accounts(accounts, bounds)]


_ACTIVITY: dict = {}
_ACTIVITY_LOCK = threading.Lock()


def _activity(scenario, scale: float):
    """The customers' activity arrays, built once per worker process from the scenario and seed (the
    same arrays on every worker, because they are a function of the seed alone)."""
    key = (scenario.model_dump_json(), scale)
    with _ACTIVITY_LOCK:
        if key not in _ACTIVITY:
            _ACTIVITY.clear()  # one scenario at a time per worker
            streams = Streams(scenario.seed)
            _ACTIVITY[key] = Activity(scenario, build_accounts(scenario, streams, scale), streams)
        return _ACTIVITY[key]


def draw_shard(scenario, scale: float, cells: range, step: int) -> dict[str, np.ndarray]:
    """A shard's legitimate transactions of one step (runs on a worker)."""
    return _activity(scenario, scale).draw(step, cells)


class ShardedDraws:
    """Step k's legitimate transactions drawn by the shards on a backend, a few steps ahead."""

    def __init__(self, backend: Backend, scenario, scale: float, groups: list[range], ahead: int):
        self.backend, self.scenario, self.scale, self.groups = backend, scenario, scale, groups
        self.steps = scenario.horizon.steps
        self.ahead = max(1, ahead)
        self.pending: dict[int, list] = {}
        self.next = 0

    def __call__(self, k: int) -> dict[str, np.ndarray]:
        while self.next < min(self.steps, k + 1 + self.ahead):
            self.pending[self.next] = [
                self.backend.submit(draw_shard, self.scenario, self.scale, cells, self.next)
                for cells in self.groups
            ]
            self.next += 1
        return merge_in_time([future.result() for future in self.pending.pop(k)])

    def close(self) -> None:
        for futures in self.pending.values():
            for future in futures:
                future.cancel()
        self.pending.clear()
