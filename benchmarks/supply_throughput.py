"""Supply-chain throughput: beer-game replicates per second (target >= 10,000), one run.

    python benchmarks/supply_throughput.py [--replicates 100000]

Each replicate is a full 36-week board under its own random Sterman parameters (as a calibration or
stress sweep runs them). The 2,000-node network comparison with SupplyNetPy comes with networks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.domains.supply.chain import beer_game


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicates", type=int, default=100_000)
    args = parser.parse_args()
    beer_game(replicates=2)  # compile outside the timing
    rng = np.random.default_rng(0)
    n = args.replicates
    params = {
        "theta": rng.uniform(0, 1, (n, 4)),
        "alpha_s": rng.uniform(0, 1, (n, 4)),
        "beta": rng.uniform(0, 1, (n, 4)),
        "s_prime": rng.uniform(0, 30, (n, 4)),
    }
    started = time.perf_counter()
    run = beer_game(replicates=n, **params)
    seconds = time.perf_counter() - started
    rate = n / seconds
    print(f"beer game   {n:>10,} replicates x 36 weeks in {seconds:6.2f} s = {rate:>12,.0f} replicates/s"
          f"   target 10,000/s: ratio {rate / 10_000:.1f}")  # fmt: skip
    print(f"            mean team cost {run.team_cost.mean():,.0f} (random parameters)")


if __name__ == "__main__":
    main()
