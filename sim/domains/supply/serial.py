"""A serial supply chain (the beer game's board) for many replicates at once, as one Numba kernel.

Node 0 faces customer demand, node i orders from node i + 1, and the last node orders from an unlimited
source (a factory's production). Each week, in this order (Sterman 1989; the exact board timing of
Edali & Yasarcan 2014):

1. the shipment due this week joins inventory, and every pipeline moves one slot;
2. the order due this week arrives (customer demand at node 0, the mail from downstream elsewhere);
3. a node ships what it can of its backlog plus that order; the rest waits as backlog;
4. costs are charged on the inventory and backlog left;
5. each node decides its order, which reaches its supplier after `mail_delay` weeks; what the supplier
   ships travels `ship_delay` weeks. The source ships whatever it is asked.

Each node orders by its policy, rounded half away from zero and never below zero: Sterman's anchoring
and adjustment, O = Lhat + alpha_s (S' - S - beta SL), where Lhat is exponentially smoothed incoming
orders (weight theta on the newest), S = inventory - backlog and SL the supply line (everything ordered
and not yet received); order-up-to on a moving-average or smoothed forecast; (s, S); (R, Q); (T, Q).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

STERMAN, ORDER_UP_TO, S_S, R_Q, T_Q = range(5)  # ordering policies


@numba.njit(cache=True, nogil=True)
def _round_order(x):
    return np.floor(x + 0.5) if x > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _policy_order(kind, position, forecast, t, cover, safety, reorder, target, quantity, period):
    """The order of an inventory policy, from the inventory position after this step's shipping."""
    if kind == ORDER_UP_TO:
        return cover * forecast + safety - position
    if kind == S_S:
        return target - position if position <= reorder else 0.0
    if kind == R_Q:
        return (np.floor((reorder - position) / quantity) + 1.0) * quantity if position <= reorder else 0.0
    return quantity if t % period == 0 else 0.0  # T_Q


@numba.njit(cache=True, nogil=True)
def simulate_chain(
    demand, theta, alpha_s, beta, s_prime, policy, window, cover, safety, reorder, target, quantity, period,
    mail_delay, ship_delay,
    initial_inventory, initial_flow, fixed_weeks, holding_cost, backlog_cost,
    orders, incoming_orders, inventory, backlog, shipped, received, in_transit, cost,
):  # fmt: skip
    """Run R replicates of an N-node chain for T weeks.

    demand [R, T]; theta, alpha_s, beta, s_prime [R, N] (Sterman's rule; theta also smooths forecasts);
    per node [N]: policy, window (moving-average length; 0 = exponential smoothing with weight theta),
    cover and safety (ORDER_UP_TO: up to cover x forecast + safety), reorder and target (S_S: below
    `reorder`, up to `target`), reorder and quantity (R_Q: enough lots of `quantity` to exceed `reorder`),
    period and quantity (T_Q: `quantity` every `period` steps), mail_delay, ship_delay,
    initial_inventory, holding_cost, backlog_cost (node N-1's delays are its production request and
    production). Inventory position = on hand - backlog + supply line.
    Outputs [R, T, N]: orders placed, orders received (customer demand at node 0), inventory and backlog
    after shipping, shipped downstream, received into inventory, goods on the way in, cost.
    Orders in the first `fixed_weeks` weeks are the initial flow (the board's warm-up).
    """
    replicates, weeks = demand.shape
    nodes = s_prime.shape[1]
    md = mail_delay.max()
    sd = ship_delay.max()
    hd = max(window.max(), 1)
    for r in range(replicates):
        inv = initial_inventory.copy()
        back = np.zeros(nodes)
        expected = np.full(nodes, initial_flow)
        # mail[i, j]: order from node i reaching its supplier in j + 1 weeks; pipe[i, j]: goods for node i
        # arriving in j + 1 weeks (only the first mail_delay[i] / ship_delay[i] slots are used)
        mail = np.zeros((nodes, md))
        pipe = np.zeros((nodes, sd))
        history = np.full((nodes, hd), initial_flow)  # the last `window` orders received, as a ring
        for i in range(nodes):
            mail[i, : mail_delay[i]] = initial_flow
            pipe[i, : ship_delay[i]] = initial_flow
        for t in range(weeks):
            incoming = np.empty(nodes)
            last = nodes - 1
            production = mail[last, 0]  # the last node's request reaching the source this week
            for i in range(nodes):
                arrived = pipe[i, 0]
                inv[i] += arrived
                received[r, t, i] = arrived
                pipe[i, : ship_delay[i] - 1] = pipe[i, 1 : ship_delay[i]].copy()
                pipe[i, ship_delay[i] - 1] = 0.0
                incoming[i] = demand[r, t] if i == 0 else mail[i - 1, 0]
                incoming_orders[r, t, i] = incoming[i]
            for i in range(nodes):  # the mail moves once every supplier has read this week's orders
                mail[i, : mail_delay[i] - 1] = mail[i, 1 : mail_delay[i]].copy()
                mail[i, mail_delay[i] - 1] = 0.0
            for i in range(nodes):
                want = back[i] + incoming[i]
                ship = min(inv[i], want)
                inv[i] -= ship
                back[i] = want - ship
                shipped[r, t, i] = ship
                if i > 0:
                    pipe[i - 1, ship_delay[i - 1] - 1] = ship
            pipe[last, ship_delay[last] - 1] = production  # the source ships whatever it is asked
            for i in range(nodes):
                inventory[r, t, i] = inv[i]
                backlog[r, t, i] = back[i]
                in_transit[r, t, i] = pipe[i, : ship_delay[i]].sum()
                cost[r, t, i] = holding_cost[i] * inv[i] + backlog_cost[i] * back[i]
            for i in range(nodes):
                if window[i] > 0:
                    history[i, t % window[i]] = incoming[i]
                    expected[i] = history[i, : window[i]].mean()
                else:
                    expected[i] = theta[r, i] * incoming[i] + (1.0 - theta[r, i]) * expected[i]
                supply_line = 0.0
                for j in range(mail_delay[i] - 1):
                    supply_line += mail[i, j]
                for j in range(ship_delay[i]):
                    supply_line += pipe[i, j]
                if i + 1 < nodes:
                    supply_line += back[i + 1]
                if t < fixed_weeks:
                    order = initial_flow
                elif policy[i] == STERMAN:
                    gap = s_prime[r, i] - (inv[i] - back[i]) - beta[r, i] * supply_line
                    order = _round_order(expected[i] + alpha_s[r, i] * gap)
                else:
                    position = inv[i] - back[i] + supply_line
                    order = _round_order(
                        _policy_order(policy[i], position, expected[i], t - fixed_weeks, cover[i], safety[i],
                                      reorder[i], target[i], quantity[i], period[i])
                    )  # fmt: skip
                orders[r, t, i] = order
                mail[i, mail_delay[i] - 1] = order


