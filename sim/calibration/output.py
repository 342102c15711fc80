"""A calibration's directory: the calibrated scenario, `calibration.json`, `history.csv`, figures, report
(the same bytes for the same calibration), and `timing.json` (wall-clock times)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from sim.calibration.calibrator import Calibrator
from sim.errors import SimError
from sim.outputs import RunDirectory, now_iso, versions, write_json_atomic
from sim.report import Figure, Page, Section, Table, render

MAX_PANELS = 16


def calibrated_text(source: Path, params: dict) -> str:
    """The scenario file with its `parameters:` values replaced where they are written, whatever the YAML
    style (block, flow, quoted, anchored, an alias): every other character, comments and layout, stays."""
    text = source.read_text()
    spans = []
    for name, value in params.items():
        start, end = _value_span(text, name, source)
        shown = repr(int(value)) if isinstance(value, int | np.integer) else repr(float(value))
        prefix = re.match(r"(?:[&!]\S*\s+)*", text[start:end]).group()  # an anchor stays, a tag goes
        anchors = re.findall(r"&\S+", prefix)
        spans.append((start, end, " ".join([*anchors, shown])))
    for start, end, shown in sorted(spans, reverse=True):
        text = text[:start] + shown + text[end:]
    return text


def _value_span(text: str, name: str, source: Path) -> tuple[int, int]:
    """Where parameter `name`'s value is written: the scalar's characters (quotes included), or an alias
    (`*x`) in its place, not the anchor it names."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    block = next((v for k, v in root.value if k.value == "parameters"), None)
    found = None if block is None else next(((k, v) for k, v in block.value if k.value == name), None)
    if found is None or not isinstance(found[1], yaml.ScalarNode):
        raise SimError(f"{source}: cannot find the value of parameter {name} to replace")
    key, value = found
    if value.start_mark.index < key.end_mark.index:  # an alias: the node is where its anchor is
        alias = re.compile(r"\s*:\s*(\*[^\s,\]}#]+)").match(text, key.end_mark.index)
        return alias.start(1), alias.end(1)
    return value.start_mark.index, value.end_mark.index


def summary(cal: Calibrator) -> dict:
    """What calibration.json holds (the history is in history.csv)."""

    nrmse = {r["name"]: r["nrmse"] for r in cal.fit_ if r["nrmse"] is not None}
    return {
        "scenario": cal.scenario_,
        "targets": cal.targets_.file,
        "backend": cal.backend,
        "sampler": cal.sampler if cal.backend == "optuna" else None,
        "budget": cal.budget,
        "evaluations": len(cal.history_),
        "resumed_evaluations": cal.resumed_,
        "replicates": cal.replicates,
        "scale": cal.scale,
        "seed": cal.seed_,
        "replicate_seeds": cal.simulator_.seeds,
        "space": {p.name: [p.low, p.high] for p in cal.space},
        "best_params": cal.best_params_,
        "best_loss": cal.best_loss_,
        "start_params": cal.start_params_,
        "start_loss": cal.start_loss_,
        "intervals": cal.intervals_,
        "at_bounds": cal.at_bounds_,
        "noisy": cal.noisy_,
        "targets_met": sum(bool(r["met"]) for r in cal.fit_),
        "targets_total": len(cal.fit_),
        "nrmse": nrmse,
        "fit": cal.fit_,
        "start_fit": cal.start_fit_,
        "loss_history": cal.history_["loss"].tolist(),
    }


def timing(cal: Calibrator, created: str) -> dict:
    """Wall-clock times, kept apart in `timing.json` so that the other files of two identical
    calibrations are the same bytes."""
    return {
        "created": created,
        "finished": now_iso(),
        "wall_seconds": round(cal.wall_seconds_, 3),
        "evaluation_seconds": cal.history_["seconds"].tolist(),
    }


def write_calibration(
    cal: Calibrator, out: Path, *, recovery: dict | None = None, force: bool = False
) -> Path:
    source = Path(cal.scenario_)
    created = now_iso()
    run = RunDirectory(
        out,
        {
            "name": f"{source.stem}-calibration",
            "versions": versions(),
            "scenario_file": str(source),
            "targets_file": cal.targets_.file,
        },
        force=force,
    )
    try:
        name = f"{source.stem}.calibrated.yaml"
        (run.path / name).write_text(calibrated_text(source, cal.best_params_))
        run.add_file("calibrated_scenario", name)
        data = summary(cal)
        if recovery is not None:
            data["recovery"] = recovery
        write_json_atomic(run.path / "calibration.json", data)
        run.add_file("calibration", "calibration.json")
        cal.history_.drop(columns="seconds").to_csv(run.path / "history.csv", index=False)
        run.add_file("history", "history.csv")
        figures = _figures(cal, run.path)
        for key, (_, relative) in figures.items():
            run.add_file(key, relative)
        run.add_file("report", _report(run.path, source, cal, data, figures, recovery))
        write_json_atomic(run.path / "timing.json", timing(cal, created))
        run.manifest["timing"] = "timing.json"  # not checksummed: the one file that differs between runs
        return run.finish()
    except BaseException:
        run.abandon()
        raise


