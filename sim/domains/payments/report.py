"""A run's report: `report.html` with its key figures and, for hourly runs, the simulated vs real hourly
curves of each transaction type (`figures/paysim_fit.png`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.domains.payments.customers import TX_TYPES
from sim.domains.payments.fit import fit_series
from sim.report import write_page
from sim.scenario.schema import Scenario


def write_report(run: Path, scenario: Scenario, world, kpis: dict) -> dict[str, str]:
    """Write the report files into the run directory; returns {manifest name: relative path}."""
    written, figures = {}, {}
    if "paysim_fit" in kpis:
        figure = "figures/paysim_fit.png"
        (run / "figures").mkdir(exist_ok=True)
        _fit_figure(fit_series(world.tally, world.start_hour), kpis["paysim_fit"], run / figure)
        written["figure_paysim_fit"] = figure
        figures["Fit to PaySim's real month (hourly count and mean amount per type)"] = figure
    written["report"] = write_page(run, scenario, kpis, figures)
    return written


def _fit_figure(series: dict[str, np.ndarray], fit: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(TX_TYPES), 2, figsize=(14, 2.4 * len(TX_TYPES)), sharex=True)
    hours = np.arange(len(series["sim_count"]))
    for t, name in enumerate(TX_TYPES):
        for col, (key, label, score) in enumerate(
            (("count", "transactions per hour", "nrmse_count"), ("mean", "mean amount", "nrmse_mean_amount"))
        ):
            ax = axes[t, col]
            ax.plot(hours, series[f"real_{key}"][:, t], color="0.5", lw=1, label="real (PaySim month)")
            ax.plot(hours, series[f"sim_{key}"][:, t], color="C0", lw=0.8, label="simulated")
            value = fit[score][name]
            ax.set_title(f"{name}: {label} (NRMSE {'n/a' if value is None else f'{value:.3f}'})", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("hour of the run")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
