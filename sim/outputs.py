"""The run directory: written under a temporary name, checksummed, marked complete, then renamed.

A directory whose manifest says `"status": "complete"` is therefore always whole; an interrupted run
leaves only a hidden `.<run_id>.partial-*` directory whose manifest says `"running"`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.errors import RunExistsError, SimError

MANIFEST = "manifest.json"  # sim.storage keeps the same name
KEY_PACKAGES = ("sim", "mesa", "simpy", "numba", "numpy", "pandas", "pyarrow", "pydantic")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to a sibling temporary file, flush it to disk, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a manifest is for everyone who can read the run
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2, sort_keys=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunDirectory:
    """A run being written. `finish()` records the files and publishes the directory atomically."""

    def __init__(self, final: Path, manifest: dict[str, Any], *, force: bool = False):
        self.final = Path(final)
        if self.final.exists() and not force:
            raise RunExistsError(f"{self.final} already exists (use --force to replace it)")
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.partial-", dir=self.final.parent))
            self.path.chmod(0o755)
        except OSError as exc:
            raise SimError(f"cannot create the run directory in {self.final.parent}: {exc}") from exc
        self.force = force
        self.manifest = {**manifest, "status": "running", "files": {}}
        write_json_atomic(self.path / MANIFEST, self.manifest)

    def add_file(
        self, name: str, relative: str, rows: int | None = None, schema: pa.Schema | None = None
    ) -> None:
        """Record a written file with its checksum (and, for tables, its rows and columns)."""
        path = self.path / relative
        entry: dict[str, Any] = {"path": relative}
        if rows is not None:
            entry["rows"] = rows
        entry["bytes"] = path.stat().st_size
        entry["sha256"] = sha256_of(path)
        if schema is not None:
            entry["columns"] = {f.name: str(f.type) for f in schema}
        self.manifest["files"][name] = entry

    def add_written(self, name: str, entry: dict) -> None:
        """Record a file a worker wrote (into this run, or straight to its store) with the entry it sent:
        its path, rows, bytes, checksum and columns."""
        self.manifest["files"][name] = entry

    def add_dataset(self, name: str, relative: str, rows: int, parts: list[dict], schema: pa.Schema) -> None:
        """Record a partitioned table: its directory, total rows, columns and every part's checksum."""
        self.manifest["files"][name] = {
            "path": relative,
            "format": "parquet-dataset",
            "rows": rows,
            "bytes": sum(part["bytes"] for part in parts),
            "columns": {f.name: str(f.type) for f in schema},
            "parts": parts,
        }

    def finish(self, **extra: Any) -> Path:
        """Mark complete and move into place (replacing an older run only under --force)."""
        self.manifest.update(extra)
        self.manifest["status"] = "complete"
        write_json_atomic(self.path / MANIFEST, self.manifest)
        old = None
        if self.final.exists():
            if not self.force:
                raise RunExistsError(f"{self.final} appeared while running (use --force to replace)")
            old = self.final.with_name(f".{self.final.name}.replaced-{os.getpid()}")
            os.replace(self.final, old)
        os.replace(self.path, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final

    def abandon(self) -> None:
        """Remove the partial directory after a failure we caught (a kill leaves it, marked running)."""
        shutil.rmtree(self.path, ignore_errors=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
