"""Run directories: deterministic bytes, honest manifests, atomic publication."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.errors import RunExistsError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import QUICKSTART, small_scenario


def data_bytes(run_dir):
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_scenario_and_seed_give_identical_bytes(small, tmp_path, fmt):
    scenario = load_scenario(small)
    a = run_scenario(scenario, tmp_path / "a", fmt=fmt)
    b = run_scenario(load_scenario(small), tmp_path / "b", fmt=fmt)
    assert data_bytes(a) == data_bytes(b)
    tables = {f"{t}.{fmt}" for t in ("transactions", "accounts", "events", "patterns")}
    assert set(data_bytes(a)) == tables | {"kpis.json", "report.html", "DATASET.md"}


def test_bytes_do_not_depend_on_batch_size_or_numba_threads(small, tmp_path):
    text = small.read_text()
    a = run_scenario(load_scenario(small), tmp_path / "a", fmt="csv")
    small.write_text(text.replace("seed: 11", "seed: 11\noutputs: {batch_rows: 1000}"))
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    out = tmp_path / "b"
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "run",
        str(small),
        "--out",
        str(out),
        "--format",
        "csv",
        "--quiet",
    ]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    assert data_bytes(a) == data_bytes(out)


def test_different_seeds_differ(small, tmp_path):
    a = run_scenario(load_scenario(small, seed=1), tmp_path / "a")
    b = run_scenario(load_scenario(small, seed=2), tmp_path / "b")
    assert data_bytes(a)["transactions.parquet"] != data_bytes(b)["transactions.parquet"]


def test_manifest_describes_the_files_exactly(small, tmp_path):
    run = run_scenario(load_scenario(small, ["attacks=4"]), tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["name"] == "small" and manifest["seed"] == 11 and manifest["schema_version"] == 1
    assert manifest["parameters"] == {"customers": 300, "attacks": 4}
    assert manifest["scenario"]["populations"]["crooks"]["attacks_per_day"] == 4
    assert {"python", "numpy", "mesa", "simpy", "numba", "pyarrow"} <= set(manifest["versions"])
    tables = {"transactions", "accounts", "events", "patterns"}
    assert set(manifest["files"]) == tables | {"kpis", "report", "dataset_card"}
    for name, entry in manifest["files"].items():
        path = run / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert path.stat().st_size == entry["bytes"]
        if name in tables:
            assert pq.read_metadata(path).num_rows == entry["rows"]
            schema = pq.read_schema(path)
            assert entry["columns"] == {f.name: str(f.type) for f in schema}


def test_manifest_scenario_reruns_to_the_same_data(small, tmp_path, write):
    run = run_scenario(load_scenario(small), tmp_path / "a")
    import yaml

    resolved = json.loads((run / "manifest.json").read_text())["scenario"]
    again = write(yaml.safe_dump(resolved), "resolved.yaml")
    rerun = run_scenario(load_scenario(again), tmp_path / "b")
    card = "DATASET.md"  # describes the file as written: the resolved one has its parameters filled in
    assert {k: v for k, v in data_bytes(run).items() if k != card} == {
        k: v for k, v in data_bytes(rerun).items() if k != card
    }


def test_existing_run_is_kept_without_force_and_replaced_with_it(small, tmp_path):
    out = tmp_path / "runs" / "run"
    run_scenario(load_scenario(small), out)
    marker = out / "keep-me"
    marker.write_text("x")
    with pytest.raises(RunExistsError):
        run_scenario(load_scenario(small), out)
    assert marker.exists()
    run_scenario(load_scenario(small), out, force=True)
    assert not marker.exists() and (out / "manifest.json").exists()
    assert [p.name for p in out.parent.iterdir()] == ["run"]  # no partial or replaced leftovers


def test_a_failed_run_leaves_nothing_that_looks_complete(small, tmp_path, monkeypatch):
    from sim.domains.payments.world import PaymentsWorld

    def explode(self, *a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(PaymentsWorld, "step", explode)
    with pytest.raises(RuntimeError):
        run_scenario(load_scenario(small), tmp_path / "runs" / "run")
    assert list((tmp_path / "runs").iterdir()) == []


def test_killed_run_never_has_a_complete_manifest_and_a_rerun_succeeds(write, tmp_path):
    path = write(small_scenario(steps=2000, customers=20000), "long.yaml")
    out = tmp_path / "runs" / "r"
    cmd = [sys.executable, "-m", "sim", "run", str(path), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    partial = []
    while time.monotonic() < deadline and proc.poll() is None:
        partial = list((tmp_path / "runs").glob(".r.partial-*/transactions.parquet"))
        if partial:
            time.sleep(0.5)
            break
        time.sleep(0.05)
    assert partial, "the run never started writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    for manifest in (tmp_path / "runs").glob("*/manifest.json"):
        assert json.loads(manifest.read_text())["status"] != "complete"
    short = write(small_scenario(steps=24, customers=20000), "short.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(short), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_quickstart_runs_and_labels_fraud(tmp_path):
    run = run_scenario(load_scenario(QUICKSTART), tmp_path / "qs")
    tx = pd.read_parquet(run / "transactions.parquet")
    assert 20_000 < len(tx) < 80_000
    assert tx.is_fraud.any() and (tx.campaign_id == 1).any()
    events = pd.read_parquet(run / "events.parquet")
    assert list(events.event) == ["friday_wave"]


def test_a_run_that_fails_midway_leaves_no_writer_thread_buffer_or_directory(tmp_path, monkeypatch):
    """In a long-lived process (a notebook, a service) a failed run must not keep its writers' threads
    and the rows they had buffered."""
    import threading

    from sim.domains.payments.world import PaymentsWorld

    step = PaymentsWorld.step

    def failing(self, k, timeline):
        if k == 20:
            raise RuntimeError("step 20 broke")
        return step(self, k, timeline)

    monkeypatch.setattr(PaymentsWorld, "step", failing)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="step 20 broke"):
        run_scenario(load_scenario(QUICKSTART), out, scale=0.01)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("write-")]
    assert not out.exists() and not list(tmp_path.glob(".run.partial-*"))
