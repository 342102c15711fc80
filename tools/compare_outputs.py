"""Do the shipped scenarios write the same bytes as at another commit? (Refactors must not change outputs.)

    python tools/compare_outputs.py [--base REV] [--quick] [--only LABEL ...]

Checks out REV (default HEAD) in a temporary git worktree, then runs every shipped scenario (and a
PaySim-CSV run, a sharded run and a stress sweep) with the working tree's code and with REV's, and
compares the sha256 of every file each manifest lists (every part of a dataset too) and the manifests
themselves, wall-clock fields aside. Prints one line per run and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCK_FIELDS = {"created", "finished", "wall_seconds"}
PAYMENTS_SCALE = {
    "paysim_month": 0.02,
    "card_payments": 0.25,
    "fraud_ring_attack": 0.25,
    "aml_typologies": 0.25,
}


def runs(quick: bool) -> list[tuple[str, list[str]]]:
    """(label, `sim` arguments without --out) for every comparison."""
    out = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
        (ROOT / "scenarios/validation").glob("*.yaml")
    ):
        relative = str(path.relative_to(ROOT))
        args = ["run", relative, "--quiet"]
        if "domain: payments" in path.read_text():
            args += ["--scale", str(PAYMENTS_SCALE.get(path.stem, 1.0) * (0.2 if quick else 1.0))]
        out.append((path.stem, args))
    quickstart = "scenarios/quickstart.yaml"
    out.append(("quickstart paysim-csv", ["run", quickstart, "--quiet", "--format", "paysim-csv"]))
    month = "scenarios/paysim_month.yaml"  # a sharded run needs settlement: step, a parameter of this one
    sharded = ["run", month, "--quiet", "--scale", "0.02", "--set", "settlement=step", "--shards", "2",
               "--workers", "2"]  # fmt: skip
    out.append(("paysim_month settlement=step --shards 2", sharded))
    out.append(("hurricane stress", ["stress", "scenarios/hurricane.yaml", "--quiet", "--replicates", "3"]))
    return out


def fingerprint(run_dir: Path) -> dict:
    """Every listed file's sha256 (each part's for a dataset) and the manifest without its clock fields."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    files = {}
    for name, entry in manifest.get("files", {}).items():
        if "parts" in entry:
            for part in entry["parts"]:
                files[f"{name}/{Path(part['path']).name}"] = part["sha256"]
        else:
            files[name] = entry.get("sha256")
    rest = {k: v for k, v in manifest.items() if k not in CLOCK_FIELDS}
    return {"files": files, "manifest": rest}


def run_in(tree: Path, args: list[str], out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    where = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"], cwd=tree, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if not where.startswith(str(tree)):
        raise SystemExit(f"the code under test came from {where}, not {tree}")
    done = subprocess.run([sys.executable, "-m", "sim", *args, "--out", str(out)], cwd=tree, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"sim {' '.join(args)} failed in {tree}:\n{done.stderr[-2000:]}")
    return fingerprint(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--quick", action="store_true", help="payments scenarios at a fifth of the scale")
    parser.add_argument("--only", action="append", metavar="LABEL", help="only these runs (repeatable)")
    options = parser.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory(prefix="compare-outputs-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), options.base], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            chosen = [
                (label, args)
                for label, args in runs(options.quick)
                if not options.only or label in options.only
            ]
            for i, (label, args) in enumerate(chosen):
                before = run_in(base, args, Path(tmp) / f"before-{i}")
                after = run_in(ROOT, args, Path(tmp) / f"after-{i}")
                changed = sorted(n for n in before["files"].keys() | after["files"].keys()
                                 if before["files"].get(n) != after["files"].get(n))  # fmt: skip
                if before["manifest"] != after["manifest"]:
                    changed.append("manifest.json")
                differ += bool(changed)
                verdict = "identical" if not changed else "DIFFERENT: " + ", ".join(changed)
                print(f"{label:32} {len(after['files']):3} files  {verdict}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(
        f"{differ} run(s) differ from {options.base}"
        if differ
        else f"every run is identical to {options.base}"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
