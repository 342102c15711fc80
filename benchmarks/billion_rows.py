"""A 10^9-row run (issue 17), sharded: a paysim_month-style run (the real month's population and hours, the
hours repeated past the month, `settlement: step`) of `--rows` transactions on `--shards` shards and
`--workers` workers, end to end, written to a folder in `--out` (about 55 bytes a row: 55 GB for 10^9).

Prints the wall time and rows per second, the CPU-seconds of every process, and the peak resident memory
of the driver (target <= 300 MB) and of each worker (target: its share of the one-process bound, 1.5 GB
for a scale-1 population, plus a fixed overhead, taken as the driver's bound: 1.5 GB / workers + 0.3 GB),
whether the run's money is conserved and whether the manifest marks every part complete. Each peak is the
process's own high-water mark (VmHWM), read from /proc before its workers close: Linux only.

Usage: python benchmarks/billion_rows.py [--out /big/disk] [--rows 1e9] [--scale 1] [--shards 2]
       [--workers 2] [--backend local] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MONTH_ROWS = 24_576_685  # paysim_month at scale 1 (the real month)
DRIVER_BOUND = 0.3  # GiB
ONE_PROCESS_BOUND = 1.5  # GiB, a scale-1 population on one process (benchmarks/scale.py)


def high_water(pid: int | str = "self") -> float:
    """A process's peak resident memory so far, GiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def descendants(pid: int) -> list[int]:
    """The live processes below `pid`."""
    found, todo = [], [pid]
    while todo:
        try:
            tasks = list(Path(f"/proc/{todo.pop()}/task").iterdir())
            children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
        except OSError:  # ended meanwhile
            continue
        found += children
        todo += children
    return found


def one_run(args) -> dict:
    """The run in this (fresh) process, the driver: its figures."""
    from sim.distributed import Backend
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "paysim_month.yaml", ["settlement=step"])
    steps = math.ceil(720 * args.rows / (MONTH_ROWS * args.scale))
    scenario = scenario.model_copy(update={"horizon": scenario.horizon.model_copy(update={"steps": steps})})
    started = time.perf_counter()
    with Backend(args.backend, args.workers) as backend:
        run = run_scenario(scenario, args.out, scale=args.scale, shards=args.shards, backend=backend)
        wall = time.perf_counter() - started
        workers = {}
        for pid in descendants(os.getpid()):  # before they close
            try:
                workers[pid] = high_water(pid)
            except OSError:  # a helper that ended meanwhile
                continue
    manifest = json.loads((run / "manifest.json").read_text())
    money = json.loads((run / "kpis.json").read_text())["money"]
    listed = manifest["files"]["transactions"]["parts"]
    on_disk = all((run / p["path"]).stat().st_size == p["bytes"] for p in listed)
    return {"steps": steps, "rows": manifest["files"]["transactions"]["rows"], "wall": wall,
            "driver": high_water(), "workers": sorted(workers.values())[-args.workers:],
            "bytes": sum(p["bytes"] for p in listed), "parts": len(listed),
            "complete": manifest["status"] == "complete" and on_disk, "money": money}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()),
                        help="a folder with room for the run (default: the temporary folder)")  # fmt: skip
    parser.add_argument("--rows", type=float, default=1e9)
    parser.add_argument("--scale", type=float, default=1.0, help="the population's scale")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="local", choices=("local", "dask"))
    parser.add_argument("--keep", action="store_true", help="keep the run's files")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child: the run, its figures as JSON
        print(json.dumps(one_run(args)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="billion-", dir=args.out))
    cmd = [sys.executable, __file__, "--one", "--out", str(folder / "run"), "--rows", str(args.rows),
           "--scale", str(args.scale), "--shards", str(args.shards), "--workers", str(args.workers),
           "--backend", args.backend]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        r = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"paysim_month-style (settlement: step) at scale {args.scale:g}, {r['steps']:,} hourly steps, "
          f"{args.shards} shards on {args.workers} {args.backend} workers")  # fmt: skip
    print(f"rows {r['rows']:,} ({r['rows'] / args.rows:.3f} of --rows), {r['bytes'] / 1e9:.1f} GB of parts "
          f"({r['bytes'] / r['rows']:.1f} B/row)")  # fmt: skip
    print(f"wall {r['wall']:,.0f} s = {r['rows'] / r['wall'] / 1e6:.2f} M rows/s; CPU, all processes "
          f"{cpu:,.0f} s = {r['rows'] / cpu / 1e6:.2f} M rows per CPU-s")  # fmt: skip
    print(f"driver peak RSS {r['driver']:.2f} GiB   target <= {DRIVER_BOUND} GiB: ratio "
          f"{r['driver'] / DRIVER_BOUND:.2f}")  # fmt: skip
    bound = ONE_PROCESS_BOUND / args.workers + DRIVER_BOUND
    for i, peak in enumerate(reversed(r["workers"])):  # the largest processes below the driver: the hosts
        print(f"worker {i} peak RSS {peak:.2f} GiB   target <= {bound:.2f} GiB: ratio {peak / bound:.2f}")
    money = r["money"]
    print(f"money: opening {money['opening_total']:,.2f}, closing {money['closing_total']:,.2f}, "
          f"difference {money['difference']:,.2f}; manifest complete, its {r['parts']} parts on disk at "
          f"their sizes: {r['complete']}")  # fmt: skip


if __name__ == "__main__":
    main()
