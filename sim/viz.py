"""A SolaraViz page for a supply scenario (the `viz` extra): a slider per scenario parameter, the seed,
and step by step the service level and the network's inventory and backlog, as Mesa users know them.

    solara run sim/viz.py                         # scenarios/hurricane.yaml
    SIM_SCENARIO=scenarios/beer_game.yaml solara run sim/viz.py

In a notebook: `from sim.viz import page; page("scenarios/hurricane.yaml")`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.engine.model import SimModel
from sim.scenario import load_scenario

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "hurricane.yaml"


def sliders(path: str | Path) -> dict:
    """SolaraViz's `model_params`: the scenario file (fixed) and a slider per numeric parameter, from a
    quarter to four times its value."""
    scenario = load_scenario(path)
    params: dict = {"scenario": str(path)}
    for name, value in scenario.parameters.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        whole = isinstance(value, int)
        low, high = (value / 4, value * 4) if value > 0 else (0, 1)
        params[name] = {"type": "SliderInt" if whole else "SliderFloat", "value": value, "label": name,
                        "min": int(low) if whole else low, "max": int(high) if whole else high,
                        "step": max(1, int((high - low) / 50)) if whole else (high - low) / 50}  # fmt: skip
    return params


def components() -> list:
    """The plots, from the model's `datacollector`: the service level, and inventory beside backlog."""
    from mesa.visualization import make_plot_component

    return [make_plot_component(["service_level"]), make_plot_component(["inventory", "backlog"])]


def page(path: str | Path = DEFAULT):
    """The SolaraViz page for the supply scenario at `path`."""
    from mesa.visualization import SolaraViz

    model = SimModel(path)
    name = f"sim: {model.scenario.name}"
    return SolaraViz(model, components=components(), model_params=sliders(path), name=name)


Page = page(os.environ.get("SIM_SCENARIO", DEFAULT))  # what `solara run sim/viz.py` shows
