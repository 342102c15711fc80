"""Supply-chain throughput, one run: beer-game replicates per second (target >= 10,000) and node-days
per second of a 2,000-node distribution tree over 500 days.

    python benchmarks/supply_throughput.py [--replicates 100000] [--nodes 2000] [--days 500]

Each beer-game replicate is a full 36-week board under its own random Sterman parameters (as a
calibration or stress sweep runs them). The tree: a central DC fed by the source, regional DCs, and
retailers facing noisy daily demand, all on (s, S). SupplyNetPy is not run here yet: its published
median for 2,000 nodes x 500 days (all-to-all links, exponential lead times, its authors' server) is
printed beside ours as context, not as a same-run ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.domains.supply.chain import S_S, beer_game, run_chain


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicates", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=500)
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

    nodes, days = args.nodes, args.days
    regional = max(1, nodes // 7)
    retailers = nodes - 1 - regional
    supplier = np.concatenate([[-1], np.zeros(regional, int), 1 + np.arange(retailers) % regional])
    demand = np.zeros((1, days, nodes))
    demand[0, :, 1 + regional :] = rng.poisson(20, (days, retailers))
    served = np.bincount(supplier[1 + regional :] - 1, minlength=regional)  # retailers per regional DC
    daily = np.concatenate([[20.0 * retailers], 20.0 * served, np.full(retailers, 20.0)])
    stock = daily * np.concatenate([[16.0], np.full(regional, 6.0), np.full(retailers, 5.0)])  # > lead time
    settings = dict(
        theta=0, alpha_s=0, beta=0, s_prime=0, mail_delay=np.ones(nodes, int),
        ship_delay=np.r_[7, np.full(nodes - 1, 2)],
        initial_inventory=stock, initial_flow=0, fixed_weeks=0, holding_cost=0.1, backlog_cost=1,
        policy=S_S, reorder=stock * 0.7, target=stock, supplier=supplier,
    )  # fmt: skip
    run_chain(demand[:, :10], **settings)  # compile
    started = time.perf_counter()
    tree = run_chain(demand, **settings)
    seconds = time.perf_counter() - started
    rate = nodes * days / seconds
    print(f"tree        {nodes:>10,} nodes x {days} days in {seconds:6.2f} s = {rate:>12,.0f} node-days/s"
          f"   fill rate {tree.external[0].sum() / demand.sum():.3f}")  # fmt: skip
    published = 38.3831  # perform_n_summary.csv: N 2000, L 500, median of 30 (SupplyNetPy, not this machine)
    print(
        f"            SupplyNetPy's published median for 2,000 nodes x 500: {published} s "
        f"= {2000 * 500 / published:,.0f} node-days/s (context only: other topology and machine)"
    )


if __name__ == "__main__":
    main()
