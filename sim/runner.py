"""`run_scenario`: a resolved scenario in, a complete run directory out. The CLI is a thin layer on this."""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from sim.engine.model import SimModel
from sim.outputs import RunDirectory, now_iso, versions
from sim.records import EVENTS, EXTENSIONS, SCHEMAS, TableWriter
from sim.scenario.schema import SCHEMA_VERSION, Scenario

Progress = Callable[[int, int], None]


def resolved_scenario(scenario: Scenario) -> dict:
    """The scenario as plain JSON data, exactly as it ran (parameters substituted, seed filled in)."""
    return scenario.model_dump(mode="json", by_alias=True)


def default_run_dir(scenario: Scenario, root: Path = Path("outputs")) -> Path:
    """`outputs/<name>/<UTC time>-<digest>`; a numeric suffix keeps two runs in one second apart."""
    digest = hashlib.sha256(json.dumps(resolved_scenario(scenario)).encode()).hexdigest()[:8]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = root / scenario.name / f"{stamp}-{digest}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def run_scenario(
    scenario: Scenario,
    out: Path | None = None,
    *,
    fmt: str | None = None,
    scale: float = 1.0,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Simulate the whole horizon, streaming each table; return the published run directory."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    fmt = fmt or scenario.outputs.format
    out = Path(out) if out is not None else default_run_dir(scenario)
    started = time.perf_counter()
    run = RunDirectory(
        out,
        {
            "name": scenario.name,
            "schema_version": SCHEMA_VERSION,
            "seed": scenario.seed,
            "created": now_iso(),
            "versions": versions(),
            "parameters": dict(scenario.parameters),
            "scale": scale,
            "format": fmt,
            "scenario": resolved_scenario(scenario),
        },
        force=force,
    )
    model = SimModel(scenario, scale=scale)
    tables = scenario.outputs.tables
    gc.collect()
    gc.freeze()  # the long-lived arrays need no scanning; keeps collection pauses out of the loop
    try:
        files = {}
        if "transactions" in tables:
            files["transactions"] = _writer(run, "transactions", fmt, scenario.outputs.batch_rows)
        total = model.horizon
        while model.running:
            model.step()
            if "transactions" in tables:
                files["transactions"].write(model.batch)
            if progress:
                progress(model.steps, total)
        extra = {}
        if "accounts" in tables:
            extra["accounts"] = model.world.accounts_table()
        if "events" in tables:
            extra["events"] = _events_table(model)
        for name, table in extra.items():
            files[name] = _writer(run, name, fmt, scenario.outputs.batch_rows)
            for batch in table.to_batches():
                files[name].write(batch)
        for name, writer in files.items():
            rows = writer.close()
            run.add_file(name, writer.path.name, rows, SCHEMAS[name])
        return run.finish(
            finished=now_iso(),
            steps=model.steps,
            wall_seconds=round(time.perf_counter() - started, 3),
        )
    except BaseException:
        run.abandon()
        raise
    finally:
        gc.unfreeze()
        model.release()


def _writer(run: RunDirectory, name: str, fmt: str, batch_rows: int) -> TableWriter:
    return TableWriter(run.path / f"{name}{EXTENSIONS[fmt]}", SCHEMAS[name], fmt, batch_rows)


def _events_table(model: SimModel) -> pa.Table:
    world = model.world
    rows = model.timeline.occurrences

    def us(step: int) -> int:
        return world.start_us + step * world.step_us

    columns = [
        [o.event for o in rows],
        [o.kind for o in rows],
        [o.campaign_id for o in rows],
        [o.start_step for o in rows],
        [o.end_step for o in rows],
        [us(o.start_step) for o in rows],
        [us(o.end_step) for o in rows],
        [o.population for o in rows],
        [o.intensity for o in rows],
    ]
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, EVENTS, strict=True)]
    return pa.Table.from_arrays(arrays, schema=EVENTS)
