"""Derive the payments defaults shipped in sim/domains/payments/data/ from PaySim's real aggregates.

Usage: python tools/derive_paysim_profiles.py ../shared/reference/paysim
Source: PaySim 2.0 paramFiles/ (EdgarLopezPhD/PaySim, commit d1feae8): one month of real mobile-money
aggregates (24,576,685 transactions). Only derived figures are written, never a copy of a file.
Note: clientsProfiles.csv's header swaps min and max (column 2 is the minimum, column 3 the maximum).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

OUT = Path(__file__).resolve().parents[1] / "sim" / "domains" / "payments" / "data"
SOURCE = (
    "# (EdgarLopezPhD/PaySim commit d1feae8; real aggregated mobile-money month, 24,576,685 transactions)\n"
)
TYPES = ["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]


def header(source_file: str, what: str) -> str:
    return (
        f"# Derived by tools/derive_paysim_profiles.py from PaySim 2.0 paramFiles/{source_file}\n"
        + SOURCE
        + f"# {what}\n"
    )


def types_and_hours(agg: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    agg = agg.assign(
        sumsq=(agg["count"] - 1).clip(lower=0) * agg["std"] ** 2 + agg["count"] * agg["avg"] ** 2
    )
    by_type = agg.groupby("action").agg(count=("count", "sum"), total=("sum", "sum"), sumsq=("sumsq", "sum"))
    by_type["share"] = by_type["count"] / by_type["count"].sum()
    by_type["mean_amount"] = by_type["total"] / by_type["count"]
    var = (by_type["sumsq"] - by_type["count"] * by_type["mean_amount"] ** 2) / (by_type["count"] - 1)
    by_type["std_amount"] = var**0.5
    types = by_type[["count", "share", "mean_amount", "std_amount"]].reset_index(names="type")
    hourly = agg.groupby("hour")["count"].sum().reindex(range(24), fill_value=0)
    hours = pd.DataFrame({"hour": range(24), "share": (hourly / hourly.sum()).to_numpy()})
    return types, hours


def month_steps(agg: pd.DataFrame) -> pd.DataFrame:
    """Per (hour of the month, type): share of the month's transactions, mean and std of the amount."""
    steps = agg[["step", "action", "count", "avg", "std"]].copy()
    steps["share"] = steps["count"] / agg["count"].sum()
    steps = steps.rename(columns={"action": "type", "avg": "mean_amount", "std": "std_amount"})
    return steps[["step", "type", "share", "mean_amount", "std_amount"]].sort_values(["step", "type"])


def clients(profiles: pd.DataFrame, agg: pd.DataFrame) -> pd.DataFrame:
    """Per type: mean monthly count per active client, and the gamma shape of per-client rates implied by a
    Gamma-Poisson mixture (Var N = m + m^2 / shape), counts uniform within each profile bin."""
    profiles = profiles.rename(columns={"maxCount": "low", "minCount": "high"})  # the header is swapped
    rows = []
    for action in TYPES:
        p = profiles[profiles["action"] == action]
        w = p["freq"] / p["freq"].sum()
        mid = (p["low"] + p["high"]) / 2
        within = ((p["high"] - p["low"] + 1) ** 2 - 1) / 12
        m = float((w * mid).sum())
        var = float((w * (within + (mid - m) ** 2)).sum())
        amount_mean = float((w * mid * p["averageAmount"]).sum() / (w * mid).sum())
        amount_var = float((w * mid * (p["averageAmount"] - amount_mean) ** 2).sum() / (w * mid).sum())
        total = int(agg.loc[agg["action"] == action, "count"].sum())
        rows.append(
            {
                "type": action,
                "mean_count_per_client": m,
                "rate_shape": m * m / max(var - m, 1e-9),
                "active_clients": round(total / m),
                "client_amount_cv": np.sqrt(amount_var) / amount_mean,
            }
        )
    return pd.DataFrame(rows)


RATE_GRID = np.geomspace(0.3, 3e5, 200)  # monthly rates; below 0.3 a month is too short to tell them apart
EM_ROUNDS = 5000


def client_rates(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per type: the law of a client's monthly rate (Poisson mean) whose counts, among the clients with at
    least one, fall in the profile's bins as the real ones do: the nonparametric maximum-likelihood
    mixing distribution on a grid (EM; Laird 1978), for all the type's potential clients (those a month
    left at zero included, so a simulator draws rates and lets Poisson counts fall where they fall)."""
    profiles = profiles.rename(columns={"maxCount": "low", "minCount": "high"})  # the header is swapped
    rows = []
    for action in TYPES:
        p = profiles[profiles["action"] == action]
        low = np.r_[p["low"].to_numpy(), p["high"].max() + 1]  # a last bin beyond the file's: never seen
        high = np.r_[p["high"].to_numpy(), np.inf]
        freq = np.r_[p["freq"].to_numpy() / p["freq"].sum(), 0.0]
        grid = RATE_GRID
        given = stats.poisson.cdf(high[:, None], grid) - stats.poisson.cdf(low[:, None] - 1, grid)
        given /= 1.0 - np.exp(-grid)  # P(bin | rate, at least one)
        weight = np.full(len(grid), 1.0 / len(grid))
        for _ in range(EM_ROUNDS):
            seen = np.maximum(given @ weight, 1e-300)
            weight = (freq[:, None] * given * weight / seen[:, None]).sum(axis=0)
        weight = weight / (1.0 - np.exp(-grid))  # back to all potential clients
        weight /= weight.sum()
        keep = weight > 1e-7
        rows += [{"type": action, "monthly_rate": r, "weight": w}
                 for r, w in zip(grid[keep], weight[keep] / weight[keep].sum(), strict=True)]  # fmt: skip
    return pd.DataFrame(rows)


def opening_balances(hist: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {"low": hist["range_start"], "high": hist["range_end"] + 1, "share": hist["percentage"]}
    )
    out["share"] /= out["share"].sum()
    return out


def write(name: str, frame: pd.DataFrame, text: str) -> None:
    with open(OUT / name, "w") as fh:
        fh.write(text)
        frame.to_csv(fh, index=False, float_format="%.6g")


def main(folder: str) -> None:
    ref = Path(folder)
    agg = pd.read_csv(ref / "aggregatedTransactions.csv")
    types, hours = types_and_hours(agg)
    OUT.mkdir(parents=True, exist_ok=True)
    write("paysim_types.csv", types, header("aggregatedTransactions.csv", "share and amount of each type"))
    write("paysim_hours.csv", hours, header("aggregatedTransactions.csv", "share of a day's volume per hour"))
    write(
        "paysim_month.csv",
        month_steps(agg),
        header(
            "aggregatedTransactions.csv",
            "per hour of the month (step = day*24 + hour) and type: share of the month's volume, amount "
            "mean/std; absent rows had no transactions",
        ),
    )
    write(
        "paysim_clients.csv",
        clients(pd.read_csv(ref / "clientsProfiles.csv"), agg),
        header("clientsProfiles.csv", "per-client monthly activity (header min/max swap corrected)"),
    )
    write(
        "paysim_client_rates.csv",
        client_rates(pd.read_csv(ref / "clientsProfiles.csv")),
        header("clientsProfiles.csv", "per type, the law of a client's monthly rate (weights sum to 1)"),
    )
    write(
        "paysim_opening_balances.csv",
        opening_balances(pd.read_csv(ref / "initialBalancesDistribution.csv")),
        header("initialBalancesDistribution.csv", "opening balance histogram, [low, high), shares sum to 1"),
    )


if __name__ == "__main__":
    main(sys.argv[1])
