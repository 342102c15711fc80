"""Stress tests: every combination of the varied parameters (a strategy) run for N seeded replicates.

Replicate r of every strategy uses the same seed (common random numbers), so strategies are compared on
the same demand draws and the same triggered events. Writes `stress.parquet` (a row per strategy x
replicate with every numeric KPI), `summary.json` (per strategy and KPI: best, mean, worst, 5/50/95 %)
and `report.html` (`sim.stress_report`: the strategies ranked, the risk per KPI, the service band).

Each finished replicate is appended to a journal beside the output (`.<name>.journal.jsonl`, flushed to
disk line by line). A sweep killed part-way and started again with the same file, options and seed takes
the replicates the journal holds and runs only the rest, giving the same bytes as an uninterrupted run;
the journal is removed once the sweep is published.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.engine.simulation import Simulation
from sim.engine.world import ServiceLevels
from sim.errors import Problem, ScenarioError
from sim.journal import Journal
from sim.kpis import flatten
from sim.outputs import RunDirectory, now_iso, versions, write_json_atomic
from sim.records import TableWriter
from sim.scenario.load import load_scenario
from sim.scenario.parameters import OVERRIDE_SOURCE
from sim.stress_report import with_recovery, write_report

LOWER_IS_BETTER = (
    "cost",
    "backlog",
    "inventory",
    "time_to_recover",
    "impact",
    "bullwhip",
    "declined",
    "lost",
)
RANK_BY = ("team_cost", "total.fill_rate")  # the first a sweep's KPIs hold ranks its strategies
Progress = Callable[[int, int], None]


def parse_vary(items: Sequence[str]) -> dict[str, list[str]]:
    """`NAME=v1,v2,...` options as {name: [values]} (values stay text: the scenario types them)."""
    vary, problems = {}, []
    for number, item in enumerate(items, start=1):
        name, sep, values = item.partition("=")
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name.strip() or not options:
            problems.append(Problem(OVERRIDE_SOURCE, number, item, "expected NAME=v1,v2,..."))
        elif name.strip() in vary:
            problems.append(Problem(OVERRIDE_SOURCE, number, name.strip(), "varied twice"))
        else:
            vary[name.strip()] = options
    if problems:
        raise ScenarioError(problems)
    return vary


def run_stress(
    path: str | Path,
    replicates: int,
    vary: dict[str, list[str]],
    out: Path,
    *,
    overrides: Sequence[str] = (),
    force: bool = False,
    progress: Progress | None = None,
    backend=None,
) -> Path:
    """Run the sweep; returns the published stress directory. With a `backend` (`sim.distributed`) the
    replicates run on its workers; the results are put together in the same order either way."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    base = load_scenario(path, overrides)  # validates the file (and the seed) before any work
    names = list(vary)
    strategies = list(itertools.product(*(vary[n] for n in names))) or [()]
    scenarios = {}
    for combo in strategies:  # every strategy validates before anything runs
        sets = [*overrides, *(f"{n}={v}" for n, v in zip(names, combo, strict=True))]
        scenarios[combo] = load_scenario(path, sets, seed=base.seed)
    started = time.perf_counter()
    out = Path(out)
    source = Path(path).read_bytes()
    identity = {"scenario": hashlib.sha256(source).hexdigest(), "overrides": list(overrides), "vary": vary,
                "replicates": replicates, "seed": base.seed}  # fmt: skip
    run = RunDirectory(
        out,
        {"name": f"{base.name}-stress", "created": now_iso(), "versions": versions(), "seed": base.seed,
         "replicates": replicates, "vary": vary, "scenario_file": str(path)},
        force=force,
    )  # fmt: skip
    journal = Journal(out.parent / f".{out.name}.journal.jsonl", identity)
    resumed = len(journal.done)
    try:
        rows, bands = [], {}
        seeds = np.random.SeedSequence(base.seed).generate_state(replicates, np.uint64) >> np.uint64(1)
        total, done = len(strategies) * replicates, 0
        labels = {combo: ", ".join(f"{n}={v}" for n, v in zip(names, combo, strict=True)) or "base"
                  for combo in scenarios}  # fmt: skip
        missing = [(scenario, int(seed)) for combo, scenario in scenarios.items()
                   for r, seed in enumerate(seeds) if (labels[combo], r) not in journal.done]  # fmt: skip
        if backend is None:
            results = (_replicate(*job) for job in missing)
        else:
            results = backend.map_ordered(_replicate, missing)
        for combo in scenarios:
            label = labels[combo]
            service = []
            for r, seed in enumerate(seeds):
                entry = journal.done.get((label, r))
                if entry is None:
                    entry = next(results)
                    entry.update(strategy=label, replicate=r)
                    journal.add(entry)
                if entry["service"] is not None:
                    service.append(np.array(entry["service"]))
                rows.append({"strategy": label, **dict(zip(names, combo, strict=True)), "replicate": r,
                             "seed": int(seed), **entry["kpis"]})  # fmt: skip
                done += 1
                if progress:
                    progress(done, total)
            if service:
                bands[label] = np.quantile(np.array(service), [0.05, 0.5, 0.95], axis=0)
        frame = with_recovery(pd.DataFrame(rows))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = TableWriter(run.path / "stress.parquet", table.schema, "parquet", 1_000_000)
        for batch in table.to_batches():
            writer.write(batch)
        run.add_file("stress", "stress.parquet", writer.close(), table.schema)
        summary = summarise(frame)
        write_json_atomic(run.path / "summary.json", summary)
        run.add_file("summary", "summary.json")
        run.add_file("report", write_report(run.path, base, summary, frame, bands, replicates))
        published = run.finish(finished=now_iso(), wall_seconds=round(time.perf_counter() - started, 3),
                               resumed_replicates=resumed)  # fmt: skip
        journal.close(remove=True)
        return published
    except BaseException:
        journal.close(remove=False)  # what finished stays for the next attempt
        run.abandon()
        raise


