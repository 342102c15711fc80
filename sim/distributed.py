"""Work on a local process pool or a Dask cluster, and tables written by it as partitioned datasets.

A `Backend` runs plain, picklable functions on worker processes and hands back futures; the same code
runs on `local` (a process pool on this machine, nothing extra to install) or `dask` (a `LocalCluster`,
or the cluster whose scheduler address is given). What runs where never changes a result: work is cut
into pieces that depend only on the scenario and seed, and results are put together in a fixed order.

A `PartWriter` writes a table as Parquet part files (`Parts` says where), each row to the part of the
shard a `shard_of_row(batch)` function names (tasks that run at once talk through `sim.exchange`).
What a shard is belongs to the world that declares itself `Shardable` (`sim.engine.world`); this module
knows no domain.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.errors import InputError, SimError
from sim.outputs import sha256_of
from sim.records import TableWriter
from sim.storage import upload_part

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
                import dask

                # Dask's nannies give workers MALLOC_TRIM_THRESHOLD_=65536, so glibc hands freed memory
                # back at once and maps it again for the next step's arrays: a sharded run's hosts spent
                # half as much CPU again on it. Each worker's statistical profiler samples the running
                # task's stack every 10 ms, holding the GIL: a sharded run cost about 15 % more CPU with
                # it. A cluster started elsewhere keeps its own settings (the README says which).
                quiet = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                         "distributed.worker.profile.enabled": False}  # fmt: skip
                with dask.config.set(quiet):
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

    def submit_together(self, fn: Callable, items: list[tuple]) -> list:
        """`fn(*item)` for each item, all running at once, each on a worker of its own (tasks that wait on
        one another, such as the hosts of a sharded run, need this): at most `workers` items."""
        if len(items) > self.workers:
            raise InputError(f"{len(items)} tasks must run at once on {self.workers} worker(s)")
        if self._pool is not None:
            return [self._pool.submit(fn, *item) for item in items]
        addresses = sorted(self._client.scheduler_info()["workers"])
        return [self._client.submit(fn, *item, pure=False, workers=[address], allow_other_workers=False)
                for item, address in zip(items, addresses, strict=False)]  # fmt: skip

    def map_ordered(self, fn: Callable, items: list, window: int | None = None, batch: int | None = None):
        """Yield `fn(*item)` for each item, in order, with at most `window` tasks in flight. Items go to
        the workers `batch` at a time (by default enough for about four tasks per worker, at most
        `MAX_BATCH`): a task's round trip and the pickling of its arguments (a scenario shared by the
        batch's items is pickled once) are paid per batch, not per item, so short replicates are not
        dominated by them."""
        items = list(items)
        window = window or 2 * self.workers
        if batch is None:
            batch = min(MAX_BATCH, max(1, len(items) // (4 * self.workers)))
        pending: deque = deque()
        for start in range(0, len(items), batch):
            pending.append(self.submit(_each, fn, items[start : start + batch]))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()

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


MAX_BATCH = 32  # items per task at most: a killed sweep loses no more than a window of these


def _each(fn: Callable, items: list) -> list:
    """A batch's results, in order (runs on a worker)."""
    return [fn(*item) for item in items]


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL leaves no time to stop the pool) exits within a second,
    instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# --- a partitioned Parquet dataset --------------------------------------------------------------------


