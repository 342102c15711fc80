"""Evaluate synthetic data against real data: the target's leak check, behaviour, fidelity, detection,
utility, privacy, on request the tell audit of every label and augmentation, and for supply time series
autocorrelation and TimeGAN's scores. `evaluate`
returns one dictionary (the content of `evaluation.json`); `write_evaluation` writes it with a report
into a directory. Labels never reach a model or a score as features: only the one `target` is used, as
the label it is."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, RunExistsError, SimError, did_you_mean
from sim.evaluation.behaviour import behaviour as behaviour_metrics
from sim.evaluation.detection import detection
from sim.evaluation.fidelity import fidelity
from sim.evaluation.logs import TransactionLog
from sim.evaluation.privacy import dcr
from sim.evaluation.tables import (
    Columns,
    as_text,
    check_finite,
    check_options,
    describe,
    is_identifier,
    numbers,
    read_table,
)
from sim.evaluation.tells import audit, binary_label, leak_check
from sim.evaluation.timeseries import is_series, timeseries_scores
from sim.evaluation.utility import augmentation, labels, split_real, utility

__all__ = ["HEADLINE", "STAGES", "audit_line", "audit_table", "check_options", "check_target", "evaluate",
           "read_table", "summary", "write_evaluation"]  # fmt: skip
HEADLINE = ("fidelity_score", "detection_auc", "detection_auc_real_vs_real", "tstr_auc", "trtr_auc",
            "dcr_synthetic", "dcr_holdout")  # fmt: skip


STAGES = ("leak check", "tell audit", "behaviour", "fidelity", "detection", "utility", "augmentation",
          "privacy", "time series")  # fmt: skip
"""What `evaluate` does, in order: its `progress` callback hears each name as the stage starts."""


MIN_ROWS = 20  # fewer leave the cross-validated models and the deciles without data


def evaluate(synthetic: pd.DataFrame, real: pd.DataFrame, target: str | None = None, seed: int = 0,
             augment: bool = False, augment_seeds: int = 5, drop: tuple[str, ...] = (),
             keep: tuple[str, ...] = (), tells: bool = False, behaviour: bool = True,
             progress: Callable[[str], None] | None = None) -> dict:  # fmt: skip
    """Every metric of synthetic against real data (utility and augmentation need a binary `target`).
    Label columns (by name: what the domains declare, `target`, `label`, `class`), identifiers and the
    `drop`ped columns are left out of every model and score; `keep` makes a column a feature whatever
    its name. The target's features are always checked for leaks (a feature that alone gives it away);
    `tells` adds the whole tell audit of each binary label of both tables (`sim.evaluation.tells`), and
    `augment` the augmentation arms: each costs more than all the rest on a large table. `behaviour`
    measures, on transaction logs, what row generators destroy (`sim.evaluation.behaviour`). Every
    option and column is checked before any stage runs."""
    stage = progress or (lambda name: None)
    if augment and target is None:
        raise InputError("augmentation needs a target (the binary label whose rare rows are added)")
    if len(real) < MIN_ROWS or len(synthetic) < MIN_ROWS:
        raise InputError(f"evaluation needs at least {MIN_ROWS} rows in each table "
                         f"(real {len(real)}, synthetic {len(synthetic)})")  # fmt: skip
    columns = describe(real, synthetic, target, ignore=tuple(drop), keep=tuple(keep))
    if not columns.used:
        raise InputError("the tables share no column to compare (only identifiers and labels)")
    check_finite({"real": real, "synthetic": synthetic}, columns.numeric)
    if target is not None:
        labels(real[target], synthetic[target])  # exactly two classes, or an error now
    result: dict = {
        "rows": {"real": len(real), "synthetic": len(synthetic)},
        "columns": {"numeric": columns.numeric, "categorical": columns.categorical,
                    "left_out_as_identifiers": columns.identifiers, "left_out_as_labels": columns.labels,
                    "dropped": columns.dropped},
        "target": target,
        "seed": seed,
    }  # fmt: skip
    if tells:
        stage("tell audit")
        result["tell_audit"] = tell_audit(real, synthetic, columns, target, seed)
        checked = {side: audited.get(target, {}) for side, audited in result["tell_audit"].items()}
    elif target is not None:
        stage("leak check")
        checked = {side: leak_check(frame, columns, target, seed)
                   for side, frame in (("real", real), ("synthetic", synthetic))}  # fmt: skip
        result["leak_check"] = checked
    if target is not None:
        result["leaks"] = sorted({f for side in checked.values() for f in side.get("leaks", [])})
    if behaviour:
        stage("behaviour")
        measured = behaviour_metrics(real, synthetic, seed)
        if measured is not None:
            result["behaviour"] = measured
    stage("fidelity")
    result |= fidelity(real, synthetic, columns)
    stage("detection")
    result |= detection(real, synthetic, columns, seed)
    if target is not None:
        stage("utility")
        result |= utility(real, synthetic, columns, target, seed)
        if augment:
            stage("augmentation")
            result["augmentation"] = augmentation(real, synthetic, columns, target, augment_seeds)
        y, _ = labels(real[target], synthetic[target])
        train, holdout = (real.iloc[part] for part in split_real(y, seed))
    else:
        order = np.random.default_rng(seed).permutation(len(real))
        train, holdout = real.iloc[order[len(real) // 2 :]], real.iloc[order[: len(real) // 2]]
    stage("privacy")
    result |= dcr(train, holdout, synthetic, columns, seed)
    if is_series(real) and is_series(synthetic):
        stage("time series")
        values = [c for c in columns.numeric if c != "t"]
        result["timeseries"] = timeseries_scores(real, synthetic, values, seed)
    return result


def audit_table(frame: pd.DataFrame, labels: list[str] | None = None, seed: int = 0,
                drop: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> dict:  # fmt: skip
    """The tell audit of one table: each of `labels` (default: every binary label column but the ids a
    label derives) against the table's own features (labels, identifiers and `drop` left out)."""
    if labels is not None:
        missing = [c for c in labels if c not in frame.columns]
        if missing:
            hints = "".join(did_you_mean(c, frame.columns) for c in missing)
            raise InputError(f"--label {', '.join(map(repr, missing))}: not a column of the table{hints}")
    columns = describe(frame, frame, ignore=tuple(drop), keep=tuple(keep))
    check_finite({"table": frame}, columns.numeric)
    chosen = labels if labels is not None else [c for c in columns.labels if not is_identifier(c)]
    chosen = [c for c in chosen if binary_label(frame[c]) is not None]
    features = Columns([c for c in columns.numeric if c not in chosen],
                       [c for c in columns.categorical if c not in chosen], [])  # fmt: skip
    return {"table": audit(frame, features, chosen, seed, TransactionLog.of(frame))}


