"""Throughput of this working tree beside another commit's, measured side by side in one run.

    python benchmarks/against_commit.py [--base HEAD] [--rounds 5] [--scale 0.5]
                                        [--replicates 100000] [--nodes 2000] [--days 500]

Checks out BASE in a temporary git worktree and times, in fresh child processes that alternate between
the two trees round after round (so drift in the machine's speed hits both alike), the figures of
`benchmarks/payments_throughput.py` and `benchmarks/supply_throughput.py`:
- payments simulation alone (paysim_month at `--scale`, arrays only) and end to end (`run_scenario`,
  Parquet written), in transactions per second;
- beer-game replicates per second (`--replicates` boards of 36 weeks), and node-days per second of the
  `--nodes` distribution tree over `--days` days.
Prints each figure's median over the rounds (and its best) for both trees and the ratio this / base,
by wall-clock time and by CPU time (the process's own, threads included: what a busy or shared machine
disturbs least).
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
root, what, scale = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
n, nodes, days = (int(x) for x in sys.argv[4:7])
sys.path.insert(0, str(root))
def load(name):
    spec = importlib.util.spec_from_file_location(name, root / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); return module
out = {}
def timed(name, units, work):
    wall, cpu = time.perf_counter(), time.process_time()
    done = work()
    out[name] = (done or units) / (time.perf_counter() - wall)
    out[name + " per CPU-s"] = (done or units) / (time.process_time() - cpu)
if what == "payments":
    bench = load("payments_throughput")
    from sim.engine.model import SimModel
    from sim.runner import run_scenario
    from sim.scenario import load_scenario
    scenario = load_scenario(bench.SCENARIO)
    model = SimModel(scenario, scale=0.001)
    model.step()  # load the kernels outside the timings
    model.release()
    timed("payments simulation alone (tx/s)", 0, lambda: bench.simulate(scenario, scale)[0])
    def end_to_end():
        with tempfile.TemporaryDirectory() as tmp:
            run = run_scenario(scenario, Path(tmp) / "run", scale=scale)
            return json.loads((run / "manifest.json").read_text())["files"]["transactions"]["rows"]
    timed("payments end to end (tx/s)", 0, end_to_end)
else:
    import numpy as np
    bench = load("supply_throughput")
    from sim.domains.supply.chain import beer_game
    beer_game(replicates=2)
    rng = np.random.default_rng(0)
    params = {k: rng.uniform(0, hi, (n, 4)) for k, hi in
              (("theta", 1), ("alpha_s", 1), ("beta", 1), ("s_prime", 30))}
    timed("beer game (replicates/s)", n, lambda: beer_game(replicates=n, **params) and None)
    tree = bench.distribution_tree(nodes)
    bench.ours(bench.distribution_tree(30), 10)
    timed("supply tree (node-days/s)", nodes * days, lambda: bench.ours(tree, days) and None)
print(json.dumps(out))
"""


def measure(tree: Path, what: str, args) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    sizes = [str(x) for x in (args.scale, args.replicates, args.nodes, args.days)]
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), what, *sizes], cwd=tree, env=env,
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per tree (default 5)")
    parser.add_argument("--scale", type=float, default=0.5, help="paysim_month scale (default 0.5)")
    parser.add_argument("--replicates", type=int, default=100_000, help="beer-game boards (default 100,000)")
    parser.add_argument("--nodes", type=int, default=2_000, help="nodes of the supply tree (default 2,000)")
    parser.add_argument("--days", type=int, default=500, help="days the tree runs (default 500)")
    args = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {"base": {}, "this": {}}
    with tempfile.TemporaryDirectory(prefix="against-commit-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for round_ in range(args.rounds + 1):  # round 0 warms both trees' Numba caches, untimed
                for label, tree in (("base", base), ("this", ROOT)):
                    for what in ("payments", "supply"):
                        for name, value in measure(tree, what, args).items():
                            if round_:
                                figures[label].setdefault(name, []).append(value)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"{args.rounds} alternating rounds after a warm-up, median (best) of each; base = {args.base}")
    print(f"paysim_month at scale {args.scale}; {args.replicates:,} beer games; a {args.nodes:,}-node tree, "
          f"{args.days} days")  # fmt: skip
    print(f"{'figure':44} {'base':>22} {'this tree':>22} {'ratio':>7}")
    for name in figures["base"]:
        before, after = figures["base"][name], figures["this"][name]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"{name:44} {statistics.median(before):>12,.0f} ({max(before):>7,.0f}) "
              f"{statistics.median(after):>12,.0f} ({max(after):>7,.0f}) {ratio:7.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
