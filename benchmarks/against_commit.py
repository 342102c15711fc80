"""Throughput of this working tree beside another commit's, measured side by side in one run.

    python benchmarks/against_commit.py [--base HEAD] [--rounds 5] [--scale 0.5]

Checks out BASE in a temporary git worktree and times, in fresh child processes that alternate between
the two trees round after round (so drift in the machine's speed hits both alike), the figures of
`benchmarks/payments_throughput.py` and `benchmarks/supply_throughput.py`:
- payments simulation alone (paysim_month at `--scale`, arrays only) and end to end (`run_scenario`,
  Parquet written), in transactions per second;
- beer-game replicates per second (100,000 boards of 36 weeks), and node-days per second of the
  2,000-node distribution tree over 500 days.
Prints each figure's median over the rounds (and its best) for both trees and the ratio this / base.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time, importlib.util
from pathlib import Path
root = Path(sys.argv[1]); what = sys.argv[2]; scale = float(sys.argv[3])
sys.path.insert(0, str(root))
def load(name):
    spec = importlib.util.spec_from_file_location(name, root / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); return module
out = {}
if what == "payments":
    bench = load("payments_throughput")
    from sim.engine.model import SimModel
    from sim.runner import run_scenario
    from sim.scenario import load_scenario
    scenario = load_scenario(bench.SCENARIO)
    SimModel(scenario, scale=0.001).release()  # compile outside the timings
    rows, seconds = bench.simulate(scenario, scale)
    out["payments simulation alone (tx/s)"] = rows / seconds
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run = run_scenario(scenario, Path(tmp) / "run", scale=scale)
        seconds = time.perf_counter() - started
        rows = json.loads((run / "manifest.json").read_text())["files"]["transactions"]["rows"]
    out["payments end to end (tx/s)"] = rows / seconds
else:
    import numpy as np
    bench = load("supply_throughput")
    from sim.domains.supply.chain import beer_game
    beer_game(replicates=2)
    rng = np.random.default_rng(0)
    n = 100_000
    params = {k: rng.uniform(0, hi, (n, 4)) for k, hi in
              (("theta", 1), ("alpha_s", 1), ("beta", 1), ("s_prime", 30))}
    started = time.perf_counter()
    beer_game(replicates=n, **params)
    out["beer game (replicates/s)"] = n / (time.perf_counter() - started)
    seconds, _ = bench.ours(bench.distribution_tree(2000), 500)
    out["2,000-node tree (node-days/s)"] = 2000 * 500 / seconds
print(json.dumps(out))
"""


def measure(tree: Path, what: str, scale: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), what, str(scale)], cwd=tree, env=env,
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per tree (default 5)")
    parser.add_argument("--scale", type=float, default=0.5, help="paysim_month scale (default 0.5)")
    args = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {"base": {}, "this": {}}
    with tempfile.TemporaryDirectory(prefix="against-commit-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for _ in range(args.rounds):
                for label, tree in (("base", base), ("this", ROOT)):
                    for what in ("payments", "supply"):
                        for name, value in measure(tree, what, args.scale).items():
                            figures[label].setdefault(name, []).append(value)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"{args.rounds} alternating rounds; median (best) of each; base = {args.base}")
    print(f"{'figure':34} {'base':>22} {'this tree':>22} {'ratio':>7}")
    for name in figures["base"]:
        before, after = figures["base"][name], figures["this"][name]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"{name:34} {statistics.median(before):>12,.0f} ({max(before):>7,.0f}) "
              f"{statistics.median(after):>12,.0f} ({max(after):>7,.0f}) {ratio:7.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
