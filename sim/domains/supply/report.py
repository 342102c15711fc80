"""A supply run's `report.html`: what a planner reads first (service, fill rate, cost, disruptions and
how long customers felt them), then per node and facility, and the series over dates with each
disruption shaded and named; `figures/chain.png` stays for notebooks and the README."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.domains.supply.figures import chain_figure
from sim.report import (
    Figure,
    Page,
    Section,
    Table,
    mark_events,
    percent,
    plotly_html,
    render,
    run_lead,
    step_text,
)

PANELS = (("inventory", "inventory (units)"), ("short", "backlog and lost sales (units)"),
          ("orders", "orders placed (units)"))  # fmt: skip


def write_report(world, path: Path, kpis: dict) -> dict[str, str]:
    steps, n_nodes = world.chain.weeks, len(world.names)
    r = world.run

    def by_node(series: np.ndarray) -> np.ndarray:  # [T, N]: products summed
        return series[0].reshape(steps, len(world.product_names), n_nodes).sum(axis=1)

    series = {"inventory": by_node(r.inventory), "short": by_node(r.backlog + r.lost_sales),
              "orders": by_node(r.orders)}  # fmt: skip
    customers = sorted({int(k) % n_nodes for k in world.customers})
    spans = [(o.start_step, o.end_step) for o in world.occurrences]
    figure = chain_figure(path, world.names, series, world.chain.demand[0].sum(axis=1), customers, spans)
    dates = (world.start_us + np.arange(steps) * world.step_us).astype("datetime64[us]")
    step = step_text(world.scenario)
    sections = [
        Section("Service over time", f"Per step of {step}: the share of customers' demand filled at once.",
                figures=[Figure("Service level", html=_service(world, dates))]),
        _nodes(world, kpis),
        Section("Series per node", "Products summed; shaded: disruptions, named at their start.",
                figures=[Figure("Inventory, shortage and orders", html=_series(world, series, dates))]),
    ]  # fmt: skip
    if kpis["disruptions"]:
        sections.append(_disruptions(world, kpis, dates))
    if kpis["facilities"]:
        sections.append(_facilities(world, kpis, step, dates))
    if "products" in kpis:
        sections.append(_products(world, kpis, dates))
    files = {"kpis.json": "kpis.json", "manifest.json": "manifest.json", "events.parquet": "events.parquet",
             "figures/chain.png (static)": figure}  # fmt: skip
    page = Page(world.scenario.name, run_lead(world.scenario), _summary(world, kpis), sections, files)
    return {"figure_chain": figure, "report": render(path, page)}


def _summary(world, kpis: dict) -> Table:
    total = kpis["total"]
    service = world.service_level()
    times = [d["time_to_recover"] for d in kpis["disruptions"]]
    recovered = [t for t in times if t is not None]
    recovery = f"{max(recovered)} steps of {step_text(world.scenario)}" if recovered else "–"
    if None in times:
        recovery += f" ({times.count(None)} not cleared before the next began or the run ended)"
    stock = f"{total['mean_inventory']:,.0f}; {total['mean_backlog']:,.0f}"
    rows = [
        ["Fill rate (units filled at once)", percent(total["fill_rate"], 1)],
        ["Service level (mean over steps; worst step)", f"{percent(service.mean(), 1)}; "
                                                        f"{percent(service.min(), 1)}"],
        ["Total cost", total["total_cost"]],
        ["Lost sales (units)", total["lost_sales"]],
        ["Mean inventory; mean backlog (units)", stock],
        ["Disruptions; longest recovery", f"{len(kpis['disruptions'])}; {recovery}"],
    ]  # fmt: skip
    return Table("Summary", ["", "value"], rows)


def _nodes(world, kpis: dict) -> Section:
    columns = ["node", "fill rate", "cycle service", "mean inventory", "mean backlog", "lost sales",
               "bullwhip", "total cost"]  # fmt: skip
    rows = [[name, percent(k["fill_rate"], 1), percent(k["cycle_service_level"], 1), k["mean_inventory"],
             k["mean_backlog"], k["lost_sales"], k["bullwhip"], k["total_cost"]]
            for name, k in kpis["nodes"].items()]  # fmt: skip
    note = "Quantities in units; bullwhip: variance of orders placed over variance of orders received."
    return Section("Per node", tables=[Table("Nodes (products summed)", columns, rows, note)])


def _disruptions(world, kpis: dict, dates: np.ndarray) -> Section:
    def date(step: int) -> str:
        return str(dates[min(step, len(dates) - 1)])[:16].replace("T", " ")

    rows = [[d["event"], d["kind"], d["target"], date(d["start_step"]), date(d["end_step"]), d["impact"],
             "not cleared" if d["time_to_recover"] is None else d["time_to_recover"]]
            for d in kpis["disruptions"]]  # fmt: skip
    columns = ["event", "kind", "where", "start", "end", "peak shortage (units)", "steps to recover"]
    note = ("Recovery: from the start until customers no longer wait or go without; 'not cleared': not "
            "before the next disruption began or the run ended.")  # fmt: skip
    return Section("Disruptions", tables=[Table("What customers felt", columns, rows, note)])


def _facilities(world, kpis: dict, step, dates: np.ndarray) -> Section:
    import plotly.graph_objects as go

    rows = [[name, f["shipments"], f["mean_wait"], f["max_wait"]] for name, f in kpis["facilities"].items()]
    columns = ["facility", "shipments", f"mean wait (steps of {step})", "longest wait"]
    lengths = np.asarray(world.facilities.lengths).reshape(len(dates), -1)
    fig = go.Figure([go.Scatter(x=dates, y=lengths[:, j], name=name, mode="lines")
                     for j, name in enumerate(world.facilities.specs)])  # fmt: skip
    mark_events(fig, world.occurrences, dates)
    fig.update_layout(height=300, margin={"l": 60, "r": 20, "t": 30, "b": 40}, yaxis_title="waiting",
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    queue = Figure("Queue length at the end of each step", html=plotly_html(fig, "queues"))
    return Section("Ports and production lines", tables=[Table("Queues", columns, rows)], figures=[queue])


def _products(world, kpis: dict, dates: np.ndarray) -> Section:
    import plotly.graph_objects as go

    totals = {name: p["total"] for name, p in kpis["products"].items()}
    rows = [[name, percent(t["fill_rate"], 1), t["mean_inventory"], t["lost_sales"], t["total_cost"]]
            for name, t in totals.items()]  # fmt: skip
    columns = ["product", "fill rate", "mean inventory", "lost sales", "total cost"]
    n = len(world.names)
    fig = go.Figure()
    for p, name in enumerate(world.product_names):
        nodes = slice(p * n, (p + 1) * n)
        demand = np.cumsum(world.chain.demand[0][:, nodes].sum(axis=1))
        filled = np.cumsum(world.run.external[0][:, nodes].sum(axis=1))
        fig.add_scatter(x=dates, y=np.divide(filled, demand, out=np.ones(len(demand)), where=demand > 0),
                        name=name, mode="lines")  # fmt: skip
    mark_events(fig, world.occurrences, dates)
    fig.update_layout(height=300, margin={"l": 60, "r": 20, "t": 30, "b": 40}, yaxis_tickformat=".0%",
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    chart = Figure("Fill rate to date, per product", html=plotly_html(fig, "products"))
    return Section("Per product", tables=[Table("Products", columns, rows)], figures=[chart])


def _service(world, dates: np.ndarray) -> str:
    import plotly.graph_objects as go

    service = world.service_level()
    demand = world.chain.demand[0].sum(axis=1)
    filled = world.run.external[0].sum(axis=1)
    cumulative = np.divide(np.cumsum(filled), np.cumsum(demand), out=np.ones(len(demand)),
                           where=np.cumsum(demand) > 0)  # fmt: skip
    fig = go.Figure([go.Scatter(x=dates, y=service, name="service level (step)", mode="lines"),
                     go.Scatter(x=dates, y=cumulative, name="fill rate to date", mode="lines")])  # fmt: skip
    mark_events(fig, world.occurrences, dates)
    fig.update_layout(height=320, margin={"l": 60, "r": 20, "t": 30, "b": 40}, yaxis_tickformat=".0%",
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    return plotly_html(fig, "service-level")


def _series(world, series: dict, dates: np.ndarray) -> str:
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(PANELS), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[title for _, title in PANELS])  # fmt: skip
    for row, (key, _) in enumerate(PANELS, start=1):
        for i, name in enumerate(world.names):
            fig.add_scatter(x=dates, y=series[key][:, i], name=name, legendgroup=name, showlegend=row == 1,
                            mode="lines", line={"color": _colour(i)}, row=row, col=1)  # fmt: skip
    mark_events(fig, world.occurrences, dates, row="all", col=1)
    fig.update_layout(height=760, margin={"l": 60, "r": 20, "t": 40, "b": 40})
    return plotly_html(fig, "series-per-node")


def _colour(i: int) -> str:
    import plotly.colors

    palette = plotly.colors.qualitative.Plotly
    return palette[i % len(palette)]
