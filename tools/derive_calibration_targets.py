"""Write the calibration targets in calibration/targets/.

Usage: python tools/derive_calibration_targets.py ../shared/reference/paysim

- paysim_month.yaml: from PaySim 2.0 paramFiles/aggregatedTransactions.csv (EdgarLopezPhD/PaySim commit
  d1feae8; one real month of mobile-money aggregates, 24,576,685 transactions): the month's volume, each
  type's share and mean amount, and hour by hour (720 hours from day 0, 00:00) each type's count, mean and
  standard deviation of the amount. Only these derived statistics are written, never a copy of the file.
- beer_game_orders.yaml: the weekly orders of the four echelons of scenarios/beer_game.yaml run by `sim`
  at the parameters in BEER_TRUTH, a known answer for testing that calibration recovers parameters.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "calibration" / "targets"
TYPES = ["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]
HOURS = 720
BEER_TRUTH = {
    "theta": 0.55,
    "alpha_s": 0.40,
    "beta": 0.20,
    "s_prime_retailer": 22.0,
    "s_prime_wholesaler": 22.0,
    "s_prime_distributor": 22.0,
    "s_prime_factory": 22.0,
}
SOURCE = (
    "PaySim 2.0 paramFiles/aggregatedTransactions.csv (github.com/EdgarLopezPhD/PaySim, commit d1feae8): "
    "the real aggregated mobile-money month, 24,576,685 transactions; derived by "
    "tools/derive_calibration_targets.py"
)


def _series(values: np.ndarray, digits: int) -> list:
    return [None if np.isnan(v) else (int(v) if digits == 0 else round(float(v), digits)) for v in values]


def paysim(reference: Path) -> dict:
    agg = pd.read_csv(reference / "aggregatedTransactions.csv")
    stats = [{"name": "volume", "value": int(agg["count"].sum()), "tolerance": 0.02, "relative": "value"}]
    total = agg["count"].sum()
    for t in TYPES:
        rows = agg[agg.action == t]
        stats.append(
            {
                "name": f"type_share.{t}",
                "value": round(float(rows["count"].sum() / total), 6),
                "tolerance": 0.002,
            }
        )
        stats.append(
            {
                "name": f"mean_amount.{t}",
                "value": round(float(rows["sum"].sum() / rows["count"].sum()), 2),
                "tolerance": 0.02,
                "relative": "value",
            }
        )
    for t in TYPES:
        rows = agg[agg.action == t].set_index("step").reindex(range(HOURS))
        count = rows["count"].fillna(0).to_numpy(float)  # an hour absent from the log had none
        mean = rows["avg"].to_numpy(float)
        std = np.where(count > 1, rows["std"].to_numpy(float), np.nan)
        stats += [
            {"name": f"hourly_count.{t}", "value": _series(count, 0), "tolerance": 0.05, "relative": "range"},
            {
                "name": f"hourly_mean_amount.{t}",
                "value": _series(mean, 2),
                "tolerance": 0.05,
                "relative": "range",
            },
            {
                "name": f"hourly_std_amount.{t}",
                "value": _series(std, 2),
                "tolerance": 0.10,
                "relative": "range",
                "weight": 0.25,
            },
        ]
    return {
        "targets_version": 1,
        "name": "paysim_month",
        "description": "The real PaySim month: volume, type mix and amounts, and hour by hour the count, "
        "mean and spread of the amount of each transaction type. Tolerances are the issue's bar: volume "
        "within 2 %, hourly series within NRMSE 0.05 (spread: 0.10, weighted down).",
        "provenance": SOURCE,
        "statistics": stats,
    }


def beer_game() -> dict:
    from sim.calibration.moments import moments
    from sim.engine.model import SimModel
    from sim.scenario.load import load_scenario

    scenario = load_scenario(
        ROOT / "scenarios" / "beer_game.yaml", [f"{k}={v}" for k, v in BEER_TRUTH.items()]
    )
    model = SimModel(scenario)
    while model.running:
        model.step()
    nodes = ["retailer", "wholesaler", "distributor", "factory"]
    orders = moments(model.world, 1.0, [f"orders.{n}" for n in nodes])
    model.release()
    truth = ", ".join(f"{k}={v}" for k, v in BEER_TRUTH.items())
    return {
        "targets_version": 1,
        "name": "beer_game_orders",
        "description": "Weekly orders of the four echelons over the 36 weeks of the beer game, to "
        "within half a case a week: the series a recovery test fits.",
        "provenance": f"Simulated by sim (scenarios/beer_game.yaml) at known parameters {truth}; written by "
        "tools/derive_calibration_targets.py. Board rules: Sterman (1989), Edali & Yasarcan (2014).",
        "statistics": [
            {
                "name": name,
                "value": _series(values, 0 if np.all(values == np.round(values)) else 6),
                "tolerance": 0.5,
            }
            for name, values in orders.items()
        ],
    }


def _write(name: str, data: dict) -> None:
    """One statistic per line (a flow mapping, its series inline): a file of statistics, not of numbers."""
    statistics = data.pop("statistics")
    head = yaml.safe_dump(data, sort_keys=False, width=110)
    lines = [
        yaml.safe_dump(s, default_flow_style=True, sort_keys=False, width=1_000_000).strip()
        for s in statistics
    ]
    text = "# Calibration targets written by tools/derive_calibration_targets.py (see its docstring).\n"
    (OUT / name).write_text(text + head + "statistics:\n" + "".join(f"  - {line}\n" for line in lines))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    _write(
        "paysim_month.yaml", paysim(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/paysim"))
    )
    _write("beer_game_orders.yaml", beer_game())
    subprocess.run(["git", "diff", "--stat", "--", str(OUT)], cwd=ROOT, check=False)
