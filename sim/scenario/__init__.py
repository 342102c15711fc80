"""Scenario files: schema, safe line-aware loading, parameters and `--set` overrides."""

from sim.scenario.load import load_scenario
from sim.scenario.schema import SCHEMA_VERSION, Scenario

__all__ = ["SCHEMA_VERSION", "Scenario", "load_scenario"]
