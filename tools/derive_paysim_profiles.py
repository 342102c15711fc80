"""Derive the payments defaults shipped in sim/domains/payments/data/ from PaySim's real aggregates.

Usage: python tools/derive_paysim_profiles.py ../shared/reference/paysim/aggregatedTransactions.csv
Source: PaySim 2.0 paramFiles/aggregatedTransactions.csv (EdgarLopezPhD/PaySim, commit d1feae8), one month
of real mobile-money aggregates (24,576,685 transactions). Only derived figures are written, never a copy.
"""

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "sim" / "domains" / "payments" / "data"
HEADER = (
    "# Derived by tools/derive_paysim_profiles.py from PaySim 2.0 paramFiles/aggregatedTransactions.csv\n"
    "# (EdgarLopezPhD/PaySim commit d1feae8; real aggregated mobile-money month, 24,576,685 transactions)\n"
)


def main(path: str) -> None:
    agg = pd.read_csv(path)
    agg["sumsq"] = (agg["count"] - 1).clip(lower=0) * agg["std"] ** 2 + agg["count"] * agg["avg"] ** 2
    by_type = agg.groupby("action").agg(count=("count", "sum"), total=("sum", "sum"), sumsq=("sumsq", "sum"))
    by_type["share"] = by_type["count"] / by_type["count"].sum()
    by_type["mean_amount"] = by_type["total"] / by_type["count"]
    var = (by_type["sumsq"] - by_type["count"] * by_type["mean_amount"] ** 2) / (by_type["count"] - 1)
    by_type["std_amount"] = var**0.5
    types = by_type[["count", "share", "mean_amount", "std_amount"]].reset_index(names="type")
    hourly = agg.groupby("hour")["count"].sum().reindex(range(24), fill_value=0)
    hours = pd.DataFrame({"hour": range(24), "share": (hourly / hourly.sum()).to_numpy()})
    OUT.mkdir(parents=True, exist_ok=True)
    for name, frame in (("paysim_types.csv", types), ("paysim_hours.csv", hours)):
        with open(OUT / name, "w") as fh:
            fh.write(HEADER)
            frame.to_csv(fh, index=False, float_format="%.6g")


if __name__ == "__main__":
    main(sys.argv[1])
