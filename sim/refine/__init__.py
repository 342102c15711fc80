"""Refine simulator output toward a real sample, and say by how much: `refine_run` writes a run directory
with the refined table, its manifest and the evaluation of the table before and after refining."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.domains import registry
from sim.errors import InputError, RunExistsError, did_you_mean
from sim.evaluation import HEADLINE, MIN_ROWS, check_options, check_target, evaluate, read_table
from sim.outputs import RunDirectory, now_iso, sha256_of, versions
from sim.refine.base import Refiner
from sim.refine.copula import GaussianCopula
from sim.refine.ledger import checks, floors, is_ledger, replay
from sim.refine.reweight import Reweight

METHODS = {"reweight": Reweight, "copula": GaussianCopula}
NEURAL = ("residual-gan", "vae", "diffusion", "attention")  # need the `neural` extra (torch)
# generators whose rare-class rows beat SMOTE in the augmentation test (benchmarks/refine_quality.py):
# only those are offered for upsampling
UPSAMPLERS = ("copula",)

__all__ = ["METHODS", "STAGES", "UPSAMPLERS", "Refiner", "make_refiner", "refine_run"]
STAGES = ("reading the tables", "fitting", "refining", "scoring before and after", "writing")
"""What `refine_run` does, in order: its `progress` callback hears each name as the stage starts."""


def make_refiner(method: str, random_state: int | None = None, labels: list[str] | None = None) -> Refiner:
    if method in NEURAL:
        try:
            from sim.refine import neural
        except ImportError as exc:
            raise InputError(f"method {method!r} needs torch: pip install -e '.[neural]' ({exc})") from exc
        return neural.METHODS[method](random_state=random_state, labels=labels)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r} (choose from {', '.join([*METHODS, *NEURAL])})")
    return METHODS[method](random_state=random_state, labels=labels)


def refine_run(run: Path, real_path: Path, method: str, out: Path, seed: int = 0, target: str | None = None,
               labels: list[str] | None = None, force: bool = False, upsample: float = 0.0,
               progress: Callable[[str], None] | None = None) -> Path:  # fmt: skip
    """Refine a run's main table toward the real sample; write the refined run with before/after scores.
    `upsample` > 0 appends that share of extra rows of the target's rare class, drawn by the generator.
    Every option, and every column it names, is checked from the schemas before any table is read."""
    stage = progress or (lambda name: None)
    if upsample and (method not in UPSAMPLERS or target is None):
        raise InputError(f"--upsample needs --target and a generator whose rare-class rows beat SMOTE: "
                         f"{', '.join(UPSAMPLERS)} (got {method!r})")  # fmt: skip
    if not 0 <= upsample <= 10:
        raise InputError(f"--upsample is a share of the table's rows, between 0 and 10 (got {upsample})")
    refiner = make_refiner(method, seed, labels)  # an unknown method, or torch missing: now
    check_options(run, real_path, target, label=tuple(labels or ()))
    if target is not None:
        check_target(real_path, target)
    if Path(out).exists() and not force:
        raise RunExistsError(f"{out} already exists (use --force to replace it)")
    stage("reading the tables")
    sim, real = read_table(run), read_table(real_path)
    if len(real) < MIN_ROWS or len(sim) < MIN_ROWS:
        raise InputError(f"refinement needs at least {MIN_ROWS} rows in each table "
                         f"(the run {len(sim)}, the real sample {len(real)})")  # fmt: skip
    manifest_file = Path(run) / "manifest.json"
    manifest_in = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    main = registry.tables_of_record()
    table = next((name for name in main if name in manifest_in.get("files", {})), "table")
    stage("fitting")
    refiner.fit(sim, real)
    stage("refining")
    refined = refiner.transform(sim)
    upsampled = _upsample(refiner, sim, real, target, upsample, seed) if upsample else None
    if upsampled is not None:
        refined = pd.concat([refined, upsampled["rows"]], ignore_index=True)
    if method != "reweight" and is_ledger(refined):  # drawn rows: a ledger again, within what was granted
        refined = replay(refined, floors(sim))
    stage("scoring before and after")
    scores = {
        "before": evaluate(sim, real, target=target, seed=seed, augment=False),
        "after": evaluate(refined, real, target=target, seed=seed, augment=False),
    }
    if is_ledger(sim) and is_ledger(refined):
        scores["ledger"] = {"real": checks(real) if is_ledger(real) else None,
                            "before": checks(sim), "after": checks(refined)}  # fmt: skip
    stage("writing")
    directory = RunDirectory(Path(out), {
        "name": f"{manifest_in.get('name', Path(run).stem)}-{method}",
        "created": now_iso(),
        "versions": versions(),
        "refined": {"from": str(run), "method": method, "seed": seed, "target": target,
                    "real": {"path": str(real_path), "rows": len(real),
                             "sha256": sha256_of(Path(real_path)) if Path(real_path).is_file() else None}},
    }, force=force)  # fmt: skip
    try:
        arrow = _arrow(refined)
        pq.write_table(arrow, directory.path / f"{table}.parquet", compression="zstd")
        directory.add_file(table, f"{table}.parquet", rows=len(refined), schema=arrow.schema)
        (directory.path / "evaluation.json").write_text(json.dumps(scores, indent=2, default=float) + "\n")
        directory.add_file("evaluation", "evaluation.json")
        headline = {k: {"before": scores["before"].get(k), "after": scores["after"].get(k)} for k in HEADLINE}
        _report(directory.path, method, headline, scores)
        directory.add_file("report", "report.html")
        extra = {"upsampled": {k: v for k, v in upsampled.items() if k != "rows"}} if upsampled else {}
        return directory.finish(headline=headline, **extra)
    except BaseException:
        directory.abandon()
        raise


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The refined frame as Arrow; a category column with no category (labels no row carries) is written
    as text categories, as the engine writes it, not as a dictionary of nulls that reads back as text."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(arrow.schema):
        if pa.types.is_dictionary(field.type) and pa.types.is_null(field.type.value_type):
            kind = pa.dictionary(field.type.index_type, pa.string())
            arrow = arrow.set_column(i, field.with_type(kind), arrow.column(i).cast(kind))
    return arrow


def _upsample(refiner: Refiner, sim: pd.DataFrame, real: pd.DataFrame, target: str, share: float,
              seed: int) -> dict:  # fmt: skip
    """`share` x rows more of the real data's rarer target class: simulated rows of that class drawn again
    by the fitted generator with another seed (their labels and identifiers kept, features fresh)."""
    if target not in sim.columns or target not in real.columns:
        hint = did_you_mean(target, set(sim.columns) & set(real.columns))
        raise InputError(f"--target {target!r} is not a column of both tables{hint}")
    counts = real[target].value_counts()
    rare = counts.index[-1]
    pool = np.flatnonzero((sim[target] == rare).to_numpy())
    if len(pool) == 0:
        raise InputError(f"the simulated table has no row of the rare class {target}={rare!r} to upsample")
    count = round(share * len(sim))
    templates = sim.iloc[np.random.default_rng(seed).choice(pool, count)]
    refiner.random_state = seed + 1  # fresh draws, not the refined rows again
    try:
        rows = refiner.transform(templates)
    finally:
        refiner.random_state = seed
    return {"class": f"{target}={rare}", "rows": rows, "count": count}


def _report(folder: Path, method: str, headline: dict, scores: dict) -> None:
    """The page: the scores before and after; for a transaction log also its behaviour against the real
    sample's noise floor and the ledger's checks, the two things a refiner must not break."""
    from sim.report import Page, Section, Table, percent, render

    rows = [[name, v["before"], v["after"]] for name, v in headline.items() if v["before"] is not None]
    note = ("Detection AUC: 0.5 is indistinguishable from the real sample; TSTR/TRTR: a model trained on "
            "the table and scored on real rows, against one trained on real rows.")  # fmt: skip
    columns = ["score", "simulated", f"refined ({method})"]
    table = Table("Before and after refining", columns, rows, note)
    lead = ["Scores of the simulated table against the real sample, before and after refining."]
    detection = headline.get("detection_auc", {})
    if detection.get("before") is not None and detection.get("after") is not None:
        b, a = detection["before"], detection["after"]
        verdict = "harder" if abs(a - 0.5) < abs(b - 0.5) else "no harder"
        lead.append(f"A detector tells it from the real sample with AUC {b:.3f} before and {a:.3f} after "
                    f"(0.5: not at all): refining made it {verdict} to tell apart.")  # fmt: skip
    sections = []
    before, after = scores["before"].get("behaviour"), scores["after"].get("behaviour")
    if before and after and before["max_ratio"] is not None and after["max_ratio"] is not None:
        lead.append(f"Worst behaviour ratio {before['max_ratio']:.3g} before, {after['max_ratio']:.3g} after "
                    f"({after['worst']}; 1 is the real sample's own noise).")  # fmt: skip
        ratios = [[name, m["ratio"], after["metrics"].get(name, {}).get("ratio")]
                  for name, m in before["metrics"].items()]  # fmt: skip
        text = (
            "Per behaviour metric (timing, velocity, the payment graph, balances), the distance to the "
            "real sample over the real sample's own noise floor: 1 is as close as two real samples."
        )
        sections.append(
            Section("Behaviour", text, [Table("Degradation ratios", ["metric", *columns[1:]], ratios)])
        )
    if "ledger" in scores:
        names = {"unchained": "balances that do not chain from the account's previous row",
                 "approved_not_moving": "approved rows that do not move their amount",
                 "declined_moving": "declined rows that move money",
                 "negative": "approved payments leaving the payer below zero",
                 "declined": "rows declined"}  # fmt: skip
        ledger = scores["ledger"]
        real = ledger["real"] or {}
        ledger_rows = [[label, percent(real.get(key)), percent(ledger["before"][key]),
                        percent(ledger["after"][key])] for key, label in names.items()]  # fmt: skip
        text = (
            "A drawn log (every method but reweight) is replayed into a ledger, so money is conserved and "
            "declines move nothing; reweight keeps rows as they were, and the rows it leaves out break "
            "the chains. The first three checks are 0 for a log the engine wrote."
        )
        sections.append(
            Section(
                "Ledger", text, [Table("Shares of rows", ["check", "real sample", *columns[1:]], ledger_rows)]
            )
        )
    render(
        folder,
        Page(f"Refined by {method}", lead, table, sections, files={"evaluation.json": "evaluation.json"}),
    )
