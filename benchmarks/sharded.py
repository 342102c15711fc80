"""Sharded runs (issues 7 and 17), one run: scenarios/paysim_month.yaml under `settlement: step` end to end,
whole and on N shards (`--shards 2,4,8`) on `--workers` local workers and Dask workers, side by side, each
in a process of its own (start-up counted, as a user pays it).

Prints, per run: wall seconds and the speed-up over the whole run; the CPU-seconds of every process (the
driver and its workers) against the whole run's (target <= 1.2); the driver's own CPU as a share of that
(target <= 5 %); the driver's peak RSS (target <= 300 MB); the bytes of transaction rows that passed
through the driver (target 0: the hosts settle and write their own rows); and whether the rows are the
whole run's (a checksum of the sorted table). On a machine with about one core of parallel throughput
(this one: 2 vCPUs) speed-up cannot show: the CPU ratio is the figure that carries to a many-core one.

Then a sweep (issue 17): `scenarios/hurricane.yaml` stressed with `--sweep` replicates of each strategy,
in process and on `--workers` local workers and Dask workers: wall seconds, split into the workers'
start-up (the pool or cluster, imports, the Numba cache: until one replicate has run on each) and the
sweep's own work after it; the CPU-seconds of every process (this one and its workers) against the
in-process sweep's; and whether the summary is the same bytes.

Usage: python benchmarks/sharded.py [--scale 1] [--shards 2,4,8] [--workers 2] [--sweep 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
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
    import pandas as pd  # here, not at the top: a local worker imports this module as it starts

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


def one_run(kind: str, shards: int, workers: int, scale: float, out: Path) -> dict:
    """One run in this (fresh) process: its figures (see the module's docstring)."""
    from sim.domains.payments.world import PaymentsWorld

    through = [0]
    step = PaymentsWorld.step

    def counted(self, k, timeline):  # the rows the driver's loop receives
        batch = step(self, k, timeline)
        through[0] += batch.nbytes
        return batch

    PaymentsWorld.step = counted
    scenario = load_scenario(ROOT / "scenarios" / "paysim_month.yaml", ["settlement=step"])
    cpu, own, started = cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if kind == "whole":
        run = run_scenario(scenario, out, scale=scale)
        table = run / "transactions.parquet"
    else:
        with Backend(kind, workers) as backend:
            run = run_scenario(scenario, out, scale=scale, shards=shards, backend=backend)
        table = run / "transactions"
    wall, spent = time.perf_counter() - started, cpu_seconds() - cpu
    mine = resource.getrusage(resource.RUSAGE_SELF)
    driver = mine.ru_utime + mine.ru_stime - own.ru_utime - own.ru_stime
    rows = json.loads((run / "manifest.json").read_text())["files"]["transactions"]["rows"]
    return {"wall": wall, "cpu": spent, "driver": driver, "rss": mine.ru_maxrss * 1024, "through": through[0],
            "rows": rows, "digest": rows_digest(table)}  # fmt: skip


def run_child(kind: str, shards: int, args, out: Path, together: int = 1) -> list[dict]:
    """`together` runs of one config at once, each in a process of its own: their figures."""
    folders = [out.with_name(f"{out.name}-{i}") for i in range(together)]
    flags = ["--workers", str(args.workers), "--scale", str(args.scale)]
    cmds = [[sys.executable, __file__, "--one", kind, str(shards), *flags, "--out", str(f)] for f in folders]
    children = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for cmd in cmds]
    figures = []
    for child, folder in zip(children, folders, strict=True):
        stdout, _ = child.communicate()
        if child.returncode:
            raise SystemExit(f"a {kind} run failed (exit {child.returncode})")
        figures.append(json.loads(stdout.strip().splitlines()[-1]))
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--shards", default="2,4,8", help="shard counts, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sweep", type=int, default=256, help="hurricane replicates (0: no sweep)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every run, interleaved; medians printed (noisy box: 3+)")  # fmt: skip
    parser.add_argument("--contention", action="store_true",
                        help="also run --workers whole runs at once: what one costs with others beside it "
                        "(this machine's share of the sharded runs' excess)")  # fmt: skip
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SHARDS"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one run, its figures as JSON
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.workers, args.scale, args.out)))
        return
    rounds: dict[str, list[dict]] = {}
    configs = [("whole", 0)] + [(kind, int(n)) for n in args.shards.split(",") for kind in ("local", "dask")]
    beside: list[float] = []  # a whole run's CPU with another beside it, per round
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):  # each round runs every config once: drift hits them alike
            for kind, shards in configs:
                out = Path(tmp) / f"{kind}-{shards}-{round_}"
                done = run_child(kind, shards, args, out)
                name = kind if kind == "whole" else f"{shards} shards, {kind}"
                rounds.setdefault(name, []).append(done[0])
            if args.contention:
                pair = run_child("whole", 0, args, Path(tmp) / "pair", together=args.workers)
                beside.append(float(np.mean([r["cpu"] for r in pair])))
    timed = ("wall", "cpu", "driver", "rss")
    results = {name: {**runs[0], "through": max(r["through"] for r in runs),
                      **{key: float(np.median([r[key] for r in runs])) for key in timed}}
               for name, runs in rounds.items()}  # fmt: skip
    whole = results["whole"]
    digests = {r["digest"] for runs in rounds.values() for r in runs}
    medians = f"; medians of {args.repeat} rounds" if args.repeat > 1 else ""
    print(f"paysim_month (settlement: step) at scale {args.scale}: {whole['rows']:,} transactions; "
          f"{args.workers} workers{medians}")  # fmt: skip
    print(f"{'run':18} {'wall':>7} {'speed-up':>8} {'CPU, all':>9} {'x whole':>7} {'driver CPU':>10} "
          f"{'driver RSS':>10} {'rows via driver':>15}  rows")  # fmt: skip
    for name, r in results.items():
        same = "same" if {x["digest"] for x in rounds[name]} == {whole["digest"]} else "DIFFERENT"
        ratios = [x["cpu"] / w["cpu"] for x, w in zip(rounds[name], rounds["whole"], strict=True)]
        spread = f"  (rounds {min(ratios):.2f}-{max(ratios):.2f}x)" if args.repeat > 1 else ""
        print(f"{name:18} {r['wall']:6.1f}s {whole['wall'] / r['wall']:7.2f}x {r['cpu']:8.1f}s "
              f"{r['cpu'] / whole['cpu']:6.2f}x {100 * r['driver'] / r['cpu']:9.1f}% "
              f"{r['rss'] / 2**20:8.0f}MB {r['through']:13,d} B  {same}{spread}")  # fmt: skip
    print("targets: CPU <= 1.2 x whole; driver CPU <= 5 %; driver RSS <= 300 MB; no rows via the driver")
    if beside:
        ratios = [b / r["cpu"] for b, r in zip(beside, rounds["whole"], strict=True)]
        crowded = float(np.median(beside))
        print(
            f"contention: a whole run with {args.workers - 1} other(s) beside it (as the hosts run) costs "
            f"{crowded:.1f} CPU-s, {crowded / whole['cpu']:.2f} x alone (rounds "
            f"{min(ratios):.2f}-{max(ratios):.2f}"
            "x); against it the sharded runs cost "
            + ", ".join(f"{n} {r['cpu'] / crowded:.2f}x" for n, r in results.items() if n != "whole")
        )
    if args.sweep:
        with tempfile.TemporaryDirectory() as tmp:
            sweep(args.sweep, args.workers, Path(tmp))
    if len(digests) > 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
