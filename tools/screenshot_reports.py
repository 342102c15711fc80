"""Screenshots of every kind of report, in headless Chromium, to look at what a reader sees.

Runs the shipped examples into a folder (a payments run, a supply run, a stress sweep, a calibration, an
evaluation and a refinement), then takes a full-width PNG of each `report.html` beside it
(`<folder>/<name>.png`).

Usage: python tools/screenshot_reports.py [FOLDER] [--chromium PATH]   (default folder: outputs/screenshots)
Chromium: Debian's package `chromium` (or any Chromium/Chrome binary given with --chromium).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]  # fmt: skip


def chromium(given: str | None = None) -> str | None:
    return given or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )


def screenshot(browser: str, page: Path, png: Path, width: int = 1280, height: int = 3200) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        "--virtual-time-budget=5000", f"--screenshot={png}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)  # fmt: skip


def dom(browser: str, page: Path) -> str:
    """The page's DOM after its scripts ran (the plotly charts drawn)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                               "--dump-dom", page.resolve().as_uri()],
                              check=True, capture_output=True, text=True, timeout=120)  # fmt: skip
    return done.stdout


def make_reports(folder: Path) -> dict[str, Path]:
    """Run each command once into `folder`; returns {name: report.html}."""

    def sim(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "sim", *args, "--quiet"], check=True, cwd=ROOT)

    scenarios = ROOT / "scenarios"
    sim("run", str(scenarios / "fraud_ring_attack.yaml"), "--out", str(folder / "payments"), "--force")
    sim("run", str(scenarios / "hurricane.yaml"), "--out", str(folder / "supply"), "--force")
    sim("stress", str(scenarios / "hurricane.yaml"), "--replicates", "16", "--out", str(folder / "stress"),
        "--force")  # fmt: skip
    sim("calibrate", str(scenarios / "beer_game.yaml"), "--targets",
        str(ROOT / "calibration" / "targets" / "beer_game_orders.yaml"), "--params", "theta=0:1,beta=0:1",
        "--budget", "24", "--out", str(folder / "calibrate"), "--force")  # fmt: skip
    sim("run", str(scenarios / "fraud_ring_attack.yaml"), "--seed", "2", "--out", str(folder / "other"),
        "--force", "--set", "customers=5000")  # fmt: skip
    sim("evaluate", str(folder / "other"), str(folder / "payments"), "--target", "is_fraud",
        "--out", str(folder / "evaluate"), "--force")  # fmt: skip
    sim("refine", str(folder / "payments"), "--real", str(folder / "other" / "transactions.parquet"),
        "--method", "copula", "--target", "is_fraud", "--out", str(folder / "refine"), "--force")  # fmt: skip
    return {
        name: folder / name / "report.html"
        for name in ("payments", "supply", "stress", "calibrate", "evaluate", "refine")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=ROOT / "outputs" / "screenshots")
    parser.add_argument("--chromium")
    args = parser.parse_args()
    browser = chromium(args.chromium)
    if browser is None:
        print("no Chromium found: install Debian's `chromium` or pass --chromium PATH", file=sys.stderr)
        return 2
    args.folder.mkdir(parents=True, exist_ok=True)
    for name, page in make_reports(args.folder).items():
        png = args.folder / f"{name}.png"
        screenshot(browser, page, png)
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