def check_target(real: str | Path, target: str) -> None:
    """The target has exactly two classes in the real table: read that column alone, before the rest."""
    values = read_table(real, columns=[target])[target]
    labels(values, values)


def summary(result: dict) -> list[tuple[str, str]]:
    """The lines a person reads first: (what, figure), rounded."""

    def number(key: str) -> str:
        value = result.get(key)
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        ("rows (synthetic / real)", f"{result['rows']['synthetic']:,} / {result['rows']['real']:,}"),
        ("fidelity (SDMetrics score)", number("fidelity_score")),
        (
            "detection AUC (real vs real)",
            f"{number('detection_auc')} ({number('detection_auc_real_vs_real')})",
        ),
    ]
    if result.get("target"):
        lines.append(("TSTR / TRTR ROC-AUC", f"{number('tstr_auc')} / {number('trtr_auc')}"))
        lines.append(("TSTR / TRTR PR-AUC", f"{number('tstr_pr_auc')} / {number('trtr_pr_auc')}"))
    lines.append(
        ("privacy DCR (synthetic / holdout)", f"{number('dcr_synthetic')} / {number('dcr_holdout')}")
    )
    if "behaviour" in result:
        b = result["behaviour"]
        if b["median_ratio"] is not None:
            shown = f"median {b['median_ratio']:.2f}, worst {b['max_ratio']:.2f} ({b['worst']})"
            lines.append(("behaviour degradation (1 = noise)", shown))
    for side, audited in result.get("tell_audit", {}).items():
        for label, a in audited.items():
            if a.get("audited"):
                lines.append((f"tells of {label} ({side})", audit_line(a)))
    if "tell_audit" not in result:
        lines.append(("tell audit", "not run (--audit here, or sim audit TABLE)"))
    if result.get("target"):
        lines.append(("leaks of the target", ", ".join(result.get("leaks", [])) or "none"))
    return lines


def tell_audit(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Columns, target: str | None,
               seed: int = 0) -> dict:  # fmt: skip
    """The tell audit of both tables, for the target and every binary label they share (not the ids a
    label derives, such as campaign_id)."""
    candidates = [*([target] if target else []), *(c for c in columns.labels if not is_identifier(c))]
    names = [c for c in candidates if binary_label(real[c]) is not None]
    features = Columns([c for c in columns.numeric if c != target],
                       [c for c in columns.categorical if c != target], [])  # fmt: skip
    return {
        side: audit(frame, features, names, seed, TransactionLog.of(frame))
        for side, frame in (("real", real), ("synthetic", synthetic))
    }


def audit_line(a: dict) -> str:
    """One label's audit in a line: best single feature, tree, boosting (with history), tells."""
    if not a.get("audited"):
        return f"not audited: {a['reason']}"
    line = f"best single {a['best_single_feature']} {a['best_single_feature_auc']:.3f}, "
    line += f"tree {a['tree_depth3_auc']:.3f}, boosting {a['boosting_auc']:.3f}"
    if "boosting_auc_with_history" in a:
        line += f" ({a['boosting_auc_with_history']:.3f} with history)"
    return line + (f"; tells: {', '.join(a['tells'])}" if a["tells"] else "")


