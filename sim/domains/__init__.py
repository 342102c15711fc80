"""Domains: the behaviour of each simulated world, built on the engine."""
