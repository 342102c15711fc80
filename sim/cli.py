"""The `sim` command: a thin layer over the Python API. Input problems exit 2 with no traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sim import __version__
from sim.errors import InputError, RunExistsError, ScenarioError, SimError

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


def build_parser() -> argparse.ArgumentParser:
    from sim.domains import registry

    parser = _Parser(
        prog="sim", description="Agent-based simulation of payments, fraud, AML and supply chains."
    )
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write a run directory")
    run.add_argument("scenario", type=Path)
    run.add_argument("--out", type=Path, help="run directory (default outputs/<name>/<run_id>)")
    run.add_argument("--seed", type=_seed, help="override the scenario's seed")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                     help="override a declared parameter (repeatable)")  # fmt: skip
    run.add_argument("--scale", type=_positive_float, default=1.0,
                     help="multiply every population's size (default 1)")  # fmt: skip
    run.add_argument("--format", choices=sorted(registry.output_formats()), help="data file format")
    run.add_argument("--force", action="store_true", help="replace an existing run directory")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--shards", type=_positive_int,
                     help="split the customers into N shards drawn and written by workers; transactions "
                          "become a partitioned Parquet dataset with the same rows (payments)")  # fmt: skip
    _backend_options(run)

    stress = sub.add_parser("stress", help="run strategies x seeded replicates and compare their KPIs")
    stress.add_argument("scenario", type=Path)
    stress.add_argument("--replicates", type=_positive_int, default=10, help="seeded replicates per strategy")
    stress.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="values of a parameter to compare (repeatable; all combinations)")  # fmt: skip
    stress.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    stress.add_argument("--out", type=Path, help="stress directory (default outputs/<name>-stress/<time>)")
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
    evaluate.add_argument("--seed", type=_seed, default=0, help="seed of the splits and models (default 0)")
    evaluate.add_argument("--out", type=Path, help="evaluation directory (default outputs/evaluation/<time>)")
    evaluate.add_argument("--force", action="store_true", help="replace an existing evaluation directory")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    refine = sub.add_parser("refine", help="refine a run's table toward a real sample")
    refine.add_argument("run", type=Path, help="a run directory, or a Parquet or CSV file")
    refine.add_argument("--real", type=Path, required=True, help="the real sample (Parquet or CSV)")
    refine.add_argument("--method", default="reweight",
                        help="reweight (default), copula, residual-gan or vae (needs torch)")  # fmt: skip
    refine.add_argument("--target", help="binary label column for the before/after utility scores")
    refine.add_argument("--label", dest="labels", action="append", metavar="COLUMN",
                        help="a label column kept and conditioned on (repeatable)")  # fmt: skip
    refine.add_argument("--seed", type=_seed, default=0, help="random_state of the refiner (default 0)")
    refine.add_argument("--upsample", type=float, default=0.0, metavar="SHARE",
                        help="append SHARE x rows of --target's rare class, drawn by the copula")  # fmt: skip
    refine.add_argument("--out", type=Path, help="refined run directory (default outputs/refined/<time>)")
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
    cal.add_argument("--scale", type=_positive_float, default=1.0, help="population scale of each run")
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
        help="the known parameters for --check-recovery (default: the scenario's values)",
    )
    cal.add_argument(
        "--out", type=Path, help="calibration directory (default outputs/<name>-calibration/<time>)"
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
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a Dask scheduler (tcp://host:8786); default a LocalCluster")  # fmt: skip


def _make_backend(args):
    """The backend the options ask for, or None when they ask for none (work stays in this process)."""
    from sim.distributed import Backend

    if args.executor is None and args.workers is None and args.scheduler is None:
        return None
    return Backend(
        args.executor or ("dask" if args.scheduler else "local"), args.workers or 1, args.scheduler
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "stress":
            return _stress(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "refine":
            return _refine(args)
        if args.command == "calibrate":
            return _calibrate(args)
        return _run(args)
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


def _validate(args) -> int:
    from sim.scenario import load_scenario

    problems = []
    for path in args.scenarios:
        try:
            scenario = load_scenario(path, args.overrides, seed=0)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        print(f"ok: {path} ({scenario.name}, {scenario.horizon.steps} steps)")
    if problems:
        raise ScenarioError(problems)
    return EXIT_OK


def _run(args) -> int:
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides, seed=args.seed)
    backend = _make_backend(args)
    if backend is not None and args.shards is None:
        backend.close()
        raise InputError("--workers, --backend and --scheduler need --shards N")
    progress = None if args.quiet else _DelayedProgress(scenario.name)
    try:
        path = run_scenario(
            scenario,
            args.out,
            fmt=args.format,
            scale=args.scale,
            force=args.force,
            progress=progress,
            shards=args.shards,
            backend=backend,
        )
    finally:
        if progress:
            progress.close()
        if backend is not None:
            backend.close()
    print(f"seed {scenario.seed}", file=sys.stderr)
    print(path)
    return EXIT_OK


def _stress(args) -> int:
    from sim.runner import default_run_dir
    from sim.scenario import load_scenario
    from sim.stress import parse_vary, run_stress

    scenario = load_scenario(args.scenario, args.overrides)
    vary = (
        parse_vary(args.vary)
        if args.vary
        else {k: [str(v) for v in vs] for k, vs in scenario.strategies.items()}
    )
    out = args.out or Path("outputs") / f"{scenario.name}-stress" / default_run_dir(scenario).name
    progress = None if args.quiet else _DelayedProgress(f"{scenario.name} stress")
    backend = _make_backend(args)
    try:
        path = run_stress(args.scenario, args.replicates, vary, out, overrides=args.overrides,
                          force=args.force, progress=progress, backend=backend)  # fmt: skip
    finally:
        if progress:
            progress.close()
        if backend is not None:
            backend.close()
    print(path)
    return EXIT_OK


def _evaluate(args) -> int:
    from sim.evaluation import (
        STAGES,
        check_options,
        check_target,
        evaluate,
        read_table,
        summary,
        write_evaluation,
    )
    from sim.outputs import now_iso

    check_options(args.synthetic, args.real, args.target, drop=tuple(args.drop), keep=tuple(args.keep))
    if args.target is not None:
        check_target(args.real, args.target)  # that one column: two classes, or an error now
    out = args.out or Path("outputs") / "evaluation" / now_iso().replace(":", "")
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists (use --force to replace it)")
    stages = ["reading the tables", *STAGES, "writing the report"]
    bar = _Stages(None if args.quiet else _DelayedProgress("evaluate", "stages", delay=0), stages)
    try:
        bar("reading the tables")
        synthetic, real = read_table(args.synthetic), read_table(args.real)
        result = evaluate(synthetic, real, target=args.target, seed=args.seed, drop=args.drop, keep=args.keep,
                          behaviour=args.behaviour, progress=bar)  # fmt: skip
        bar("writing the report")
        path = write_evaluation(result, out, real, synthetic, force=args.force)
    finally:
        bar.close()
    _print_table(summary(result))
    print(path)
    return EXIT_OK


def _refine(args) -> int:
    from sim.outputs import now_iso
    from sim.refine import STAGES, refine_run

    out = args.out or Path("outputs") / "refined" / now_iso().replace(":", "")
    bar = _Stages(None if args.quiet else _DelayedProgress("refine", "stages", delay=0), STAGES)
    try:
        path = refine_run(args.run, args.real, args.method, out, seed=args.seed, target=args.target,
                          labels=args.labels, force=args.force, upsample=args.upsample,
                          progress=bar)  # fmt: skip
    finally:
        bar.close()
    headline = json.loads((path / "manifest.json").read_text())["headline"]
    rows = [("", f"{'before':>8} {'after':>8}")]
    rows += [(key, f"{pair['before']:8.4f} {pair['after']:8.4f}") for key, pair in headline.items()
             if pair["before"] is not None and pair["after"] is not None]  # fmt: skip
    _print_table(rows)
    print(path)
    return EXIT_OK


def _print_table(rows: list[tuple[str, str]]) -> None:
    width = max((len(name) for name, _ in rows), default=0)
    for name, value in rows:
        print(f"{name:{width}}  {value}")


class _Stages:
    """A command's named stages on a progress bar (or on none): call it with each stage as it starts."""

    def __init__(self, bar, stages) -> None:
        self.bar, self.stages, self.done = bar, list(stages), 0

    def __call__(self, stage: str) -> None:
        if stage in self.stages:
            self.done = self.stages.index(stage)
        if self.bar is not None:
            self.bar(self.done, len(self.stages), stage)

    def close(self) -> None:
        if self.bar is not None:
            self.bar(len(self.stages), len(self.stages), "done")
            self.bar.close()


