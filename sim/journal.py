"""A journal of finished work, so a killed sweep or calibration resumes where it stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


class Journal:
    """Finished work (a sweep's replicates, a calibration's candidates), one JSON line each, found again by
    `key`; a line cut short by a kill is ignored, and a journal written for other work (another file,
    options or seed) is started afresh."""

    def __init__(self, path: Path, identity: dict, key: Callable[[dict], object] | None = None):
        self.path = path
        self.identity = json.dumps(identity, sort_keys=True)
        key = key or (lambda entry: (entry["strategy"], entry["replicate"]))
        self.done: dict = {}
        if path.exists():
            lines = path.read_text().splitlines()
            if lines and lines[0] == self.identity:
                for line in lines[1:]:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        break  # the line a kill cut short, and nothing after it
                    self.done[key(entry)] = entry
        self.handle = open(path, "w")  # noqa: SIM115 (kept open for the sweep, closed by `close`)
        self.handle.write(self.identity + "\n")
        for entry in self.done.values():
            self.handle.write(json.dumps(entry) + "\n")
        self._sync()

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
