"""The supply table's schema: a row per node, product and step."""

from __future__ import annotations

import pyarrow as pa

from sim.records import NAME, TIMESTAMP

TIMESERIES = pa.schema(
    [
        ("t", pa.int32()),
        ("date", TIMESTAMP),
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
        ("lost_sales", pa.float64()),
        ("cost", pa.float64()),
    ]
)