def _calibrate(args) -> int:
    from sim.calibration import Calibrator, check_recovery, load_targets, parse_space, write_calibration
    from sim.runner import default_run_dir
    from sim.scenario import load_scenario
    from sim.scenario.parameters import parse_override_value

    scenario = load_scenario(args.scenario, args.overrides)
    targets = load_targets(args.targets)
    space = parse_space(args.params, args.scenario)
    if not 0 <= args.polish < 1:
        raise InputError("--polish must be a share of the budget in [0, 1)")
    truth = {}
    for item in args.truth:
        name, _, value = item.partition("=")
        truth[name.strip()] = parse_override_value(value)
    unknown = sorted(set(truth) - {p.name for p in space})
    if unknown:
        raise InputError(f"--truth names parameters not in --params: {', '.join(unknown)}")
    out = args.out or Path("outputs") / f"{scenario.name}-calibration" / default_run_dir(scenario).name
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists (use --force to replace it)")
    progress = None if args.quiet else _DelayedProgress(f"{scenario.name} calibration", "simulations")
    journal = out.parent / f".{out.name}.calibration.jsonl"
    cal = Calibrator(
        space,
        backend=args.backend,
        budget=args.budget,
        random_state=args.seed,
        sampler=args.sampler,
        replicates=args.replicates,
        scale=args.scale,
        overrides=args.overrides,
        polish_share=args.polish,
        journal=journal,
        progress=progress and (lambda done, total, _best: progress(done, total)),
        batch=args.batch,
        executor=_make_backend(args),
    )
    try:
        recovery = None
        if args.check_recovery:
            recovery = check_recovery(cal, args.scenario, targets, truth)
        else:
            cal.fit(args.scenario, targets)
    finally:
        if progress:
            progress.close()
        if cal.executor is not None:
            cal.executor.close()
    path = write_calibration(cal, out, recovery=recovery, force=args.force)
    journal.unlink(missing_ok=True)
    print(
        f"loss {cal.start_loss_:.4g} -> {cal.best_loss_:.4g}; "
        f"{sum(bool(r['met']) for r in cal.fit_)} of {len(cal.fit_)} targets within tolerance"
    )
    for name, value in cal.best_params_.items():
        line = f"{name:28} {value:.6g}"
        if cal.intervals_:
            line += (
                f"  (90 % interval {cal.intervals_[name]['low']:.4g} .. {cal.intervals_[name]['high']:.4g})"
            )
        if recovery:
            r = recovery["parameters"][name]
            line += f"  truth {r['truth']:.6g}, error {r['relative_error']:.1%}"
            line += "" if r["identified"] else f"  NOT IDENTIFIED: {r['reason']}"
        print(line)
    print(path)
    return EXIT_OK


class _DelayedProgress:
    """A rich progress bar on stderr that appears only once a run has taken more than a second."""

    DELAY = 1.0

    def __init__(self, label: str, unit: str = "steps", delay: float = DELAY):
        self.label, self.unit, self.delay = label, unit, delay
        self.started = time.perf_counter()
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int, what: str | None = None) -> None:
        if self.bar is None:
            if time.perf_counter() - self.started < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(f"{self.label}: {self.unit}", total=total)
        description = f"{self.label}: {what}" if what else f"{self.label}: {self.unit}"
        self.bar.update(self.task, completed=done, total=total, description=description)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
