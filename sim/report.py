"""`report.html` pages, one template for every command: what the reader came for first (a summary table
with rounded numbers and units), then tables and figures by section, and links to the raw files beside it
(the JSON keeps every digit). Figures are interactive plotly charts (self-contained: plotly.js is inlined
once per page, nothing is fetched) or static PNGs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.kpis import flatten

TEMPLATE = "report.html.j2"


@dataclass
class Table:
    """A table: `rows` hold raw values, `cell` formats them (numbers rounded, thousands separated)."""

    caption: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    words: bool = False  # cells of text (lists of names): left-aligned and wrapped, not one long line

    @property
    def cells(self) -> list[list[str]]:
        return [[cell(value) for value in row] for row in self.rows]


@dataclass
class Figure:
    heading: str
    html: str = ""  # an interactive chart's <div>
    image: str = ""  # or a PNG, relative to the page
    caption: str = ""


@dataclass
class Section:
    heading: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Page:
    title: str
    lead: list[str]
    summary: Table
    sections: list[Section] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # the raw files beside it: label -> relative path


def cell(value: Any) -> str:
    """A value as a reader wants it: integers with separators, other numbers to 3 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-3):
            return f"{value:.3g}"
        if abs(value) >= 100 or value.is_integer():
            return f"{value:,.0f}"
        return f"{value:.{2 - math.floor(math.log10(abs(value)))}f}"
    return str(value)


def percent(share: float | None, digits: int = 2) -> str:
    return "–" if share is None else f"{100 * share:.{digits}f} %"


def figures_table(caption: str, data: dict, limit: int = 40) -> Table:
    """A nested dict of figures as a two-column table (dotted names), the first `limit` numbers."""
    rows = [[name, value] for name, value in flatten(data).items() if not isinstance(value, list)]
    note = f"{len(rows) - limit} more in the JSON file" if len(rows) > limit else ""
    return Table(caption, ["figure", "value"], rows[:limit], note)


def plotly_html(figure, name: str) -> str:
    """A plotly figure as a <div> with the id `name` (plotly.js is added once by the page; a fixed id
    keeps the page the same bytes for the same run)."""
    div = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div, config={"displaylogo": False})


def render(folder: Path, page: Page) -> str:
    """Write `folder/report.html`; returns its relative path."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("sim", "templates"), autoescape=select_autoescape())
    plotly = ""
    if any(f.html for s in page.sections for f in s.figures):
        from plotly.offline import get_plotlyjs

        plotly = get_plotlyjs()
    text = env.get_template(TEMPLATE).render(page=page, plotly_js=plotly)
    (folder / "report.html").write_text(text, encoding="utf-8")
    return "report.html"


def write_page(run: Path, scenario, kpis: dict, figures: dict[str, str]) -> str:
    """A run's page from its key figures and images (heading -> relative path)."""
    return write_html(run, scenario.name, run_lead(scenario), kpis, figures)


def run_lead(scenario) -> list[str]:
    h = scenario.horizon
    start = h.start.strftime("%Y-%m-%d %H:%M")
    return [
        scenario.description or "",
        f"Seed {scenario.seed}; {h.steps:,} steps of {step_text(scenario)} from {start}.",
    ]


def step_text(scenario) -> str:
    from sim.scenario.durations import format_duration

    return format_duration(scenario.horizon.step)


def mark_events(fig, occurrences, dates, **where) -> None:
    """Shade each calendar occurrence on a date axis and name it at its start, labels staggered so
    that events in a row stay readable."""
    for i, o in enumerate(occurrences):
        end = dates[min(o.end_step, len(dates) - 1)]
        fig.add_vrect(x0=dates[o.start_step], x1=end, fillcolor="red", opacity=0.12, line_width=0, **where)
        fig.add_annotation(x=dates[o.start_step], y=1.0, yref="paper", yanchor="bottom", xanchor="left",
                           yshift=-14 * (i % 3), text=o.event, showarrow=False)  # fmt: skip


def write_html(
    folder: Path, title: str, intro: list[str], figures_data: dict, figures: dict[str, str]
) -> str:
    """A page of key figures (as a table) and images (heading -> relative path)."""
    section = Section("Figures", figures=[Figure(heading, image=image) for heading, image in figures.items()])
    page = Page(title, [line for line in intro if line], figures_table("Key figures", figures_data),
                [section] if figures else [])  # fmt: skip
    return render(folder, page)
