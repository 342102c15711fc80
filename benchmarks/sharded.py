"""Sharded runs (issue 7), one run: scenarios/paysim_month.yaml end to end, whole and sharded on a local
process pool and on a Dask LocalCluster, side by side.

Prints each run's throughput and its ratio to the unsharded run, and checks that every sharded run holds
exactly the unsharded rows (a checksum of the sorted table). On a machine with about one core of parallel
throughput (this one: 2 vCPUs) the ratios show the coordination cost, not the speed-up a cluster gives
(the coordinator settles in time order; drawing and Parquet encoding run on the workers).

Then a sweep (issue 17): `scenarios/hurricane.yaml` stressed with `--sweep` replicates of each strategy,
in process and on `--workers` local workers and Dask workers: wall seconds, split into the workers'
start-up (the pool or cluster, imports, the Numba cache: until one replicate has run on each) and the
sweep's own work after it; the CPU-seconds of every process (this one and its workers) against the
in-process sweep's; and whether the summary is the same bytes.

Usage: python benchmarks/sharded.py [--scale 0.25] [--shards 4] [--workers 2] [--sweep 256]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.distributed import Backend  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.stress import _replicate, run_stress  # noqa: E402

HURRICANE = ROOT / "scenarios" / "hurricane.yaml"


def cpu_seconds() -> float:
    """CPU-seconds of this process, of its children that have ended (the workers, once closed) and of its
    live descendants (the workers while they run: Linux's /proc, where there is one)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + live_descendants_cpu()


def live_descendants_cpu() -> float:
    """CPU-seconds of the processes below this one that still run, with their own ended children."""
    stats = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile, or not Linux
        stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))  # ppid; u, s, cu, cs
    below, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, (parent, _) in stats.items() if parent in frontier} - below
        below |= frontier
    return sum(stats[pid][1] for pid in below) / os.sysconf("SC_CLK_TCK")


def sweep(replicates: int, workers: int, folder: Path) -> None:
    """The hurricane sweep in process, then on local and Dask workers; see the module's docstring."""
    base = load_scenario(HURRICANE)
    vary = {k: [str(v) for v in vs] for k, vs in base.strategies.items()}
    runs = replicates * len(list(itertools.product(*vary.values())))
    figures = {}
    cpu, started = cpu_seconds(), time.perf_counter()
    serial = run_stress(HURRICANE, replicates, vary, folder / "serial")
    spent = cpu_seconds() - cpu
    figures["in process"] = (0.0, time.perf_counter() - started, spent, serial, spent)
    for kind in ("local", "dask"):
        cpu, started = cpu_seconds(), time.perf_counter()
        with Backend(kind, workers) as backend:
            list(backend.map_ordered(_replicate, [(base, 1)] * workers, batch=1))  # every worker ready
            ready, cpu_ready = time.perf_counter(), cpu_seconds()
            out = run_stress(HURRICANE, replicates, vary, folder / kind, backend=backend)
            work, cpu_work = time.perf_counter() - ready, cpu_seconds() - cpu_ready
        figures[f"{workers} {kind} workers"] = (ready - started, work, cpu_seconds() - cpu, out, cpu_work)
    print(f"\nhurricane sweep: {replicates} replicates of each strategy ({runs} runs)")
    _, serial_work, serial_cpu, _, _ = figures["in process"]
    summary = (serial / "summary.json").read_bytes()
    for name, (startup, work, spent, out, cpu_work) in figures.items():
        same = "same summary" if (out / "summary.json").read_bytes() == summary else "DIFFERENT SUMMARY"
        print(
            f"{name:16} start-up {startup:5.1f} s, sweep {work:6.1f} s (x{serial_work / work:4.2f} "
            f"of in process); CPU {spent:6.1f} s, {spent / serial_cpu:4.2f} x in process (target <= 1.2), "
            f"of which after start-up {cpu_work:6.1f} s, {cpu_work / serial_cpu:4.2f} x  {same}"
        )


def rows_digest(path: Path) -> str:
    """Checksum of the table sorted by time, payer, payee and amount (unique in practice)."""
    table = pq.read_table(path)
    keys = [
        ("timestamp", "ascending"),
        ("origin", "ascending"),
        ("dest", "ascending"),
        ("amount", "ascending"),
    ]
    table = table.take(pc.sort_indices(table, sort_keys=keys))
    frame = table.take(pc.sort_indices(table, sort_keys=keys)).to_pandas()
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sweep", type=int, default=256, help="hurricane replicates (0: no sweep)")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "paysim_month.yaml")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        whole = run_scenario(scenario, Path(tmp) / "whole", scale=args.scale)
        results["whole"] = (time.perf_counter() - started, rows_digest(whole / "transactions.parquet"))
        rows = json.loads((whole / "manifest.json").read_text())["files"]["transactions"]["rows"]
        for kind in ("local", "dask"):
            with Backend(kind, args.workers) as backend:
                started = time.perf_counter()
                run = run_scenario(scenario, Path(tmp) / kind, scale=args.scale, shards=args.shards,
                                   backend=backend)  # fmt: skip
                results[kind] = (time.perf_counter() - started, rows_digest(run / "transactions"))
    base = results["whole"][0]
    setup = f"{args.shards} shards, {args.workers} workers"
    print(f"paysim_month at scale {args.scale}: {rows:,} transactions; {setup}")
    for name, (seconds, digest) in results.items():
        same = "same rows" if digest == results["whole"][1] else "DIFFERENT ROWS"
        rate = rows / seconds / 1e6
        print(f"{name:6} {seconds:7.1f} s = {rate:5.2f} M tx/s  ratio to whole {base / seconds:5.2f}  {same}")
    if args.sweep:
        with tempfile.TemporaryDirectory() as tmp:
            sweep(args.sweep, args.workers, Path(tmp))
    if any(d != results["whole"][1] for _, d in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
