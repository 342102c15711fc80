"""`sim run --out s3://...`: a run published to object storage (moto's S3 server, started here) holds the
same bytes as the run on disk, checksummed in its manifest; the manifest goes up last, so a run that
fails part way leaves nothing marked complete, and a rerun replaces it. A sharded run's parts go from its
workers to the store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from sim.errors import RunExistsError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from sim.storage import Store
from tests.conftest import ROOT, stepwise

moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


@pytest.fixture(scope="module")
def endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch, request):
    """A fresh bucket on the emulator, credentials in the environment (spawned workers inherit them)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    bucket = "test-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]  # one per test
    from pyarrow import fs

    fs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=True).create_dir(bucket)
    return f"s3://{bucket}"


def objects(store: Store) -> dict[str, bytes]:
    """The run's objects (not the messages its hosts exchange while it runs, read once and deleted)."""
    from pyarrow import fs

    found = store.fs.get_file_info(fs.FileSelector(store.root, recursive=True, allow_not_found=True))
    out = {}
    for info in found:
        if info.type == fs.FileType.File and "/_exchange/" not in info.path:
            with store.fs.open_input_stream(info.path) as stream:
                out[info.path.removeprefix(store.root + "/")] = stream.read()
    return out


def checked(store: Store) -> dict:
    """The store's manifest, after checking it is complete and every file and part it lists is there with
    its checksum."""
    held = objects(store)
    manifest = json.loads(held["manifest.json"])
    assert manifest["status"] == "complete"
    for entry in manifest["files"].values():
        for part in entry.get("parts", [entry]):
            assert hashlib.sha256(held[part["path"]]).hexdigest() == part["sha256"], part["path"]
    return manifest


def scenario(customers: int = 2500):
    return stepwise(load_scenario(QUICKSTART, [f"customers={customers}"]))  # shardable


def test_a_run_on_s3_holds_the_bytes_of_the_run_on_disk(s3, tmp_path):
    local = run_scenario(scenario(), tmp_path / "local")
    uri = run_scenario(scenario(), f"{s3}/runs/q")
    assert uri == f"{s3}/runs/q"
    manifest = checked(Store(uri))
    on_disk = json.loads((local / "manifest.json").read_text())
    for name in ("transactions", "accounts", "patterns", "events"):
        assert manifest["files"][name]["sha256"] == on_disk["files"][name]["sha256"]


@pytest.mark.parametrize(
    "kind", ["local", pytest.param("dask", marks=pytest.mark.slow)]
)  # Dask: a cluster start
def test_a_sharded_run_writes_its_parts_from_the_workers_to_the_store(s3, tmp_path, kind):
    from sim.distributed import Backend

    whole = ds.dataset(run_scenario(scenario(5000), tmp_path / "whole") / "transactions.parquet").to_table()
    with Backend(kind, 2) as backend:
        uri = run_scenario(scenario(5000), f"{s3}/sharded", shards=2, backend=backend)
    store = Store(uri)
    manifest = checked(store)
    parts = manifest["files"]["transactions"]["parts"]
    assert {p["path"].split("-")[1] for p in parts} == {"000", "001"}  # each shard's own part files
    sharded = ds.dataset(store.path("transactions"), filesystem=store.fs, format="parquet").to_table()
    order = [
        ("timestamp", "ascending"),
        ("origin", "ascending"),
        ("dest", "ascending"),
        ("amount", "ascending"),
    ]
    assert sharded.sort_by(order).equals(whole.sort_by(order))


def test_a_run_that_fails_while_publishing_is_not_marked_complete_and_reruns(s3, monkeypatch):
    uri = f"{s3}/runs/q"
    first = run_scenario(scenario(), uri)
    expected = checked(Store(first))["files"]["transactions"]["sha256"]
    with pytest.raises(RunExistsError, match="already holds a complete run"):
        run_scenario(scenario(), uri)
    uploaded = []
    real_upload = Store.upload

    def fail_on_the_third(self, local, relative):
        if len(uploaded) == 2:
            raise OSError("connection reset")
        uploaded.append(relative)
        real_upload(self, local, relative)

    monkeypatch.setattr(Store, "upload", fail_on_the_third)
    with pytest.raises(OSError):
        run_scenario(scenario(), uri, force=True)
    monkeypatch.setattr(Store, "upload", real_upload)
    held = objects(Store(uri))  # the old run cleared; of the new one, its running manifest and one file
    assert json.loads(held.pop("manifest.json"))["status"] == "running" and len(held) == 1
    again = run_scenario(scenario(), uri)  # nothing complete there: no --force needed
    assert checked(Store(again))["files"]["transactions"]["sha256"] == expected


def test_the_cli_publishes_to_a_uri_and_other_commands_refuse_one(s3, tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(QUICKSTART), "--set", "customers=2000",
                           "--out", f"{s3}/cli", "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{s3}/cli"
    checked(Store(f"{s3}/cli"))
    refused = subprocess.run([sys.executable, "-m", "sim", "stress", str(QUICKSTART), "--out", f"{s3}/x"],
                             capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 2 and "object storage is written by `sim run` only" in refused.stderr
    Store(f"{s3}/other").fs.open_output_stream(Store(f"{s3}/other").path("theirs.csv")).close()
    foreign = subprocess.run([sys.executable, "-m", "sim", "run", str(QUICKSTART), "--out", f"{s3}/other",
                              "--force"], capture_output=True, text=True)  # fmt: skip
    assert foreign.returncode == 2 and "holds objects that are not a run" in foreign.stderr
    assert "theirs.csv" in objects(Store(f"{s3}/other"))  # never deleted, even with --force
    bad = subprocess.run([sys.executable, "-m", "sim", "run", str(QUICKSTART), "--out", "nosuch://b/x"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--out nosuch://b/x: cannot open it as a filesystem" in bad.stderr


@pytest.mark.slow
def test_a_killed_sharded_run_on_s3_leaves_nothing_complete_and_reruns_to_the_same_parts(s3, write, tmp_path):
    from tests.conftest import long_sharded_scenario
    from tests.test_crash_safety import _kill_when

    path = write(long_sharded_scenario(), "long.yaml")
    base = [sys.executable, "-m", "sim", "run", str(path), "--quiet", "--shards", "3", "--workers", "2"]
    full = run_scenario(load_scenario(path), tmp_path / "full", shards=3)
    store = Store(f"{s3}/r")
    proc = subprocess.Popen([*base, "--out", store.uri], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: any(name.startswith("transactions/") for name in objects(store)))
    held = objects(store)  # parts are there, nothing says complete
    assert json.loads(held["manifest.json"])["status"] == "running" and len(held) > 1
    subprocess.run([*base, "--out", store.uri], check=True)  # no --force: nothing complete was there
    parts = checked(store)["files"]["transactions"]["parts"]
    assert (
        len(parts) > 3
        and parts == json.loads((full / "manifest.json").read_text())["files"]["transactions"]["parts"]
    )


def test_the_store_names_the_manifest_as_the_disk_does():
    """`sim.storage` keeps its own copy of the name (the CLI loads it before pyarrow): the two agree."""
    from sim import outputs, storage

    assert storage.MANIFEST == outputs.MANIFEST
