"""The engine: a Mesa model facade over array state, a SimPy timeline, and Numba kernels."""
