"""A journal of finished work, so a killed sweep or calibration resumes where it stopped."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sim.errors import InputError


class Journal:
    """Finished work (a sweep's replicates, a calibration's candidates), one JSON line each, found again by
    `key`; a line cut short by a kill is ignored, and a journal written for other work (another file,
    options or seed) is started afresh."""

    def __init__(self, path: Path, identity: dict, key: Callable[[dict], object] | None = None):
        self.path = path
        self.identity = json.dumps(identity, sort_keys=True)
        key = key or (lambda entry: (entry["strategy"], entry["replicate"]))
        self.done: dict = {}
        if path.is_symlink():
            raise InputError(f"{path} is a symbolic link: a journal is never written through one")
        lines = _read_lines(path)
        if lines and lines[0] == self.identity:
            for line in lines[1:]:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    break  # the line a kill cut short, and nothing after it
                self.done[key(entry)] = entry
        # a fresh file of our own (created exclusively), then moved onto the journal's name: a link or a
        # file planted there is replaced, never written through
        fd, fresh = tempfile.mkstemp(prefix=f"{path.name}.", dir=path.parent)
        self.handle = os.fdopen(fd, "w")
        self.handle.write(self.identity + "\n")
        for entry in self.done.values():
            self.handle.write(json.dumps(entry) + "\n")
        self._sync()
        os.replace(fresh, path)

    def add(self, entry: dict) -> None:
        self.handle.write(json.dumps(entry) + "\n")
        self._sync()

    def _sync(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self, remove: bool) -> None:
        self.handle.close()
        if remove:
            self.path.unlink(missing_ok=True)


def _read_lines(path: Path) -> list[str]:
    """The journal's lines, read without following a link (none: no journal yet)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return []
    with os.fdopen(fd, encoding="utf-8", errors="replace") as fh:
        return fh.read().splitlines()
