"""The driver's side of a sharded payments run: a world that builds no accounts, and the run it follows.

A sharded run's driver (see `sharding` for the hosts) only schedules: it starts one host per worker,
follows their progress, and at the end adds up their tallies into the KPIs and the report. The hosts
write the transactions as part files and the first host the end-of-run tables (accounts, patterns), so
neither the rows nor the accounts ever reach the driver: its memory and CPU do not grow with the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from sim.distributed import Backend, Parts, empty_part
from sim.domains.payments import statistics
from sim.domains.payments.accounts import first, scaled
from sim.domains.payments.activity import cell_bounds
from sim.domains.payments.customers import Customers
from sim.domains.payments.fit import HourlyTally
from sim.domains.payments.kpis import STEP_FIGURES, payments_kpis
from sim.domains.payments.records import TRANSACTIONS
from sim.domains.payments.report import write_report
from sim.domains.payments.scenario import PaymentsScenario
from sim.domains.payments.sharding import HostPlan, host_shards, run_host, shard_cells
from sim.domains.payments.tally import ReportTally
from sim.errors import SimError
from sim.exchange import LOOPBACK
from sim.mailbox import Mailbox


@dataclass(frozen=True)
class AccountsSummary:
    """What the report reads of the accounts: their number and the merchant categories' names."""

    n: int
    category_names: list[str]


class DriverWorld:
    """A sharded run's world on the driver: `step` follows the hosts (and returns no rows); the tallies,
    totals and end-of-run files are the hosts', folded in by `ShardedRun.finish`."""

    schema = TRANSACTIONS
    figure_names = STEP_FIGURES

    def __init__(self, scenario: PaymentsScenario, scale: float):
        self.scenario, self.scale = scenario, scale
        h = scenario.horizon
        self.start_us, self.step_us = h.start_us, h.step_us
        customers = scenario.populations[first(scenario.populations, Customers)]
        self.cells = len(cell_bounds(scaled(customers.count, scale))) - 1
        self.tally = HourlyTally(self.step_us)
        self.report_tally: ReportTally | None = None  # the hosts' (their sizes are theirs to know)
        self.accounts: AccountsSummary | None = None
        self.totals: dict = {}
        self.sharded: ShardedRun | None = None
        self.occurrences: list = []  # the calendar's events seen, for the report

    def shard(self, backend: Backend, shards: int, parts: Parts, tables: frozenset[str]) -> ShardedRun:
        """Start `shards` shards of whole cells on `backend`'s workers; they write the `tables` asked for
        (the transactions as part files where `parts` says; accounts and patterns beside them)."""
        self.sharded = ShardedRun(self, backend, shards, parts, tables)
        return self.sharded

    def step(self, k: int, timeline) -> pa.RecordBatch:
        self.occurrences += [o for o in timeline.active if o not in self.occurrences]
        self.sharded.wait(k + 1)
        return _empty(self.schema)

    def figures(self) -> dict[str, float]:
        return dict.fromkeys(self.figure_names, 0.0)  # the hosts keep theirs

    def fold(self, results: list[dict]) -> None:
        """The hosts' results, as if this world had run the steps itself (exact: see `sums`)."""
        self.report_tally = results[0]["report_tally"]
        for result in results:
            self.tally.merge(result["tally"])
            if result is not results[0]:
                self.report_tally.merge(result["report_tally"])
        self.totals = results[0]["totals"]
        self.accounts = AccountsSummary(*results[0]["accounts"])

    def tables(self) -> dict:
        return {}  # the first host writes them (`ShardedRun.files`)

    def kpis(self, scale: float) -> dict:
        return payments_kpis(self, self.totals, scale)

    @property
    def start_hour(self) -> int:
        return self.scenario.horizon.start.hour

    def statistic_names(self) -> list[str]:
        return list(statistics.NAMES)

    def statistic(self, name: str, scale: float):
        return statistics.statistic(self.tally, name, scale)

    def report(self, path: Path, kpis: dict) -> dict[str, str]:
        return write_report(path, self.scenario, self, kpis)

    def close(self) -> None:
        pass


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


class ShardedRun:
    """The driver's side of a sharded run: it starts one host per worker, follows their progress, and at
    the end folds their results into the driver's world (`finish`). For the runner it stands where a
    table's writer stands (`write`, `close`, `abort`, `path`, `parts`), though the rows never reach it;
    `files` are the end-of-run tables the first host wrote."""

    def __init__(self, world: DriverWorld, backend: Backend, shards: int, parts: Parts,
                 tables: frozenset[str]):  # fmt: skip
        self.world, self.parts_spec = world, parts
        groups = shard_cells(world.cells, shards, world.scenario.name)
        hosts = min(backend.workers, shards)
        if parts.store is not None:  # the hosts may be on other machines
            root = f"{parts.store}/_exchange"
        else:  # inside the unpublished run: a killed run leaves nothing elsewhere
            root = str(parts.directory.parent / ".exchange")
        self.mail = Mailbox(root)
        self.hosts = hosts
        self.writes_rows = parts.directory.name in tables  # the table of record's folder
        if self.writes_rows:
            parts.directory.mkdir()
        interface = "" if backend.scheduler else LOOPBACK  # a cluster's hosts reach one another's machines
        plans = [HostPlan(i, hosts, tuple(groups), shards_i, root, interface)
                 for i, shards_i in enumerate(host_shards(shards, hosts))]  # fmt: skip
        self.futures = backend.submit_together(
            run_host, [(world.scenario, world.scale, plan, parts, tables) for plan in plans]
        )
        self.path = parts.directory if self.writes_rows else None
        self.written_schema = world.schema
        self.parts: list[dict] = []
        self.files: dict[str, dict] = {}
        self.rows = 0
        self.done = False
        self.progress = [0] * hosts  # steps each host has done, as it last said

    def wait(self, steps: int) -> None:
        """Until every host has done `steps` steps (a failed host's error is raised here)."""
        pause = 0.25 if self.mail.remote else 0.1  # the hosts say where they are every 0.25 s
        while min(self.progress) < steps:
            for future in self.futures:
                if future.done() and future.exception() is not None:
                    raise self._failed(future.exception()) from future.exception()
            time.sleep(pause)
            self.progress = [self.mail.peek(f"progress-{i}") or 0 for i in range(self.hosts)]

    def _failed(self, exc: BaseException) -> SimError:
        """A host's failure as the run's error, the other hosts told to stop."""
        self.mail.abort("another host failed")
        return SimError(f"a host of the sharded run failed: {exc}")

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            raise AssertionError("a sharded run's rows are written by its hosts")

    def finish(self) -> None:
        """Wait for the hosts and fold their results into the world (idempotent)."""
        if self.done:
            return
        results = []
        for future in self.futures:
            try:
                results.append(future.result())
            except Exception as exc:  # a worker lost (BrokenProcessPool, KilledWorker), a host's error
                raise self._failed(exc) from exc
        self.world.fold(results)
        self.files = results[0]["files"]
        self.parts = sorted((p for r in results for p in r["parts"]), key=lambda p: p["path"])
        self.rows = sum(p["rows"] for p in self.parts)
        if self.writes_rows and not self.parts:  # an empty table still has one (empty) part
            self.parts = [empty_part(self.parts_spec, self.world.schema)]
        self.mail.clear()
        self.done = True

    def close(self) -> int:
        self.finish()
        return self.rows

    def abort(self) -> None:
        self.mail.abort("the run was stopped")
        for future in self.futures:
            future.cancel()
        self.mail.clear()
