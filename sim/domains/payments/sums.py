"""Exact sums of amounts, for tallies that must not depend on the order rows are added in.

A run's report and statistics tally every row's amount and squared amount. Floating-point sums depend on
their order, and a sharded run adds its hosts' rows in another order than a whole run does; so amounts are
tallied as whole cents in integers (int64 for sums, 128 bits as two uint64 for sums of squares), which
add up to the same figures in any order. An amount is rounded to the cent once, when tallied.
"""

from __future__ import annotations

import numba
import numpy as np

_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@numba.njit(cache=True, nogil=True, inline="always")
def _cents(amount):
    return np.int64(np.floor(max(amount, 0.0) * 100.0 + 0.5))


@numba.njit(cache=True, nogil=True)
def add_cents(bins, amount, total):
    """total[bins[i]] += amount[i] in cents."""
    for i in range(bins.shape[0]):
        total[bins[i]] += _cents(amount[i])


@numba.njit(cache=True, nogil=True)
def add_squared_cents(bins, amount, high, low):
    """(high, low)[bins[i]] += (amount[i] in cents) ** 2, a 128-bit sum (amounts below 2**63 cents)."""
    for i in range(bins.shape[0]):
        c = np.uint64(_cents(amount[i]))
        a, b = c >> _32, c & _LOW  # c = a * 2**32 + b, so c**2 = a*a * 2**64 + 2*a*b * 2**32 + b*b
        cross = a * b * np.uint64(2)  # a < 2**31: no overflow
        lo = b * b
        shifted = (cross & _LOW) << _32
        hi = a * a + (cross >> _32)
        lo2 = lo + shifted
        hi += _ONE if lo2 < lo else _ZERO
        j = bins[i]
        s = low[j] + lo2
        high[j] += hi + (_ONE if s < low[j] else _ZERO)
        low[j] = s


def as_float(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """128-bit sums as floats (rounded once each)."""
    return high.astype(np.float64) * 2.0**64 + low.astype(np.float64)


# --- twins: the same sums in Python integers --------------------------------------------------------------


def cents_reference(amount: float) -> int:
    return int(np.floor(max(amount, 0.0) * 100.0 + 0.5))


def squared_reference(bins, amount, size: int) -> list[int]:
    out = [0] * size
    for b, x in zip(bins, amount, strict=True):
        out[int(b)] += cents_reference(float(x)) ** 2
    return out