def _figures(cal: Calibrator, folder: Path) -> dict[str, tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (folder / "figures").mkdir(exist_ok=True)
    out = {}
    fig, ax = plt.subplots(figsize=(7, 3.5))
    loss = cal.history_["loss"].to_numpy()
    ax.plot(loss, ".", ms=3, alpha=0.5, label="candidate")
    ax.plot(np.minimum.accumulate(loss), "-", label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("loss (tolerance units²)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "figures" / "loss.png", dpi=80)
    plt.close(fig)
    out["figure_loss"] = ("Loss over the budget", "figures/loss.png")

    series = [s for s in cal.targets_ if s.is_series][:MAX_PANELS]
    if series:
        cols = min(3, len(series))
        rows = int(np.ceil(len(series) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 2.6 * rows), squeeze=False)
        for ax, s in zip(axes.ravel(), series, strict=False):
            ax.plot(s.array, color="black", lw=1, label="target")
            ax.plot(np.asarray(cal.start_simulated_[s.name]), color="C1", lw=0.8, alpha=0.7, label="before")
            ax.plot(np.asarray(cal.simulated_[s.name]), color="C0", lw=0.8, label="calibrated")
            ax.set_title(s.name, fontsize=9)
        for ax in axes.ravel()[len(series) :]:
            ax.axis("off")
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "figures" / "fit.png", dpi=70)
        plt.close(fig)
        out["figure_fit"] = ("Targets, before and after calibration", "figures/fit.png")

    if cal.posterior_ is not None:
        n = len(cal.space)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.8), squeeze=False)
        for ax, p in zip(axes[0], cal.space, strict=True):
            ax.hist(cal.posterior_[p.name], bins=20, weights=cal.posterior_["weight"], color="C0", alpha=0.7)
            interval = cal.intervals_[p.name]
            ax.axvspan(interval["low"], interval["high"], color="C1", alpha=0.2, label="90 % interval")
            ax.axvline(cal.best_params_[p.name], color="black", lw=1, label="best")
            ax.set_title(p.name, fontsize=9)
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "figures" / "posterior.png", dpi=80)
        plt.close(fig)
        out["figure_posterior"] = ("Posterior marginals", "figures/posterior.png")
    return out


def _report(
    folder: Path, source: Path, cal: Calibrator, data: dict, figures: dict, recovery: dict | None
) -> str:
    """The page: targets met and the calibrated values first, then each target's fit and the figures."""
    intervals = data["intervals"] or {}
    rows = [["Targets within tolerance", f"{data['targets_met']} of {data['targets_total']}"],
            ["Loss: scenario's values → calibrated", f"{data['start_loss']:.4g} → {data['best_loss']:.4g}"],
            ["Evaluations (replicates each)", f"{data['evaluations']} ({data['replicates']})"]]  # fmt: skip
    for name, value in data["best_params"].items():
        interval = intervals.get(name)
        shown = f"{value:.4g}" + (f" ({interval[0]:.4g} – {interval[1]:.4g})" if interval else "")
        rows.append([f"{name}: {data['start_params'].get(name)} →", shown])
    lead = [f"{source.name} calibrated to {Path(cal.targets_.file).name} with {data['backend']}."]
    lead += [bound["advice"] for bound in cal.at_bounds_.values()]
    lead += [target["advice"] for target in cal.noisy_.values()]
    start_fit = {r["name"]: r for r in data["start_fit"]}
    fits = [[r["name"], start_fit.get(r["name"], {}).get("nrmse"), r["nrmse"], r["met"], r.get("run_sd")]
            for r in data["fit"]]  # fmt: skip
    columns = ["statistic", "NRMSE before", "NRMSE calibrated", "within tolerance", "one run's sd"]
    text = (
        "NRMSE of each target statistic (0: exact), at the scenario's values and calibrated (the mean of "
        "the replicates); one run's sd: how far a single run's value strays from that mean, between seeds."
    )
    sections = [Section("Targets", text, [Table("Fit", columns, fits)])]
    if recovery is not None:
        columns = ["parameter", "truth", "estimate", "relative error", "recovered", "identified", "why not"]
        recovered = [[name, r["truth"], r["estimate"], r["relative_error"], r["recovered"], r["identified"],
                      r["reason"] or ""] for name, r in recovery["parameters"].items()]  # fmt: skip
        text = "Calibrated against a run at known values: are they found again?"
        sections.append(Section("Recovery check", text, [Table("Parameters", columns, recovered)]))
    sections.append(Section("Figures", figures=[Figure(h, image=r) for h, r in figures.values()]))
    files = {"calibration.json": "calibration.json", "history.csv": "history.csv"}
    summary_table = Table("Summary", ["", "value"], rows)
    return render(folder, Page(f"Calibration of {source.stem}", lead, summary_table, sections, files))