def _replicate(scenario, seed: int) -> dict:
    """One seeded run of a strategy: its flattened KPIs and (supply) service level per step."""
    model = Simulation(scenario.model_copy(update={"seed": seed}))
    try:
        while model.running:
            model.step()
        world = model.world
        kpis = flatten(world.kpis(1.0))
        service = world.service_level().tolist() if isinstance(world, ServiceLevels) else None
    finally:
        model.release()
    return {"kpis": kpis, "service": service}


def summarise(frame: pd.DataFrame) -> dict:
    """Per strategy and KPI: best, mean, worst and the 5/50/95 % quantiles; strategies ranked."""
    kpis = [
        c
        for c in frame.columns
        if c not in ("strategy", "replicate", "seed")
        and frame[c].dtype.kind == "f"
        and not c.endswith((".start_step", ".end_step"))
    ]  # when an event ran is a fact, not a KPI
    strategies = {}
    for label, group in frame.groupby("strategy", sort=False):
        stats = {}
        for kpi in kpis:
            values = group[kpi].dropna()
            if values.empty:
                continue
            low, mid, high = np.quantile(values, [0.05, 0.5, 0.95])
            lower_better = any(word in kpi for word in LOWER_IS_BETTER)
            best, worst = (values.min(), values.max()) if lower_better else (values.max(), values.min())
            stats[kpi] = {"best": float(best), "mean": float(values.mean()), "worst": float(worst),
                          "p5": float(low), "p50": float(mid), "p95": float(high)}  # fmt: skip
        strategies[label] = stats
    key = next((k for k in RANK_BY if k in kpis), None)  # a payments world has no better or worse
    ranking, lower_better = [], None
    if key is not None:
        lower_better = any(word in key for word in LOWER_IS_BETTER)
        ranking = sorted(strategies, key=lambda s: strategies[s].get(key, {}).get("mean", math.inf),
                         reverse=not lower_better)  # fmt: skip
    return {"ranked_by": key, "lower_is_better": lower_better, "ranking": ranking, "strategies": strategies}
