"""Numba building blocks every domain's kernels may use: a draw from a `sim.dists` law, sorted uniforms,
and weighted picks by a running sum.

Kernels are pure functions of their inputs and of the `numpy.random.Generator` they are handed (Numba
draws from the same bit stream as NumPy), so a kernel and its NumPy twin agree exactly
(tests/test_kernels.py holds them to it). A drawing kernel's twin is its own Python function (`py_func`).
"""

from __future__ import annotations

import math

import numba

from sim.dists import CONSTANT, LOGNORMAL, UNIFORM


@numba.njit(cache=True, nogil=True)
def sample_kernel(rng, code, p1, p2):
    """One draw from a `sim.dists` law given as (code, p1, p2)."""
    if code == CONSTANT:
        return p1
    if code == UNIFORM:
        return p1 + (p2 - p1) * rng.random()
    if code == LOGNORMAL:
        return math.exp(p1 + p2 * rng.standard_normal())
    return rng.gamma(p1, p2)


@numba.njit(cache=True, nogil=True)
def gallop(cumsum, u, j):
    """The first index at or after j whose cumulative weight exceeds u (u at least cumsum[j - 1])."""
    size = cumsum.shape[0]
    if cumsum[j] > u:
        return j
    lo = j  # cumsum[lo] <= u < cumsum[hi]
    step = 1
    while lo + step < size and cumsum[lo + step] <= u:
        lo += step
        step *= 2
    hi = min(lo + step, size - 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cumsum[mid] <= u:
            lo = mid
        else:
            hi = mid
    return hi


@numba.njit(cache=True, nogil=True)
def sorted_uniforms(rng, n, out):
    """n sorted uniforms on [0, 1): cumulative exponential spacings, normalised (O(n), no sort)."""
    total = 0.0
    for i in range(n):
        total += rng.standard_exponential()
        out[i] = total
    total += rng.standard_exponential()
    for i in range(n):
        out[i] /= total
