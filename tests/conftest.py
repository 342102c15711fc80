from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def paths_into(node, prefix=()):
    """Every path into a parsed document (mappings' keys, lists' indices), the root excluded: where a
    fuzzer may change it."""
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths_into(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths_into(value, (*prefix, i))


SMALL = """\
schema_version: 1
name: small
domain: payments
seed: 11
horizon:
  steps: {steps}
  step: 1h
  start: 2026-01-05T00:00:00
parameters:
  customers: {customers}
  attacks: 2.0
populations:
  customers:
    role: customer
    count: ${{customers}}
    opening_balance: {{dist: lognormal, mean: 5000, std: 8000}}
    transactions_per_day: {{dist: gamma, mean: 3.0, shape: 1.0}}
    overdraft_limit: 100
    amounts:
      TRANSFER: {{dist: lognormal, mean: 3000, std: 3000}}
      CASH_OUT: {{dist: lognormal, mean: 3000, std: 3000}}
  merchants:
    role: merchant
    count: 20
  mules:
    role: mule
    count: 5
    cash_out_share: 0.9
  crooks:
    role: fraudster
    count: 2
    attacks_per_day: ${{attacks}}
    victims: customers
    mules: mules
events:
  - kind: fraud_ring_attack
    name: wave
    population: crooks
    start: 10
    duration: 3h
    intensity: 20
"""


def small_scenario(steps: int = 24, customers: int = 300) -> str:
    return SMALL.format(steps=steps, customers=customers)


def long_sharded_scenario() -> str:
    """A scenario long enough to kill part-way on 3 shards (parts of 100,000 rows: several per shard)."""
    return small_scenario(steps=400, customers=20000) + "outputs:\n  batch_rows: 100000\nsettlement: step\n"


def stepwise(scenario):
    """A payments scenario under `settlement: step`, the rule a sharded run needs."""
    return scenario.model_copy(update={"settlement": "step"})


@pytest.fixture
def write(tmp_path):
    """Write text to a file in tmp_path and return its path."""

    def _write(text: str | bytes, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return _write


@pytest.fixture
def small(write):
    return write(small_scenario())
