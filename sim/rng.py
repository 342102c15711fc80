"""The only place random generators are made.

One root `SeedSequence` per run; every consumer asks for a *named* child stream, optionally with integer
keys (a step, a shard). A stream's values depend only on (seed, name, keys), never on which other streams
were drawn or in what order, so results are independent of thread count, shard count and scheduling.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

SEED_BITS = 63


def draw_seed() -> int:
    """A fresh seed for scenarios that give none; the caller records it so the run can be repeated."""
    return secrets.randbits(SEED_BITS)


def _name_key(name: str) -> tuple[int, int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


class Streams:
    """Named, keyed child streams of one root seed."""

    def __init__(self, seed: int):
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.root = np.random.SeedSequence(self.seed)

    def seed_sequence(self, name: str, *keys: int) -> np.random.SeedSequence:
        for key in keys:
            if int(key) < 0:
                raise ValueError(f"stream keys must be non-negative, got {key!r}")
        spawn_key = (*_name_key(name), *(int(k) for k in keys))
        return np.random.SeedSequence(self.seed, spawn_key=spawn_key)

    def generator(self, name: str, *keys: int) -> np.random.Generator:
        """`Generator` for stream `name` (and keys, e.g. a step number); same inputs, same numbers."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name, *keys)))
