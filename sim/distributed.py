"""Shards and sweeps on a local process pool or a Dask cluster.

A `Backend` runs plain, picklable functions on worker processes and hands back futures; the same code
runs on `local` (a process pool on this machine, nothing extra to install) or `dask` (a `LocalCluster`,
or the cluster whose scheduler address is given). What runs where never changes a result: work is cut
into pieces that depend only on the scenario and seed, and results are put together in a fixed order.

A sharded payments run keeps one coordinator (the fraud and laundering agenda, settlement in time order,
the ledger) and farms out the heavy, balance-independent work: drawing customers' transactions (each
shard draws whole customer cells, see `sim.domains.payments.activity`) and encoding and writing Parquet
(each shard's rows, by the payer's cell, go to its own part files). Transfers between shards are settled
by the coordinator in the single time order of the whole world, so money is conserved exactly and every
row is what an unsharded run writes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.domains.payments.accounts import ID_BASE
from sim.domains.payments.activity import CELL_CUSTOMERS, merge_in_time
from sim.errors import InputError, SimError
from sim.outputs import sha256_of
from sim.records import TableWriter

BACKENDS = ("local", "dask")


class Backend:
    """Workers for picklable functions: `submit(fn, *args)` returns a future with `.result()`."""

    def __init__(self, kind: str = "local", workers: int = 1, scheduler: str | None = None):
        if kind not in BACKENDS:
            raise InputError(f"unknown backend {kind!r} (expected one of {', '.join(BACKENDS)})")
        if workers < 1:
            raise InputError("--workers must be at least 1")
        if scheduler and kind != "dask":
            raise InputError("--scheduler needs --backend dask")
        self.kind, self.workers, self.scheduler = kind, workers, scheduler
        self._cluster = self._client = self._pool = None
        if kind == "local":
            context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
            return
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise InputError(
                '--backend dask needs Dask: pip install -e ".[distributed]" (or dask[distributed])'
            ) from exc
        try:
            if scheduler:
                self._client = Client(scheduler, timeout="30s")
                self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
            else:
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None)  # fmt: skip
                self._client = Client(self._cluster)
        except OSError as exc:
            raise SimError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc

    def submit(self, fn: Callable, *args):
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        # data (a part's rows) goes straight to a worker, not through the scheduler's task graph
        args = [self._client.scatter(a, direct=True) if isinstance(a, pa.Table) else a for a in args]
        return self._client.submit(fn, *args, pure=False)

    def map_ordered(self, fn: Callable, items: list, window: int | None = None):
        """Yield `fn(*item)` for each item, in order, with at most `window` pieces in flight."""
        window = window or 2 * self.workers
        pending: deque = deque()
        items = iter(items)
        for item in items:
            pending.append(self.submit(fn, *item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL leaves no time to stop the pool) exits within a second,
    instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# --- shards of a payments world ---------------------------------------------------------------------


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


def shard_of_accounts(accounts, bounds: np.ndarray, groups: list[range]) -> np.ndarray:
    """The shard owning each account, indexed by public position: a customer's is its cell's; every
    other account (merchants, banks, mules) is spread round-robin."""
    owner = np.arange(accounts.n, dtype=np.int16) % len(groups)
    c = accounts.customers
    for shard, cells in enumerate(groups):
        owner[c.start + bounds[cells.start] : c.start + bounds[cells.stop]] = shard
    by_public = np.empty_like(owner)
    by_public[accounts.public] = owner
    return by_public


_ACTIVITY: dict = {}
_ACTIVITY_LOCK = threading.Lock()


def _activity(scenario, scale: float):
    """The customers' activity arrays, built once per worker process from the scenario and seed (the
    same arrays on every worker, because they are a function of the seed alone)."""
    from sim.domains.payments.accounts import build_accounts
    from sim.domains.payments.activity import Activity
    from sim.rng import Streams

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


# --- a partitioned Parquet dataset --------------------------------------------------------------------


def write_part(path: str, table: pa.Table, compression: str, batch_rows: int) -> tuple[int, int, str]:
    """One part file, written beside its final name and renamed (runs on a worker): rows, bytes, sha256."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.tmp")
    writer = TableWriter(tmp, table.schema, "parquet", batch_rows, compression)
    for batch in table.to_batches(max_chunksize=batch_rows):
        writer.write(batch)
    rows = writer.close()
    tmp.replace(final)
    return rows, final.stat().st_size, sha256_of(final)


class PartitionedWriter:
    """A table as a Parquet dataset: `<directory>/part-<shard>-<sequence>.parquet`, each shard's rows (by
    the payer's shard) in time order, written by the backend's workers. pandas, DuckDB and Polars read the
    directory as one table."""

    def __init__(self, backend: Backend, directory: Path, schema: pa.Schema, owner: np.ndarray, shards: int,
                 part_rows: int, batch_rows: int, compression: str):  # fmt: skip
        self.backend, self.path, self.schema = backend, directory, schema
        self.written_schema = schema
        self.owner, self.shards = owner, shards
        self.part_rows, self.batch_rows, self.compression = part_rows, batch_rows, compression
        self.path.mkdir()
        self.buffers: list[list[pa.RecordBatch]] = [[] for _ in range(shards)]
        self.buffered = [0] * shards
        self.sequence = [0] * shards
        self.inflight: deque = deque()
        self.parts: list[dict] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.rows += batch.num_rows
        shard = self.owner[batch.column("origin").to_numpy() - ID_BASE]
        for s in range(self.shards):
            rows = np.flatnonzero(shard == s)
            if len(rows):
                self.buffers[s].append(batch.take(pa.array(rows)) if len(rows) < batch.num_rows else batch)
                self.buffered[s] += len(rows)
                if self.buffered[s] >= self.part_rows:
                    self._flush(s)

    def _flush(self, s: int) -> None:
        table = pa.Table.from_batches(self.buffers[s], self.schema)
        name = f"part-{s:03d}-{self.sequence[s]:05d}.parquet"
        self.sequence[s] += 1
        self.buffers[s], self.buffered[s] = [], 0
        future = self.backend.submit(
            write_part, str(self.path / name), table, self.compression, self.batch_rows
        )
        self.inflight.append((name, future))
        while len(self.inflight) > 2 * self.backend.workers:  # bounded memory: wait for the oldest part
            self._collect()

    def _collect(self) -> None:
        name, future = self.inflight.popleft()
        try:
            rows, size, digest = future.result()
        except OSError as exc:
            raise SimError(f"writing {self.path.name}/{name} failed: {exc}") from exc
        self.parts.append({"path": f"{self.path.name}/{name}", "rows": rows, "bytes": size, "sha256": digest})

    def close(self) -> int:
        for s in range(self.shards):
            if self.buffered[s] or (s == 0 and not self.rows):  # an empty table still has one (empty) part
                self._flush(s)
        while self.inflight:
            self._collect()
        self.parts.sort(key=lambda part: part["path"])
        return self.rows

    def abort(self) -> None:
        for _, future in self.inflight:
            future.cancel()
        self.inflight.clear()
