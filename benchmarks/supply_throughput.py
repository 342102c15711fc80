"""Supply-chain throughput, one run: beer-game replicates per second (target >= 10,000) and node-days
per second of a 2,000-node distribution tree over 500 days, and the same tree in SupplyNetPy (if
installed: pip install supplynetpy) in the same run (target >= 100x).

    python benchmarks/supply_throughput.py [--replicates 100000] [--nodes 2000] [--days 500]

Each beer-game replicate is a full 36-week board under its own random Sterman parameters (as a
calibration or stress sweep runs them). The tree: a central DC fed by the source, regional DCs, and
retailers selling 20 a day, all on (s, S), with the same lead times, levels and demand in both tools
(ours steps per day with periodic review; SupplyNetPy reviews continuously, as its events come).
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
    tree = distribution_tree(nodes)
    ours_s, fill = ours(tree, days)
    rate = nodes * days / ours_s
    print(f"tree        {nodes:>10,} nodes x {days} days in {ours_s:6.2f} s = {rate:>12,.0f} node-days/s"
          f"   fill rate {fill:.3f}")  # fmt: skip
    try:
        import SupplyNetPy.Components as scm
    except ImportError:
        print("            SupplyNetPy not installed (pip install supplynetpy): no side-by-side ratio")
        return
    snp_s = supplynetpy(scm, tree, days)
    print(f"SupplyNetPy {nodes:>10,} nodes x {days} days in {snp_s:6.2f} s = {nodes * days / snp_s:>12,.0f} "
          f"node-days/s   ours / SupplyNetPy: {snp_s / ours_s:,.0f}x (target >= 100x)")  # fmt: skip


def distribution_tree(nodes: int) -> dict:
    """A central DC fed by the source, regional DCs (one per 7 nodes), retailers spread over them, each
    retailer selling 20 a day; (s, S) everywhere with S a few lead times of the demand it serves."""
    regional = max(1, nodes // 7)
    retailers = nodes - 1 - regional
    supplier = np.concatenate([[-1], np.zeros(regional, int), 1 + np.arange(retailers) % regional])
    served = np.bincount(supplier[1 + regional :] - 1, minlength=regional)
    daily = np.concatenate([[20.0 * retailers], 20.0 * served, np.full(retailers, 20.0)])
    stock = daily * np.concatenate([[16.0], np.full(regional, 6.0), np.full(retailers, 5.0)])
    lead = np.r_[8, np.full(nodes - 1, 3)]  # order to arrival: 1 step of mail + the journey
    return {"supplier": supplier, "stock": stock, "lead": lead, "retailers": np.arange(1 + regional, nodes)}


def ours(tree: dict, days: int) -> tuple[float, float]:
    nodes = len(tree["supplier"])
    demand = np.zeros((1, days, nodes))
    demand[0, :, tree["retailers"]] = 20.0
    settings = dict(
        theta=0, alpha_s=0, beta=0, s_prime=0, mail_delay=np.ones(nodes, int), ship_delay=tree["lead"] - 1,
        initial_inventory=tree["stock"], initial_flow=0, fixed_weeks=0, holding_cost=0.1, backlog_cost=1,
        policy=S_S, reorder=tree["stock"] * 0.7, target=tree["stock"], supplier=tree["supplier"],
    )  # fmt: skip
    run_chain(demand[:, :10], **settings)  # compile outside the timing
    started = time.perf_counter()
    run = run_chain(demand, **settings)
    return time.perf_counter() - started, float(run.external[0].sum() / demand.sum())


def supplynetpy(scm, tree: dict, days: int) -> float:
    """The same tree, lead times, (s, S) levels and demand in SupplyNetPy; seconds to simulate."""
    supplier, stock = tree["supplier"], tree["stock"]
    names = [f"n{i}" for i in range(len(supplier))]
    retailers = set(tree["retailers"].tolist())
    nodes = [{"ID": "S", "name": "source", "node_type": "infinite_supplier"}]
    links, demands = [], []
    for i, name in enumerate(names):
        nodes.append({"ID": name, "name": name, "node_type": "retailer" if i in retailers else "distributor",
                      "capacity": stock[i] * 10, "initial_level": stock[i], "inventory_holding_cost": 0.1,
                      "replenishment_policy": scm.SSReplenishment,
                      "policy_param": {"s": stock[i] * 0.7, "S": stock[i]},
                      "product_sell_price": 2, "product_buy_price": 1})  # fmt: skip
        source = "S" if supplier[i] < 0 else names[supplier[i]]
        lead = float(tree["lead"][i])
        links.append(
            {"ID": f"L{i}", "source": source, "sink": name, "cost": 0, "lead_time": lambda v=lead: v}
        )
        if i in retailers:
            demands.append({"ID": f"d{i}", "name": f"d{i}", "order_arrival_model": lambda: 1,
                            "order_quantity_model": lambda: 20, "demand_node": name})  # fmt: skip
    network = scm.create_sc_net(nodes, links, demands)
    started = time.perf_counter()
    scm.simulate_sc_net(network, sim_time=days, logging=False)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