def write_evaluation(result: dict, out: Path, real: pd.DataFrame, synthetic: pd.DataFrame,
                     force: bool = False) -> Path:  # fmt: skip
    """`evaluation.json`, `report.html` and its figures, written aside and moved into place whole."""
    out = Path(out)
    if out.exists() and not force:
        raise RunExistsError(f"{out} already exists (use --force to replace it)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise SimError(f"cannot write in {out.parent}: {exc}") from exc
    try:
        (work / "evaluation.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
        figures = _figures(work, result, real, synthetic)
        from sim.report import Figure, Page, Section, Table, render

        rows, used = result["rows"], result["columns"]
        lead = [f"{rows['synthetic']:,} synthetic rows against {rows['real']:,} real rows"
                + (f", target {result['target']}" if result["target"] else "") + "."]  # fmt: skip
        if result.get("leaks"):
            leaks, target = ", ".join(result["leaks"]), result["target"]
            lead.insert(0, f"LEAK: {leaks} give(s) the target {target} away on its own (single-feature "
                           "ROC-AUC of 0.99 or more): leave it out with --drop")  # fmt: skip
        columns = [["features", ", ".join(used["numeric"] + used["categorical"]) or "none"],
                   ["left out as labels", ", ".join(used["left_out_as_labels"]) or "none"],
                   ["left out as identifiers", ", ".join(used["left_out_as_identifiers"]) or "none"],
                   ["dropped", ", ".join(used["dropped"]) or "none"]]  # fmt: skip
        sections = [
            Section("Columns", tables=[Table("What the scores read", ["", "columns"], columns, words=True)])
        ]
        if "behaviour" in result:
            metrics = result["behaviour"]["metrics"]
            behaviour = [[name, m["ratio"]] for name, m in metrics.items()]
            text = ("Per behaviour metric, the synthetic table's distance to the real one over the real "
                    "table's own noise floor (1: as close as two real samples; the published row "
                    "generators reach 17–100).")  # fmt: skip
            sections.append(
                Section("Behaviour", text, [Table("Degradation ratios", ["metric", "ratio"], behaviour)])
            )
        sections.append(Section("Figures", figures=[Figure(h, image=i) for h, i in figures.items()]))
        summary_table = Table("Summary", ["", "value"], [list(line) for line in summary(result)])
        render(
            work, Page("Evaluation", lead, summary_table, sections, {"evaluation.json": "evaluation.json"})
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out


def _figures(folder: Path, result: dict, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, str]:
    """The scores, and the real and synthetic distributions of the five least alike columns (numbers as
    cumulative distributions, which show point masses and heavy tails that a histogram hides)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (folder / "figures").mkdir()
    figures = {}
    shown = ("fidelity_score", "column_shapes", "column_pair_trends", "detection_auc",
             "detection_auc_real_vs_real", "tstr_auc", "trtr_auc")  # fmt: skip
    scores = {k: result[k] for k in shown if result.get(k) is not None}
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh(list(scores), list(scores.values()), color="0.4")
    ax.set_xlim(0, 1)
    ax.axvline(0.5, color="r", lw=0.8)
    fig.tight_layout()
    fig.savefig(folder / "figures" / "scores.png", dpi=80)
    plt.close(fig)
    figures["Scores (detection: 0.5 is indistinguishable)"] = "figures/scores.png"
    worst = result["worst_columns"]
    if worst:
        columns = Columns(result["columns"]["numeric"], result["columns"]["categorical"], [])
        fig, axes = plt.subplots(1, len(worst), figsize=(3.2 * len(worst), 2.8), squeeze=False)
        for ax, column in zip(axes[0], worst, strict=True):
            if column in columns.numeric:
                _cdfs(ax, numbers(real, column), numbers(synthetic, column))
            else:
                p = as_text(real[column]).value_counts(normalize=True).head(10)
                q = as_text(synthetic[column]).value_counts(normalize=True).reindex(p.index, fill_value=0)
                ax.bar(np.arange(len(p)) - 0.2, p.to_numpy(), 0.4, label="real")
                ax.bar(np.arange(len(p)) + 0.2, q.to_numpy(), 0.4, label="synthetic")
                ax.set_xticks(np.arange(len(p)), p.index, rotation=45, fontsize=7)
            ax.set_title(f"{column}: {result['column_scores'][column]:.2f}", fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "figures" / "worst_columns.png", dpi=80)
        plt.close(fig)
        figures["The least alike columns"] = "figures/worst_columns.png"
    return figures


def _cdfs(ax, real: np.ndarray, synthetic: np.ndarray, points: int = 512) -> None:
    """Real and synthetic cumulative distributions, on a symmetric-log axis where the values span more than
    two orders of magnitude (balances and amounts)."""
    levels = np.linspace(0, 1, points)
    values = []
    for x, label in ((real, "real"), (synthetic, "synthetic")):
        x = x[np.isfinite(x)]
        if len(x):
            ax.step(np.quantile(x, levels), levels, where="post", label=label)
            values.append(np.abs(x))
    if values:
        both = np.concatenate(values)
        typical = np.median(both[both > 0]) if (both > 0).any() else 0.0
        if typical > 0 and both.max() > 100 * typical:
            ax.set_xscale("symlog", linthresh=typical / 10)
    ax.set_ylim(0, 1)
    ax.tick_params(labelsize=7)
