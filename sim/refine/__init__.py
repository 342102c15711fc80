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
from sim.refine.ledger import is_ledger, replay
from sim.refine.reweight import Reweight

METHODS = {"reweight": Reweight, "copula": GaussianCopula}
NEURAL = ("residual-gan", "vae", "diffusion")  # need the `neural` extra (torch)
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
    if method != "reweight" and is_ledger(refined):  # drawn rows: make the log a ledger again
        refined = replay(refined)
    stage("scoring before and after")
    scores = {
        "before": evaluate(sim, real, target=target, seed=seed, augment=False),
        "after": evaluate(refined, real, target=target, seed=seed, augment=False),
    }
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
        _report(directory.path, method, headline)
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


def _report(folder: Path, method: str, headline: dict) -> None:
    from sim.report import Page, Table, render

    rows = [[name, v["before"], v["after"]] for name, v in headline.items() if v["before"] is not None]
    note = ("Detection AUC: 0.5 is indistinguishable from the real sample; TSTR/TRTR: a model trained on "
            "the table and scored on real rows, against one trained on real rows.")  # fmt: skip
    table = Table("Before and after refining", ["score", "simulated", f"refined ({method})"], rows, note)
    lead = ["Scores of the simulated table against the real sample, before and after refining."]
    render(folder, Page(f"Refined by {method}", lead, table, files={"evaluation.json": "evaluation.json"}))
