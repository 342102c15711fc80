"""How long `sim evaluate` takes on a million rows against a million, stage by stage, beside its baselines.

    python benchmarks/evaluate_speed.py [--rows 1000000]

Makes two transaction logs of about `--rows` rows each (scenarios/paysim_month.yaml, two seeds), then
times, in this one process: reading both tables; the detection stage alone (its classifier fitted on its
sample, real vs synthetic and real vs real); `sim evaluate --target is_fraud` as it runs by default
(labels left out, the leak check, behaviour metrics, fidelity, detection, utility, privacy); and with
`--audit --augment` (the whole tell audit of both tables, the augmentation arms), stage by stage, in
wall-clock and CPU seconds. Targets (issue 15): at most 60 CPU-seconds for the whole, and at most 3x the
time of reading both tables plus fitting the detector on its sample.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.evaluation import evaluate, read_table  # noqa: E402
from sim.evaluation.detection import detection  # noqa: E402
from sim.evaluation.tables import describe  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

MONTH_ROWS = 24_576_685  # paysim_month at scale 1


class Clock:
    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each table (default 1,000,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for seed in (1, 2):
            scenario = load_scenario(ROOT / "scenarios" / "paysim_month.yaml", seed=seed)
            runs.append(run_scenario(scenario, Path(tmp) / f"run{seed}", scale=args.rows / MONTH_ROWS))
        rows = [json.loads((r / "manifest.json").read_text())["files"]["transactions"]["rows"] for r in runs]
        clock = Clock()
        synthetic, real = read_table(runs[0]), read_table(runs[1])
        read_wall, read_cpu = clock.read()
        columns = describe(real, synthetic, "is_fraud")
        clock = Clock()
        detection(real, synthetic, columns, 0)
        detect_wall, detect_cpu = clock.read()
        runs = {"default": _timed(synthetic, real), "--audit --augment": _timed(synthetic, real, True)}
    print(f"tables: {rows[0]:,} synthetic rows against {rows[1]:,} real rows (paysim_month, seeds 1 and 2)")
    print(f"{'stage':34} {'wall s':>8} {'CPU s':>8}")
    print(f"{'read both tables':34} {read_wall:8.2f} {read_cpu:8.2f}")
    print(f"{'detector on its sample':34} {detect_wall:8.2f} {detect_cpu:8.2f}")
    baseline = read_cpu + detect_cpu
    for label, (stages, total_wall, total_cpu) in runs.items():
        marks = [*stages, ("(end)", total_wall, total_cpu)]
        for (name, wall, cpu), (_, next_wall, next_cpu) in itertools.pairwise(marks):
            print(f"  {name:32} {next_wall - wall:8.2f} {next_cpu - cpu:8.2f}")
        whole = read_cpu + total_cpu
        print(f"{'evaluate ' + label + ', whole':34} {total_wall:8.2f} {total_cpu:8.2f}")
        print(f"  with reading: {whole:.1f} CPU-s (target <= 60: ratio {whole / 60:.2f}); against reading + "
              f"the detector ({baseline:.1f} CPU-s): ratio {whole / baseline:.1f} (target <= 3)")  # fmt: skip


def _timed(synthetic, real, everything: bool = False) -> tuple[list[tuple[str, float, float]], float, float]:
    """`evaluate`'s stages (name, wall and CPU seconds at its start), its wall and CPU seconds."""
    stages: list[tuple[str, float, float]] = []
    clock = Clock()
    evaluate(synthetic, real, target="is_fraud", tells=everything, augment=everything,
             progress=lambda name: stages.append((name, *clock.read())))  # fmt: skip
    return stages, *clock.read()


if __name__ == "__main__":
    main()
