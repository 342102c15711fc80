"""The streaming writer that turns record batches into Parquet or CSV, the `events` table's schema, and
record batches built by column name. Each domain declares its own tables' schemas.

Batches are buffered to `batch_rows` and written by a background thread, so compression overlaps the
simulation while memory stays bounded (at most two pending chunks). Row-group boundaries depend only on
the data, so the same run gives the same bytes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.errors import SimError

TIMESTAMP = pa.timestamp("us", tz="UTC")  # microseconds, in UTC (a naive scenario date is UTC)
CATEGORY = pa.dictionary(pa.int8(), pa.string())  # few distinct strings: small, fast, categorical
NAME = pa.dictionary(pa.int32(), pa.string())  # names that may be many (supply nodes)
EXTENSIONS = {"parquet": ".parquet", "csv": ".csv"}

EVENTS = pa.schema(
    [
        ("event", pa.string()),
        ("kind", pa.string()),
        ("campaign_id", pa.int64()),
        ("start_step", pa.int32()),
        ("end_step", pa.int32()),
        ("start", TIMESTAMP),
        ("end", TIMESTAMP),
        ("target", pa.string()),
        ("intensity", pa.float64()),
        ("source", pa.string()),  # flows: who sends (an order's placer is `target`'s customer)
        ("quantity", pa.float64()),  # flows: units ordered or shipped
    ]
)


END_BATCH_ROWS = 1 << 17  # rows of an end-of-run table made at a time (10-20 MB)


def record_batch(schema: pa.Schema, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    """A record batch from columns given by name (any order), in the schema's order; a missing or unknown
    column is an error that names it."""
    missing, unknown = set(schema.names) - set(columns), set(columns) - set(schema.names)
    if missing or unknown:
        raise ValueError(
            f"columns do not match the schema: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


class TableWriter:
    """Streams one logical table to a file; `close()` returns the row count."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, batch_rows: int, compression: str = "zstd",
                 view=None, quoted: bool = True):  # fmt: skip
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows = 0
        self._view = view  # turns each buffered table into the written one (PaySim's columns)
        self.written_schema = written = schema if view is None else view(schema.empty_table()).schema
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, written, **parquet_options(written, compression))
        elif fmt == "csv":
            quoting = "needed" if quoted else "none"  # "none" fails on a value that would need quotes
            options = pacsv.WriteOptions(quoting_style=quoting, quoting_header=quoting)
            self._writer = pacsv.CSVWriter(path, written, write_options=options)
        else:
            raise SimError(f"unknown output format {fmt!r}")
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=f"write-{path.name}", daemon=True)
        self._thread.start()

    def write(self, batch: pa.RecordBatch) -> None:
        if self._error:
            raise SimError(f"writing {self.path.name} failed: {self._error}") from self._error
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._queue.put(pa.Table.from_batches(self._pending, self.schema))
            self._pending, self._pending_rows = [], 0

    def _drain(self) -> None:
        while (table := self._queue.get()) is not None:
            if self._error is None:
                try:
                    table = table if self._view is None else self._view(table)
                    if isinstance(self._writer, pq.ParquetWriter):  # one row group per chunk
                        self._writer.write_table(table, row_group_size=table.num_rows)
                    else:
                        self._writer.write_table(table)
                except BaseException as exc:  # surfaced to the simulating thread on the next write
                    self._error = exc

    def abort(self) -> None:
        """After a failure: drop what is buffered, stop the thread and close the file, so a long-lived
        process keeps neither (its directory is removed by the caller)."""
        self._pending, self._pending_rows = [], 0
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        with contextlib.suppress(Exception):  # closed already, or the failure was the file's own
            self._writer.close()

    def close(self) -> int:
        self._flush()
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if self._error:
            raise SimError(f"writing {self.path.name} failed: {self._error}") from self._error
        return self.rows


def parquet_options(schema: pa.Schema, compression: str = "zstd") -> dict:
    """How every Parquet file is written: dictionary pages only for categorical columns, and floats
    byte-stream-split (balances and amounts compress better and write ~25 % faster that way)."""
    return {
        "compression": compression,
        "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)],
        "use_byte_stream_split": [f.name for f in schema if pa.types.is_floating(f.type)] or False,
        "write_statistics": True,
    }
