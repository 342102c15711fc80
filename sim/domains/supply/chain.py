"""Supply networks (the beer game's board among them) for many replicates at once, as one Numba kernel.

Goods move along lanes, each from a supplier (a node, or the unlimited source: a factory's production)
to a node. By default each node has one lane: node i orders from node i + 1 and the last from the
source; a tree names each node's supplier; a node may also split its orders over several lanes (dual
sourcing). Customers' demand may reach any node. Each week, in this order (Sterman 1989; the exact board
timing of Edali & Yasarcan 2014):

1. the shipments due this week join inventory, and every pipeline moves one slot;
2. the orders due this week arrive (customers' demand, and the mail on each lane);
3. a node ships what it can of its backlog plus those orders (short, it shares in proportion to the
   claims; a lane carries at most its capacity a week); the rest waits as backlog;
4. costs are charged on the inventory and backlog left;
5. each node decides its order and splits it over its lanes by their shares; an order reaches the
   supplier after the lane's `mail_delay` weeks; what the supplier ships travels `ship_delay` weeks
   (plus any detour or drawn delay). The source ships whatever it is asked, within the lane's capacity
   (at once when `mail_delay` is 0, so that an order placed in week t arrives in week t + `ship_delay`).
   Goods on a lane through a facility (a port, a production line) are `held` by the caller's queue
   instead, which puts them into the pipeline when they clear it.

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
def _dispatch(r, t, lane, amount, ship_delay, extra_delay, via, pipe, held, lane_shipped):
    """Goods leave on a lane: into its pipeline, or held by the facility it passes through."""
    if via[lane]:
        held[r, lane] += amount
    else:
        pipe[r, lane, ship_delay[lane] + extra_delay[lane] - 1] += amount
    lane_shipped[r, t, lane] += amount


@numba.njit(cache=True, nogil=True)
def chain_week(
    t, demand, lane_from, lane_to, out_start, out_lanes, in_start, in_lanes, share, lane_capacity, via,
    theta, alpha_s, beta, s_prime, policy, window, cover, safety, reorder, target, quantity, period,
    mail_delay, ship_delay, initial_flow, fixed_weeks, holding_cost, backlog_cost,
    capacity, extra_delay, lost_share,
    inv, ext_back, owed, expected, mail, pipe, held, history,
    orders, incoming_orders, inventory, backlog, shipped, received, in_transit, lost, cost, external, sold,
    lane_orders, lane_shipped,
):  # fmt: skip
    """Advance R replicates of an N-node, L-lane supply network by week t (state updated in place).

    demand [R, N] this week (customers' demand at each node). Lanes [L]: lane_from (supplier node, -1
    for the source), lane_to, share (of the node's orders), lane_capacity (units a week), via (goods
    held by a facility's queue), mail_delay, ship_delay; node j's outgoing lanes are
    out_lanes[out_start[j] : out_start[j + 1]], node i's incoming in_lanes[in_start[i] : in_start[i + 1]].
    theta, alpha_s, beta, s_prime [R, N] (Sterman's rule; theta also smooths forecasts); per node [N]:
    policy, window (moving-average length; 0 = exponential smoothing with weight theta), cover and safety
    (ORDER_UP_TO: up to cover x forecast + safety), reorder and target (S_S: at or below `reorder`, up to
    `target`), reorder and quantity (R_Q: enough lots of `quantity` to exceed `reorder`), period and
    quantity (T_Q: `quantity` every `period` weeks), costs. This week's disruptions: per node `capacity`
    (most it can ship; inf when normal, 0 in an outage) and `lost_share` (share of its stock destroyed
    as the week starts); per lane `extra_delay` (weeks added to goods sent on it: detours, drawn delays).
    A node short of stock shares what it has among its claimants (its customers' demand and each lane's
    order plus what it already owes on it) in proportion to their claims.
    State: per node [R, N] on hand, backlog to customers, forecast, history (recent orders received, a
    ring); per lane [R, L, ...] what its supplier owes, mail (orders reaching the supplier in j + 1
    weeks), pipe (goods arriving in j + 1 weeks), held (in a facility's queue). Outputs [R, T, N] at t:
    orders placed, orders received (all claims), inventory and backlog after shipping, shipped, received
    into inventory, on the way in, destroyed, cost, customers' demand filled at once (`external`) and
    everything shipped to customers (`sold`, their backlog included); per lane [R, T, L] orders and
    goods sent. Orders in the first `fixed_weeks` weeks are the initial flow (the board's warm-up); the
    inventory position is on hand - backlog + supply line (everything ordered and not yet received).
    """
    replicates, nodes = s_prime.shape
    lanes = lane_from.shape[0]
    slots = pipe.shape[2]
    for r in range(replicates):
        arriving = np.empty(lanes)  # each lane's order reaching its supplier this week
        for i in range(nodes):
            destroyed = inv[r, i] * lost_share[i]
            inv[r, i] -= destroyed
            lost[r, t, i] = destroyed
            received[r, t, i] = 0.0
        for lane in range(lanes):
            i = lane_to[lane]
            arrived = pipe[r, lane, 0]
            inv[r, i] += arrived
            received[r, t, i] += arrived
            for slot in range(slots - 1):  # in place: no temporary arrays in the hot loop
                pipe[r, lane, slot] = pipe[r, lane, slot + 1]
            pipe[r, lane, slots - 1] = 0.0
            if mail_delay[lane] > 0:
                arriving[lane] = mail[r, lane, 0]
                for slot in range(mail_delay[lane] - 1):
                    mail[r, lane, slot] = mail[r, lane, slot + 1]
                mail[r, lane, mail_delay[lane] - 1] = 0.0
            else:
                arriving[lane] = 0.0
        incoming = demand[r].copy()
        for lane in range(lanes):
            if lane_from[lane] >= 0:
                incoming[lane_from[lane]] += arriving[lane]
        for j in range(nodes):
            out = out_lanes[out_start[j] : out_start[j + 1]]
            claims = ext_back[r, j] + demand[r, j]
            for lane in out:
                claims += owed[r, lane] + arriving[lane]
            available = min(inv[r, j], capacity[j])
            left = min(available, claims)  # what j ships in all
            ratio = left / claims if claims > 0 else 0.0
            want = ext_back[r, j] + demand[r, j]
            ship = min(want, left) if len(out) == 0 else min(want * ratio, left)
            external[r, t, j] = min(demand[r, j], max(ship - ext_back[r, j], 0.0))
            ext_back[r, j] = want - ship
            left -= ship
            to_customers = ship
            sent = ship
            for lane in out:
                want = owed[r, lane] + arriving[lane]
                ship = min(want * ratio, left, lane_capacity[lane])
                owed[r, lane] = want - ship
                left -= ship
                sent += ship
                _dispatch(r, t, lane, ship, ship_delay, extra_delay, via, pipe, held, lane_shipped)
            for lane in out:  # rounding or a full lane: the remainder goes to whoever still waits
                room = lane_capacity[lane] - lane_shipped[r, t, lane]
                extra = min(owed[r, lane], left, room)
                if extra > 0.0:
                    owed[r, lane] -= extra
                    left -= extra
                    sent += extra
                    _dispatch(r, t, lane, extra, ship_delay, extra_delay, via, pipe, held, lane_shipped)
            if left > 0.0 and ext_back[r, j] > 0.0:
                extra = min(ext_back[r, j], left)
                ext_back[r, j] -= extra
                to_customers += extra
                sent += extra
            sold[r, t, j] = to_customers
            inv[r, j] -= sent
            shipped[r, t, j] = sent
        for lane in range(lanes):
            if lane_from[lane] < 0:  # the source ships whatever it is asked, within the lane's capacity
                want = owed[r, lane] + arriving[lane]
                ship = min(want, lane_capacity[lane])
                owed[r, lane] = want - ship
                if ship > 0.0:
                    _dispatch(r, t, lane, ship, ship_delay, extra_delay, via, pipe, held, lane_shipped)
        for i in range(nodes):
            owing = ext_back[r, i]
            for lane in out_lanes[out_start[i] : out_start[i + 1]]:
                owing += owed[r, lane]
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
            into = in_lanes[in_start[i] : in_start[i + 1]]
            supply_line = 0.0
            for lane in into:
                supply_line += pipe[r, lane].sum() + held[r, lane] + owed[r, lane]
                for j in range(mail_delay[lane] - 1):
                    supply_line += mail[r, lane, j]
            net = inv[r, i] - backlog[r, t, i]
            if t < fixed_weeks:
                order = initial_flow[i]
            elif policy[i] == STERMAN:
                gap = s_prime[r, i] - net - beta[r, i] * supply_line
                order = _round_order(expected[r, i] + alpha_s[r, i] * gap)
            else:
                order = _round_order(
                    _policy_order(policy[i], net + supply_line, expected[r, i], t - fixed_weeks, cover[i],
                                  safety[i], reorder[i], target[i], quantity[i], period[i])
                )  # fmt: skip
            orders[r, t, i] = order
            rest = order
            on_way = 0.0
            for k in range(len(into)):
                lane = into[k]
                part = rest if k == len(into) - 1 else min(rest, np.floor(order * share[lane] + 0.5))
                rest -= part
                lane_orders[r, t, lane] = part
                if mail_delay[lane] > 0:
                    mail[r, lane, mail_delay[lane] - 1] = part
                else:  # straight to the source, which ships at once within the lane's capacity
                    want = owed[r, lane] + part
                    ship = min(want, lane_capacity[lane] - lane_shipped[r, t, lane])
                    owed[r, lane] = want - ship
                    if ship > 0.0:
                        _dispatch(r, t, lane, ship, ship_delay, extra_delay, via, pipe, held, lane_shipped)
                on_way += pipe[r, lane].sum() + held[r, lane]
            in_transit[r, t, i] = on_way


class ChainState:
    """What a network carries from week to week, for R replicates: stock, backlog, forecasts, and per
    lane what is owed, in the mail, on the way and held. Pipelines have room for `max_extra_delay` more
    weeks than the longest shipping delay; the initial flow (times each lane's share) fills every slot of
    the mail and pipelines."""

    def __init__(self, replicates: int, initial_inventory, initial_flow, mail_delay, ship_delay, window,
                 max_extra_delay: int = 0, share=None, to=None):  # fmt: skip
        nodes, lanes = len(initial_inventory), len(mail_delay)
        share = np.ones(lanes) if share is None else share
        to = np.arange(lanes) if to is None else to
        initial_flow = np.broadcast_to(np.asarray(initial_flow, dtype=np.float64), (nodes,))
        self.inv = np.tile(np.asarray(initial_inventory, dtype=np.float64), (replicates, 1))
        self.ext_back = np.zeros((replicates, nodes))
        self.owed = np.zeros((replicates, lanes))
        self.expected = np.tile(initial_flow, (replicates, 1))
        self.mail = np.zeros((replicates, lanes, max(max(mail_delay), 1)))
        self.pipe = np.zeros((replicates, lanes, max(ship_delay) + max_extra_delay + 1))
        self.held = np.zeros((replicates, lanes))
        self.history = np.repeat(self.expected[:, :, None], max(max(window), 1), axis=2)
        for lane in range(lanes):  # each lane carries its share of the initial flow
            self.mail[:, lane, : mail_delay[lane]] = initial_flow[to[lane]] * share[lane]
            self.pipe[:, lane, : ship_delay[lane]] = initial_flow[to[lane]] * share[lane]

    def arrays(self) -> tuple:
        return (
            self.inv,
            self.ext_back,
            self.owed,
            self.expected,
            self.mail,
            self.pipe,
            self.held,
            self.history,
        )


@dataclass(frozen=True)
class ChainRun:
    """Series [replicates, weeks, nodes] (and [replicates, weeks, lanes] for the lanes' own)."""

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
    lane_orders: np.ndarray  # [R, T, L] each lane's share of its node's order
    lane_shipped: np.ndarray  # [R, T, L] goods sent on each lane

    @property
    def cost_by_node(self) -> np.ndarray:
        return self.cost.sum(axis=1)

    @property
    def team_cost(self) -> np.ndarray:
        return self.cost_by_node.sum(axis=1)


@dataclass(frozen=True)
class Lanes:
    """A network's lanes [L]: supplier (-1: the source), node supplied, share of that node's orders,
    delays, capacity (units a week) and whether goods pass through a facility's queue (`via`)."""

    source: np.ndarray
    to: np.ndarray
    share: np.ndarray
    mail_delay: np.ndarray
    ship_delay: np.ndarray
    capacity: np.ndarray
    via: np.ndarray

    @classmethod
    def build(cls, source, to, share=1.0, mail_delay=2, ship_delay=2, capacity=np.inf, via=False) -> Lanes:
        count = len(source)

        def per_lane(value, dtype=np.float64) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (count,)).copy()

        return cls(per_lane(source, np.int64), per_lane(to, np.int64), per_lane(share),
                   per_lane(mail_delay, np.int64), per_lane(ship_delay, np.int64), per_lane(capacity),
                   per_lane(via, np.bool_))  # fmt: skip


def _grouped(keys: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the indices of `keys` by value: members of group g are items[start[g] : start[g + 1]]."""
    order = np.argsort(keys, kind="stable")
    items = order[keys[order] >= 0]
    start = np.searchsorted(keys[items], np.arange(groups + 1))
    return start.astype(np.int64), items.astype(np.int64)


class Chain:
    """A supply network's parameters broadcast for the kernel and its state; `week(t, ...)` advances every
    replicate by one week into `run`. `demand` is [T] or [R, T] for node 0 (a chain's customer end), or
    [R, T, N] per node. Lanes default to one per node (lane i supplies node i): from `supplier` (default a
    chain: node i orders from i + 1, the last from the source) with the node's `mail_delay` and
    `ship_delay`; or `lanes` gives them all. Sterman's parameters broadcast to [R, N], everything else
    per node to [N]."""

    def __init__(self, demand, theta, alpha_s, beta, s_prime, initial_inventory, initial_flow, fixed_weeks,
                 holding_cost, backlog_cost, mail_delay=2, ship_delay=2, policy=STERMAN, window=0, cover=0.0,
                 safety=0.0, reorder=0.0, target=0.0, quantity=1.0, period=1, max_extra_delay=0,
                 supplier=None, lanes: Lanes | None = None, nodes: int | None = None):  # fmt: skip
        if nodes is None:
            nodes = len(np.atleast_1d(mail_delay)) if lanes is None else int(lanes.to.max()) + 1
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

        if lanes is None:
            chain = np.append(np.arange(1, nodes), -1)
            source = chain if supplier is None else per_node(supplier, np.int64)
            lanes = Lanes.build(source, np.arange(nodes), 1.0, per_node(mail_delay, np.int64),
                                per_node(ship_delay, np.int64))  # fmt: skip
        self.lanes = lanes
        out_start, out_lanes = _grouped(lanes.source, nodes)
        in_start, in_lanes = _grouped(lanes.to, nodes)
        self.params = (
            lanes.source, lanes.to, out_start, out_lanes, in_start, in_lanes, lanes.share, lanes.capacity,
            lanes.via, per_replicate(theta), per_replicate(alpha_s), per_replicate(beta),
            per_replicate(s_prime), per_node(policy, np.int64), per_node(window, np.int64), per_node(cover),
            per_node(safety), per_node(reorder), per_node(target), per_node(quantity),
            per_node(period, np.int64), lanes.mail_delay, lanes.ship_delay, per_node(initial_flow),
            int(fixed_weeks), per_node(holding_cost), per_node(backlog_cost),
        )  # fmt: skip
        self.state = ChainState(
            r, per_node(initial_inventory), per_node(initial_flow), lanes.mail_delay.tolist(),
            lanes.ship_delay.tolist(), per_node(window, int).tolist(), max_extra_delay, lanes.share, lanes.to,
        )  # fmt: skip
        count = len(lanes.to)
        self.run = ChainRun(*(np.zeros((r, weeks, nodes)) for _ in range(11)),
                            np.zeros((r, weeks, count)), np.zeros((r, weeks, count)))  # fmt: skip
        self.normal = (np.full(nodes, np.inf), np.zeros(count, dtype=np.int64), np.zeros(nodes))

    def week(self, t: int, capacity=None, extra_delay=None, lost_share=None) -> None:
        """Advance one week (demand: `self.demand[:, t]`) with its disruptions (None: none of that kind):
        per node `capacity` and `lost_share`, per lane `extra_delay`."""
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
