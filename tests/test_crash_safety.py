"""Crash safety: a run or a stress sweep killed with SIGKILL part-way leaves nothing that says complete, and
running it again (a sweep resumes from its journal) gives the same bytes as an uninterrupted run. An
output place that cannot be written gives a clear error and nothing that looks complete."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.errors import SimError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT, long_sharded_scenario, small_scenario


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    assert proc.poll() is None, "the command finished before it could be killed: make it longer"
    assert ready(), "the command never reached the point to kill it at"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _assert_no_orphans(parent: int, timeout: float = 10) -> None:
    """The killed command's worker processes exit on their own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [p for p in Path("/proc").glob("[0-9]*") if _parent_of(p) == 1 and _spawned_by(p, parent)]
        if not children:
            return
        time.sleep(0.2)
    raise AssertionError(f"worker processes outlived their killed parent: {children}")


def _parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _spawned_by(proc: Path, parent: int) -> bool:
    """Whether a process is a multiprocessing worker (the test cannot know the orphan's original parent
    once it is re-parented, so any orphaned spawn worker started after the killed command counts)."""
    try:
        return b"spawn_main" in (proc / "cmdline").read_bytes() and int(proc.name) > parent
    except (OSError, ValueError):
        return False


def _data_files(run: Path) -> dict[str, str]:
    """Every file's checksum, as the manifest records it."""
    files = json.loads((run / "manifest.json").read_text())["files"]
    return {name: f.get("sha256") or [part["sha256"] for part in f["parts"]] for name, f in files.items()}


@pytest.mark.slow
def test_a_killed_run_reruns_to_the_same_bytes(write, tmp_path):
    path = write(small_scenario(steps=600, customers=20000), "long.yaml")
    full, killed = tmp_path / "full", tmp_path / "runs" / "r"
    subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--out", str(full), "--quiet"], check=True)
    cmd = [sys.executable, "-m", "sim", "run", str(path), "--out", str(killed), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: any((tmp_path / "runs").glob(".r.partial-*/transactions.parquet")))
    assert not killed.exists()
    for manifest in (tmp_path / "runs").glob(".*/manifest.json"):
        assert json.loads(manifest.read_text())["status"] == "running"
    subprocess.run(cmd, check=True)
    assert _data_files(killed) == _data_files(full)


