"""KPIs as flat numbers: the one way every sweep, table and target names a figure of `kpis.json`."""

from __future__ import annotations

import math


def flatten(kpis: dict, prefix: str = "") -> dict[str, float]:
    """Numeric KPIs as dotted names; lists of per-event records are keyed by their event's name."""
    out: dict[str, float] = {}
    for key, value in kpis.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.update(flatten(item, f"{name}.{item.get('event', i)}."))
        elif isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, int | float) or value is None:
            out[name] = math.nan if value is None else float(value)
    return out
