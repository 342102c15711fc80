"""Supply chains and distribution trees (the beer game's board among them) for many replicates at once,
as one Numba kernel.

Each node orders from one supplier: by default node i from node i + 1 and the last from an unlimited
source (a factory's production); a tree names each node's supplier. Customers' demand may reach any
node. Each week, in this order (Sterman 1989; the exact board timing of Edali & Yasarcan 2014):

1. the shipment due this week joins inventory, and every pipeline moves one slot;
2. the orders due this week arrive (customers' demand, and the mail from customer nodes);
3. a node ships what it can of its backlog plus those orders (short, it shares in proportion to the
   claims); the rest waits as backlog;
4. costs are charged on the inventory and backlog left;
5. each node decides its order, which reaches its supplier after `mail_delay` weeks; what the supplier
   ships travels `ship_delay` weeks. The source ships whatever it is asked (at once when `mail_delay`
   is 0, so that an order placed in week t arrives in week t + `ship_delay`).

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
def chain_week(
    t, demand, supplier, child_start, children, theta, alpha_s, beta, s_prime, policy, window, cover,
    safety, reorder, target, quantity, period, mail_delay, ship_delay, initial_flow, fixed_weeks,
    holding_cost, backlog_cost, capacity, extra_delay, lost_share,
    inv, ext_back, owed, expected, mail, pipe, history,
    orders, incoming_orders, inventory, backlog, shipped, received, in_transit, lost, cost, external, sold,
):  # fmt: skip
    """Advance R replicates of an N-node supply tree by week t (state arrays are updated in place).

    demand [R, N] this week (customers' demand at each node); supplier [N] (the node each orders from,
    -1 for the unlimited source; a chain is i -> i + 1) and, for each node j, its customer nodes
    children[child_start[j] : child_start[j + 1]]; theta, alpha_s, beta, s_prime [R, N] (Sterman's
    rule; theta also smooths forecasts); per node [N]: policy, window (moving-average length; 0 =
    exponential smoothing with weight theta), cover and safety (ORDER_UP_TO: up to cover x forecast +
    safety), reorder and target (S_S: at or below `reorder`, up to `target`), reorder and quantity (R_Q:
    enough lots of `quantity` to exceed `reorder`), period and quantity (T_Q: `quantity` every `period`
    weeks), mail_delay and ship_delay (from the source: production request and production), costs.
    Disruptions this week, per node: `capacity` (most it can ship; inf when normal, 0 in an outage),
    `extra_delay` (weeks added to goods sent to it), `lost_share` (share of its stock destroyed as the
    week starts). A node short of stock shares what it has among its claimants (its customers' demand
    and each customer node's order plus what it already owes them) in proportion to their claims.
    State [R, N, ...]: on hand, backlog to customers, what its supplier owes it, forecast, mail (orders
    reaching the supplier in j + 1 weeks), pipe (goods arriving in j + 1 weeks), history (recent orders
    received, a ring). Outputs [R, T, N] at t: orders placed, orders received (all claims: customers'
    and customer nodes'), inventory and backlog after shipping, shipped, received into inventory, on
    the way in, destroyed, cost, customers' demand filled at once (`external`) and everything shipped
    to customers (`sold`, their backlog included).
    Orders in the first `fixed_weeks` weeks are the initial flow (the board's warm-up); the inventory
    position is on hand - backlog + supply line (everything ordered and not yet received).
    """
    replicates, nodes = s_prime.shape
    slots = pipe.shape[2]
    for r in range(replicates):
        arriving = np.empty(nodes)  # each node's order reaching its supplier this week
        for i in range(nodes):
            destroyed = inv[r, i] * lost_share[i]
            inv[r, i] -= destroyed
            lost[r, t, i] = destroyed
            arrived = pipe[r, i, 0]
            inv[r, i] += arrived
            received[r, t, i] = arrived
            pipe[r, i, : slots - 1] = pipe[r, i, 1:].copy()
            pipe[r, i, slots - 1] = 0.0
            if mail_delay[i] > 0:
                arriving[i] = mail[r, i, 0]
                mail[r, i, : mail_delay[i] - 1] = mail[r, i, 1 : mail_delay[i]].copy()
                mail[r, i, mail_delay[i] - 1] = 0.0
            else:
                arriving[i] = 0.0
        incoming = demand[r].copy()
        for c in range(nodes):
            if supplier[c] >= 0:
                incoming[supplier[c]] += arriving[c]
        for j in range(nodes):
            claims = ext_back[r, j] + demand[r, j]
            for c in children[child_start[j] : child_start[j + 1]]:
                claims += owed[r, c] + arriving[c]
            available = min(inv[r, j], capacity[j])
            left = min(available, claims)  # what j ships in all; the last claimant gets the remainder
            share = left / claims if claims > 0 else 0.0
            want = ext_back[r, j] + demand[r, j]
            alone = child_start[j + 1] == child_start[j]  # customers are its only claimants
            ship = min(want, left) if alone else min(want * share, left)
            external[r, t, j] = min(demand[r, j], max(ship - ext_back[r, j], 0.0))
            sold[r, t, j] = ship
            ext_back[r, j] = want - ship
            left -= ship
            sent = ship
            for c in children[child_start[j] : child_start[j + 1]]:
                want = owed[r, c] + arriving[c]
                ship = min(want * share, left)
                owed[r, c] = want - ship
                left -= ship
                sent += ship
                pipe[r, c, ship_delay[c] + extra_delay[c] - 1] += ship
            if left > 0.0:  # rounding: the remainder goes to whoever still waits
                for c in children[child_start[j] : child_start[j + 1]]:
                    if owed[r, c] > 0.0 and left > 0.0:
                        extra = min(owed[r, c], left)
                        owed[r, c] -= extra
                        left -= extra
                        sent += extra
                        pipe[r, c, ship_delay[c] + extra_delay[c] - 1] += extra
            inv[r, j] -= sent
            shipped[r, t, j] = sent
        for c in range(nodes):
            if supplier[c] < 0:  # the source ships whatever it is asked
                pipe[r, c, ship_delay[c] + extra_delay[c] - 1] += arriving[c]
        for i in range(nodes):
            owing = ext_back[r, i]
            for c in children[child_start[i] : child_start[i + 1]]:
                owing += owed[r, c]
            incoming_orders[r, t, i] = incoming[i]
            inventory[r, t, i] = inv[r, i]
            backlog[r, t, i] = owing
            cost[r, t, i] = holding_cost[i] * inv[r, i] + backlog_cost[i] * owing
        for i in range(nodes):
            if window[i] > 0:
                history[r, i, t % window[i]] = incoming[i]
                expected[r, i] = history[r, i, : window[i]].mean()
            else:
                expected[r, i] = theta[r, i] * incoming[i] + (1.0 - theta[r, i]) * expected[r, i]
            supply_line = pipe[r, i].sum() + owed[r, i]
            for j in range(mail_delay[i] - 1):
                supply_line += mail[r, i, j]
            net = inv[r, i] - backlog[r, t, i]
            if t < fixed_weeks:
                order = initial_flow
            elif policy[i] == STERMAN:
                gap = s_prime[r, i] - net - beta[r, i] * supply_line
                order = _round_order(expected[r, i] + alpha_s[r, i] * gap)
            else:
                order = _round_order(
                    _policy_order(policy[i], net + supply_line, expected[r, i], t - fixed_weeks, cover[i],
                                  safety[i], reorder[i], target[i], quantity[i], period[i])
                )  # fmt: skip
            orders[r, t, i] = order
            if mail_delay[i] > 0:
                mail[r, i, mail_delay[i] - 1] = order
            else:  # straight to the source, which ships at once
                pipe[r, i, ship_delay[i] + extra_delay[i] - 1] += order
            in_transit[r, t, i] = pipe[r, i].sum()


class ChainState:
    """What a chain carries from week to week, for R replicates: stock, backlog, forecasts, pipelines.
    Pipelines have room for `max_extra_delay` more weeks than the longest shipping delay."""

    def __init__(self, replicates: int, initial_inventory, initial_flow: float, mail_delay, ship_delay,
                 window, max_extra_delay: int = 0):  # fmt: skip
        nodes = len(mail_delay)
        self.inv = np.tile(np.asarray(initial_inventory, dtype=np.float64), (replicates, 1))
        self.ext_back = np.zeros((replicates, nodes))
        self.owed = np.zeros((replicates, nodes))
        self.expected = np.full((replicates, nodes), float(initial_flow))
        self.mail = np.zeros((replicates, nodes, max(max(mail_delay), 1)))
        self.pipe = np.zeros((replicates, nodes, max(ship_delay) + max_extra_delay))
        self.history = np.full((replicates, nodes, max(max(window), 1)), float(initial_flow))
        for i in range(nodes):
            self.mail[:, i, : mail_delay[i]] = initial_flow
            self.pipe[:, i, : ship_delay[i]] = initial_flow

    def arrays(self) -> tuple:
        return self.inv, self.ext_back, self.owed, self.expected, self.mail, self.pipe, self.history


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
    lost: np.ndarray
    cost: np.ndarray
    external: np.ndarray  # customers' demand filled at once
    sold: np.ndarray  # everything shipped to customers (their backlog included)

    @property
    def cost_by_node(self) -> np.ndarray:
        return self.cost.sum(axis=1)

    @property
    def team_cost(self) -> np.ndarray:
        return self.cost_by_node.sum(axis=1)


class Chain:
    """A supply tree's parameters broadcast for the kernel and its state; `week(t, ...)` advances every
    replicate by one week into `run`. `demand` is [T] or [R, T] for node 0 (a chain's customer end), or
    [R, T, N] per node; `supplier` defaults to a chain (node i orders from i + 1, the last from the
    source); Sterman's parameters broadcast to [R, N], everything else to [N]."""

    def __init__(self, demand, theta, alpha_s, beta, s_prime, mail_delay, ship_delay, initial_inventory,
                 initial_flow, fixed_weeks, holding_cost, backlog_cost, policy=STERMAN, window=0, cover=0.0,
                 safety=0.0, reorder=0.0, target=0.0, quantity=1.0, period=1, max_extra_delay=0,
                 supplier=None):  # fmt: skip
        nodes = len(np.atleast_1d(mail_delay))
        demand = np.asarray(demand, dtype=np.float64)
        shapes = [np.shape(x) for x in (theta, alpha_s, beta, s_prime)]
        demand_rows = demand.shape[0] if demand.ndim >= 2 else 1
        self.replicates = r = max([demand_rows] + [s[0] for s in shapes if len(s) == 2])
        self.nodes = nodes
        if demand.ndim < 3:  # customers only at node 0
            self.weeks = weeks = demand.shape[-1]
            self.demand = np.zeros((r, weeks, nodes))
            self.demand[:, :, 0] = np.broadcast_to(demand, (r, weeks))
        else:
            self.weeks = weeks = demand.shape[1]
            self.demand = np.broadcast_to(demand, (r, weeks, nodes)).copy()

        def per_replicate(value) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (r, nodes)).copy()

        def per_node(value, dtype=np.float64) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (nodes,)).copy()

        chain = np.append(np.arange(1, nodes), -1)
        self.supplier = chain if supplier is None else per_node(supplier, np.int64)
        order = np.argsort(self.supplier, kind="stable")  # customer nodes grouped by their supplier
        children = order[self.supplier[order] >= 0]
        child_start = np.searchsorted(self.supplier[children], np.arange(nodes + 1))
        self.params = (
            self.supplier, child_start.astype(np.int64), children.astype(np.int64),
            per_replicate(theta), per_replicate(alpha_s), per_replicate(beta), per_replicate(s_prime),
            per_node(policy, np.int64), per_node(window, np.int64), per_node(cover), per_node(safety),
            per_node(reorder), per_node(target), per_node(quantity), per_node(period, np.int64),
            per_node(mail_delay, np.int64), per_node(ship_delay, np.int64), float(initial_flow),
            int(fixed_weeks), per_node(holding_cost), per_node(backlog_cost),
        )  # fmt: skip
        self.state = ChainState(
            r, per_node(initial_inventory), float(initial_flow), per_node(mail_delay, int),
            per_node(ship_delay, int), per_node(window, int), max_extra_delay,
        )  # fmt: skip
        self.run = ChainRun(*(np.zeros((r, weeks, nodes)) for _ in range(11)))
        self.normal = (np.full(nodes, np.inf), np.zeros(nodes, dtype=np.int64), np.zeros(nodes))

    def week(self, t: int, capacity=None, extra_delay=None, lost_share=None) -> None:
        """Advance one week (demand: `self.demand[:, t]`) with its disruptions (None: none of that kind)."""
        normal = self.normal
        chain_week(
            t, self.demand[:, t], *self.params,
            normal[0] if capacity is None else capacity, normal[1] if extra_delay is None else extra_delay,
            normal[2] if lost_share is None else lost_share,
            *self.state.arrays(), *vars(self.run).values(),
        )  # fmt: skip


def run_chain(demand, **settings) -> ChainRun:
    """A whole run without disruptions (see `Chain` for the settings)."""
    chain = Chain(demand, **settings)
    for t in range(chain.weeks):
        chain.week(t)
    return chain.run


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
    return run_chain(
        demand,
        theta=theta,
        alpha_s=alpha_s,
        beta=beta,
        s_prime=s_prime,
        mail_delay=[2, 2, 2, 1],
        ship_delay=2,
        initial_inventory=12.0,
        initial_flow=4.0,
        fixed_weeks=4,
        holding_cost=0.5,
        backlog_cost=1.0,
    )
