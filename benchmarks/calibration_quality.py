"""Calibration quality: the issue's two targets, printed with the baseline beside them.

1. PaySim month. The scenario starts from a wrong guess of its unknowns (the customers' daily rate and each
   type's amount level: rate 0.6 a day, amounts x1.5, x0.7, x1.8, x0.6, x1.3, spending spread 0.6), is
   calibrated against calibration/targets/paysim_month.yaml (the real aggregates) on 1/4-scale runs, then
   judged on a fresh full-scale run (the real month's 24.6 M transactions, a seed the search never used):
   NRMSE <= 0.05 for the hourly count and hourly mean amount of each type, volume within 2 %, all within
   10 minutes. Baseline: PaySim itself, measured at its defaults (issue 5): hourly count NRMSE 0.11-0.22,
   CASH_OUT mean-amount NRMSE 7.1, 14 % of the real volume.
2. Beer game. Orders of a run at hidden parameters drawn at random; theta, alpha_s, beta and the four
   echelons' S' must come back within 10 % (or be flagged unidentified, with the reason).

Usage: python benchmarks/calibration_quality.py [--quick]   (--quick: smaller budgets, for the tests)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from sim.calibration import Calibrator, check_recovery, load_targets
from sim.calibration.objective import evaluate

ROOT = Path(__file__).resolve().parents[1]
PAYSIM = ROOT / "scenarios" / "paysim_month.yaml"
BEER = ROOT / "scenarios" / "beer_game.yaml"
TYPES = ("cash_in", "cash_out", "debit", "payment", "transfer")
WRONG = {
    "transactions_per_day": 0.6,
    "amount_spread": 0.6,
    **dict(zip((f"{t}_amount" for t in TYPES), (1.5, 0.7, 1.8, 0.6, 1.3), strict=True)),
}
PAYSIM_SPACE = {
    "transactions_per_day": (0.2, 0.8),
    "amount_spread": (0.0, 1.0),
    **{f"{t}_amount": (0.5, 2.0) for t in TYPES},
}
PAYSIM_BASELINE = {"hourly count NRMSE": "0.11-0.22", "CASH_OUT mean-amount NRMSE": "7.1", "volume": "14 %"}
BEER_SPACE = {
    "theta": (0.0, 1.0),
    "alpha_s": (0.0, 1.0),
    "beta": (0.0, 1.0),
    **{f"s_prime_{n}": (0, 40) for n in ("retailer", "wholesaler", "distributor", "factory")},
}


def paysim(budget: int, scale: float, judge_scale: float) -> bool:
    targets = load_targets(ROOT / "calibration" / "targets" / "paysim_month.yaml")
    started = time.perf_counter()
    cal = Calibrator(
        PAYSIM_SPACE,
        budget=budget,
        random_state=11,
        sampler="cmaes",
        scale=scale,
        polish_share=0.4,
        overrides=[f"{k}={v}" for k, v in WRONG.items()],
    )
    cal.fit(PAYSIM, targets)
    searched = time.perf_counter() - started
    # the judgement: a fresh run at the real month's scale, with the scenario's own seed
    judge = cal.simulator_.__class__(PAYSIM, targets, scale=judge_scale, seed=2016)
    judged = judge(cal.best_params_)
    wall = time.perf_counter() - started
    _, start_rows = evaluate(targets, cal.start_simulated_)
    rows = {r["name"]: r for r in judged.rows}
    start = {r["name"]: r for r in start_rows}
    print(f"PaySim month: {budget} candidates at scale {scale}, judged on a fresh run at scale {judge_scale}")
    print(f"  search {searched:.0f} s, total {wall:.0f} s (target <= 600 s)")
    print("  calibrated: " + ", ".join(f"{k}={v:.4g}" for k, v in cal.best_params_.items()))
    print(f"  {'type':10} {'count NRMSE':>12} {'(start)':>9} {'mean NRMSE':>11} {'(start)':>9}")
    ok = wall <= 600
    for t in ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"):
        c, m = rows[f"hourly_count.{t}"]["nrmse"], rows[f"hourly_mean_amount.{t}"]["nrmse"]
        c0, m0 = start[f"hourly_count.{t}"]["nrmse"], start[f"hourly_mean_amount.{t}"]["nrmse"]
        ok &= c <= 0.05 and m <= 0.05
        print(f"  {t:10} {c:12.4f} {c0:9.3f} {m:11.4f} {m0:9.3f}")
    volume = rows["volume"]["simulated"] / rows["volume"]["real"]
    ok &= abs(volume - 1) <= 0.02
    before = start["volume"]["simulated"] / start["volume"]["real"]
    print(f"  volume / real month: {volume:.4f} (start {before:.3f}; target within 2 %)")
    print(f"  baseline, PaySim at its defaults: {PAYSIM_BASELINE}")
    print(f"  PaySim month targets: {'MET' if ok else 'MISSED'}")
    return ok


def beer_game(budget: int, draws: int) -> bool:
    targets = load_targets(ROOT / "calibration" / "targets" / "beer_game_orders.yaml")
    rng = np.random.default_rng(1989)
    ok = True
    for draw in range(draws):
        truth = {
            "theta": rng.uniform(0.2, 0.8),
            "alpha_s": rng.uniform(0.2, 0.6),
            "beta": rng.uniform(0.1, 0.5),
            **{
                f"s_prime_{n}": int(rng.integers(15, 31))
                for n in ("retailer", "wholesaler", "distributor", "factory")
            },
        }
        started = time.perf_counter()
        cal = Calibrator(BEER_SPACE, budget=budget, random_state=draw, sampler="cmaes", polish_share=0.0)
        report = check_recovery(cal, BEER, targets, truth)
        print(
            f"Beer game, hidden draw {draw + 1}: {budget} candidates, {time.perf_counter() - started:.0f} s, "
            f"loss {cal.best_loss_:.3g}"
        )
        for name, r in report["parameters"].items():
            verdict = (
                "recovered"
                if r["recovered"]
                else ("UNIDENTIFIED: " + r["reason"] if not r["identified"] else "MISSED")
            )
            ok &= r["recovered"] or not r["identified"]
            print(
                f"  {name:20} truth {r['truth']:8.4g}  estimate {r['estimate']:8.4g}  "
                f"error {r['relative_error']:6.1%}  {verdict}"
            )
    print(
        f"  beer game targets: {'MET' if ok else 'MISSED'} (each parameter within 10 %, or flagged "
        "unidentified)"
    )
    return ok


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    results = [
        paysim(
            budget=16 if quick else 150, scale=0.02 if quick else 0.25, judge_scale=0.05 if quick else 1.0
        ),
        beer_game(budget=300 if quick else 6000, draws=1 if quick else 3),
    ]
    sys.exit(0 if all(results) or quick else 1)
