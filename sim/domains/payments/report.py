"""A payments run's `report.html`: what a fraud or AML analyst looks for first (volumes, declines, fraud
and laundering by typology, money conserved), then fraud and laundering over time with the calendar's
events marked, amounts by label, merchant categories, and what the scenario takes from PaySim against
PaySim: the fit to its real month, hour by hour, for a scenario on that month; the hour-of-day shape for
one on its hours only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.domains.payments.accounts import ID_BASE
from sim.domains.payments.customers import TX_TYPES
from sim.domains.payments.fit import HOUR_US, fit_series
from sim.domains.payments.scenario import AML_TYPOLOGIES, FRAUD_TYPES
from sim.domains.payments.tally import LABELS
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
from sim.scenario.schema import Scenario

QUANTILES = (0.5, 0.95)


def write_report(run: Path, scenario: Scenario, world, kpis: dict) -> dict[str, str]:
    """Write the report files into the run directory; returns {manifest name: relative path}."""
    written = {}
    sections = [_volumes(world, kpis), _labels(world, kpis), _amounts(world)]
    if world.report_tally.example_rows:
        sections.append(_patterns(world))
    if world.accounts.category_names:
        sections.append(_categories(world))
    rhythm = _paysim_rhythm(scenario)
    if "paysim_fit" in kpis and rhythm == "hours":
        sections.append(_hour_of_day(world))
    if "paysim_fit" in kpis and rhythm == "month":
        fit = kpis["paysim_fit"]
        rows = [[t, fit["nrmse_count"][t], fit["nrmse_mean_amount"][t]] for t in TX_TYPES]
        chart = _fit_chart(world, fit_series(world.tally, world.start_hour), fit)
        sections.append(Section(
            "Fit to PaySim's real month",
            "Hourly count and mean amount per type against PaySim's published month (NRMSE: 0 is a perfect "
            f"fit; volume ratio {_figure(fit['volume_ratio'])} at this scale).",
            [Table("NRMSE per type", ["type", "hourly count", "hourly mean amount"], rows)],
            [Figure("Simulated and real, hour by hour", html=chart)],
        ))  # fmt: skip
    page = Page(scenario.name, run_lead(scenario), _summary(world, kpis), sections, _files())
    written["report"] = render(run, page)
    return written


def _paysim_rhythm(scenario: Scenario) -> str | None:
    """What of PaySim's real data a mobile-money scenario follows: "month" (each hour's volume, type mix
    and amounts: the fit compares with it), "hours" (only the hour-of-day shape: compared as such; its
    amounts and days are its own) or None."""
    customers = next(s for s in scenario.populations.values() if s.role == "customer")
    merchants = next((s for s in scenario.populations.values() if s.role == "merchant"), None)
    if getattr(merchants, "categories", None):
        return None
    rhythm = customers.rhythm
    return "month" if rhythm.month == "paysim" else "hours" if rhythm.hours == "paysim" else None


def _hour_of_day(world) -> Section:
    """The share of transactions in each hour of the day against PaySim's (what an hours-only scenario
    takes from it)."""
    import plotly.graph_objects as go

    from sim.domains.payments.profiles import hour_shares

    counts = world.tally.count.sum(axis=1)
    hour = (world.start_hour + np.arange(len(counts))) % 24
    simulated = np.bincount(hour, weights=counts, minlength=24)
    simulated = simulated / simulated.sum() if simulated.sum() else simulated
    real = hour_shares()
    distance = 0.5 * float(np.abs(simulated - real).sum())
    worst = int(np.argmax(np.abs(simulated - real)))
    rows = [["total variation distance (0: the same shape)", distance],
            [f"largest difference (hour {worst:02d})", percent(simulated[worst] - real[worst])]]  # fmt: skip
    fig = go.Figure()
    for values, name, colour in ((real, "PaySim's month", "#888"), (simulated, "simulated", "#1f77b4")):
        fig.add_scatter(x=np.arange(24), y=values, mode="lines+markers", name=name, line={"color": colour})
    fig.update_layout(height=300, margin={"l": 60, "r": 20, "t": 20, "b": 40}, xaxis_title="hour of day",
                      yaxis={"title": "share of the day's transactions", "tickformat": ".0%"})  # fmt: skip
    text = ("This scenario follows PaySim's hour-of-day rhythm (its volumes, days and amounts are its own): "
            "the share of transactions in each hour of the day, against PaySim's real month.")  # fmt: skip
    chart = Figure("Share of transactions by hour of day", html=plotly_html(fig, "hour-of-day"))
    return Section("Hour of day against PaySim's", text, [Table("Rhythm", ["", "value"], rows)], [chart])


def _summary(world, kpis: dict) -> Table:
    n = kpis["transactions"]
    share = (lambda x: x / n) if n else (lambda x: None)
    money = kpis["money"]
    fraud, laundering = kpis["fraud"]["transactions"], kpis["laundering"]["transactions"]
    rows = [
        ["Transactions", n],
        ["Declined", f"{kpis['declined']:,} ({percent(share(kpis['declined']))})"],
        ["Fraud rows", f"{fraud:,} ({percent(share(fraud), 3)})"],
        ["Laundering rows", f"{laundering:,} ({percent(share(laundering), 3)})"],
        ["Accounts", world.accounts.n],
        ["Money in the system (opening → closing)", f"{money['opening_total']:,.2f} → "
         f"{money['closing_total']:,.2f} (difference {money['difference']:.2f})"],
    ]  # fmt: skip
    return Table("Summary", ["", "value"], rows)


def _volumes(world, kpis: dict) -> Section:
    t = world.report_tally
    rows = []
    total = max(int(t.rows.sum()), 1)
    for i, name in enumerate(TX_TYPES):
        count = int(t.rows[i].sum())
        if count == 0:
            continue
        declined = int(t.declined_by_type[i])
        rows.append([name, count, percent(count / total), declined, percent(declined / count),
                     float(t.amount[i].sum())])  # fmt: skip
    return Section(
        "Volumes and declines by type",
        "A decline is a payment the payer tried beyond its balance and granted overdraft.",
        [
            Table(
                "Per transaction type",
                ["type", "rows", "share", "declined", "declined share", "amount"],
                rows,
            )
        ],
    )


def _labels(world, kpis: dict) -> Section:
    t = world.report_tally
    patterns = kpis.get("patterns", {})
    rows = []
    for kind, names, counts in (
        ("fraud", FRAUD_TYPES, t.fraud),
        ("laundering", AML_TYPOLOGIES, t.laundering),
    ):
        total = counts.sum(axis=0)
        for j, name in enumerate(names):
            if total[j]:
                incidents = patterns.get(f"{kind}.{name}")
                rows.append([kind, name, int(total[j]), incidents, int((counts[:, j] > 0).sum())])
    section = Section("Fraud and laundering by typology")
    if not rows:
        section.text = "This run has no fraud or laundering rows."
        return section
    section.tables.append(
        Table("Labelled rows", ["label", "typology", "rows", "incidents", "steps with rows"], rows)
    )
    caption = "Shaded: the calendar's events, named at their start."
    section.figures.append(Figure("Labelled rows over time", html=_over_time(world), caption=caption))
    return section


def _over_time(world) -> str:
    import plotly.graph_objects as go

    t = world.report_tally
    steps = len(t.fraud)
    times = (world.start_us + np.arange(steps) * world.step_us).astype("datetime64[us]")
    fig = go.Figure()
    for kind, names, counts in (
        ("fraud", FRAUD_TYPES, t.fraud),
        ("laundering", AML_TYPOLOGIES, t.laundering),
    ):
        for j, name in enumerate(names):
            if counts[:, j].any():
                fig.add_trace(go.Bar(x=times, y=counts[:, j], name=f"{kind}: {name}"))
    mark_events(fig, world.occurrences, np.append(times, times[-1] + np.timedelta64(world.step_us, "us")))
    fig.update_layout(barmode="stack", height=380, margin={"l": 60, "r": 20, "t": 30, "b": 40},
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    fig.update_yaxes(title_text=f"rows per step of {step_text(world.scenario)}")
    return plotly_html(fig, "labelled-over-time")


def _amounts(world) -> Section:
    t = world.report_tally
    rows = []
    for i, name in enumerate(TX_TYPES):
        for j, label in enumerate(LABELS):
            count = int(t.rows[i, j])
            if count:
                median, p95 = t.quantiles(i, j, QUANTILES)
                rows.append([name, label, count, float(t.amount[i, j] / count), median, p95])
    return Section(
        "Amounts by label",
        "Per type, legitimate rows beside fraud and laundering rows (median and 95th percentile from a "
        "log-scale histogram, within about 6 %): a label no amount separates is one a detector must learn "
        "from behaviour.",
        [Table("Amounts", ["type", "label", "rows", "mean", "median", "95th percentile"], rows)],
    )


def _categories(world) -> Section:
    t = world.report_tally
    names = world.accounts.category_names
    order = np.argsort(-t.category[:, 1])[:15]
    rows = [[names[c], int(t.category[c, 0]), float(t.category[c, 1]), int(t.category[c, 2]),
             percent(t.category[c, 2] / t.category[c, 0], 3) if t.category[c, 0] else None]
            for c in order if c < len(names)]  # fmt: skip
    return Section("Top merchant categories", "", [
        Table("By amount spent", ["category", "purchases", "amount", "fraud rows", "fraud rate"], rows)
    ])  # fmt: skip


def _patterns(world) -> Section:
    t = world.report_tally
    figures = []
    for code, rows in sorted(t.example_rows.items()):
        name = AML_TYPOLOGIES[code - 1]
        accounts = len({a for r in rows for a in r[1:3]})
        caption = (
            f"Pattern {t.example[code]}: {len(rows)} payments between {accounts} accounts (hover: amounts)."
        )
        figures.append(Figure(name, html=_pattern_graph(rows, name), caption=caption))
    text = ("The first pattern of each laundering typology in the run, drawn from its rows: each arrow a "
            "settled payment; accounts left to right by hops from where the money entered.")  # fmt: skip
    return Section("Laundering patterns, one of each", text, figures=figures)


def _pattern_graph(rows: list[tuple], name: str) -> str:
    """Accounts by hops from the pattern's sources (accounts paid by no one in it), arrows for payments."""
    import plotly.graph_objects as go

    payers = list(dict.fromkeys(r[1] for r in rows))
    accounts = list(dict.fromkeys(a for r in rows for a in r[1:3]))
    paid = {r[2] for r in rows}
    depth = {a: 0 for a in payers if a not in paid} or {payers[0]: 0}
    for _ in range(len(accounts)):  # breadth first along the payments, in time order
        for _, origin, dest, _ in rows:
            if origin in depth and dest not in depth:
                depth[dest] = depth[origin] + 1
    for a in accounts:
        depth.setdefault(a, max(depth.values()) + 1)
    layer: dict[int, int] = {}
    position = {}
    for a in accounts:
        position[a] = (depth[a], layer.get(depth[a], 0))
        layer[depth[a]] = layer.get(depth[a], 0) + 1
    y = {a: position[a][1] - (layer[depth[a]] - 1) / 2 for a in accounts}  # each layer centred
    fig = go.Figure()
    for _, origin, dest, _ in rows:
        fig.add_annotation(x=depth[dest], y=y[dest], ax=depth[origin], ay=y[origin], xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=2, arrowwidth=1.2,
                           arrowcolor="#8896ab", standoff=9, startstandoff=9)  # fmt: skip
    hover = {a: [] for a in accounts}
    for step, origin, dest, amount in rows:
        hover[origin].append(f"pays {dest + ID_BASE} {amount:,.2f} (step {step})")
    colours = ["#d62728" if depth[a] == 0 else "#1f77b4" for a in accounts]  # red: where money entered
    fig.add_scatter(x=[depth[a] for a in accounts], y=[y[a] for a in accounts], mode="markers+text",
                    text=[str(a + ID_BASE) for a in accounts], textposition="top center",
                    marker={"size": 14, "color": colours}, hoverinfo="text",
                    hovertext=["<br>".join(hover[a]) or "receives" for a in accounts])  # fmt: skip
    fig.update_layout(height=max(260, 34 * max(layer.values())), showlegend=False, xaxis={"visible": False},
                      yaxis={"visible": False}, margin={"l": 20, "r": 20, "t": 20, "b": 20})  # fmt: skip
    return plotly_html(fig, f"pattern-{name}")


