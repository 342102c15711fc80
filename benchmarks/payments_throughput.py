"""Payments throughput: the figures issue 3 names, each with its ratio to its baseline, in one run.

    python benchmarks/payments_throughput.py [--scale 1] [--mesa-scale 0.01] [--rss-rows 1e8]

1. simulation alone (arrays, no writing) of scenarios/paysim_month.yaml: transactions per second;
2. end to end (`run_scenario`: simulation + balances + fraud + Parquet + accounts, kpis, report);
3. pyarrow alone writing the same transactions table with the same options (the I/O ceiling);
4. a plain Mesa implementation of the same per-step logic (one `mesa.Agent` per client), on a reduced
   population, against our simulation of that same reduced population;
5. peak RSS of an end-to-end run of ~10^8 transactions (the paysim month repeated), measured by the
   child process that runs it (its own VmHWM);
6. the CPU-seconds (user + system, every thread) of a warm `sim run scenarios/quickstart.yaml --quiet`,
   the command a newcomer runs first (target <= 2.5: a small run must not be all start-up).
PaySim's own speed (0.14-0.20 M transactions/s on this machine) is quoted from the issue, not re-measured.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa
import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.engine.model import SimModel  # noqa: E402
from sim.records import parquet_options  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "paysim_month.yaml"
PAYSIM_TX_PER_S = 0.17e6  # midpoint of the 0.14-0.20 M/s for PaySim on this machine


def simulate(scenario, scale: float, steps: int | None = None) -> tuple[int, float]:
    """Step a model through the horizon (or `steps` steps) without writing; (rows, seconds)."""
    model = SimModel(scenario, scale=scale)
    rows = 0
    started = time.perf_counter()
    while model.running and (steps is None or model.steps < steps):
        model.step()
        rows += model.batch.num_rows
    seconds = time.perf_counter() - started
    model.release()
    return rows, seconds


class Client(mesa.Agent):
    """The same per-step logic as the payments kernel, written the plain Mesa way."""

    def __init__(self, model, rate, scale, balance, overdraft):
        super().__init__(model)
        self.rate, self.scale, self.balance, self.overdraft = rate, scale, balance, overdraft

    def step(self):
        m = self.model
        rng = m.np_rng
        for _ in range(rng.poisson(self.rate * m.day_share)):
            channel = int(np.searchsorted(m.cdf, rng.random(), side="right"))
            channel = min(channel, len(m.cdf) - 1)
            amount = round(math.exp(m.p1[channel] + m.p2[channel] * rng.standard_normal()) * self.scale, 2)
            if m.kind[channel] == 4:  # TRANSFER to another client
                payee = m.clients[rng.integers(len(m.clients))]
            else:
                payee = m.merchants[rng.integers(len(m.merchants))]
            payer, receiver = (payee, self) if m.kind[channel] == 0 else (self, payee)  # CASH_IN
            declined = payer.balance + payer.overdraft < amount and m.kind[channel] != 0
            if not declined:
                payer.balance -= amount
                receiver.balance += amount
            m.log.append((m.steps, m.kind[channel], amount, self.unique_id, payee.unique_id, declined))


class Merchant(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.balance, self.overdraft = 5e6, math.inf

    def step(self):
        pass


class PlainMesaPayments(mesa.Model):
    def __init__(self, world, seed: int):
        super().__init__(rng=seed)
        self.np_rng = np.random.default_rng(seed)
        a, act = world.accounts, world.activity
        c = a.customers
        self.clients = [
            Client(self, a.rate_per_day[i], a.amount_scale[i], a.opening[i], a.overdraft[i])
            for i in range(c.start, c.stop)
        ]
        self.merchants = [Merchant(self) for _ in range(a.merchants.size)]
        self.activity, self.log = act, []
        self.kind = act.channels.kind

    def step(self):
        k = self.steps - 1
        act = self.activity
        channels = act.channels.at(act.profile_row[k])
        self.day_share, self.cdf = act.day_share[k], channels.cdf
        self.p1, self.p2 = channels.p1, channels.p2
        self.agents_by_type[Client].shuffle_do("step")


def mesa_baseline(scenario, scale: float, steps: int) -> tuple[int, float]:
    model = SimModel(scenario, scale=scale)  # borrow the same world's populations and profiles
    plain = PlainMesaPayments(model.world, seed=1)
    started = time.perf_counter()
    for _ in range(steps):
        plain.step()
    seconds = time.perf_counter() - started
    model.release()
    return len(plain.log), seconds


def peak_rss_run(rows: float) -> dict:
    """Run ~`rows` transactions end to end in a child process; its peak resident memory."""
    steps = math.ceil(720 * rows / 24_576_685)
    code = f"""
