"""A payments run's KPIs (`kpis.json`), from its tallies and totals: one function, so a run settled by
one process and one settled by hosts (whose driver holds no accounts) report the same figures."""

from __future__ import annotations

from sim.domains.payments.fit import HOUR_US, paysim_fit
from sim.domains.payments.scenario import AML_TYPOLOGIES, FRAUD_TYPES

STEP_FIGURES = ("transactions", "declined", "fraud", "laundering", "amount_settled")  # each step's, for Mesa


def payments_kpis(world, totals: dict, scale: float) -> dict:
    """The KPIs of a run from its tallies (`world.report_tally`, `world.tally`) and `totals` (see
    `PaymentsWorld.totals`): the same figures whether one process ran it or hosts did."""
    tally = world.report_tally
    n, declined = int(tally.rows.sum()), int(tally.declined_by_type.sum())
    fraud_rows, laundering_rows = tally.fraud.sum(axis=0), tally.laundering.sum(axis=0)
    out = {
        "transactions": n,
        "declined": declined,
        "fraud": {
            "transactions": int(fraud_rows.sum()),
            "rate": float(fraud_rows.sum() / n) if n else 0.0,
            "by_type": {t: int(c) for t, c in zip(FRAUD_TYPES, fraud_rows, strict=True) if c},
        },
        "laundering": {
            "transactions": int(laundering_rows.sum()),
            "by_typology": {t: int(c) for t, c in zip(AML_TYPOLOGIES, laundering_rows, strict=True) if c},
        },
        "patterns": totals["patterns"],
        "money": totals["money"],
    }
    if world.step_us <= HOUR_US:
        out["paysim_fit"] = paysim_fit(world.tally, world.start_hour, scale)
    return out
