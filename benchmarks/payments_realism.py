"""How credible each shipped payments scenario's data is: the figures the behaviour issue (16) names.

    python benchmarks/payments_realism.py [--scale 1.0] [--only NAME ...] [--seeds 1] [--audit]

Runs every scenario of scenarios/ whose domain is payments (at the scale below times `--scale`, with its
shipped seed) into a temporary directory and prints, per scenario:
- the declined share of all rows and of the worst type (target: at most 5 %, card-present insufficient-
  funds declines being about 1 %: see `Spending` in sim/domains/payments/scenario.py);
- fraud or laundering rows of amount 0, settled rows leaving a payer below its granted overdraft (both
  targets 0), and the share of customers' own settled payments that leave the payer negative;
- the repeat-merchant share (purchases at a merchant the payer had bought from before) and, for the
  scenarios with a month of customers, the total-variation distance per type between the per-client
  monthly counts and PaySim's real client profiles (clientsProfiles.csv bins);
- paysim_month: the hourly count and mean-amount NRMSE per type against the real month (target 0.05);
- banksim: purchases per customer-day, fraud share and mean amount, category mix, fraud per category and
  by gender, beside BankSim's published output, and the category's single-feature AUC (BankSim's: 0.98);
- with `--audit`, the tell audit of `is_fraud` and `is_laundering` (best single feature <= 0.80, depth-3
  tree <= 0.90 on row features);
- with `--seeds 2`, the behaviour metrics of two seeds against each other (every degradation ratio <= 1.5),
  beside the worst ratio of the same run against itself (disjoint halves of its payers): what an exact
  generator shows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.evaluation import audit_line, audit_table, read_table  # noqa: E402
from sim.evaluation.behaviour import behaviour  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCALE = {"paysim_month": 0.02, "card_payments": 0.5, "fraud_ring_attack": 0.5, "aml_typologies": 0.5}
LABELS = ("is_fraud", "is_laundering")
PROFILES = ROOT.parent / "shared" / "reference" / "paysim" / "clientsProfiles.csv"  # the team's copy, if any
MONTH_DAYS = 28  # scenarios of at least four weeks are compared with the monthly client profiles


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies each scenario's scale")
    parser.add_argument("--only", action="append", metavar="SCENARIO", help="only these scenarios")
    parser.add_argument("--seeds", type=int, default=1, choices=(1, 2), help="2: also behaviour seed vs seed")
    parser.add_argument("--audit", action="store_true", help="also the tell audit of each label")
    args = parser.parse_args()
    shipped = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if "domain: payments" in p.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for path in shipped:
            if args.only and path.stem not in args.only:
                continue
            scenario = load_scenario(path)
            scale = SCALE.get(path.stem, 1.0) * args.scale
            run = run_scenario(scenario, Path(tmp) / path.stem, scale=scale)
            frame, accounts = read_table(run), pd.read_parquet(run / "accounts.parquet")
            kpis = json.loads((run / "kpis.json").read_text())
            print(f"{path.stem} (scale {scale:g}, {len(frame):,} rows)")
            month = any(
                getattr(getattr(p, "rhythm", None), "month", None) for p in scenario.populations.values()
            )
            for line in figures(frame, accounts, kpis if month else {}, scenario.horizon):
                print(f"  {line}")
            if path.stem == "banksim":
                for line in banksim_figures(frame, accounts):
                    print(f"  {line}")
            if args.audit:
                audited = audit_table(frame, [c for c in LABELS if c in frame.columns])["table"]
                for label, a in audited.items():
                    print(f"  tells of {label}: {audit_line(a)}")
            if args.seeds == 2:
                other = load_scenario(path, seed=scenario.seed + 1)
                second = read_table(run_scenario(other, Path(tmp) / f"{path.stem}.2", scale=scale))
                measured = behaviour(frame, second)
                worst = sorted(measured["metrics"].items(), key=lambda kv: -(kv[1]["ratio"] or 0))[:3]
                shown = ", ".join(f"{name} {m['ratio']:.2f}" for name, m in worst if m["ratio"] is not None)
                print(
                    f"  behaviour, seed vs seed: median ratio {measured['median_ratio']:.2f}; worst {shown}"
                )
                worst = ", ".join(f"{r:.2f}" for r in same_run_worst(frame))
                print(f"  behaviour, same run vs itself (disjoint payers, {CONTROLS} splits): worst {worst}")


CONTROLS = 4


def same_run_worst(frame: pd.DataFrame) -> list[float]:
    """The worst behaviour ratio of an exact generator: one run's payers split in two disjoint halves
    (each payer's rows whole), one scored as the other's synthetic log, `CONTROLS` times. A ratio is a
    single draw of the distance between two samples over the mean of many halves' distances: its spread
    does not shrink with the size of the log, so with about 20 metrics the worst of them exceeds 1.5 by
    chance alone; seed against seed is judged beside these."""
    payers = frame.origin.unique()
    out = []
    for draw in range(CONTROLS):
        rng = np.random.default_rng(draw)
        first = frame.origin.isin(rng.choice(payers, len(payers) // 2, replace=False)).to_numpy()
        out.append(behaviour(frame[first], frame[~first])["max_ratio"])
    return out


def figures(frame: pd.DataFrame, accounts: pd.DataFrame, kpis: dict, horizon) -> list[str]:
    """The printed lines of one run (see the module's docstring); `kpis` given for the real month only."""
    declined = frame.declined.to_numpy()
    by_type = frame.groupby("type", observed=True).declined.mean()
    crime = frame.is_fraud | frame.is_laundering
    limit = accounts.set_index("account").overdraft_limit.fillna(np.inf).reindex(frame.origin).to_numpy()
    paying = ~declined & (frame.type != "CASH_IN").to_numpy()
    beyond = paying & (frame.origin_balance_after.to_numpy() < -limit - 1e-6)
    customer = accounts.set_index("account").role.reindex(frame.origin).to_numpy() == "customer"
    own = paying & customer & ~crime.to_numpy()
    negative = np.mean(frame.origin_balance_after.to_numpy()[own] < 0)
    lines = [
        f"declined {declined.mean():.2%} (worst type {by_type.idxmax()} {by_type.max():.2%}); "
        f"crime rows of amount 0: {int(((frame.amount == 0) & crime).sum())}; "
        f"below the granted overdraft: {int(beyond.sum())}; "
        f"own payments leaving the payer negative: {negative:.2%}",
        f"repeat-merchant share of purchases: {repeat_share(frame):.2%}",
    ]  # fmt: skip
    days = horizon.steps * horizon.step.total_seconds() / 86400
    if days >= MONTH_DAYS and PROFILES.exists():
        distance = profile_distance(frame[~crime & customer], pd.read_csv(PROFILES), 30.0 / days)
        lines.append("client-profile distance (TV) per type: "
                     + ", ".join(f"{t} {d:.2f}" for t, d in distance.items()))  # fmt: skip
    fit = kpis.get("paysim_fit")
    if fit and "nrmse_mean_amount" in fit:
        count, mean = fit["nrmse_count"], fit["nrmse_mean_amount"]
        lines.append("hourly NRMSE count / mean amount: "
                     + ", ".join(f"{t} {count[t]:.3f}/{mean[t]:.3f}" for t in count))  # fmt: skip
    return lines


# BankSim's published output (bs140513_032310.csv, Lopez-Rojas & Axelsson 2014; Kaggle, CC BY-SA 4.0),
# derived: rows and fraud rows per category, per age band and per gender (purchases only)
BANKSIM_CATEGORIES = {  # category: (rows, fraud rows, mean amount)
    "es_transportation": (505119, 0, 26.96), "es_food": (26254, 0, 37.07),
    "es_health": (16133, 1696, 135.62), "es_wellnessandbeauty": (15086, 718, 65.51),
    "es_fashion": (6454, 116, 65.67), "es_barsandrestaurants": (6373, 120, 43.46),
    "es_hyper": (6098, 280, 45.97), "es_sportsandtoys": (4002, 1982, 215.72),
    "es_tech": (2370, 158, 120.95), "es_home": (1986, 302, 165.67), "es_hotelservices": (1744, 548, 205.61),
    "es_otherservices": (912, 228, 135.88), "es_contents": (885, 0, 44.55),
    "es_travel": (728, 578, 2250.41), "es_leisure": (499, 474, 288.91),
}  # fmt: skip
BANKSIM_GENDER = {"F": (324565, 4758), "M": (268385, 2435), "E": (1178, 7), "U": (515, 0)}
BANKSIM_CUSTOMERS, BANKSIM_DAYS = 4112, 180


def banksim_figures(frame: pd.DataFrame, accounts: pd.DataFrame) -> list[str]:
    """Ours beside BankSim's published month for the banksim scenario: purchases per customer-day,
    the fraud share, the category mix (total variation), fraud per category, fraud by gender, and
    the single-feature AUC of the category for the fraud label (BankSim's own: 0.98)."""
    from sim.evaluation.tells import single_feature_auc

    buys = frame[frame.type == "PAYMENT"]
    customers = int((accounts.role == "customer").sum())
    days = (buys.step.max() + 1) if len(buys) else 1
    theirs = pd.DataFrame(BANKSIM_CATEGORIES, index=["rows", "fraud", "mean"]).T
    ours = buys.groupby("category", observed=True).agg(rows=("amount", "size"), fraud=("is_fraud", "sum"))
    ours = ours.reindex(theirs.index, fill_value=0)
    mix = 0.5 * np.abs(ours.rows / ours.rows.sum() - theirs.rows / theirs.rows.sum()).sum()
    rates = " ".join(f"{c.removeprefix('es_')} {o:.0%}/{t:.0%}" for c, o, t in
                     zip(theirs.index, ours.fraud / ours.rows.clip(lower=1), theirs.fraud / theirs.rows,
                         strict=True) if t > 0.1)  # fmt: skip
    gender = buys.merge(accounts[["account", "gender"]], left_on="origin", right_on="account")
    by = gender.groupby("gender").is_fraud.mean()
    genders = " ".join(f"{g} {by.get(g, 0):.2%}/{f / n:.2%}" for g, (n, f) in BANKSIM_GENDER.items() if f)
    category = single_feature_auc(buys.category.to_numpy(), buys.is_fraud.to_numpy(int), True, 0)
    rows = sum(r for r, _, _ in BANKSIM_CATEGORIES.values())
    frauds = sum(f for _, f, _ in BANKSIM_CATEGORIES.values())
    return [
        f"BankSim (ours/theirs): purchases per customer-day {len(buys) / customers / days:.3f}/"
        f"{rows / BANKSIM_CUSTOMERS / BANKSIM_DAYS:.3f}; "
        f"fraud {buys.is_fraud.mean():.2%}/{frauds / rows:.2%}; "
        f"fraud mean amount {buys.amount[buys.is_fraud].mean():.0f}/531; category mix TV {mix:.3f}",
        f"BankSim fraud share where theirs is over 10 %: {rates}",
        f"BankSim fraud by gender: {genders}; "
        f"category alone gives fraud at AUC {category:.3f} (theirs 0.982)",
    ]  # fmt: skip


def repeat_share(frame: pd.DataFrame) -> float:
    """Purchases (PAYMENT) at a merchant the same payer had bought from before in the run."""
    buys = frame[(frame.type == "PAYMENT") & ~frame.declined].sort_values("timestamp", kind="stable")
    if buys.empty:
        return 0.0
    return float(buys.duplicated(["origin", "dest"]).mean())


def profile_distance(frame: pd.DataFrame, profiles: pd.DataFrame, per_month: float) -> dict[str, float]:
    """Per type, the total-variation distance between the share of clients in each monthly-count bin
    of clientsProfiles.csv (its second column is the minimum, its third the maximum) and ours (counts
    of the clients who made that type at least once, scaled to 30 days; `frame`: the customers' own
    rows, so an employer paying its staff is not a client)."""
    lows = profiles.columns[1]  # "maxCount": the file's header swaps minimum and maximum
    out = {}
    for kind, bins in profiles[profiles.action.isin(frame.type.unique())].groupby("action"):
        rows = frame[(frame.type == kind) & ~frame.declined]
        counts = np.round(rows.origin.value_counts().to_numpy() * per_month)  # a CASH_IN's client: origin
        edges = bins[lows].to_numpy()
        which = np.clip(np.searchsorted(edges, counts, side="right") - 1, 0, len(edges) - 1)
        ours = np.bincount(which, minlength=len(edges)) / max(len(counts), 1)
        theirs = bins.freq.to_numpy() / bins.freq.sum()
        out[kind] = float(0.5 * np.abs(ours - theirs).sum())
    return out


if __name__ == "__main__":
    main()
