"""Numba building blocks every domain's kernels may use: a draw from a `sim.dists` law, sorted uniforms,
and weighted picks by a running sum or an alias table.

Kernels are pure functions of their inputs and of the `numpy.random.Generator` they are handed (Numba
draws from the same bit stream as NumPy), so a kernel and its NumPy twin agree exactly
(tests/test_kernels.py holds them to it). A drawing kernel's twin is its own Python function (`py_func`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

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


@numba.njit(cache=True, nogil=True)
def alias_table(weights):
    """Walker's alias table of non-negative `weights` (Vose's construction, O(n)): (prob, alias), so
    that `alias_pick` draws index i with probability weights[i] / sum in O(1), two array reads."""
    n = weights.shape[0]
    prob = np.zeros(n)
    alias = np.arange(n)
    total = 0.0
    for i in range(n):  # in order (NumPy's sum is pairwise: the twin must add alike)
        total += weights[i]
    if n == 0 or total <= 0.0:
        return prob + 1.0, alias
    scaled = np.empty(n)
    if total >= 1e-300:
        for i in range(n):
            scaled[i] = weights[i] * (n / total)
    else:  # subnormal weights: n / total would overflow, so scale them to the largest first
        top = weights.max()
        total = 0.0
        for i in range(n):
            total += weights[i] / top
        for i in range(n):
            scaled[i] = (weights[i] / top) * (n / total)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):  # left over only by rounding
        prob[small[i]] = 1.0
    return prob, alias


@numba.njit(cache=True, nogil=True)
def alias_pick(prob, alias, u):
    """The index an alias table gives a uniform u in [0, 1): its integer part picks a column, its
    fractional part the column's own index or its alias."""
    x = u * prob.shape[0]
    i = min(int(x), prob.shape[0] - 1)
    return i if x - i < prob[i] else alias[i]


def uncompiled_kernels() -> list[str]:
    """The kernel modules among the `sim` modules loaded so far that this environment has never compiled
    (none of their cached kernels has an index on disk; a module's kernels are compiled together, by the
    runs that use them): a first run compiles them, once, which takes 10 to 30 s, and the commands say so
    before it starts rather than seem to hang."""
    import os
    import sys

    from numba.core.caching import FunctionCache
    from numba.core.registry import CPUDispatcher

    indexes: dict[str, list[str]] = {}  # by the module that defines the kernel (others import it)
    for name, module in list(sys.modules.items()):
        if not name.startswith("sim.") or module is None:
            continue
        for value in list(vars(module).values()):
            cache = getattr(value, "_cache", None)
            if isinstance(value, CPUDispatcher) and isinstance(cache, FunctionCache):
                path = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
                if path is not None:
                    indexes.setdefault(value.py_func.__module__, []).append(path)
    return sorted(m for m, paths in indexes.items() if not any(os.path.exists(p) for p in paths))
