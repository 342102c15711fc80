"""The tell audit of every shipped payments scenario: what gives `is_fraud` and `is_laundering` away.

    python tools/audit_shipped.py [--scale 1.0]

Runs each scenario of scenarios/ whose domain is payments (at the scale below, times `--scale`, seed as
shipped) into a temporary directory and prints, per label, the best single feature and its ROC-AUC, the
depth-3 tree's and the boosting's AUC on row features, the boosting with account history, and every
feature above 0.8. These are the numbers the behaviour work must move (single-feature AUC <= 0.80,
depth-3 tree <= 0.90 on row features).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.evaluation import audit_line, audit_table, read_table  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCALE = {"paysim_month": 0.02, "card_payments": 0.5, "fraud_ring_attack": 0.5, "aml_typologies": 0.5}
LABELS = ("is_fraud", "is_laundering")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies each scenario's scale")
    parser.add_argument("--only", action="append", metavar="SCENARIO", help="only these scenarios")
    args = parser.parse_args()
    shipped = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if "domain: payments" in p.read_text())
    print(
        f"{'scenario':20} {'label':14} {'rows':>9} {'positives':>9}  ROC-AUCs (tells: single features > 0.8)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for path in shipped:
            if args.only and path.stem not in args.only:
                continue
            scale = SCALE.get(path.stem, 1.0) * args.scale
            run = run_scenario(load_scenario(path), Path(tmp) / path.stem, scale=scale)
            frame = read_table(run)
            audited = audit_table(frame, [c for c in LABELS if c in frame.columns])["table"]
            for label, a in audited.items():
                print(
                    f"{path.stem:20} {label:14} {len(frame):>9,} {a.get('positives', 0):>9,}  {audit_line(a)}"
                )


if __name__ == "__main__":
    main()
