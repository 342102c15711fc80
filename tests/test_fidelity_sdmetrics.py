"""Our fidelity scores are SDMetrics' (0.32, its quality report), within 1e-6: column shapes, every pair it
scores (and no other), and the overall score. The answers were made by tools/derive_sdmetrics_answers.py."""

import json

import pytest

from sim.evaluation.fidelity import fidelity
from sim.evaluation.tables import Columns
from tests.conftest import ROOT
from tests.fidelity_tables import SDTYPES, digest, tables

ANSWERS = json.loads((ROOT / "tests" / "data" / "sdmetrics_answers.json").read_text())
COLUMNS = Columns(
    numeric=[c for c, t in SDTYPES.items() if t in ("numerical", "datetime")],
    categorical=[c for c, t in SDTYPES.items() if t in ("categorical", "boolean")],
    identifiers=[],
)


@pytest.mark.parametrize("name", sorted(ANSWERS["tables"]))
def test_fidelity_agrees_with_sdmetrics(name):
    real, synthetic = tables()[name]
    expected = ANSWERS["tables"][name]
    assert (digest(real), digest(synthetic)) == (expected["real_digest"], expected["synthetic_digest"]), (
        "the test tables changed (a new NumPy stream?): rerun tools/derive_sdmetrics_answers.py"
    )
    ours = fidelity(real, synthetic, COLUMNS)
    assert ours["column_scores"] == pytest.approx(expected["column_shapes"], abs=1e-6)
    assert ours["pair_scores"] == pytest.approx(expected["column_pairs"], abs=1e-6)
    assert ours["fidelity_score"] == pytest.approx(expected["score"], abs=1e-6)
