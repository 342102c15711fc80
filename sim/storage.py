"""Run directories on object storage (`--out s3://bucket/prefix`, or any filesystem pyarrow opens).

An object store has no rename, so a run cannot be published by moving a finished directory into place
as `sim.outputs.RunDirectory` does on disk. The rule is the same, kept another way: the manifest is the
mark of completeness and it is written last. A run is staged on local disk (its small files) while the
parts of a partitioned table go straight from the workers that write them to the store; when every part
and file is uploaded and its size checked against what was checksummed, `manifest.json` (status
`complete`) goes up, last. A run killed before that leaves objects under the prefix but no complete
manifest; replacing a run (`--force`) first deletes the old manifest, so no moment shows the new files
under the old mark. A run's prefix holds a manifest from its start (status `running`), so a rerun knows a
dead run's leftovers from objects that are not a run, which it never deletes.

Credentials and endpoints are pyarrow's: the usual `AWS_*` variables (`AWS_ENDPOINT_URL` for an
S3-compatible store such as MinIO), or options in the URI (`s3://bucket/prefix?endpoint_override=
host:9000&scheme=http`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from sim.errors import InputError, RunExistsError, SimError

MANIFEST = "manifest.json"  # sim.outputs.MANIFEST (not imported: the CLI reads --out before pyarrow loads)

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(out: str | os.PathLike | None) -> bool:
    """Whether `--out` names a store by URI (`s3://...`, `gs://...`), not a local path."""
    return isinstance(out, str) and bool(_URI.match(out)) and not out.startswith("file://")


def out_argument(value: str) -> str | Path:
    """`sim run --out`: a URI stays a string (a Path would fold `s3://` into `s3:/`), a path a Path."""
    return value if is_uri(value) else Path(value.removeprefix("file://"))


def local_out(value: str) -> Path:
    """`--out` of the commands that write only to local disk: a URI is refused, not made a folder `s3:`."""
    if is_uri(value):
        raise argparse.ArgumentTypeError(f"{value}: object storage is written by `sim run` only (write to "
                                         "a local folder, then copy it)")  # fmt: skip
    return Path(value.removeprefix("file://"))


class Store:
    """A run's prefix on a pyarrow filesystem: `upload`, `exists`, `clear`, `read_text`."""

    def __init__(self, uri: str):
        from pyarrow import fs

        self.uri = uri.rstrip("/")
        try:
            self.fs, self.root = fs.FileSystem.from_uri(self.uri)
        except (ValueError, OSError) as exc:  # an unknown scheme, a malformed URI, a store that refuses
            raise InputError(f"--out {uri}: cannot open it as a filesystem: {exc}") from exc
        self.root = self.root.rstrip("/")

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except OSError as exc:
            raise SimError(f"{self.uri}: {what} failed: {exc}") from exc

    def read_text(self, relative: str) -> str | None:
        """The object's text, or None where there is none."""
        from pyarrow import fs

        info = self._call("reading", self.fs.get_file_info, self.path(relative))
        if info.type != fs.FileType.File:
            return None
        with self._call("reading", self.fs.open_input_stream, self.path(relative)) as stream:
            return stream.read().decode()

    def is_complete_run(self) -> bool:
        text = self.read_text(MANIFEST)
        try:
            return text is not None and json.loads(text).get("status") == "complete"
        except json.JSONDecodeError:
            return False

    def claim(self, force: bool, manifest: Path) -> None:
        """Make the prefix the new run's: refused over a complete run without `force` (with it, the old
        manifest goes first, so the prefix is no longer marked complete, then the rest), and refused, never
        cleared, over objects that are not a run (no manifest). A run's leftovers (a manifest that says
        `running`: a run that died) are cleared. Then the new run's `manifest` (status `running`) goes up."""
        from pyarrow import fs

        info = self._call("listing", self.fs.get_file_info, self.root)
        if info.type == fs.FileType.File:
            raise InputError(f"--out {self.uri} is an object, not a prefix for a run")
        if info.type == fs.FileType.NotFound:
            self._call("creating", self.fs.create_dir, self.root)
        elif self.read_text(MANIFEST) is None:
            if self._call("listing", self.fs.get_file_info, fs.FileSelector(self.root)):
                raise InputError(f"--out {self.uri} holds objects that are not a run (no {MANIFEST}): "
                                 "choose an empty prefix")  # fmt: skip
        else:
            if self.is_complete_run() and not force:
                raise RunExistsError(f"{self.uri} already holds a complete run (use --force to replace it)")
            self._call("deleting the old manifest", self.fs.delete_file, self.path(MANIFEST))
            self._call("clearing", lambda: self.fs.delete_dir_contents(self.root, missing_dir_ok=True))
        self.upload(manifest, MANIFEST)

    def upload(self, local: Path, relative: str) -> None:
        """Copy a local file to `relative` and check that the store holds all of it."""
        target = self.path(relative)
        with open(local, "rb") as source, self._call("writing", self.fs.open_output_stream, target) as sink:
            while chunk := source.read(8 << 20):
                sink.write(chunk)
        stored = self._call("checking", self.fs.get_file_info, target).size
        if stored != local.stat().st_size:
            raise SimError(f"{self.uri}/{relative}: the store holds {stored} bytes of {local.stat().st_size}")

    def publish(self, local: Path, uploaded: set[str] = frozenset()) -> str:
        """Upload a finished local run directory (all but the files in `uploaded`, which the workers
        wrote to the store themselves), the manifest last; return the run's URI."""
        files = sorted(p for p in local.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(local).as_posix()
            if relative != MANIFEST and relative not in uploaded:
                self.upload(path, relative)
        self.upload(local / MANIFEST, MANIFEST)
        return self.uri


def upload_part(uri: str, relative: str, write) -> tuple[int, int, str]:
    """A part written by `write(path) -> (rows, bytes, sha256)` to a local temporary file (on the worker
    that runs this), then uploaded to the store under `relative`; returns what `write` returned."""
    handle, tmp = tempfile.mkstemp(suffix=".parquet")
    os.close(handle)
    try:
        done = write(tmp)
        Store(uri).upload(Path(tmp), relative)
        return done
    finally:
        Path(tmp).unlink(missing_ok=True)
