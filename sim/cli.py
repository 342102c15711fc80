"""The `sim` command: a thin layer over the Python API. Input problems exit 2 with no traceback."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sim import __version__
from sim.errors import InputError, RunExistsError, ScenarioError, SimError
from sim.signals import Terminated, stopping_safely
from sim.storage import local_out, out_argument

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too; keep its message, drop nothing
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


MAX_SCALE = 1e6  # populations and quantities times more than this pass the money and quantity ceiling


def _scale(text: str) -> float:
    value = _positive_float(text)
    if value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f"at most {MAX_SCALE:g} (populations and quantities that many times "
                                         f"the scenario's), got {text!r}")  # fmt: skip
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError("must be between 0 and 2**63 - 1")
    return value


def _scheduler(text: str) -> str:
    """A Dask scheduler's address, `[protocol://]host:port` (checked here: Dask's error is a traceback)."""
    match = re.fullmatch(r"(?:(tcp|tls|ws|wss|ucx|inproc)://)?(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})", text)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise argparse.ArgumentTypeError(f"not a scheduler address like tcp://host:8786: {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    from sim.domains import registry

    parser = _Parser(
        prog="sim", description="Agent-based simulation of payments, fraud, AML and supply chains."
    )
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write a run directory")
    run.add_argument("scenario", type=Path)
    run.add_argument("--out", type=out_argument,
                     help="run directory, or an object-storage URI such as s3://bucket/prefix "
                          "(default outputs/<name>/<run_id>)")  # fmt: skip
    run.add_argument("--seed", type=_seed, help="override the scenario's seed")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                     help="override a declared parameter (repeatable)")  # fmt: skip
    run.add_argument("--scale", type=_scale, default=1.0,
                     help="multiply every population's size (default 1)")  # fmt: skip
    run.add_argument("--format", choices=sorted(registry.output_formats()), help="data file format")
    run.add_argument("--force", action="store_true", help="replace an existing run directory")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--shards", type=_positive_int,
                     help="split the world into N shards settled and written by workers, one host per "
                          "worker; transactions become a partitioned Parquet dataset with the same rows "
                          "(payments, under settlement: step)")  # fmt: skip
    _backend_options(run)

    stress = sub.add_parser("stress", help="run strategies x seeded replicates and compare their KPIs")
    stress.add_argument("scenario", type=Path)
    stress.add_argument("--replicates", type=_positive_int, default=10, help="seeded replicates per strategy")
    stress.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="values of a parameter to compare (repeatable; all combinations)")  # fmt: skip
    stress.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    stress.add_argument(
        "--out", type=local_out, help="stress directory (default outputs/<name>-stress/<time>)"
    )
    stress.add_argument("--force", action="store_true", help="replace an existing stress directory")
    stress.add_argument("--quiet", action="store_true", help="no progress bar")
    _backend_options(stress)

    evaluate = sub.add_parser("evaluate", help="compare synthetic data with real data")
    evaluate.add_argument("synthetic", type=Path, help="Parquet or CSV file, or a run directory")
    evaluate.add_argument("real", type=Path, help="Parquet or CSV file, or a run directory")
    evaluate.add_argument("--target", help="binary label column for utility and augmentation (e.g. is_fraud)")
    evaluate.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                          help="leave a column out of every model and score (repeatable)")  # fmt: skip
    evaluate.add_argument("--keep", action="append", default=[], metavar="COLUMN",
                          help="a feature although its name reads as a label or id (repeatable)")  # fmt: skip
    evaluate.add_argument("--no-behaviour", dest="behaviour", action="store_false",
                          help="skip the behaviour metrics of transaction logs")  # fmt: skip
    evaluate.add_argument("--audit", action="store_true",
                          help="add the tell audit of every label of both tables")  # fmt: skip
    evaluate.add_argument("--augment", action="store_true",
                          help="add augmentation: real, + synthetic, + SMOTE rows")  # fmt: skip
    evaluate.add_argument("--seed", type=_seed, default=0, help="seed of the splits and models (default 0)")
    evaluate.add_argument(
        "--out", type=local_out, help="evaluation directory (default outputs/evaluation/<time>)"
    )
    evaluate.add_argument("--force", action="store_true", help="replace an existing evaluation directory")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    tells = sub.add_parser("audit", help="the tell audit of a table's labels: what gives each label away")
    tells.add_argument("table", type=Path, help="a run directory, or a Parquet or CSV file")
    tells.add_argument("--label", dest="labels", action="append", metavar="COLUMN",
                       help="a binary label to audit (repeatable; default every label column)")  # fmt: skip
    tells.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                       help="leave a column out of the features (repeatable)")  # fmt: skip
    tells.add_argument("--seed", type=_seed, default=0, help="seed of the splits and models (default 0)")
    tells.add_argument("--out", type=local_out, help="also write the audit as JSON to this file")

    refine = sub.add_parser("refine", help="refine a run's table toward a real sample")
    refine.add_argument("run", type=Path, help="a run directory, or a Parquet or CSV file")
    refine.add_argument("--real", type=Path, required=True, help="the real sample (Parquet or CSV)")
    refine.add_argument("--method", default="reweight",
                        help="reweight, copula; residual-gan, vae, diffusion, attention (torch)")  # fmt: skip
    refine.add_argument("--target", help="binary label column for the before/after utility scores")
    refine.add_argument("--label", dest="labels", action="append", metavar="COLUMN",
                        help="a label column kept and conditioned on (repeatable)")  # fmt: skip
    refine.add_argument("--seed", type=_seed, default=0, help="random_state of the refiner (default 0)")
    refine.add_argument("--upsample", type=float, default=0.0, metavar="SHARE",
                        help="append SHARE x rows of --target's rare class, drawn by the copula")  # fmt: skip
    refine.add_argument(
        "--out", type=local_out, help="refined run directory (default outputs/refined/<time>)"
    )
    refine.add_argument("--force", action="store_true", help="replace an existing directory")
    refine.add_argument("--quiet", action="store_true", help="no progress bar")

    cal = sub.add_parser("calibrate", help="fit a scenario's parameters to target statistics")
    cal.add_argument("scenario", type=Path)
    cal.add_argument("--targets", type=Path, required=True, help="targets file (see calibration/targets/)")
    cal.add_argument(
        "--params",
        action="append",
        required=True,
        metavar="NAME=LO:HI[,...]",
        help="parameters to fit and their ranges (repeatable)",
    )
    cal.add_argument("--budget", type=_positive_int, default=100, help="simulations to spend (default 100)")
    cal.add_argument(
        "--backend",
        choices=["optuna", "abc"],
        default="optuna",
        help="optuna (default) or abc (ABC-SMC with credible intervals; needs the abc extra)",
    )
    cal.add_argument(
        "--sampler", choices=["tpe", "cmaes"], default="tpe", help="optuna's sampler (default tpe)"
    )
    cal.add_argument(
        "--polish",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="share of the budget for least-squares polishing after the search (default 0.3; 0: none)",
    )
    cal.add_argument("--replicates", type=_positive_int, default=1, help="seeded runs averaged per candidate")
    cal.add_argument("--batch", type=_positive_int, default=1,
                     help="candidates proposed together and run in parallel (optuna; default 1)")  # fmt: skip
    _backend_options(cal, flag="--executor")
    cal.add_argument("--scale", type=_scale, default=1.0, help="population scale of each run")
    cal.add_argument("--seed", type=_seed, help="seed of the search and the replicate runs")
    cal.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    cal.add_argument(
        "--check-recovery",
        action="store_true",
        help="calibrate against a run at known parameters and report how well each is recovered",
    )
    cal.add_argument(
        "--truth",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the known parameters for --check-recovery (default: drawn from the seed, away from the bounds "
        "and from the scenario's own values, where the search starts)",
    )
    cal.add_argument(
        "--out", type=local_out, help="calibration directory (default outputs/<name>-calibration/<time>)"
    )
    cal.add_argument("--force", action="store_true", help="replace an existing calibration directory")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    return parser


def _backend_options(parser: argparse.ArgumentParser, flag: str = "--backend") -> None:
    """Where the work runs; `sim calibrate` calls it --executor (its --backend is the search method)."""
    parser.add_argument("--workers", type=_positive_int,
                        help="worker processes (default 1; results do not depend on it)")  # fmt: skip
    parser.add_argument(flag, dest="executor", choices=("local", "dask"),
                        help="a local process pool, or Dask (the distributed extra)")  # fmt: skip
    parser.add_argument("--scheduler", metavar="ADDRESS", type=_scheduler,
                        help="a Dask scheduler (tcp://host:8786); default a LocalCluster")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from sim import commands

    args = build_parser().parse_args(argv)
    with stopping_safely():
        return _command(commands, args)


def _command(commands, args) -> int:
    try:
        return getattr(commands, args.command)(args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (RunExistsError, InputError) as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (SimError, OSError) as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("sim: interrupted; nothing was published", file=sys.stderr)
        return 130
    except Terminated:
        print("sim: terminated (SIGTERM); nothing was published", file=sys.stderr)
        return 143