@dataclass(frozen=True)
class ChainRun:
    """Series [replicates, weeks, nodes] and total cost per replicate and node."""

    orders: np.ndarray
    incoming: np.ndarray
    inventory: np.ndarray
    backlog: np.ndarray
    shipped: np.ndarray
    received: np.ndarray
    in_transit: np.ndarray
    cost: np.ndarray

    @property
    def cost_by_node(self) -> np.ndarray:
        return self.cost.sum(axis=1)

    @property
    def team_cost(self) -> np.ndarray:
        return self.cost_by_node.sum(axis=1)


def run_chain(demand, theta, alpha_s, beta, s_prime, mail_delay, ship_delay, initial_inventory,
              initial_flow, fixed_weeks, holding_cost, backlog_cost, policy=STERMAN, window=0, cover=0.0,
              safety=0.0, reorder=0.0, target=0.0, quantity=1.0, period=1) -> ChainRun:  # fmt: skip
    """`simulate_chain` with arguments broadcast: demand to [R, T], policy parameters to [R, N], node
    settings to [N]. R comes from the demand or the parameters (whichever has replicates)."""
    nodes = len(np.atleast_1d(mail_delay))
    shapes = [np.shape(x) for x in (theta, alpha_s, beta, s_prime)]
    replicates = max(
        [np.shape(demand)[0] if np.ndim(demand) == 2 else 1] + [s[0] for s in shapes if len(s) == 2]
    )
    weeks = np.shape(demand)[-1]
    demand = np.broadcast_to(np.asarray(demand, dtype=np.float64), (replicates, weeks)).copy()

    def per_replicate(value) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (replicates, nodes)).copy()

    def per_node(value, dtype=np.float64) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (nodes,)).copy()

    series = [np.zeros((replicates, weeks, nodes)) for _ in range(8)]
    simulate_chain(
        demand, per_replicate(theta), per_replicate(alpha_s), per_replicate(beta), per_replicate(s_prime),
        per_node(policy, np.int64), per_node(window, np.int64), per_node(cover), per_node(safety),
        per_node(reorder), per_node(target), per_node(quantity), per_node(period, np.int64),
        per_node(mail_delay, np.int64), per_node(ship_delay, np.int64), per_node(initial_inventory),
        float(initial_flow), int(fixed_weeks), per_node(holding_cost), per_node(backlog_cost), *series,
    )  # fmt: skip
    return ChainRun(*series)


def beer_game(
    theta=0.36, alpha_s=0.26, beta=0.34, s_prime=(17, 17, 17, 17), replicates: int = 1,
    demand: np.ndarray | None = None, weeks: int = 36,
) -> ChainRun:  # fmt: skip
    """The beer game board (Sterman 1989; Edali & Yasarcan 2014): retailer, wholesaler, distributor,
    factory; 12 cases on hand, 4 in every pipeline slot; customer demand 4 for four weeks, then 8;
    2-week mail and shipping delays, a 1-week production request and 2-week production delay; orders
    fixed at 4 for four weeks; costs 0.5 per case on hand and 1 per case backlogged per week.
    Parameters may be scalars or [replicates, 4] arrays; the defaults are Sterman's subject means."""
    if demand is None:
        demand = np.where(np.arange(weeks) < 4, 4.0, 8.0)
    demand = np.broadcast_to(np.asarray(demand, dtype=np.float64), (replicates, np.shape(demand)[-1]))
    return run_chain(demand, theta, alpha_s, beta, s_prime, [2, 2, 2, 1], 2, 12.0, 4.0, 4, 0.5, 1.0)
