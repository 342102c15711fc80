"""The `sim` command as a user meets it: exit codes, messages without tracebacks, the printed path."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim import __version__
from sim.cli import main
from tests.conftest import QUICKSTART, ROOT


def sim(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_version():
    result = sim("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"sim {__version__}"


def test_run_prints_the_run_directory_last(small, tmp_path):
    result = sim("run", small, "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / result.stdout.strip().splitlines()[-1]
    assert path.parent == tmp_path / "outputs" / "small"
    assert json.loads((path / "manifest.json").read_text())["status"] == "complete"
    again = sim("run", small, "--quiet", cwd=tmp_path)  # a second default run gets its own directory
    assert again.returncode == 0 and again.stdout.strip() != result.stdout.strip()


def test_run_options_reach_the_run(small, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", str(small), "--out", str(out), "--seed", "99", "--set", "customers=50"]
    code = main([*args, "--scale", "2", "--format", "csv", "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 99 and manifest["parameters"]["customers"] == 50
    assert manifest["scale"] == 2 and manifest["files"]["transactions"]["path"] == "transactions.csv"
    accounts = manifest["files"]["accounts"]["rows"]
    assert accounts == 100 + 40 + 10  # customers, merchants and mules, each doubled


def test_bad_scenario_exits_2_with_located_problems_and_no_traceback(write):
    path = write("schema_version: 1\nname: x\ndomain: payments\nhorizon: {steps: zero}\n")
    result = sim("run", path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:4: horizon.steps: Input should be a valid integer" in result.stderr
    assert f"{path}:1: populations: required field is missing" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "ghost=1"], "<--set>:1: parameters.ghost: unknown parameter"),
        (
            ["--set", "customers=many"],
            "populations.customers.count: Input should be a valid integer",
        ),
        (["--scale", "-1"], "must be a positive number"),
        (["--seed", "abc"], "not an integer"),
        (["--format", "xml"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(small, args, expected):
    result = sim("run", small, *args)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_a_format_of_another_domain_is_a_clear_error(tmp_path):
    out = tmp_path / "run"
    result = sim("run", ROOT / "scenarios" / "beer_game.yaml", "--format", "paysim-csv", "--out", out)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--format paysim-csv is not a format of supply runs (parquet, csv)" in result.stderr
    assert not out.exists()


def test_missing_scenario_file(tmp_path):
    result = sim("run", tmp_path / "absent.yaml")
    assert result.returncode == 2
    assert f"{tmp_path / 'absent.yaml'}: file not found\n" in result.stderr


def test_existing_run_directory_needs_force(small, tmp_path):
    out = tmp_path / "run"
    assert sim("run", small, "--out", out, "--quiet").returncode == 0
    refused = sim("run", small, "--out", out, "--quiet")
    assert refused.returncode == 2 and "already exists (use --force" in refused.stderr
    assert sim("run", small, "--out", out, "--quiet", "--force").returncode == 0


def test_unwritable_output_location_is_a_clear_error(small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = sim("run", small, "--out", blocker / "run", "--quiet")
    assert result.returncode == 1
    assert "cannot create the run directory" in result.stderr and "Traceback" not in result.stderr


def test_validate_checks_every_file(small, write):
    bad = write("schema_version: 2\n", "bad.yaml")
    result = sim("validate", small, QUICKSTART, bad)
    assert result.returncode == 2
    assert f"ok: {small} (small, 24 steps)" in result.stdout
    assert f"ok: {QUICKSTART}" in result.stdout
    assert f"{bad}:1: schema_version: Input should be 1" in result.stderr


def test_every_shipped_scenario_validates():
    scenarios = sorted(Path(QUICKSTART).parent.rglob("*.yaml"))
    assert scenarios
    result = sim("validate", *scenarios)
    assert result.returncode == 0, result.stderr


def test_progress_bar_appears_only_after_a_second():
    from sim.commands import _DelayedProgress

    progress = _DelayedProgress("x")
    progress(1, 10)
    assert progress.bar is None  # a fast run shows nothing
    progress.started -= 2
    progress(2, 10)
    assert progress.bar is not None and progress.bar.console.stderr
    assert progress.bar.tasks[0].completed == 2 and progress.bar.tasks[0].total == 10
    progress.close()


def _cold_env(tmp_path) -> dict:
    import os

    return {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}  # a new environment's cache


def test_kernels_never_compiled_in_this_environment_are_found(tmp_path):
    code = (
        "import sim.domains.payments.world; from sim.engine.kernels import uncompiled_kernels; "
        "print(','.join(uncompiled_kernels()))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_cold_env(tmp_path), capture_output=True,
                         text=True, check=True, cwd=ROOT)  # fmt: skip
    cold = out.stdout.strip().split(",")
    payments = [f"sim.domains.payments.{name}" for name in ("kernels", "settlement", "sums")]
    assert cold == [*payments, "sim.engine.kernels"]


@pytest.mark.slow
def test_a_first_run_says_it_compiles_once_and_the_next_does_not(small, tmp_path):
    """A fresh install's first run compiles the kernels (10 to 30 s): it says so, and only once."""
    said = []
    for i in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "sim", "run", str(small), "--quiet", "--out", str(tmp_path / f"r{i}")],
            env=_cold_env(tmp_path), capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        said.append("compiling" in out.stderr)
    assert said == [True, False]
