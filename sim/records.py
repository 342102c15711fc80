"""Declared output schemas and the streaming writer that turns record batches into Parquet or CSV.

Batches are buffered to `batch_rows` and written by a background thread, so compression overlaps the
simulation while memory stays bounded (at most two pending chunks). Row-group boundaries depend only on
the data, so the same run gives the same bytes.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.errors import SimError

CATEGORY = pa.dictionary(pa.int8(), pa.string())  # few distinct strings: small, fast, categorical

TRANSACTIONS = pa.schema(
    [
        ("step", pa.int32()),
        ("timestamp", pa.timestamp("us")),
        ("type", CATEGORY),
        ("amount", pa.float64()),
        ("origin", pa.int64()),
        ("dest", pa.int64()),
        ("origin_balance_before", pa.float64()),
        ("origin_balance_after", pa.float64()),
        ("dest_balance_before", pa.float64()),
        ("dest_balance_after", pa.float64()),
        ("declined", pa.bool_()),
        ("is_fraud", pa.bool_()),
        ("fraud_type", CATEGORY),
        ("campaign_id", pa.int64()),
    ]
)

ACCOUNTS = pa.schema(
    [
        ("account", pa.int64()),
        ("population", pa.string()),
        ("role", pa.string()),
        ("opening_balance", pa.float64()),
        ("overdraft_limit", pa.float64()),
        ("closing_balance", pa.float64()),
        ("transactions_per_day", pa.float64()),
    ]
)

EVENTS = pa.schema(
    [
        ("event", pa.string()),
        ("kind", pa.string()),
        ("campaign_id", pa.int64()),
        ("start_step", pa.int32()),
        ("end_step", pa.int32()),
        ("start", pa.timestamp("us")),
        ("end", pa.timestamp("us")),
        ("population", pa.string()),
        ("intensity", pa.float64()),
    ]
)

SCHEMAS = {"transactions": TRANSACTIONS, "accounts": ACCOUNTS, "events": EVENTS}
EXTENSIONS = {"parquet": ".parquet", "csv": ".csv"}


class TableWriter:
    """Streams one logical table to a file; `close()` returns the row count."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, batch_rows: int):
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(
                path, schema, compression="zstd", write_statistics=True, use_dictionary=True
            )
        elif fmt == "csv":
            self._writer = pacsv.CSVWriter(path, schema)
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
                    if isinstance(self._writer, pq.ParquetWriter):  # one row group per chunk
                        self._writer.write_table(table, row_group_size=table.num_rows)
                    else:
                        self._writer.write_table(table)
                except BaseException as exc:  # surfaced to the simulating thread on the next write
                    self._error = exc

    def close(self) -> int:
        self._flush()
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if self._error:
            raise SimError(f"writing {self.path.name} failed: {self._error}") from self._error
        return self.rows
