"""`report.html` pages: what ran (or was compared), its key figures and the figures drawn."""

from __future__ import annotations

import html
import json
from pathlib import Path


def write_page(run: Path, scenario, kpis: dict, figures: dict[str, str]) -> str:
    """Write a run's `report.html` (figures: heading -> relative image path); returns its relative path."""
    intro = [
        scenario.description,
        f"seed {scenario.seed}, {scenario.horizon.steps} steps of {scenario.horizon.step}",
    ]
    return write_html(run, scenario.name, intro, kpis, figures)


def write_html(
    folder: Path, title: str, intro: list[str], figures_data: dict, figures: dict[str, str]
) -> str:
    """`report.html`: a title, paragraphs, the key figures as JSON, then each image under its heading."""
    body = [f"<h1>{html.escape(title)}</h1>", *(f"<p>{html.escape(line)}</p>" for line in intro)]
    body += ["<h2>Key figures</h2>", f"<pre>{html.escape(json.dumps(figures_data, indent=2))}</pre>"]
    for heading, image in figures.items():
        body += [
            f"<h2>{html.escape(heading)}</h2>",
            f'<img src="{image}" alt="{html.escape(heading)}" style="max-width:100%">',
        ]
    page = "<!doctype html><meta charset=utf-8><title>sim report</title>\n" + "\n".join(body) + "\n"
    (folder / "report.html").write_text(page)
    return "report.html"
