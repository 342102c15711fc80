"""`run_scenario`: a resolved scenario in, a complete run directory out. The CLI is a thin layer on this."""

from __future__ import annotations

import gc
import hashlib
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.dataset_card import write_card
from sim.distributed import Backend, Parts
from sim.domains import registry
from sim.engine.simulation import Simulation
from sim.engine.world import Domain, LogsFlows, Shardable, ShardedTable
from sim.errors import InputError, SimError
from sim.outputs import MANIFEST, RunDirectory, now_iso, versions, write_json_atomic
from sim.records import EVENTS, EXTENSIONS, TableWriter
from sim.scenario.schema import PLAIN_FORMATS, SCHEMA_VERSION, Scenario
from sim.storage import Store, is_uri

Progress = Callable[..., None]  # (done, total) per step; (total, total, "writing outputs") after the last


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
    out: Path | str | None = None,
    *,
    fmt: str | None = None,
    scale: float = 1.0,
    force: bool = False,
    progress: Progress | None = None,
    shards: int | None = None,
    backend: Backend | None = None,
) -> Path | str:
    """Simulate the whole horizon, streaming each table; return the published run directory (or, for
    `out` an object-storage URI, the URI: see `sim.storage`).

    With `shards` (a `Shardable` world), the run is settled by hosts on the `backend`'s workers (a local
    process pool of one by default), each writing its shards' rows of the table of record as part files
    of a partitioned Parquet dataset; the rows are those of an unsharded run, whatever the shard count,
    worker count or backend."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    domain = registry.domain(scenario.domain)
    fmt = fmt or scenario.outputs.format
    _check_format(scenario, domain, fmt, shards)
    store = Store(out) if is_uri(out) else None  # object storage: staged here, published there
    staging = Path(tempfile.mkdtemp(prefix="sim-run-")) if store else None
    out = staging / "run" if store else Path(out) if out is not None else default_run_dir(scenario)
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
    model = None
    try:
        factory = domain.world_factory()  # a sharded run's driver holds a world that follows the hosts
        model = Simulation(scenario, factory.driver if shards is not None else factory, scale=scale)
        if store:  # only now, with the run ready to write: a complete run there is refused or cleared
            store.claim(force, run.path / MANIFEST)
    except BaseException:  # nothing half-made stays behind: not the directory, not the backend
        if model is not None:
            model.release()
        run.abandon()
        if own_backend:
            backend.close()
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    world = model.world
    tables = scenario.outputs.tables
    base = domain.formats[fmt].base if fmt in domain.formats else fmt  # how the format is written
    gc.collect()
    gc.freeze()  # the long-lived arrays need no scanning; keeps collection pauses out of the loop
    files: dict[str, TableWriter | ShardedTable] = {}
    sharded: ShardedTable | None = None
    try:
        stream = domain.table  # the table of record, a batch of it each step
        if shards is not None:  # the hosts make and write the rows and end-of-run tables; the driver follows
            out = scenario.outputs
            parts = Parts(run.path / stream, store and store.uri,
                          part_rows=max(out.batch_rows // shards, min(out.batch_rows, 100_000)),
                          batch_rows=out.batch_rows, compression=out.compression)  # fmt: skip
            sharded = world.shard(backend, shards, parts, frozenset(tables))
            if stream in tables:
                files[stream] = sharded
        elif stream in tables:
            own = domain.formats.get(fmt)
            files[stream] = TableWriter(
                run.path / f"{stream}{EXTENSIONS[base]}", world.schema, base,
                scenario.outputs.batch_rows, scenario.outputs.compression,
                view=own.view(world) if own else None, quoted=own.quoted if own else True,
            )  # fmt: skip
        total = model.horizon
        while model.running:
            model.step()
            if stream in tables:
                files[stream].write(model.batch)
            if progress:
                progress(model.steps, total)
        if sharded is not None:
            sharded.finish()
        if progress:
            progress(total, total, "writing outputs")
        extra = {**world.tables(), "events": lambda: _events_table(model).to_reader()}
        for name, make in extra.items():
            if name in tables:
                table = make()
                files[name] = TableWriter(
                    run.path / f"{name}{EXTENSIONS[base]}", table.schema, base,
                    scenario.outputs.batch_rows, scenario.outputs.compression,
                )  # fmt: skip
                for batch in table:
                    files[name].write(batch)
        rows = {name: writer.close() for name, writer in files.items()}
        with ThreadPoolExecutor(max_workers=1) as pool:  # checksums (no GIL) overlap the report
            report = pool.submit(_kpis_and_report, run.path, world, scale)
            for name, writer in files.items():
                if writer is sharded:
                    run.add_dataset(name, writer.path.name, rows[name], writer.parts, writer.written_schema)
                else:
                    run.add_file(name, writer.path.name, rows[name], writer.written_schema)
            for name, entry in (sharded.files if sharded is not None else {}).items():
                run.add_written(name, entry)
            for name, relative in report.result().items():
                run.add_file(name, relative)
        kpis = json.loads((run.path / "kpis.json").read_text())
        run.add_file(
            "dataset_card", write_card(run.path, scenario, domain, run.manifest["files"], kpis, scale)
        )
        finished = run.finish(
            finished=now_iso(),
            steps=model.steps,
            wall_seconds=round(time.perf_counter() - started, 3),
        )
        if store is None:
            return finished
        uploaded = set()  # what the hosts wrote to the store themselves
        if sharded is not None:
            uploaded = {p["path"] for p in sharded.parts if stream in tables} | {
                entry["path"] for entry in sharded.files.values()
            }
        return store.publish(finished, uploaded=uploaded)
    except BaseException:
        for writer in files.values():
            writer.abort()
        if sharded is not None and stream not in files:
            sharded.abort()
        run.abandon()
        raise
    finally:
        gc.unfreeze()
        model.release()
        if own_backend:
            backend.close()
        if staging:
            shutil.rmtree(staging, ignore_errors=True)


def _check_format(scenario: Scenario, domain: Domain, fmt: str, shards: int | None) -> None:
    """The format is one this domain writes; a sharded run needs a `Shardable` world and Parquet."""
    problems, formats = [], (*PLAIN_FORMATS, *domain.formats)
    if fmt not in formats:
        problems.append(f"--format {fmt} is not a format of {domain.name} runs ({', '.join(formats)})")
    if shards is not None:
        if not _shardable(domain):
            shardable = " and ".join(d.name for d in registry.domains().values() if _shardable(d)) or "no"
            problems.append(f"only {shardable} worlds are sharded: run this {domain.name} scenario whole")
        elif problem := domain.world_factory().shard_problem(scenario):
            problems.append(problem)
        if fmt != "parquet":
            problems.append(
                f"a sharded run writes a Parquet dataset; --format {fmt} is not available with --shards"
            )
    if problems:
        raise InputError(f"{scenario.name}: " + "; ".join(problems))


def _shardable(domain: Domain) -> bool:
    factory = domain.world_factory()
    return isinstance(factory, type) and issubclass(factory, Shardable)


def _kpis_and_report(path: Path, world, scale: float) -> dict[str, str]:
    with np.errstate(all="ignore"):  # an overflow is reported below, by the figures it spoiled
        kpis = world.kpis(scale)
    broken = non_finite(kpis)
    if broken:
        shown = ", ".join(broken[:10]) + (f" and {len(broken) - 10} more" if len(broken) > 10 else "")
        raise SimError(
            f"the run's figures overflowed (infinite or not a number): {shown}; a quantity, amount or "
            f"trend in the scenario grows past what a float holds: make it smaller"
        )
    write_json_atomic(path / "kpis.json", kpis)
    return {"kpis": "kpis.json", **world.report(path, kpis)}


def non_finite(value, path: str = "") -> list[str]:
    """The dotted paths of every infinite or NaN number in a JSON-like value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    return []


def _events_table(model: Simulation) -> pa.Table:
    """The calendar's occurrences, then any flows the world logs (a supply chain's orders and
    shipments), in time order."""
    world, horizon = model.world, model.scenario.horizon
    rows = [
        {"event": o.event, "kind": o.kind, "campaign_id": o.campaign_id, "start_step": o.start_step,
         "end_step": o.end_step, "target": o.target, "intensity": o.intensity}
        for o in model.timeline.occurrences
    ]  # fmt: skip
    rows += world.logged_flows() if isinstance(world, LogsFlows) else []
    rows.sort(key=lambda r: r["start_step"])  # stable: the calendar first within a step
    for row in rows:
        row["start"] = horizon.start_us + row["start_step"] * horizon.step_us
        end = row["end_step"]  # None: a shipment still queued when the run ended
        row["end"] = None if end is None else horizon.start_us + end * horizon.step_us
    columns = {f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in EVENTS}
    return pa.Table.from_pydict(columns, schema=EVENTS)
