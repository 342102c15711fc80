"""`run_scenario`: a resolved scenario in, a complete run directory out. The CLI is a thin layer on this."""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pyarrow as pa

from sim.distributed import Backend, PartitionedWriter, ShardedDraws, shard_cells, shard_of_accounts
from sim.engine.model import SimModel
from sim.errors import InputError
from sim.outputs import RunDirectory, now_iso, versions, write_json_atomic
from sim.records import EVENTS, EXTENSIONS, TableWriter, paysim_view
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
    shards: int | None = None,
    backend: Backend | None = None,
) -> Path:
    """Simulate the whole horizon, streaming each table; return the published run directory.

    With `shards`, customers' transactions are drawn and the transactions table is written by the
    `backend`'s workers (a local process pool of one by default), as a partitioned Parquet dataset; the
    rows are those of an unsharded run, whatever the shard count, worker count or backend."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    fmt = fmt or scenario.outputs.format
    if shards is not None:
        _check_shardable(scenario, fmt)
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
            **({"shards": shards} if shards is not None else {}),
        },
        force=force,
    )
    own_backend = shards is not None and backend is None
    if own_backend:
        backend = Backend("local", 1)
    model = SimModel(scenario, scale=scale)
    world = model.world
    tables = scenario.outputs.tables
    gc.collect()
    gc.freeze()  # the long-lived arrays need no scanning; keeps collection pauses out of the loop
    files: dict[str, TableWriter | PartitionedWriter] = {}
    try:
        stream = world.stream_name  # the per-step table: transactions, or a supply timeseries
        if shards is not None:
            groups = shard_cells(world.activity.cells, shards, scenario.name)
            world.draws = ShardedDraws(backend, scenario, scale, groups, ahead=2 * backend.workers)
            if stream in tables:
                out = scenario.outputs
                files[stream] = PartitionedWriter(
                    backend, run.path / stream, world.schema,
                    shard_of_accounts(world.accounts, world.activity.bounds, groups), shards,
                    part_rows=max(out.batch_rows // shards, min(out.batch_rows, 100_000)),
                    batch_rows=out.batch_rows, compression=out.compression,
                )  # fmt: skip
        elif stream in tables:
            view = partial(paysim_view, is_merchant=world.is_merchant) if fmt == "paysim-csv" else None
            files[stream] = TableWriter(
                run.path / f"{stream}{EXTENSIONS[fmt]}", world.schema, fmt,
                scenario.outputs.batch_rows, scenario.outputs.compression, view=view,
            )  # fmt: skip
        total = model.horizon
        while model.running:
            model.step()
            if stream in tables:
                files[stream].write(model.batch)
            if progress:
                progress(model.steps, total)
        extra = {**world.tables(), "events": lambda: _events_table(model)}
        for name, make in extra.items():
            if name in tables:
                table = make()
                files[name] = TableWriter(
                    run.path / f"{name}{EXTENSIONS[fmt]}", table.schema, _plain(fmt),
                    scenario.outputs.batch_rows, scenario.outputs.compression,
                )  # fmt: skip
                for batch in table.to_batches():
                    files[name].write(batch)
        rows = {name: writer.close() for name, writer in files.items()}
        with ThreadPoolExecutor(max_workers=1) as pool:  # checksums (no GIL) overlap the report
            report = pool.submit(_kpis_and_report, run.path, world, scale)
            for name, writer in files.items():
                if isinstance(writer, PartitionedWriter):
                    run.add_dataset(name, writer.path.name, rows[name], writer.parts, writer.written_schema)
                else:
                    run.add_file(name, writer.path.name, rows[name], writer.written_schema)
            for name, relative in report.result().items():
                run.add_file(name, relative)
        return run.finish(
            finished=now_iso(),
            steps=model.steps,
            wall_seconds=round(time.perf_counter() - started, 3),
        )
    except BaseException:
        for writer in files.values():
            if isinstance(writer, PartitionedWriter):
                writer.abort()
        run.abandon()
        raise
    finally:
        gc.unfreeze()
        model.release()
        if own_backend:
            backend.close()


def _check_shardable(scenario: Scenario, fmt: str) -> None:
    problems = []
    if scenario.domain != "payments":
        problems.append(
            "only payments worlds are sharded (a supply chain is one coupled system: run it whole)"
        )
    if fmt != "parquet":
        problems.append(
            f"a sharded run writes a Parquet dataset; --format {fmt} is not available with --shards"
        )
    if problems:
        raise InputError(f"{scenario.name}: " + "; ".join(problems))


def _kpis_and_report(path: Path, world, scale: float) -> dict[str, str]:
    kpis = world.kpis(scale)
    write_json_atomic(path / "kpis.json", kpis)
    return {"kpis": "kpis.json", **world.report(path, kpis)}


def _plain(fmt: str) -> str:
    """Side tables of a PaySim-format run are ordinary CSV."""
    return "csv" if fmt == "paysim-csv" else fmt


def _events_table(model: SimModel) -> pa.Table:
    """The calendar's occurrences, then any flows the world logs (a supply chain's orders and
    shipments), in time order."""
    world = model.world
    rows = [
        {"event": o.event, "kind": o.kind, "campaign_id": o.campaign_id, "start_step": o.start_step,
         "end_step": o.end_step, "target": o.target, "intensity": o.intensity}
        for o in model.timeline.occurrences
    ]  # fmt: skip
    rows += getattr(world, "flows", [])
    rows.sort(key=lambda r: r["start_step"])  # stable: the calendar first within a step
    for row in rows:
        row["start"] = world.start_us + row["start_step"] * world.step_us
        row["end"] = world.start_us + row["end_step"] * world.step_us
    columns = {f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in EVENTS}
    return pa.Table.from_pydict(columns, schema=EVENTS)