def write_part(
    path: str, table: pa.RecordBatchReader, compression: str, batch_rows: int
) -> tuple[int, int, str]:
    """One part file, written beside its final name and renamed (runs on a worker): rows, bytes, sha256."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.tmp")
    writer = TableWriter(tmp, table.schema, "parquet", batch_rows, compression)
    for batch in table:  # as the runner writes a table: the same bytes either way
        writer.write(batch)
    rows = writer.close()
    tmp.replace(final)
    return rows, final.stat().st_size, sha256_of(final)


def write_part_to_store(uri: str, relative: str, table: pa.RecordBatchReader, compression: str,
                        batch_rows: int) -> tuple[int, int, str]:  # fmt: skip
    """One part file written on the worker and uploaded by it to the store at `uri` (runs on a worker)."""
    return upload_part(uri, relative, lambda tmp: write_part(tmp, table, compression, batch_rows))


@dataclass(frozen=True)
class Parts:
    """Where and how a sharded run's table is written: part files under `directory` (on the store at
    `store`, a URI, when the run goes to object storage)."""

    directory: Path
    store: str | None
    part_rows: int
    batch_rows: int
    compression: str


class PartWriter:
    """A host's rows as its shards' part files (`part-<shard>-<sequence>.parquet`), written on a thread
    of the host (Parquet encoding releases the GIL) while it settles the next steps."""

    def __init__(self, parts: Parts, schema: pa.Schema, shards: range, shard_of_row):
        self.parts, self.schema, self.shards, self.shard_of_row = parts, schema, shards, shard_of_row
        self.buffers = {s: [] for s in shards}
        self.buffered = dict.fromkeys(shards, 0)
        self.sequence = dict.fromkeys(shards, 0)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parts")
        self.inflight: list = []
        self.written: list[dict] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        shard = self.shard_of_row(batch)
        grouped = bool(np.all(shard[1:] >= shard[:-1]))  # rows already by shard: slices, no copies
        for s in self.shards:
            if grouped:
                lo, hi = np.searchsorted(shard, [s, s + 1])
                part, n = batch.slice(lo, hi - lo), hi - lo
            else:
                rows = np.flatnonzero(shard == s)
                part, n = batch.take(pa.array(rows)) if len(rows) < batch.num_rows else batch, len(rows)
            if n:
                self.buffers[s].append(part)
                self.buffered[s] += n
                if self.buffered[s] >= self.parts.part_rows:
                    self._flush(s)

    def _flush(self, s: int) -> None:
        table = pa.Table.from_batches(self.buffers[s], self.schema)
        self.buffers[s], self.buffered[s] = [], 0
        name = f"part-{s:03d}-{self.sequence[s]:05d}.parquet"
        self.sequence[s] += 1
        relative = f"{self.parts.directory.name}/{name}"
        self.inflight.append(
            (name, self.pool.submit(write_table_file, self.parts, relative, table.to_reader()))
        )
        while len(self.inflight) > 2:  # bounded memory: wait for the oldest part
            self._collect()

    def _collect(self) -> None:
        _, future = self.inflight.pop(0)
        self.written.append(_part_entry(future.result()))

    def close(self) -> list[dict]:
        for s in self.shards:
            if self.buffered[s]:
                self._flush(s)
        while self.inflight:
            self._collect()
        self.pool.shutdown()
        return self.written


def write_table_file(parts: Parts, relative: str, table: pa.RecordBatchReader) -> dict:
    """One Parquet file of the run (a part, or a whole end-of-run table, in batches), `relative` to the
    run's root, written to its folder or its store by the worker that holds the rows: its manifest entry."""
    if parts.store is not None:
        rows, size, digest = write_part_to_store(parts.store, relative, table, parts.compression,
                                                 parts.batch_rows)  # fmt: skip
    else:
        rows, size, digest = write_part(str(parts.directory.parent / relative), table, parts.compression,
                                        parts.batch_rows)  # fmt: skip
    return {"path": relative, "rows": rows, "bytes": size, "sha256": digest,
            "columns": {f.name: str(f.type) for f in table.schema}}  # fmt: skip


def empty_part(parts: Parts, schema: pa.Schema) -> dict:
    """The one part of a table with no rows."""
    relative = f"{parts.directory.name}/part-000-00000.parquet"
    return _part_entry(write_table_file(parts, relative, schema.empty_table().to_reader()))


def _part_entry(entry: dict) -> dict:
    """A part's manifest entry (its columns are the dataset's)."""
    return {name: value for name, value in entry.items() if name != "columns"}
