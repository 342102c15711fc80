"""Declared output schemas and the streaming writer that turns record batches into Parquet or CSV.

Batches are buffered to `batch_rows` and written by a background thread, so compression overlaps the
simulation while memory stays bounded (at most two pending chunks). Row-group boundaries depend only on
the data, so the same run gives the same bytes.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.errors import SimError

CATEGORY = pa.dictionary(pa.int8(), pa.string())  # few distinct strings: small, fast, categorical
NAME = pa.dictionary(pa.int32(), pa.string())  # names that may be many (supply nodes)

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
        ("is_laundering", pa.bool_()),
        ("typology", CATEGORY),
        ("pattern_id", pa.int64()),
        ("category", CATEGORY),
    ]
)

PATTERNS = pa.schema(
    [
        ("pattern_id", pa.int64()),
        ("kind", pa.string()),
        ("typology", pa.string()),
        ("account", pa.int64()),
        ("member_role", pa.string()),
        ("campaign_id", pa.int64()),
        ("start", pa.timestamp("us")),
    ]
)

TIMESERIES = pa.schema(
    [
        ("t", pa.int32()),
        ("date", pa.timestamp("us")),
        ("node", NAME),
        ("product", NAME),
        ("demand", pa.float64()),
        ("orders_placed", pa.float64()),
        ("orders_received", pa.float64()),
        ("shipped", pa.float64()),
        ("received", pa.float64()),
        ("inventory", pa.float64()),
        ("backlog", pa.float64()),
        ("in_transit", pa.float64()),
        ("lost", pa.float64()),
        ("cost", pa.float64()),
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
        ("target", pa.string()),
        ("intensity", pa.float64()),
        ("source", pa.string()),  # flows: who sends (an order's placer is `target`'s customer)
        ("quantity", pa.float64()),  # flows: units ordered or shipped
    ]
)

# PaySim1 (Kaggle) columns, in order, so PaySim notebooks run unchanged on our output
PAYSIM_COLUMNS = [
    "step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest", "oldbalanceDest",
    "newbalanceDest", "isFraud", "isFlaggedFraud",
]  # fmt: skip
PAYSIM_FLAG_LIMIT = 200_000.0
"""PaySim1: 'an illegal attempt ... is an attempt to transfer more than 200.000 in a single transaction'."""
EXTENSIONS = {"parquet": ".parquet", "csv": ".csv", "paysim-csv": ".csv"}


def paysim_view(batch: pa.RecordBatch | pa.Table, is_merchant) -> pa.Table:
    """Transactions as PaySim1's 11 columns. Steps count from 1 as in PaySim; names are 'M' + id for
    merchants (`is_merchant(ids)`) and 'C' + id for everyone else (mules included: no role leaks)."""
    kind = pc.cast(batch.column("type"), pa.string())
    amount = batch.column("amount")
    flagged = pc.and_(
        pc.and_(batch.column("is_fraud"), pc.equal(kind, "TRANSFER")), pc.greater(amount, PAYSIM_FLAG_LIMIT)
    )

    def name(column: str) -> pa.Array:
        ids = batch.column(column)
        prefix = np.where(is_merchant(np.asarray(ids)), "M", "C")
        return pc.binary_join_element_wise(pa.array(prefix), pc.cast(ids, pa.string()), "")

    columns = [
        pc.add(batch.column("step"), 1),
        kind,
        amount,
        name("origin"),
        batch.column("origin_balance_before"),
        batch.column("origin_balance_after"),
        name("dest"),
        batch.column("dest_balance_before"),
        batch.column("dest_balance_after"),
        pc.cast(batch.column("is_fraud"), pa.int8()),
        pc.cast(flagged, pa.int8()),
    ]
    return pa.table(columns, names=PAYSIM_COLUMNS)


class TableWriter:
    """Streams one logical table to a file; `close()` returns the row count."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, batch_rows: int, compression: str = "zstd",
                 view=None):  # fmt: skip
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows = 0
        self._view = view  # turns each buffered table into the written one (PaySim's columns)
        self.written_schema = schema if view is None else view(schema.empty_table()).schema
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, schema, **parquet_options(schema, compression))
        elif fmt in ("csv", "paysim-csv"):
            self._writer = pacsv.CSVWriter(path, self.written_schema)
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
                        self._writer.write_table(table if self._view is None else self._view(table))
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


def parquet_options(schema: pa.Schema, compression: str = "zstd") -> dict:
    """How every Parquet file is written: dictionary pages only for categorical columns, and floats
    byte-stream-split (balances and amounts compress better and write ~25 % faster that way)."""
    return {
        "compression": compression,
        "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)],
        "use_byte_stream_split": [f.name for f in schema if pa.types.is_floating(f.type)] or False,
        "write_statistics": True,
    }
