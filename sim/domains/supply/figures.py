"""The supply report's figure: inventory, what customers went without, and orders per node over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MANY = 8  # more nodes than this and the nodes facing customers are drawn as one summed line


def chain_figure(path: Path, names: list[str], series: dict[str, np.ndarray], demand: np.ndarray,
                 customers: list[int], spans: list[tuple[int, int]]) -> str:  # fmt: skip
    """`figures/chain.png`: per node ([T, N] series `inventory`, `short` (backlog and lost sales) and
    `orders`), the customers' demand, disruptions shaded; with several nodes facing customers, the
    share of them short each step too (a store chain's out-of-stock share). Returns the relative path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [(name, [i]) for i, name in enumerate(names)]
    if len(names) > MANY and len(customers) > 1:  # the stores as one line, the rest each on its own
        lines = [(f"{len(customers)} nodes facing customers (summed)", customers)]
        lines += [(name, [i]) for i, name in enumerate(names) if i not in set(customers)]
    panels = [("inventory", "inventory"), ("short", "backlog and lost sales"), ("orders", "orders placed")]
    many_shops = len(customers) > 1
    fig, axes = plt.subplots(len(panels) + many_shops, 1, figsize=(10, 8 + 2 * many_shops), sharex=True)
    for ax, (key, title) in zip(axes, panels, strict=False):
        for index, (label, columns) in enumerate(lines):  # a legend of at most MANY + 1 entries
            ax.plot(series[key][:, columns].sum(axis=1), label=label if index <= MANY else None)
        ax.set_title(title, fontsize=10)
    axes[2].plot(demand, "k--", lw=1, label="customer demand")
    axes[2].legend(fontsize=8)
    if many_shops:
        axes[3].plot((series["short"][:, customers] > 0).mean(axis=1), color="C3")
        axes[3].set_title("share of the nodes facing customers that are short", fontsize=10)
        axes[3].set_ylim(0, 1)
    for ax in axes:
        for start, end in spans:  # disruption periods shaded
            ax.axvspan(start, end, color="0.85", zorder=0)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    (path / "figures").mkdir(exist_ok=True)
    fig.savefig(path / "figures" / "chain.png", dpi=80)
    plt.close(fig)
    return "figures/chain.png"
