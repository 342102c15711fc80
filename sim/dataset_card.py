"""`DATASET.md`: the card a team attaches when it shares a run's data, in the spirit of "Datasheets for
Datasets" (Gebru et al., 2021): what was simulated and how, every file and column with its meaning, the
label rates and fidelity figures known, what the data are for and not for, and how to make them again.
Nothing in it depends on the clock, so the same scenario and seed give the same card."""

from __future__ import annotations

from pathlib import Path

from sim.outputs import versions
from sim.scenario.durations import format_duration

EVENTS = {
    "event": "the calendar event's name (or a flow: order, shipment)",
    "kind": "its kind",
    "campaign_id": "the number every row it caused carries",
    "start_step": "the step it began",
    "end_step": "the step it ended (null: a shipment still queued at the end)",
    "start": "when it began (UTC)",
    "end": "when it ended (UTC)",
    "target": "what it struck (a population, a node)",
    "intensity": "its strength (a rate multiplier)",
    "source": "a flow's sender",
    "quantity": "a flow's units",
}


def write_card(run: Path, scenario, domain, files: dict, kpis: dict, scale: float) -> str:
    """Write `run/DATASET.md` from the manifest's file entries (`files`) and the run's KPIs."""
    card = domain.card
    h = scenario.horizon
    lines = [f"# {scenario.name}: dataset card", "",
             f"Synthetic data simulated by `sim` (agent-based; no record describes a real person or "
             f"business). {scenario.description or ''}".rstrip(), "",
             "## What was simulated", "",
             f"- World: {domain.name}; {h.steps:,} steps of {format_duration(h.step)} from "
             f"{h.start:%Y-%m-%d %H:%M} UTC; scale {scale:g} (sizes multiplied)."]  # fmt: skip
    lines += _who(scenario, scale)
    for event in scenario.events:
        when = (f"at {event.start}" if event.start is not None else
                f"after {event.after} ends" if event.after else "at random (its trigger)")  # fmt: skip
        lines.append(f"- Event `{event.name}` ({event.kind}), {when}, for {_span(event.duration)}.")
    lines += ["", "## How it was made", "",
              f"- Seed {scenario.seed}: the same scenario file and seed give the same bytes (any batch size, "
              "thread, shard or worker count); `manifest.json` holds each file's SHA-256 and the scenario as "
              "resolved.",
              f"- Again: `sim run {scenario.name}.yaml --seed {scenario.seed}"
              + (f" --scale {scale:g}" if scale != 1 else "")
              + "".join(f" --set {k}={v}" for k, v in scenario.parameters.items()) + "`.",
              "- Software: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "."]  # fmt: skip
    if scenario.parameters:
        shown = ", ".join(f"`{k}` = {v}" for k, v in scenario.parameters.items())
        lines.append(f"- Parameters: {shown}.")
    lines += ["", "## Files", "", "| file | rows | columns |", "|---|---:|---:|"]
    for entry in files.values():
        if "columns" in entry:
            lines.append(f"| `{entry['path']}` | {entry.get('rows', 0):,} | {len(entry['columns'])} |")
    written = {c for entry in files.values() for c in entry.get("columns", {})}
    if [c for c in _labels(domain) if c in written]:
        labels = "`, `".join(dict.fromkeys(c for c in _labels(domain) if c in written))
        lines += ["", f"Labels and what derives from them (`{labels}`) are ground truth: leave them out of a "
                  "model's features."]  # fmt: skip
    for name, entry in files.items():
        if "columns" not in entry:
            continue
        meanings = {**EVENTS} if name == "events" else dict(card.columns.get(name, {})) if card else {}
        lines += ["", f"### `{entry['path']}`", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{c}` | {t} | {meanings.get(c, meanings.get('*', ''))} |" for c, t in entry["columns"].items()
        ]
    if card is not None:
        lines += ["", "## Labels and key figures", "", "| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in card.figures(kpis)]
        lines += ["", "Every figure, unrounded, is in `kpis.json`; `report.html` shows them with charts.",
                  "", "## Uses", "", "Intended:", "", *(f"- {u}" for u in card.intended),
                  "", "Not intended:", "", *(f"- {u}" for u in card.unintended)]  # fmt: skip
        if card.limitations:
            lines += ["", "Limitations:", "", *(f"- {u}" for u in card.limitations)]
    (run / "DATASET.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "DATASET.md"


def _who(scenario, scale: float) -> list[str]:
    """The populations (payments) or the network's nodes (supply), as the run had them."""
    populations = getattr(scenario, "populations", None)
    if populations:
        out = []
        for name, spec in populations.items():
            count = getattr(spec, "count", None)
            size = f"{max(1, round(count * scale)):,}, " if count else ""
            extra = f", typology {spec.typology}" if getattr(spec, "typology", None) else ""
            out.append(f"- Population `{name}`: {size}role {spec.role}{extra}.")
        return out
    chain = getattr(scenario, "chain", None)
    if chain is not None:
        names = ", ".join(f"`{n.name}`" for n in chain.nodes)
        products = ", ".join(f"`{p.name}`" for p in chain.products)
        return [f"- Network: nodes {names}; products {products}."]
    return []


def _labels(domain) -> list[str]:
    return [c for columns in domain.labels.values() for c in columns]


def _span(duration) -> str:
    return f"{duration} steps" if isinstance(duration, int) else format_duration(duration)
