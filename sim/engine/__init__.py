"""The engine: the World contract every domain keeps, a Mesa model facade over any world, the SimPy
calendar and Numba building blocks. It names no domain."""
