"""What each `sim` subcommand does, given its parsed arguments: a thin layer over the Python API.
Each returns the exit status; input problems are raised as `InputError`/`ScenarioError` for `sim.cli.main`
to report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sim.errors import InputError, RunExistsError, ScenarioError

EXIT_OK = 0


def make_backend(args):
    """The backend the options ask for, or None when they ask for none (work stays in this process)."""
    from sim.distributed import Backend

    if args.executor is None and args.workers is None and args.scheduler is None:
        return None
    return Backend(
        args.executor or ("dask" if args.scheduler else "local"), args.workers or 1, args.scheduler
    )


def validate(args) -> int:
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


def run(args) -> int:
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides, seed=args.seed)
    _say_if_compiling(scenario.domain)
    backend = make_backend(args)
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
    if not args.quiet:
        _summarise_run(path, scenario.domain)
    print(path)
    return EXIT_OK


def _say_if_compiling(domain: str) -> None:
    """A first run in a new environment compiles the domain's kernels (10 to 30 s, once): say so."""
    from sim.domains import registry
    from sim.engine.kernels import uncompiled_kernels

    registry.world_factory(domain)  # imports the world and its kernels
    cold = uncompiled_kernels()
    if cold:
        print(f"compiling the simulation kernels ({', '.join(cold)}) for this environment, once (10 to "
              "30 s); later runs reuse them", file=sys.stderr)  # fmt: skip


def _summarise_run(path: Path | str, domain: str) -> None:
    """The run's headline figures (its dataset card's first rows) and where to read more, on stderr."""
    from sim.domains import registry
    from sim.storage import Store, is_uri

    card = registry.domain(domain).card
    if card is not None:
        kpis = Store(path).read_text("kpis.json") if is_uri(path) else (path / "kpis.json").read_text()
        figures = card.figures(json.loads(kpis))[:5]
        print("; ".join(f"{name}: {value}" for name, value in figures), file=sys.stderr)
    report = f"{path}/report.html" if is_uri(path) else path / "report.html"
    print(f"report: {report} (dataset card: DATASET.md)", file=sys.stderr)


def stress(args) -> int:
    from sim.runner import default_run_dir
    from sim.scenario import load_scenario
    from sim.stress import parse_vary, run_stress
    from sim.stress_report import print_ranking

    scenario = load_scenario(args.scenario, args.overrides)
    vary = (
        parse_vary(args.vary)
        if args.vary
        else {k: [str(v) for v in vs] for k, vs in scenario.strategies.items()}
    )
    out = args.out or Path("outputs") / f"{scenario.name}-stress" / default_run_dir(scenario).name
    _say_if_compiling(scenario.domain)
    progress = None if args.quiet else _DelayedProgress(f"{scenario.name} stress", "replicates")
    backend = make_backend(args)
    try:
        path = run_stress(args.scenario, args.replicates, vary, out, overrides=args.overrides,
                          force=args.force, progress=progress, backend=backend)  # fmt: skip
    finally:
        if progress:
            progress.close()
        if backend is not None:
            backend.close()
    if not args.quiet:
        print_ranking(json.loads((path / "summary.json").read_text()), args.replicates)
    print(path / "report.html", file=sys.stderr)
    print(path)
    return EXIT_OK


def evaluate(args) -> int:
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

    if args.augment and args.target is None:
        raise InputError("--augment needs --target (the binary label whose rare rows are added)")
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
                          behaviour=args.behaviour, tells=args.audit, augment=args.augment,
                          progress=bar)  # fmt: skip
        bar("writing the report")
        path = write_evaluation(result, out, real, synthetic, force=args.force)
    finally:
        bar.close()
    _print_table(summary(result))
    print(path)
    return EXIT_OK


def audit(args) -> int:
    from sim.evaluation import audit_line, audit_table, read_table
    from sim.outputs import write_json_atomic

    if args.out is not None and args.out.exists():
        raise RunExistsError(f"{args.out} already exists")
    frame = read_table(args.table)
    result = audit_table(frame, args.labels, seed=args.seed, drop=tuple(args.drop))
    _print_table([(label, audit_line(a)) for label, a in result["table"].items()])
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, result)
        print(args.out)
    return EXIT_OK


def refine(args) -> int:
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


def calibrate(args) -> int:
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
    _say_if_compiling(scenario.domain)
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
        executor=make_backend(args),
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
            if not r["converged"]:
                line += f"  NOT CONVERGED: {r['reason']}"
            elif not r["identified"]:
                line += f"  NOT IDENTIFIED: {r['reason']}"
        if name in cal.at_bounds_:
            line += f"  ON ITS {cal.at_bounds_[name]['bound'].upper()} BOUND: widen the range"
        print(line)
    for advice in [*cal.at_bounds_.values(), *cal.noisy_.values()]:
        print(advice["advice"], file=sys.stderr)
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
