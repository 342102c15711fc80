"""Per-step cost of the Mesa/SimPy facade around the payments kernels vs calling the world bare.

Usage: python benchmarks/engine_overhead.py [--customers N] [--steps K]

Two identical worlds are stepped alternately, one through `SimModel.step()` (Mesa's step wrapper, the
SimPy clock advancing the event calendar, the event lookups) and one by calling `world.step()` directly,
so both see the same machine noise. Target (issue 2): facade overhead < 5 %.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sim.engine.model import SimModel
from sim.scenario import load_scenario

SCENARIO = """\
schema_version: 1
name: overhead
domain: payments
seed: 1
horizon: {{steps: {steps}, step: 1h, start: 2026-01-05T00:00:00}}
populations:
  customers:
    role: customer
    count: {customers}
    rhythm: {{hours: flat}}
    transactions_per_day: {{dist: gamma, mean: 2.0, shape: 0.8}}
  merchants: {{role: merchant, count: 2000}}
  mules: {{role: mule, count: 200}}
  crooks: {{role: fraudster, count: 20, attacks_per_day: 1.0, victims: customers, mules: mules}}
events:
  - {{kind: fraud_ring_attack, name: wave, population: crooks, start: 3, duration: 4h, intensity: 20}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "overhead.yaml"
        path.write_text(SCENARIO.format(steps=args.steps + 1, customers=args.customers))
        scenario = load_scenario(path)
    facade, bare = SimModel(scenario), SimModel(scenario)
    facade.step()  # compile and warm both
    bare.world.step(0, bare.timeline)
    t_facade, t_bare, rows = [], [], 0
    for k in range(1, args.steps + 1):
        runs = [(t_facade, facade.step), (t_bare, lambda k=k: bare.world.step(k, bare.timeline))]
        for times, call in runs if k % 2 else runs[::-1]:  # alternate order: no first-mover bias
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        rows += facade.batch.num_rows

    # the facade alone: the same model with a world that does nothing
    empty = SimModel(scenario)
    empty.world.step = lambda k, timeline: None
    t_empty = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        empty.step()
        t_empty.append(time.perf_counter() - t0)

    f, b = statistics.median(t_facade), statistics.median(t_bare)
    paired = statistics.median(x - y for x, y in zip(t_facade, t_bare, strict=True))
    print(f"customers {args.customers:,}, steps {args.steps}, transactions/step {rows / args.steps:,.0f}")
    print(f"bare kernel step      median {b * 1e3:9.3f} ms")
    print(f"SimModel.step()       median {f * 1e3:9.3f} ms")
    print(f"facade alone          median {statistics.median(t_empty) * 1e6:9.1f} us/step")
    print(f"facade overhead       {100 * paired / b:+.2f} %  (median paired difference / bare; target < 5 %)")
    print(f"ratio facade/bare     {f / b:.4f}  (medians)")
    print(f"facade-alone share    {100 * statistics.median(t_empty) / b:.3f} % of a bare step")
    for model in (facade, bare, empty):
        model.release()


if __name__ == "__main__":
    main()
