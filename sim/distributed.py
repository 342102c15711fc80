"""Work on a local process pool or a Dask cluster, and tables written by it as partitioned datasets.

A `Backend` runs plain, picklable functions on worker processes and hands back futures; the same code
runs on `local` (a process pool on this machine, nothing extra to install) or `dask` (a `LocalCluster`,
or the cluster whose scheduler address is given). What runs where never changes a result: work is cut
into pieces that depend only on the scenario and seed, and results are put together in a fixed order.

A `PartitionedWriter` writes a table as Parquet part files on the workers, each row to the part of the
shard an `owner(batch)` function names. What a shard is belongs to the world that declares itself
`Shardable` (`sim.engine.world`); this module knows no domain.
"""

from __future__ import annotations

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


def write_part_to_store(uri: str, relative: str, table: pa.Table, compression: str,
                        batch_rows: int) -> tuple[int, int, str]:  # fmt: skip
    """One part file written on the worker and uploaded by it to the store at `uri` (runs on a worker)."""
    return upload_part(uri, relative, lambda tmp: write_part(tmp, table, compression, batch_rows))


class PartitionedWriter:
    """A table as a Parquet dataset: `<directory>/part-<shard>-<sequence>.parquet`, each shard's rows (by
    `owner(batch)`, each row's shard) in the order written, written by the backend's workers (to the
    store at `store`, a URI, when the run goes to object storage: the parts never pass through here).
    pandas, DuckDB and Polars read the directory as one table."""

    def __init__(self, backend: Backend, directory: Path, schema: pa.Schema,
                 owner: Callable[[pa.RecordBatch], np.ndarray], shards: int, part_rows: int, batch_rows: int,
                 compression: str, store: str | None = None):  # fmt: skip
        self.backend, self.path, self.schema, self.store = backend, directory, schema, store
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
        shard = self.owner(batch)
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
        if self.store is not None:
            future = self.backend.submit(write_part_to_store, self.store, f"{self.path.name}/{name}", table,
                                         self.compression, self.batch_rows)  # fmt: skip
        else:
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