import sys, json, time, tempfile
sys.path.insert(0, {str(ROOT)!r})
from sim.runner import run_scenario
from sim.scenario import load_scenario
s = load_scenario({str(SCENARIO)!r})
s = s.model_copy(update={{"horizon": s.horizon.model_copy(update={{"steps": {steps}}})}})
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    run = run_scenario(s, d + "/run")
    seconds = time.perf_counter() - t
    rows = json.load(open(run / "manifest.json"))["files"]["transactions"]["rows"]
# VmHWM: this process image's own peak (ru_maxrss would carry the forking parent's over exec)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
peak = int(hwm.split()[1]) / 1024**2  # KiB -> GiB
print(json.dumps({{"rows": rows, "seconds": seconds, "peak_rss_gb": peak}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def quickstart_cpu() -> float:
    """CPU-seconds of a warm `sim run scenarios/quickstart.yaml --quiet` (the median of three, after a
    first run that warms the Numba cache), as the child processes' own rusage counts them."""
    import resource

    spent = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(4):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            command = [sys.executable, "-m", "sim", "run", str(ROOT / "scenarios" / "quickstart.yaml"),
                       "--quiet", "--out", str(Path(tmp) / f"run{i}")]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return float(np.median(spent[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="paysim_month scale (1 = the real month)")
    parser.add_argument("--mesa-scale", type=float, default=0.01, help="population of the Mesa comparison")
    parser.add_argument("--mesa-steps", type=int, default=48, help="hours the Mesa comparison runs")
    parser.add_argument("--rss-rows", type=float, default=1e8, help="rows of the memory run (0: skip)")
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    SimModel(scenario, scale=0.001).release()  # compile the kernels outside the timings

    rows, seconds = simulate(scenario, args.scale)
    sim_rate = rows / seconds
    print(f"simulation alone      {rows:>12,} tx in {seconds:6.2f} s = {sim_rate / 1e6:6.2f} M tx/s"
          f"   target 20 M/s: ratio {sim_rate / 20e6:.2f}")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run = run_scenario(scenario, Path(tmp) / "run", scale=args.scale)
        seconds = time.perf_counter() - started
        manifest = json.loads((run / "manifest.json").read_text())
        rows = manifest["files"]["transactions"]["rows"]
        e2e_rate = rows / seconds
        table = pq.read_table(run / "transactions.parquet")
        options = parquet_options(table.schema, scenario.outputs.compression)
        started = time.perf_counter()
        pq.write_table(
            table, Path(tmp) / "again.parquet", row_group_size=scenario.outputs.batch_rows, **options
        )
        write_rate = table.num_rows / (time.perf_counter() - started)
        del table
    print(f"end to end            {rows:>12,} tx in {seconds:6.2f} s = {e2e_rate / 1e6:6.2f} M tx/s"
          f"   target 5 M/s: ratio {e2e_rate / 5e6:.2f};  vs PaySim (0.17 M/s, quoted): "
          f"{e2e_rate / PAYSIM_TX_PER_S:.0f}x")  # fmt: skip
    codec = scenario.outputs.compression
    print(f"pyarrow alone writes  {write_rate / 1e6:6.2f} M rows/s ({codec}, same options)"
          f"   end to end / pyarrow alone = {e2e_rate / write_rate:.2f} (target >= 0.70)")  # fmt: skip

    steps = args.mesa_steps
    ours_rows, ours_s = simulate(scenario, args.mesa_scale, steps)
    mesa_rows, mesa_s = mesa_baseline(scenario, args.mesa_scale, steps)
    ours_small, mesa_rate = ours_rows / ours_s, mesa_rows / mesa_s
    print(f"plain Mesa            {mesa_rows:>12,} tx in {mesa_s:6.2f} s = {mesa_rate / 1e6:6.3f} M tx/s"
          f"   (scale {args.mesa_scale}, {steps} h)")  # fmt: skip
    print(
        f"ours, same population {ours_rows:>12,} tx in {ours_s:6.2f} s = {ours_small / 1e6:6.2f} M tx/s"
        f"   ratio {ours_small / mesa_rate:.0f}x;  at full scale {sim_rate / mesa_rate:.0f}x (target >= 25x)"
    )

    cpu = quickstart_cpu()
    print(f"warm quickstart run   {cpu:6.2f} CPU-s (sim run scenarios/quickstart.yaml --quiet)"
          f"   target <= 2.5: ratio {cpu / 2.5:.2f}")  # fmt: skip

    if args.rss_rows > 0:
        rss = peak_rss_run(args.rss_rows)
        print(f"memory run            {rss['rows']:>12,} tx in {rss['seconds']:6.1f} s = "
              f"{rss['rows'] / rss['seconds'] / 1e6:6.2f} M tx/s   peak RSS {rss['peak_rss_gb']:.2f} GB"
              f"   target <= 1.5 GB: ratio {rss['peak_rss_gb'] / 1.5:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
