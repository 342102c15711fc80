"""A run's `report.html`: what ran, its key figures (kpis.json) and the world's figures."""

from __future__ import annotations

import html
import json
from pathlib import Path


def write_page(run: Path, scenario, kpis: dict, figures: dict[str, str]) -> str:
    """Write `report.html` (figures: heading -> relative image path); returns its relative path."""
    body = [
        f"<h1>{html.escape(scenario.name)}</h1>",
        f"<p>{html.escape(scenario.description)}</p>",
        f"<p>seed {scenario.seed}, {scenario.horizon.steps} steps of {scenario.horizon.step}</p>",
        "<h2>Key figures</h2>",
        f"<pre>{html.escape(json.dumps(kpis, indent=2))}</pre>",
    ]
    for heading, image in figures.items():
        body += [
            f"<h2>{html.escape(heading)}</h2>",
            f'<img src="{image}" alt="{html.escape(heading)}" style="max-width:100%">',
        ]
    page = "<!doctype html><meta charset=utf-8><title>sim report</title>\n" + "\n".join(body) + "\n"
    (run / "report.html").write_text(page)
    return "report.html"
