"""Sharded runs and sweeps on backends: the same rows whatever the shard count, worker count or backend;
a partitioned Parquet dataset that pandas, DuckDB and Polars read as one table; clear errors."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from dask.distributed import LocalCluster

from sim.distributed import Backend
from sim.domains.payments.sharding import shard_cells
from sim.errors import InputError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from sim.stress import run_stress
from tests.conftest import ROOT, small_scenario, stepwise

AML = ROOT / "scenarios" / "aml_typologies.yaml"


def rows_digest(path: Path) -> str:
    """A checksum of a table's rows in a canonical order (every column, so ties cannot hide a difference)."""
    frame = pd.read_parquet(path)
    frame = frame.sort_values(list(frame.columns), kind="stable", ignore_index=True)
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A fraud scenario (4 customer cells) run whole, and sharded on several backends."""
    root = tmp_path_factory.mktemp("sharded")
    path = root / "small.yaml"
    path.write_text(small_scenario(steps=36, customers=5000) + "\nsettlement: step\n")
    scenario = load_scenario(path)
    out = {"whole": run_scenario(scenario, root / "whole")}
    with Backend("local", 1) as one:
        out["2 shards, 1 local worker"] = run_scenario(scenario, root / "l1", shards=2, backend=one)
        out["4 shards, 1 local worker"] = run_scenario(scenario, root / "l1x4", shards=4, backend=one)
    with Backend("local", 2) as two:
        out["2 shards, 2 local workers"] = run_scenario(scenario, root / "l2", shards=2, backend=two)
        out["4 shards, 2 local workers"] = run_scenario(scenario, root / "l2x4", shards=4, backend=two)
    with Backend("dask", 2) as dask:
        out["2 shards, Dask LocalCluster"] = run_scenario(scenario, root / "d2", shards=2, backend=dask)
        out["4 shards, Dask LocalCluster"] = run_scenario(scenario, root / "d2x4", shards=4, backend=dask)
    # a cluster started elsewhere, reached by its scheduler's address: its hosts listen on every interface
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Backend("dask", scheduler=cluster.scheduler_address) as running,
    ):
        out["2 shards, a running Dask cluster"] = run_scenario(
            scenario, root / "r2", shards=2, backend=running
        )
    out["1 shard, default backend"] = run_scenario(scenario, root / "s1", shards=1)
    return out


def test_sharded_rows_are_the_unsharded_rows_for_any_shards_workers_and_backend(runs):
    whole = runs["whole"]
    expected = rows_digest(whole / "transactions.parquet")
    for label, run in runs.items():
        if label == "whole":
            continue
        assert rows_digest(run / "transactions") == expected, label
        assert json.loads((run / "kpis.json").read_text()) == json.loads((whole / "kpis.json").read_text())
        for table in ("accounts", "patterns", "events"):
            assert manifest(run)["files"][table]["sha256"] == manifest(whole)["files"][table]["sha256"]
    kpis = json.loads((whole / "kpis.json").read_text())
    assert kpis["fraud"]["transactions"] > 0  # fraud rows, whose payers live on every shard, are in


def test_part_files_are_byte_identical_for_any_worker_count_and_backend(runs):
    labels = ("2 shards, 1 local worker", "2 shards, 2 local workers", "2 shards, Dask LocalCluster",
              "2 shards, a running Dask cluster")  # fmt: skip
    parts = [manifest(runs[label])["files"]["transactions"]["parts"] for label in labels]
    assert parts[0] == parts[1] == parts[2] == parts[3]
    assert [p["path"] for p in parts[0]] == ["transactions/part-000-00000.parquet",
                                             "transactions/part-001-00000.parquet"]  # fmt: skip


def test_the_manifest_checksums_every_part_and_each_part_is_in_time_order(runs):
    run = runs["4 shards, 1 local worker"]
    entry = manifest(run)["files"]["transactions"]
    assert entry["format"] == "parquet-dataset" and entry["path"] == "transactions"
    assert sum(p["rows"] for p in entry["parts"]) == entry["rows"] == json.loads(
        (run / "kpis.json").read_text())["transactions"]  # fmt: skip
    assert sorted(p.name for p in (run / "transactions").iterdir()) == sorted(
        Path(p["path"]).name for p in entry["parts"])  # fmt: skip
    for part in entry["parts"]:
        path = run / part["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == part["sha256"]
        stamps = pq.read_table(path, columns=["timestamp"]).column(0).to_numpy()
        assert len(stamps) == part["rows"] and (np.diff(stamps.astype(np.int64)) >= 0).all()


def test_each_payer_is_on_exactly_one_shard(runs):
    run = runs["4 shards, 1 local worker"]
    payers = [set(pq.read_table(p, columns=["origin"]).column(0).to_pylist())
              for p in sorted((run / "transactions").glob("*.parquet"))]  # fmt: skip
    assert len(payers) == 4 and all(payers)
    assert sum(len(p) for p in payers) == len(set().union(*payers))


def test_money_is_conserved_across_shards(runs):
    run = runs["4 shards, 1 local worker"]
    accounts = pd.read_parquet(run / "accounts.parquet")
    opening, closing = accounts["opening_balance"].sum(), accounts["closing_balance"].sum()
    assert closing == pytest.approx(opening, rel=1e-12)
    shard_of, rows = {}, []
    for part in sorted((run / "transactions").glob("*.parquet")):
        frame = pd.read_parquet(part, columns=["origin", "dest"])
        shard_of.update(dict.fromkeys(frame["origin"], part.name.split("-")[1]))
        rows.append(frame)
    rows = pd.concat(rows)
    known = rows[rows["dest"].isin(shard_of)]
    cross = known["origin"].map(shard_of) != known["dest"].map(shard_of)
    assert cross.mean() > 0.3  # most transfers cross shards: conservation is not a trivial statement


def test_the_dataset_reads_as_one_table_in_pandas_duckdb_and_polars(runs):
    run = runs["4 shards, 1 local worker"]
    rows = manifest(run)["files"]["transactions"]["rows"]
    frame = pd.read_parquet(run / "transactions")
    assert len(frame) == rows
    glob = str(run / "transactions" / "*.parquet")
    con = duckdb.connect()
    count, fraud = con.execute(f"select count(*), sum(is_fraud::int) from read_parquet('{glob}')").fetchone()
    assert (count, fraud) == (rows, int(frame["is_fraud"].sum()))
    polars = pl.read_parquet(glob)
    assert polars.height == rows and polars["amount"].sum() == pytest.approx(frame["amount"].sum())


def test_the_driver_builds_no_accounts_and_the_first_host_writes_them(runs, tmp_path, monkeypatch):
    """A sharded run's driver holds none of the world's state, so its memory does not grow with the run:
    accounts built in the driver's process fail here, while the hosts (processes of their own) build
    them and the first host writes the accounts and patterns tables, checksummed in the manifest."""
    import sim.domains.payments.world as payments_world

    def refuse(*args, **kwargs):
        raise AssertionError("the driver built the accounts")

    monkeypatch.setattr(payments_world, "build_accounts", refuse)
    path = tmp_path / "small.yaml"
    path.write_text(small_scenario(steps=36, customers=5000) + "\nsettlement: step\n")
    with Backend("local", 2) as two:
        run = run_scenario(load_scenario(path), tmp_path / "run", shards=2, backend=two)
    for table in ("accounts", "patterns"):
        entry = manifest(run)["files"][table]
        assert entry["sha256"] == manifest(runs["whole"])["files"][table]["sha256"]
        assert hashlib.sha256((run / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["rows"] == pq.read_metadata(run / entry["path"]).num_rows


def test_a_large_scenario_shards_its_laundering_too(tmp_path):
    scenario = stepwise(load_scenario(AML, ["patterns=2"]))
    whole = run_scenario(scenario, tmp_path / "whole", scale=0.15)
    with Backend("local", 2) as two:
        sharded = run_scenario(scenario, tmp_path / "sharded", scale=0.15, shards=2, backend=two)
    assert json.loads((whole / "kpis.json").read_text())["laundering"]["transactions"] > 0
    assert rows_digest(sharded / "transactions") == rows_digest(whole / "transactions.parquet")


def test_shards_are_whole_cells():
    assert shard_cells(4, 2, "x") == [range(0, 2), range(2, 4)]
    assert [len(g) for g in shard_cells(64, 5, "x")] == [12, 13, 13, 13, 13]
    with pytest.raises(InputError, match="at most 4 shard"):
        shard_cells(4, 5, "x")


def _sim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scenarios/beer_game.yaml", "--shards", "2"], "only payments worlds are sharded"),
        (["scenarios/quickstart.yaml", "--shards", "2"], "--shards needs `settlement: step`"),
        (["scenarios/quickstart.yaml", "--shards", "2", "--format", "csv"], "--format csv is not available"),
        (["scenarios/quickstart.yaml", "--workers", "2"], "need --shards N"),
        (
            ["scenarios/quickstart.yaml", "--shards", "2", "--backend", "local", "--scheduler", "tcp://x:1"],
            "--scheduler needs --backend dask",
        ),
        (
            ["scenarios/quickstart.yaml", "--shards", "2", "--scheduler", "notaurl"],
            "not a scheduler address like tcp://host:8786: 'notaurl'",
        ),
    ],
)
def test_bad_sharding_options_are_clear_errors(args, message, tmp_path):
    result = _sim("run", *args, "--out", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_more_shards_than_cells_is_a_clear_error(tmp_path):
    path = tmp_path / "step.yaml"
    path.write_text(small_scenario(steps=12, customers=5000) + "\nsettlement: step\n")
    result = _sim("run", str(path), "--shards", "9", "--out", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 2 and "at most 4 shard(s)" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_stress_replicates_give_the_same_bytes_on_every_backend(tmp_path):
    scenario = ROOT / "scenarios" / "supplier_outage.yaml"
    digests = []
    for label, backend in [("here", None), ("local", Backend("local", 2)), ("dask", Backend("dask", 2))]:
        try:
            out = run_stress(scenario, 3, {}, tmp_path / label, backend=backend)
        finally:
            if backend is not None:
                backend.close()
        digests.append(
            {n: f["sha256"] for n, f in manifest(out)["files"].items() if n in ("stress", "summary")}
        )
    assert digests[0] == digests[1] == digests[2]


def test_calibration_candidates_run_on_every_backend_to_the_same_result():
    from sim.calibration import Calibrator
    from tests.test_calibration import BEER, BEER_TARGETS, S_PRIMES

    space = {"theta": (0.0, 1.0), "alpha_s": (0.0, 1.0)}
    kwargs = {"budget": 24, "random_state": 5, "overrides": [*S_PRIMES, "beta=0.2"], "polish_share": 0.25,
              "replicates": 2, "batch": 4}  # fmt: skip
    histories = {}
    for label, executor in [("here", None), ("local", Backend("local", 2)), ("dask", Backend("dask", 2))]:
        try:
            cal = Calibrator(space, executor=executor, **kwargs).fit(BEER, BEER_TARGETS)
        finally:
            if executor is not None:
                executor.close()
        histories[label] = cal.history_.drop(columns="seconds")
        assert len(cal.history_) == 24
    pd.testing.assert_frame_equal(histories["here"], histories["local"])
    pd.testing.assert_frame_equal(histories["here"], histories["dask"])


def test_activity_by_type_rows_do_not_depend_on_the_shards(tmp_path):
    """Per-type clients draw from the same stream per (step, cell) as the one group does: a sharded
    run still writes the whole run's rows."""
    path = tmp_path / "by_type.yaml"
    by_type = "    role: customer\n    activity_by_type: paysim\n    income_share: 0.5\n"
    path.write_text(small_scenario(steps=24, customers=5000).replace("    role: customer\n", by_type)
                    + "\nsettlement: step\n")  # fmt: skip
    scenario = load_scenario(path)
    whole = run_scenario(scenario, tmp_path / "whole")
    with Backend("local", 1) as one:
        sharded = run_scenario(scenario, tmp_path / "four", shards=4, backend=one)
    assert rows_digest(sharded / "transactions") == rows_digest(whole / "transactions.parquet")


def test_step_settlement_rows_do_not_depend_on_the_shards_and_the_manifest_records_the_rule(tmp_path):
    """The clearing-batch rule settles the same rows whole and sharded; the run says which rule it used."""
    path = tmp_path / "step.yaml"
    path.write_text(small_scenario(steps=24, customers=5000) + "\nsettlement: step\n")
    scenario = load_scenario(path)
    whole = run_scenario(scenario, tmp_path / "whole")
    with Backend("local", 1) as one:
        sharded = run_scenario(scenario, tmp_path / "two", shards=2, backend=one)
    assert rows_digest(sharded / "transactions") == rows_digest(whole / "transactions.parquet")
    assert manifest(whole)["scenario"]["settlement"] == manifest(sharded)["scenario"]["settlement"] == "step"


def test_work_goes_to_the_workers_in_batches_and_comes_back_in_order():
    items = [(i, 2) for i in range(50)]
    with Backend("local", 2) as two:
        for batch in (None, 1, 7, 50, 64):
            assert list(two.map_ordered(pow, items, batch=batch)) == [i**2 for i in range(50)]
        assert list(two.map_ordered(pow, [])) == []
