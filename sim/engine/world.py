"""The World contract: what every domain's world provides, the optional capabilities, and a domain's entry.

A world holds a run's state arrays and advances them one step at a time; the engine (`SimModel`), the
runner, stress sweeps and calibration use it only through the members below, so none of them names a
domain. Capabilities are small protocols a world may also implement; callers ask with `isinstance`.
A `Domain` is what `sim.domains.registry` lists: a scenario model, a world factory and the table of record.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import simpy

    from sim.distributed import Backend, Parts
    from sim.engine.timeline import Occurrence, Timeline
    from sim.rng import Streams
    from sim.scenario.schema import Scenario


@runtime_checkable
class World(Protocol):
    """A run's state and behaviour. Built as `factory(scenario, streams, scale)`; every random draw comes
    from `streams`, so the same scenario and seed give the same batches."""

    schema: pa.Schema
    """Columns of the table of record, one record batch of which `step` returns."""

    def step(self, k: int, timeline: Timeline) -> pa.RecordBatch:
        """Advance to the end of step k (the calendar's active events are `timeline.active`)."""
        ...

    def tables(self) -> Mapping[str, Callable[[], pa.RecordBatchReader]]:
        """End-of-run tables by name (accounts, patterns, ...), each made on demand and in batches, so a
        table larger than a worker's share of memory is never held whole."""
        ...

    def kpis(self, scale: float) -> dict:
        """Run-level figures (`kpis.json`): plain JSON numbers, lists and dicts."""
        ...

    def statistic_names(self) -> list[str]:
        """The statistics calibration targets may name (besides `kpi.*`)."""
        ...

    def statistic(self, name: str, scale: float) -> float | np.ndarray:
        """One of `statistic_names()` of the finished run: a number or a series."""
        ...

    def report(self, path: Path, kpis: dict) -> dict[str, str]:
        """Write the report's files into the run directory; returns {manifest name: relative path}."""
        ...

    def close(self) -> None:
        """Release threads and workers (the model's `release()` calls it)."""
        ...


@runtime_checkable
class EventHook(Protocol):
    """A world with discrete-event processes of its own (queues at a port): called on the SimPy clock as
    each calendar occurrence starts."""

    def on_event(self, occurrence: Occurrence, env: simpy.Environment) -> None: ...


@runtime_checkable
class LogsFlows(Protocol):
    """A world that logs flows (orders, shipments) as rows of the `events` table, beside the calendar."""

    def logged_flows(self) -> list[dict]:
        """Rows with `event`, `kind`, `start_step`, `end_step`, `target` and any other `events` column."""
        ...


@runtime_checkable
class ServiceLevels(Protocol):
    """A world that reports a service level per step (stress sweeps band it over replicates)."""

    def service_level(self) -> np.ndarray: ...


@runtime_checkable
class Shardable(Protocol):
    """A world whose run can be cut into shards settled by hosts on a backend's workers, with the same
    rows whatever the shard count, worker count and backend. The driver of such a run holds not the world
    but `driver(scenario, streams, scale)`: a world that builds none of the state (the hosts do), whose
    `step` follows them and whose end-of-run figures are theirs, added up."""

    @staticmethod
    def shard_problem(scenario: Scenario) -> str | None:
        """Why this scenario cannot run sharded (a field it would need), or None."""
        ...

    @staticmethod
    def driver(scenario: Scenario, streams: Streams, scale: float) -> ShardDriver:
        """The driver's world of a sharded run of `scenario`."""
        ...


class ShardDriver(World, Protocol):
    """The world a sharded run's driver holds (see `Shardable`)."""

    def shard(self, backend: Backend, shards: int, parts: Parts, tables: frozenset[str]) -> ShardedTable:
        """Start the hosts: `shards` shards on `backend`'s workers. They write the `tables` asked for: the
        table of record as part files where `parts` says, the end-of-run tables beside it. Raises
        `InputError` when the world cannot be cut into that many shards."""
        ...


class ShardedTable(Protocol):
    """A table written by a sharded run's hosts, as the runner sees it: it stands where a writer stands.
    `files` are the end-of-run tables the hosts wrote, by name, with their manifest entries."""

    path: Path | None
    parts: list[dict]
    files: dict[str, dict]
    written_schema: pa.Schema

    def write(self, batch: pa.RecordBatch) -> None: ...

    def finish(self) -> None:
        """Wait for the hosts and fold their results into the driver's world."""
        ...

    def close(self) -> int: ...

    def abort(self) -> None: ...


@runtime_checkable
class StepFigures(Protocol):
    """A world with a few figures per step (rows and fraud; inventory and backlog), which Mesa's
    `model.datacollector` collects after every step."""

    figure_names: tuple[str, ...]

    def figures(self) -> dict[str, float]:
        """The last step's figures, one per name of `figure_names`."""
        ...


@dataclass(frozen=True)
class Actor:
    """An aggregate actor (a merchant category, a fraud ring, a supply node): `model.agents` shows it as a
    `mesa.Agent` whose attributes are `views`, each read when asked (numbers, or arrays nobody can write)."""

    kind: str
    name: str
    views: Mapping[str, Callable[[], Any]]


@runtime_checkable
class HasActors(Protocol):
    """A world whose aggregate actors Mesa users may inspect through `model.agents`."""

    def actors(self) -> list[Actor]: ...


WorldFactory = Callable[["Scenario", "Streams", float], World]
Check = Callable[[Any], list[tuple[tuple, str]]]  # -> [(field path, message)]


@dataclass(frozen=True)
class Format:
    """An output format of the table of record beyond Parquet and CSV (PaySim's CSV): written as `base`
    after `view(world)` turns each table into the written one."""

    base: str
    view: Callable[[World], Callable[[pa.Table], pa.Table]]
    quoted: bool = True  # False: no field or name in quotes, as the format's own files have none


@dataclass(frozen=True)
class CardText:
    """What a domain's dataset card (`DATASET.md`) says beyond the run's own figures: each table's column
    meanings ("*": the meaning of any other column), the figures worth a reader's eye (`figures(kpis)`
    -> (name, value) rows: label rates, fill rates, fidelity where known), and what the data are and are
    not for."""

    columns: Mapping[str, Mapping[str, str]]
    figures: Callable[[dict], list[tuple[str, str]]]
    intended: tuple[str, ...]
    unintended: tuple[str, ...]
    limitations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """One registered domain: its scenario model (`domain: Literal[name]`, with `events` and `outputs`),
    its world (a factory, or "module:attribute" imported when first needed, so validating a scenario
    loads no kernels), its table of record (the per-step table), its label columns per table (ground
    truth and what is derived from it: evaluation never lets a model read them), extra output formats,
    checks of a scenario's raw data (references between its parts, on the mapping as written) and of
    the validated model, and the text of its dataset card."""

    name: str
    scenario: type
    world: WorldFactory | str
    table: str
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    formats: Mapping[str, Format] = field(default_factory=dict)
    check_data: Check | None = None
    check_scenario: Check | None = None
    card: CardText | None = None

    def world_factory(self) -> WorldFactory:
        if not isinstance(self.world, str):
            return self.world
        module, _, attribute = self.world.partition(":")
        return getattr(importlib.import_module(module), attribute)
