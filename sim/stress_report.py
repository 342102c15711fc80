"""A stress sweep's page and terminal table: strategies ranked, with what a planner compares them on
(service, cost, recovery time: best, mean, worst and the 5–95 % range over replicates), a risk chart per
headline KPI (its distribution per strategy) and the service level's band over time per strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.report import Figure, Page, Section, Table, cell, plotly_html, render, run_lead

HEADLINE = {  # KPI -> (label, shown as a percentage)
    "total.fill_rate": ("fill rate", True),
    "team_cost": ("total cost", False),
    "worst_time_to_recover": ("longest recovery (steps; of those cleared)", False),
    "fraud.rate": ("fraud rate", True),
    "declined": ("declined rows", False),
}


def with_recovery(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `worst_time_to_recover`: per replicate, the longest recovery of its disruptions (steps)."""
    columns = [c for c in frame.columns if c.endswith(".time_to_recover")]
    if columns:
        frame = frame.assign(worst_time_to_recover=frame[columns].max(axis=1, skipna=True))
    return frame


def headline(summary: dict) -> list[str]:
    first = next(iter(summary["strategies"].values()), {})
    return [k for k in HEADLINE if k in first]


def ranked_rows(summary: dict) -> tuple[list[str], list[list]]:
    """The ranked table, a row per strategy and headline KPI: mean, best, worst and the 5–95 % range."""
    kpis = headline(summary)
    order = summary["ranking"] or list(summary["strategies"])
    columns = ["rank" if summary["ranking"] else "", "strategy", "KPI", "mean", "best", "worst", "5–95 %"]
    rows = []
    for position, label in enumerate(order, start=1):
        stats = summary["strategies"][label]
        for i, kpi in enumerate(kpis):
            s, show = stats[kpi], _shown(kpi)
            first = [position if summary["ranking"] else "", label] if i == 0 else ["", ""]
            rows.append([*first, HEADLINE[kpi][0], show(s["mean"]), show(s["best"]), show(s["worst"]),
                         f"{show(s['p5'])} – {show(s['p95'])}"])  # fmt: skip
    return columns, rows


def ranking_note(summary: dict) -> str:
    key = summary["ranked_by"]
    if key is None:
        return "Not ranked: no KPI of this world says better or worse (strategies are listed as varied)."
    direction = "lowest" if summary["lower_is_better"] else "highest"
    return f"Ranked by the mean of {key} over replicates, {direction} first."


def print_ranking(summary: dict, replicates: int) -> None:
    """The ranking in the terminal, compact: each headline KPI's mean and its 5–95 % range."""
    from rich.console import Console
    from rich.table import Table as RichTable

    kpis = headline(summary)
    order = summary["ranking"] or list(summary["strategies"])
    table = RichTable(title=f"{len(order)} strategies x {replicates} replicates. {ranking_note(summary)}",
                      title_justify="left")  # fmt: skip
    table.add_column("#" if summary["ranking"] else "", justify="right")
    table.add_column("strategy")
    for kpi in kpis:
        table.add_column(f"{HEADLINE[kpi][0]} (5–95 %)", justify="right")
    for position, label in enumerate(order, start=1):
        stats, cells = summary["strategies"][label], []
        for kpi in kpis:
            show = _shown(kpi)
            cells.append(f"{show(stats[kpi]['mean'])} ({show(stats[kpi]['p5'])}–{show(stats[kpi]['p95'])})")
        table.add_row(str(position) if summary["ranking"] else "", label, *cells)
    Console(stderr=True).print(table)


def write_report(
    path: Path, scenario, summary: dict, frame: pd.DataFrame, bands: dict, replicates: int
) -> str:
    columns, rows = ranked_rows(summary)
    ranked = Table(f"Strategies ({replicates} replicates each, common random numbers)", columns, rows,
                   ranking_note(summary))  # fmt: skip
    sections = []
    kpis = headline(summary)
    if kpis:
        risks = [Figure(HEADLINE[k][0], html=_risk(frame, k)) for k in kpis]
        sections.append(
            Section("Risk per KPI", "Each replicate is a point; boxes span the quartiles.", figures=risks)
        )
    if bands:
        text = "Median per strategy and its 5–95 % band over replicates."
        sections.append(
            Section(
                "Service level over time",
                text,
                figures=[Figure("Service level", html=_bands(bands, scenario))],
            )
        )
    sections.append(Section("Every KPI", tables=[_every_kpi(summary)]))
    lead = [*run_lead(scenario), f"Varied: {', '.join(summary['strategies'])}."]
    files = {
        "summary.json": "summary.json",
        "stress.parquet": "stress.parquet",
        "manifest.json": "manifest.json",
    }
    return render(path, Page(f"{scenario.name}: stress test", lead, ranked, sections, files))


def _every_kpi(summary: dict, limit: int = 60) -> Table:
    strategies = summary["strategies"]
    names = list(dict.fromkeys(k for stats in strategies.values() for k in stats))
    rows = [[k, *(strategies[s].get(k, {}).get("mean") for s in strategies)] for k in names[:limit]]
    note = f"{len(names) - limit} more in summary.json" if len(names) > limit else ""
    return Table("Mean over replicates", ["KPI", *strategies], rows, note)


def _shown(kpi: str):
    return (lambda v: f"{100 * v:.1f} %") if HEADLINE[kpi][1] else (lambda v: cell(v))


def _risk(frame: pd.DataFrame, kpi: str) -> str:
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, group in frame.groupby("strategy", sort=False):
        fig.add_trace(go.Box(y=group[kpi], name=label, boxpoints="all", jitter=0.4, pointpos=0))
    fig.update_layout(height=320, showlegend=False, margin={"l": 60, "r": 20, "t": 20, "b": 40})
    if HEADLINE[kpi][1]:
        fig.update_yaxes(tickformat=".1%")
    return plotly_html(fig, f"risk-{kpi}")


def _bands(bands: dict, scenario) -> str:
    import plotly.colors
    import plotly.graph_objects as go

    h = scenario.horizon
    palette = plotly.colors.qualitative.Plotly
    fig = go.Figure()
    for i, (label, (low, mid, high)) in enumerate(bands.items()):
        dates = (h.start_us + np.arange(len(mid)) * h.step_us).astype("datetime64[us]")
        colour = palette[i % len(palette)]
        fig.add_scatter(x=dates, y=high, mode="lines", line={"width": 0}, showlegend=False, legendgroup=label)
        fig.add_scatter(x=dates, y=low, mode="lines", line={"width": 0}, fill="tonexty", opacity=0.25,
                        fillcolor=_transparent(colour), showlegend=False, legendgroup=label)  # fmt: skip
        fig.add_scatter(x=dates, y=mid, mode="lines", name=label, line={"color": colour}, legendgroup=label)
    low = min(float(b[0].min()) for b in bands.values())
    fig.update_layout(
        height=360, margin={"l": 60, "r": 20, "t": 20, "b": 40}, legend={"orientation": "h", "y": -0.2}
    )
    fig.update_yaxes(tickformat=".0%", range=[max(0.0, low - 0.05 * (1 - low) - 0.01), 1.005])
    return plotly_html(fig, "service-band")


def _transparent(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.22)"