def _files() -> dict[str, str]:
    return {"kpis.json": "kpis.json", "manifest.json": "manifest.json", "events.parquet": "events.parquet",
            "accounts.parquet": "accounts.parquet", "patterns.parquet": "patterns.parquet"}  # fmt: skip


def _figure(value: float | None) -> str:
    """A fit figure, or "n/a" where the run is too short (or too quiet) to have one."""
    return "n/a" if value is None else f"{value:.3f}"


def _fit_chart(world, series: dict[str, np.ndarray], fit: dict) -> str:
    """Simulated and real, hour by hour, per type: count and mean amount (interactive: a month is 720
    hours; a matplotlib image of it cost a small run a third of its CPU)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    hours = len(series["sim_count"])
    times = (world.start_us + np.arange(hours) * HOUR_US).astype("datetime64[us]")
    panels = (("per hour", "count", "nrmse_count"), ("mean amount", "mean", "nrmse_mean_amount"))
    titles = [f"{name}: {label} (NRMSE {_figure(fit[score][name])})" for name in TX_TYPES
              for label, _, score in panels]  # fmt: skip
    fig = make_subplots(rows=len(TX_TYPES), cols=2, shared_xaxes=True, subplot_titles=titles,
                        vertical_spacing=0.06, horizontal_spacing=0.06)  # fmt: skip
    lines = (("real", "real (PaySim month)", "#888"), ("sim", "simulated", "#1f77b4"))
    for t in range(len(TX_TYPES)):
        for col, (_, key, _) in enumerate(panels, start=1):
            for side, name, colour in lines:
                trace = go.Scatter(x=times, y=series[f"{side}_{key}"][:, t], mode="lines", name=name,
                                   line={"color": colour, "width": 1}, legendgroup=side,
                                   showlegend=t == 0 and col == 1)  # fmt: skip
                fig.add_trace(trace, row=t + 1, col=col)
    fig.update_layout(height=170 * len(TX_TYPES), margin={"l": 60, "r": 20, "t": 80, "b": 40},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.05, "x": 0})  # fmt: skip
    fig.update_annotations(font_size=11)
    return plotly_html(fig, "paysim-fit")
