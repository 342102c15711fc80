"""The benchmark scripts still run (at toy sizes; their figures are measured by hand, never timed here)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = {
    "engine_overhead.py": ["--customers", "2000", "--steps", "5"],
    "supply_throughput.py": ["--replicates", "500", "--nodes", "30", "--days", "20"],
    "payments_throughput.py": ["--scale", "0.002", "--mesa-scale", "0.0005", "--mesa-steps", "3",
                               "--rss-rows", "20000"],
    "refine_quality.py": ["--rows", "3000", "--methods", "reweight,copula"],
    "scale.py": ["--small", "300000", "--large", "600000"],
    "calibration_quality.py": ["--quick"],
    "difficulty_calibration.py": ["--quick"],
    "sharded.py": ["--scale", "0.02", "--shards", "2", "--sweep", "4", "--contention"],
    "billion_rows.py": ["--rows", "300000", "--scale", "0.1"],
    "evaluate_speed.py": ["--rows", "30000"],
    "payments_realism.py": ["--only", "banksim", "--scale", "0.3", "--audit"],
    "against_commit.py": ["--rounds", "1", "--scale", "0.002", "--replicates", "500", "--nodes", "30",
                          "--days", "20"],
}  # fmt: skip
EXPECTED = {
    "refine_quality.py": "TSTR/TRTR",
    "calibration_quality.py": "PaySim month targets",
    "difficulty_calibration.py": "difficulty targets",
    "payments_realism.py": "declined",
    "sharded.py": "x whole",
}  # what each script prints among its figures (default "ratio")


def test_every_benchmark_script_is_run_here():
    assert sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_script_runs_and_prints_its_figures(script):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *SCRIPTS[script]],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert EXPECTED.get(script, "ratio") in result.stdout


@pytest.mark.slow
def test_the_output_comparison_tool_finds_a_tree_identical_to_itself():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "compare_outputs.py"),
            "--only",
            "beer_game",
            "--only",
            "quickstart",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "every run is identical to HEAD" in result.stdout
