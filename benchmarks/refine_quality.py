"""Refinement quality and speed on real data, one run (issue 6's targets).

Real data: scikit-learn's bundled Wisconsin breast-cancer table (569 tumours, 30 measurements, binary
target: malignant or benign). The simulator stands in for a mechanistic one that gets the marginal means
right and nothing else: per class, independent normals with the real means and 1.3 times the spread
(no correlations, wrong tails). We simulate 100,000 rows, refine them toward the real sample with each
method, and print:
- detection AUC of refined against real rows (target <= 0.55; mean of 5 detection seeds);
- TSTR (train on refined, test on held-out real) against TRTR (train on real): target TSTR >= 0.95 TRTR;
- seconds to refine the 100,000 rows (fit + transform; target <= 300 s);
- augmentation on a rare-class version (malignant rows kept at 1 in 8, ~7 %): real only, + 15 % rows of
  the rare class from the copula (a conditional generator), + 15 % SMOTE rows; F1 and PR-AUC over 5 seeds.

Then, on a transaction log (issue 18): a `quickstart` run (seed 1) refined toward a run of the same
scenario with other parameters (seed 2, 40 % more transactions a day, 50 % more attacks, 3,000
customers each: the stand-in for a bank's sample), through `sim.refine.refine_run` as `sim refine` does
(drawn logs replayed into a ledger). Per method: detection AUC of the log against the "bank's" before ->
after (gradient boosting, the evaluation's detector), TSTR / TRTR on `is_fraud`, the behaviour
degradation ratios (median and worst), the ledger checks (every account's balances chain, every
approved row moves its amount, no declined row moves money; money is conserved by the replay), the
share of approved payments that leave their payer negative and the share of rows declined (the bank's own
shares beside them), rows/s.

Usage: python benchmarks/refine_quality.py [--rows 100000] [--methods reweight,copula,residual-gan,vae]
                                          [--log-customers 3000] [--no-log]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from sim.evaluation import read_table
from sim.evaluation.detection import detection_auc
from sim.evaluation.tables import describe
from sim.evaluation.utility import augmentation, utility
from sim.refine import make_refiner, refine_run
from sim.refine.ledger import checks as ledger_checks
from sim.runner import run_scenario
from sim.scenario import load_scenario

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def simulate(real: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for label, group in real.groupby("target"):
        n = round(rows * len(group) / len(real))
        part = pd.DataFrame({c: rng.normal(group[c].mean(), 1.3 * group[c].std(), n)
                             for c in real.columns if c != "target"})  # fmt: skip
        part["target"] = label
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    neural = importlib.util.find_spec("torch") is not None
    default = "reweight,copula" + (",residual-gan,vae" if neural else "")
    parser.add_argument("--methods", default=default)
    parser.add_argument("--log-customers", type=int, default=3000, help="customers of each payments run")
    parser.add_argument("--no-log", action="store_true", help="skip the transaction-log part")
    args = parser.parse_args()
    real = load_breast_cancer(as_frame=True).frame
    sim = simulate(real, args.rows)
    columns = describe(real, sim, "target")
    if not neural:
        print("torch not installed (pip install -e '.[neural]'): residual-gan and vae skipped")
    print(f"real: breast cancer, {len(real)} rows; simulated: {len(sim):,} rows")
    print(f"{'method':14} {'seconds':>8} {'detection':>10} {'TSTR':>7} {'TRTR':>7} {'TSTR/TRTR':>10}")
    base = utility(real, sim, columns, "target")
    before = np.mean([detection_auc(real, sim, columns, seed) for seed in range(5)])
    print(f"{'(simulated)':14} {'':>8} {before:10.3f} {base['tstr_auc']:7.3f} {base['trtr_auc']:7.3f} "
          f"{base['tstr_auc'] / base['trtr_auc']:10.3f}")  # fmt: skip
    for method in args.methods.split(","):
        started = time.perf_counter()
        refined = make_refiner(method, random_state=0).fit_transform(sim, real)
        seconds = time.perf_counter() - started
        auc = np.mean([detection_auc(real, refined, columns, seed) for seed in range(5)])
        u = utility(real, refined, columns, "target")
        ratio = u["tstr_auc"] / u["trtr_auc"]
        verdict = "met" if auc <= 0.55 and ratio >= 0.95 and seconds <= 300 else "missed"
        tstr, trtr = u["tstr_auc"], u["trtr_auc"]
        print(f"{method:14} {seconds:8.1f} {auc:10.3f} {tstr:7.3f} {trtr:7.3f} {ratio:10.3f}"
              f"   targets (<= 0.55, >= 0.95, <= 300 s): {verdict}  ({len(refined):,} rows out)")  # fmt: skip

    rng = np.random.default_rng(0)
    malignant = real[real.target == 0]  # the rare class of the rare-class version
    rare = pd.concat([real[real.target == 1], malignant.iloc[rng.permutation(len(malignant))[::8]]])
    generator = make_refiner("copula", random_state=0).fit(simulate(rare, 20_000), rare)
    synthetic = generator.transform(simulate(rare, 20_000, seed=1))
    result = augmentation(rare, synthetic, describe(rare, synthetic, "target"), "target", seeds=5)
    print(f"\naugmentation, rare-class version ({(rare.target == 0).mean():.1%} malignant), 5 seeds:")
    for arm in ("real", "real+synthetic", "real+smote"):
        f1, pr = result[arm]["f1"], result[arm]["pr_auc"]
        print(
            f"  {arm:16} F1 {f1['mean']:.3f} +- {f1['std']:.3f}   PR-AUC {pr['mean']:.3f} +- {pr['std']:.3f}"
        )
    wins = result["real+synthetic"]["pr_auc"]["mean"] > result["real+smote"]["pr_auc"]["mean"]
    print(f"  the copula's rare-class rows {'beat' if wins else 'do not beat'} SMOTE on PR-AUC")
    if not args.no_log:
        payments_log(args.methods.split(","), args.log_customers)


def payments_log(methods: list[str], customers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = [f"customers={customers}"]
        sim_run = run_scenario(load_scenario(QUICKSTART, sets, seed=1), tmp / "sim")
        bank = ["transactions_per_day=2.8", "attacks_per_day=1.5", *sets]
        real_run = run_scenario(load_scenario(QUICKSTART, bank, seed=2), tmp / "bank")
        real = read_table(real_run)
        print(f"\ntransaction log: quickstart ({customers:,} customers, seed 1, "
              f"{len(read_table(sim_run)):,} rows) refined toward the 'bank' (seed 2, 40 % more "
              f"transactions, 50 % more attacks, {len(real):,} rows)")  # fmt: skip
        bank = ledger_checks(real)
        bank_negative, bank_declined = (f"bank {bank[k]:.1%}" for k in ("negative", "declined"))
        print(f"{'method':13} {'rows/s':>8} {'detection':>17} {'TSTR/TRTR':>17} {'behaviour':>22} "
              f"{'ledger breaks':>15} {'negative':>9} {'declined':>9}")  # fmt: skip
        print(f"{'':13} {'':>8} {'before -> after':>17} {'before -> after':>17} {'median, worst after':>22} "
              f"{'(3 checks)':>15} {bank_negative:>9} {bank_declined:>9}")  # fmt: skip
        print(
            f"{'':13} (rows/s: rows refined per second of `sim refine`, which also scores before and after)"
        )
        for method in methods:
            started = time.perf_counter()
            try:
                out = refine_run(sim_run, real_run / "transactions.parquet", method, tmp / method,
                                 seed=0, target="is_fraud")  # fmt: skip
            except Exception as exc:  # a method that cannot refine a log says why, the rest go on
                print(f"{method:13} failed: {exc}")
                continue
            seconds = time.perf_counter() - started
            scores = json.loads((out / "evaluation.json").read_text())
            refined = read_table(out)
            before, after = scores["before"], scores["after"]
            ratio = [s["tstr_auc"] / s["trtr_auc"] for s in (before, after)]
            b = after.get("behaviour") or {}
            checks = ledger_checks(refined)
            negative, declined = checks.pop("negative"), checks.pop("declined")
            breaks = sum(v > 0 for v in checks.values())
            print(f"{method:13} {len(refined) / seconds:8,.0f} "
                  f"{before['detection_auc']:7.3f} -> {after['detection_auc']:.3f} "
                  f"{ratio[0]:7.3f} -> {ratio[1]:.3f} "
                  f"{b.get('median_ratio', float('nan')):10.2f}, {b.get('max_ratio', float('nan')):5.2f} "
                  f"({b.get('worst', '-')}) "
                  f"{breaks:>3} of 3 {negative:9.1%} {declined:9.1%}")  # fmt: skip
            if breaks:
                print(f"{'':13} ledger: {', '.join(f'{k} {v:.2%}' for k, v in checks.items())}")


if __name__ == "__main__":
    main()
