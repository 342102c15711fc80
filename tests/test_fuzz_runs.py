"""A file that validates runs: mutants of every shipped scenario end in located errors or in a run with
finite outputs (see tests/fuzzing.py); never a traceback."""

from collections import Counter

import pytest

from tests.fuzzing import BASES, fuzz


def _assert_accounted(counts: Counter, examples: int) -> None:
    assert counts["mutants"] >= examples
    assert counts["mutants"] == counts["validated"] + counts["located errors"]
    assert counts["validated"] == counts["ran"] + counts["refused at run time"]
    assert counts["ran"] >= 0.1 * counts["mutants"]  # the fuzz gets past validation, not only into it


def test_every_shipped_scenario_is_a_fuzz_base_and_runs_shortened():
    shipped = {
        "quickstart.yaml",
        "paysim_month.yaml",
        "hurricane.yaml",
        "validation/anylogistix_model_1.yaml",
    }
    assert shipped <= set(BASES) and len(BASES) >= 22
    assert all(base["horizon"]["steps"] <= 365 for base in BASES.values())


def test_two_hundred_mutants_validate_and_run_or_fail_located():
    counts: Counter = Counter()
    fuzz(200, counts)
    _assert_accounted(counts, 200)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_ten_thousand_mutants_validate_and_run_or_fail_located():
    counts: Counter = Counter()
    fuzz(10_000, counts)
    _assert_accounted(counts, 10_000)
    print(dict(counts))
