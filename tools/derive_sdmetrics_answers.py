"""SDMetrics' own numbers for the tables of tests/fidelity_tables.py, written to
tests/data/sdmetrics_answers.json: the figures our fidelity metrics must reproduce within 1e-6.

    python tools/derive_sdmetrics_answers.py

Run it where `sdmetrics` is installed (0.32.0 made the shipped answers; it needs pandas < 3, so use a
separate virtual environment: `python -m venv /tmp/sdm && /tmp/sdm/bin/pip install sdmetrics==0.32.0`
then `/tmp/sdm/bin/python tools/derive_sdmetrics_answers.py`). Only the derived scores are shipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdmetrics import __version__  # noqa: E402
from sdmetrics.reports import QualityReport  # noqa: E402

from tests.fidelity_tables import SDTYPES, digest, tables  # noqa: E402


def main() -> None:
    metadata = {"tables": {"t": {"columns": {name: {"sdtype": sdtype} for name, sdtype in SDTYPES.items()}}}}
    answers = {"sdmetrics": __version__, "tables": {}}
    for name, (real, synthetic) in tables().items():
        report = QualityReport()
        report.generate({"t": real}, {"t": synthetic}, metadata, verbose=False)
        shapes = report.get_details("Column Shapes")
        pairs = report.get_details("Column Pair Trends")
        scored = pairs["Meets Threshold?"].astype("boolean").fillna(False)
        answers["tables"][name] = {
            "real_digest": digest(real),
            "synthetic_digest": digest(synthetic),
            "score": report.get_score(),
            "column_shapes": dict(zip(shapes["Column"], map(_number, shapes["Score"]), strict=True)),
            "column_pairs": {
                f"{a} / {b}": _number(score)
                for a, b, score in zip(
                    pairs["Column 1"][scored], pairs["Column 2"][scored], pairs["Score"][scored], strict=True
                )
            },
        }
    out = ROOT / "tests" / "data" / "sdmetrics_answers.json"
    out.write_text(json.dumps(answers, indent=1) + "\n")
    print(f"wrote {out}")


def _number(value) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


if __name__ == "__main__":
    main()
