"""Run the calibration notebooks in place, full budgets, and store them with their outputs (what the
repository ships), printing how long each took.

Usage: python tools/run_notebooks.py [NOTEBOOK ...]   (default: every calibration/*.ipynb)
Needs the test extra (nbclient, ipykernel). Written calibrations go to outputs/notebooks/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=7200, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # fmt: skip
    seconds = time.perf_counter() - started
    notebook.metadata["sim"] = {"run_seconds": round(seconds), "command": "python tools/run_notebooks.py"}
    nbformat.write(notebook, path)
    return seconds


def main() -> int:
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "calibration").glob("*.ipynb"))
    for path in paths:
        print(f"{path}: {run(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
