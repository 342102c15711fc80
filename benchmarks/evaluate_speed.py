"""How long `sim evaluate` takes on a million rows against a million, stage by stage, beside its baselines.

    python benchmarks/evaluate_speed.py [--rows 1000000]

Makes two transaction logs of about `--rows` rows each (scenarios/paysim_month.yaml, two seeds), then
times, in this one process: reading both tables; the detection stage alone (its classifier fitted on its
sample, real vs synthetic and real vs real); and the whole `evaluate` with `--target is_fraud` (labels
left out, the tell audit, behaviour metrics, fidelity, detection, utility, augmentation, privacy), stage
by stage, in wall-clock and CPU seconds. Targets (issue 15): at most 60 CPU-seconds for the whole, and at
most 3x the time of reading both tables plus fitting the detector on its sample.
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
        stages: list[tuple[str, float, float]] = []
        clock = Clock()
        evaluate(synthetic, real, target="is_fraud",
                 progress=lambda name: stages.append((name, *clock.read())))  # fmt: skip
        total_wall, total_cpu = clock.read()
    print(f"tables: {rows[0]:,} synthetic rows against {rows[1]:,} real rows (paysim_month, seeds 1 and 2)")
    print(f"{'stage':28} {'wall s':>8} {'CPU s':>8}")
    print(f"{'read both tables':28} {read_wall:8.2f} {read_cpu:8.2f}")
    print(f"{'detector on its sample':28} {detect_wall:8.2f} {detect_cpu:8.2f}")
    marks = [*stages, ("(end)", total_wall, total_cpu)]
    for (name, wall, cpu), (_, next_wall, next_cpu) in itertools.pairwise(marks):
        print(f"  evaluate: {name:18} {next_wall - wall:8.2f} {next_cpu - cpu:8.2f}")
    print(f"{'evaluate, whole':28} {total_wall:8.2f} {total_cpu:8.2f}")
    baseline = read_cpu + detect_cpu
    print(f"CPU-seconds: {total_cpu:.1f} (target <= 60: ratio {total_cpu / 60:.2f}); "
          f"against reading + the detector ({baseline:.1f} CPU-s): ratio {total_cpu / baseline:.1f} "
          f"(target <= 3)")  # fmt: skip


if __name__ == "__main__":
    main()
