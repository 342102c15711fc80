"""A scenario's ordering policies as the kernel's per-node arrays."""

from __future__ import annotations

from sim.domains.supply.chain import ORDER_UP_TO, R_Q, S_S, STERMAN, T_Q
from sim.domains.supply.scenario import MinMax, MovingAverage, OrderUpTo, ReorderPoint, Sterman


def policy_arrays(policies: list, scale: float) -> dict[str, list]:
    """Each node's policy as the kernel's per-node parameters (quantities scale with the run)."""
    out = {k: [] for k in ("theta", "alpha_s", "beta", "s_prime", "policy", "window", "cover", "safety",
                           "reorder", "target", "quantity", "period")}  # fmt: skip
    for p in policies:
        row = {"theta": 0.0, "alpha_s": 0.0, "beta": 0.0, "s_prime": 0.0, "window": 0, "cover": 0.0,
               "safety": 0.0, "reorder": 0.0, "target": 0.0, "quantity": 1.0, "period": 1}  # fmt: skip
        if isinstance(p, Sterman):
            row.update(
                policy=STERMAN, theta=p.theta, alpha_s=p.alpha_s, beta=p.beta, s_prime=p.s_prime * scale
            )
        elif isinstance(p, OrderUpTo):
            row.update(policy=ORDER_UP_TO, cover=p.cover, safety=p.safety * scale)
            if isinstance(p.forecast, MovingAverage):
                row["window"] = p.forecast.window
            else:
                row["theta"] = p.forecast.alpha
        elif isinstance(p, MinMax):
            row.update(policy=S_S, reorder=(p.s + p.safety) * scale, target=(p.S + p.safety) * scale)
        elif isinstance(p, ReorderPoint):
            row.update(policy=R_Q, reorder=p.R * scale, quantity=p.Q * scale)
        else:
            row.update(policy=T_Q, period=p.T, quantity=p.Q * scale)
        for key, value in row.items():
            out[key].append(value)
    return out
