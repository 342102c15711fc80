"""The payments tables' schemas, and PaySim1's CSV view of the transactions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.records import CATEGORY, TIMESTAMP

TRANSACTIONS = pa.schema(
    [
        ("step", pa.int32()),
        ("timestamp", TIMESTAMP),
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
        ("start", TIMESTAMP),
    ]
)

# PaySim1 (Kaggle) columns, in order, so PaySim notebooks run unchanged on our output
PAYSIM_COLUMNS = [
    "step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest", "oldbalanceDest",
    "newbalanceDest", "isFraud", "isFlaggedFraud",
]  # fmt: skip
PAYSIM_FLAG_LIMIT = 200_000.0
"""PaySim1: 'an illegal attempt ... is an attempt to transfer more than 200.000 in a single transaction'."""


def money(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Amounts as text with exactly two decimals ("-107908.02", "170136.00"): balances summed in
    floating point carry noise (-107908.01999999999) that PaySim's cents never show."""
    cents = np.round(np.asarray(values, dtype=np.float64) * 100.0)
    whole, part = np.divmod(np.abs(cents).astype(np.int64), 100)
    sign = np.where(cents < 0, "-", "")
    text = pc.binary_join_element_wise(
        pa.array(sign), pc.cast(pa.array(whole), pa.string()), pa.scalar("."),
        pc.utf8_lpad(pc.cast(pa.array(part), pa.string()), 2, "0"), "",
    )  # fmt: skip
    return text


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
        money(amount),
        name("origin"),
        money(batch.column("origin_balance_before")),
        money(batch.column("origin_balance_after")),
        name("dest"),
        money(batch.column("dest_balance_before")),
        money(batch.column("dest_balance_after")),
        pc.cast(batch.column("is_fraud"), pa.int8()),
        pc.cast(flagged, pa.int8()),
    ]
    return pa.table(columns, names=PAYSIM_COLUMNS)
