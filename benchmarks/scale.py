"""Bounded memory at scale (issue 7), one run: a paysim_month-style run of 10^8 transactions end to end
(the real month's hours repeated) beside one of 10^7, each in its own process.

Prints the peak resident memory of the large run (target <= 1.5 GB) and its throughput against the
small one's (target: within 20 %, a ratio >= 0.8).

Usage: python benchmarks/scale.py [--small 1e7] [--large 1e8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payments_throughput import peak_rss_run  # a sibling script


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=float, default=1e7)
    parser.add_argument("--large", type=float, default=1e8)
    args = parser.parse_args()
    runs = {name: peak_rss_run(rows) for name, rows in (("small", args.small), ("large", args.large))}
    for name, run in runs.items():
        rate = run["rows"] / run["seconds"] / 1e6
        print(f"{name:6} {run['rows']:>13,} tx in {run['seconds']:7.1f} s = {rate:6.2f} M tx/s"
              f"   peak RSS {run['peak_rss_gb']:.2f} GB")  # fmt: skip
    large, small = runs["large"], runs["small"]
    print(f"peak RSS of the large run {large['peak_rss_gb']:.2f} GB   target <= 1.5 GB: ratio "
          f"{large['peak_rss_gb'] / 1.5:.2f}")  # fmt: skip
    speed = (large["rows"] / large["seconds"]) / (small["rows"] / small["seconds"])
    print(f"throughput large / small {speed:.2f}   target >= 0.8: ratio {speed / 0.8:.2f}")


if __name__ == "__main__":
    main()