@pytest.mark.slow
def test_a_killed_sharded_run_reruns_to_the_same_parts(write, tmp_path):
    path = write(long_sharded_scenario(), "long.yaml")
    base = [sys.executable, "-m", "sim", "run", str(path), "--quiet", "--shards", "3", "--workers", "2"]
    full, killed = tmp_path / "full", tmp_path / "runs" / "r"
    subprocess.run([*base, "--out", str(full)], check=True)
    # parts of 100,000 rows: the kill comes after the first part is written and before the last
    proc = subprocess.Popen(
        [*base, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _kill_when(proc, lambda: any((tmp_path / "runs").glob(".r.partial-*/transactions/part-*.parquet")))
    assert not killed.exists()
    for manifest in (tmp_path / "runs").glob(".*/manifest.json"):
        assert json.loads(manifest.read_text())["status"] == "running"
    _assert_no_orphans(proc.pid)
    subprocess.run([*base, "--out", str(killed)], check=True)
    first, second = (json.loads((run / "manifest.json").read_text())["files"] for run in (full, killed))
    assert len(first["transactions"]["parts"]) > 3
    assert first["transactions"]["parts"] == second["transactions"]["parts"]
    assert _data_files(killed) == _data_files(full)


@pytest.mark.slow
def test_a_sharded_run_whose_worker_is_killed_fails_clearly_and_reruns_to_the_same_parts(write, tmp_path):
    """A host's worker killed part-way (its machine lost): the run stops with a clear error, nothing says
    complete, and the rerun writes the parts an uninterrupted run writes."""
    path = write(long_sharded_scenario(), "long.yaml")
    base = [sys.executable, "-m", "sim", "run", str(path), "--quiet", "--shards", "3", "--workers", "2"]
    full, killed = tmp_path / "full", tmp_path / "runs" / "r"
    subprocess.run([*base, "--out", str(full)], check=True)
    proc = subprocess.Popen([*base, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not any((tmp_path / "runs").glob(".r.partial-*/transactions/part-*.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = [p for p in Path("/proc").glob("[0-9]*")
               if _parent_of(p) == proc.pid and _spawned_by(p, proc.pid)]  # fmt: skip
    assert workers
    os.kill(int(workers[0].name), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "a host of the sharded run failed" in stderr and "Traceback" not in stderr
    assert not killed.exists()
    assert not list((tmp_path / "runs").glob(".*/manifest.json"))  # an abandoned run leaves no manifest
    _assert_no_orphans(proc.pid)
    subprocess.run([*base, "--out", str(killed)], check=True)
    assert _data_files(killed) == _data_files(full)


@pytest.mark.slow
def test_a_killed_stress_sweep_resumes_and_skips_what_completed(tmp_path):
    scenario = ROOT / "scenarios" / "supplier_outage.yaml"
    base = [sys.executable, "-m", "sim", "stress", str(scenario), "--replicates", "4", "--quiet"]
    subprocess.run([*base, "--out", str(tmp_path / "full")], check=True)
    out = tmp_path / "sweeps" / "s"
    journal = out.parent / ".s.journal.jsonl"
    proc = subprocess.Popen([*base, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: journal.exists() and len(journal.read_text().splitlines()) >= 4)
    assert not out.exists()
    finished = len(journal.read_text().splitlines()) - 1
    subprocess.run([*base, "--out", str(out)], check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed_replicates"] >= min(finished, 3)
    assert not journal.exists()
    full = json.loads((tmp_path / "full" / "manifest.json").read_text())
    for name in ("stress", "summary"):
        assert manifest["files"][name]["sha256"] == full["files"][name]["sha256"]


def test_an_unwritable_output_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    quickstart = str(ROOT / "scenarios" / "quickstart.yaml")
    result = subprocess.run([sys.executable, "-m", "sim", "run", quickstart, "--out", str(blocker / "run"),
                             "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1 and "cannot create the run directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_full_disk_leaves_nothing_that_looks_complete(write, tmp_path, monkeypatch):
    """The disk fills while the run writes: the error says so, and no directory claims to be complete."""
    import sim.records

    original = sim.records.TableWriter.write
    calls = {"n": 0}

    def fill_up(self, batch):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, batch)

    monkeypatch.setattr(sim.records.TableWriter, "write", fill_up)
    scenario = load_scenario(write(small_scenario(steps=48)))
    with pytest.raises((OSError, SimError), match="No space left"):
        run_scenario(scenario, tmp_path / "out" / "r")
    assert not (tmp_path / "out" / "r").exists()
    assert not list((tmp_path / "out").glob("*/manifest.json"))  # the partial directory is removed too


def test_sigterm_unwinds_like_an_interrupt_and_leaves_no_partial_directory(write, tmp_path):
    """What a scheduler or `kill` sends: the command stops with its own message and status 143, and the
    partial run directory goes with it (SIGKILL leaves one for the rerun to replace; SIGTERM need not)."""
    path = write(small_scenario(steps=600, customers=20000), "long.yaml")
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "sim", "run", str(path), "--out", str(runs / "r"), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline and proc.poll() is None and not list(runs.glob(".r.partial-*/*.parquet"))
    ):
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be stopped: make it longer"
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143 and "terminated (SIGTERM); nothing was published" in stderr
    assert "Traceback" not in stderr and not list(runs.iterdir())


KERNEL_CALLS = """
import time
import numba, numpy as np
from sim.signals import Terminated

@numba.njit
def draw(rng):
    return rng.random()

def calls(until, counts):
    while time.monotonic() < until:
        try:
            counts["calls"] += 1
            draw(np.random.default_rng(counts["calls"]))
        except Terminated:
            counts["raised"] += 1
"""

PESTERED = """
import os, signal, sys, threading, time
from sim import signals
import kernel_calls

signals._OURS = kernel_calls.__file__  # the only code that stands for the package's own here
kernel_calls.draw(kernel_calls.np.random.default_rng(0))

done = threading.Event()

def pester():
    time.sleep(0.2)
    while not done.is_set():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.002)

counts = {"calls": 0, "raised": 0, "escaped": 0}
until = time.monotonic() + 3
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # what is restored after: signals still on their way
with signals.stopping_safely():
    threading.Thread(target=pester, daemon=True).start()
    while time.monotonic() < until:
        try:
            kernel_calls.calls(until, counts)
        except signals.Terminated:
            counts["escaped"] += 1
    done.set()
print(counts["calls"], counts["raised"], counts["escaped"], flush=True)
os._exit(0)
"""


def test_sigterm_during_numba_calls_taking_generators_unwinds_and_never_crashes(tmp_path):
    """Numba unboxes a Generator argument through Python code (ctypes) that an exception raised there
    crashes (SIGSEGV): CI once saw `sim run` die so on SIGTERM. Signals sent every 2 ms while a kernel is
    called with fresh generators must be raised only where they unwind (raising wherever the handler
    lands crashes this loop within a second or two)."""
    (tmp_path / "kernel_calls.py").write_text(KERNEL_CALLS)
    (tmp_path / "pestered.py").write_text(PESTERED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.run([sys.executable, "pestered.py"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    calls, raised, escaped = map(int, proc.stdout.split())
    assert calls > 1000 and raised > 0, (calls, raised, escaped)


def test_a_journal_is_never_written_through_a_planted_link(tmp_path):
    """A link planted where a sweep keeps its journal is refused, and the file it points at untouched."""
    from sim.errors import InputError
    from sim.journal import Journal

    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    link = tmp_path / ".sweep.journal.jsonl"
    link.symlink_to(victim)
    with pytest.raises(InputError, match="is a symbolic link"):
        Journal(link, {"work": 1})
    assert victim.read_text() == "keep me\n"
    journal = Journal(tmp_path / ".other.journal.jsonl", {"work": 1})
    journal.add({"strategy": "a", "replicate": 0})
    journal.close(remove=False)
    again = Journal(tmp_path / ".other.journal.jsonl", {"work": 1})
    assert again.done == {("a", 0): {"strategy": "a", "replicate": 0}}
    again.close(remove=True)
    assert sorted(tmp_path.iterdir()) == sorted([victim, link])  # no temporary file left behind
