"""Supply networks (the beer game's board among them) for many replicates at once, as one Numba kernel.

Goods move along lanes, each from a supplier (a node, or the unlimited source: a factory's production)
to a node. By default each node has one lane: node i orders from node i + 1 and the last from the
source; a tree names each node's supplier; a node may also split its orders over several lanes (dual
sourcing). Customers' demand may reach any node. Each week, in this order (Sterman 1989; the exact board
timing of Edali & Yasarcan 2014):

1. the shipments due this week join inventory, and every pipeline moves one slot;
2. the orders due this week arrive (customers' demand, and the mail on each lane);
3. a node ships what it can of its backlog plus those orders (short, it shares in proportion to the
   claims; a lane carries at most its capacity a week); the rest waits as backlog, except at a node
   whose customers do not wait (lost sales: a shopper facing an empty shelf leaves);
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

import numba
import numpy as np

from sim.domains.supply.arrays import ChainRun, Disruptions, Lanes, Parameters, State

STERMAN, ORDER_UP_TO, S_S, R_Q, T_Q = range(5)  # ordering policies


@numba.njit(cache=True, nogil=True)
def _round_order(x):
    return np.floor(x + 0.5) if x > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _policy_order(params, i, position, forecast, t):
    """Node i's order by its inventory policy, from the inventory position after this step's shipping."""
    kind, reorder, quantity = params.policy[i], params.reorder[i], params.quantity[i]
    if kind == ORDER_UP_TO:
        return params.cover[i] * forecast + params.safety[i] - position
    if kind == S_S:
        return params.target[i] - position if position <= reorder else 0.0
    if kind == R_Q:
        return (np.floor((reorder - position) / quantity) + 1.0) * quantity if position <= reorder else 0.0
    return quantity if t % params.period[i] == 0 else 0.0  # T_Q


@numba.njit(cache=True, nogil=True)
def _dispatch(r, t, lane, amount, params, shocks, state, run):
    """Goods leave on a lane: into its pipeline, or held by the facility it passes through."""
    if params.via[lane]:
        state.held[r, lane] += amount
    else:
        state.pipe[r, lane, params.ship_delay[lane] + shocks.extra_delay[lane] - 1] += amount
    run.lane_shipped[r, t, lane] += amount


@numba.njit(cache=True, nogil=True)
def chain_week(t, demand, params, shocks, state, run):
    """Advance R replicates of an N-node, L-lane supply network by week t: `state` (a `State`) and `run`
    (a `ChainRun`) are updated in place; `params` are the `Parameters`, `shocks` this week's `Disruptions`.

    demand [R, N] this week (customers' demand at each node). Lanes [L]: lane_from (supplier node, -1
    for the source), lane_to, share (of the node's orders), lane_capacity (units a week), via (goods
    held by a facility's queue), mail_delay, ship_delay; node j's outgoing lanes are
    out_lanes[out_start[j] : out_start[j + 1]], node i's incoming in_lanes[in_start[i] : in_start[i + 1]].
    theta, alpha_s, beta, s_prime [R, N] (Sterman's rule; theta also smooths forecasts); per node [N]:
    policy, window (moving-average length; 0 = exponential smoothing with weight theta), cover and safety
    (ORDER_UP_TO: up to cover x forecast + safety), reorder and target (S_S: at or below `reorder`, up to
    `target`), reorder and quantity (R_Q: enough lots of `quantity` to exceed `reorder`), period and
    quantity (T_Q: `quantity` every `period` weeks), costs, lost_sales (its customers' demand not filled
    at once is lost, not backlogged). This week's disruptions: per node `capacity`
    (most it can ship; inf when normal, 0 in an outage) and `lost_share` (share of its stock destroyed
    as the week starts); per lane `extra_delay` (weeks added to goods sent on it: detours, drawn delays).
    A node short of stock shares what it has among its claimants (its customers' demand and each lane's
    order plus what it already owes on it) in proportion to their claims.
    State: per node [R, N] on hand, backlog to customers, forecast, history (recent orders received, a
    ring); per lane [R, L, ...] what its supplier owes, mail (orders reaching the supplier in j + 1
    weeks), pipe (goods arriving in j + 1 weeks), held (in a facility's queue). Outputs [R, T, N] at t:
    orders placed, orders received (all claims), inventory and backlog after shipping, shipped, received
    into inventory, on the way in, destroyed, cost, customers' demand filled at once (`external`) and
    everything shipped to customers (`sold`, their backlog included), customers' demand lost
    (`lost_sales`); per lane [R, T, L] orders and
    goods sent. Orders in the first `fixed_weeks` weeks are the initial flow (the board's warm-up); the
    inventory position is on hand - backlog + supply line (everything ordered and not yet received).
    """
    replicates, nodes = params.s_prime.shape
    lanes = params.lane_from.shape[0]
    slots = state.pipe.shape[2]
    for r in range(replicates):
        arriving = np.empty(lanes)  # each lane's order reaching its supplier this week
        for i in range(nodes):
            destroyed = state.inv[r, i] * shocks.lost_share[i]
            state.inv[r, i] -= destroyed
            run.lost[r, t, i] = destroyed
            run.received[r, t, i] = 0.0
        for lane in range(lanes):
            i = params.lane_to[lane]
            arrived = state.pipe[r, lane, 0]
            state.inv[r, i] += arrived
            run.received[r, t, i] += arrived
            for slot in range(slots - 1):  # in place: no temporary arrays in the hot loop
                state.pipe[r, lane, slot] = state.pipe[r, lane, slot + 1]
            state.pipe[r, lane, slots - 1] = 0.0
            if params.mail_delay[lane] > 0:
                arriving[lane] = state.mail[r, lane, 0]
                for slot in range(params.mail_delay[lane] - 1):
                    state.mail[r, lane, slot] = state.mail[r, lane, slot + 1]
                state.mail[r, lane, params.mail_delay[lane] - 1] = 0.0
            else:
                arriving[lane] = 0.0
        incoming = demand[r].copy()
        for lane in range(lanes):
            if params.lane_from[lane] >= 0:
                incoming[params.lane_from[lane]] += arriving[lane]
        for j in range(nodes):
            out = params.out_lanes[params.out_start[j] : params.out_start[j + 1]]
            claims = state.ext_back[r, j] + demand[r, j]
            for lane in out:
                claims += state.owed[r, lane] + arriving[lane]
            available = min(state.inv[r, j], shocks.capacity[j])
            left = min(available, claims)  # what j ships in all
            ratio = left / claims if claims > 0 else 0.0
            want = state.ext_back[r, j] + demand[r, j]
            ship = min(want, left) if len(out) == 0 else min(want * ratio, left)
            run.external[r, t, j] = min(demand[r, j], max(ship - state.ext_back[r, j], 0.0))
            state.ext_back[r, j] = want - ship
            left -= ship
            to_customers = ship
            sent = ship
            for lane in out:
                want = state.owed[r, lane] + arriving[lane]
                ship = min(want * ratio, left, params.lane_capacity[lane])
                state.owed[r, lane] = want - ship
                left -= ship
                sent += ship
                _dispatch(r, t, lane, ship, params, shocks, state, run)
            for lane in out:  # rounding or a full lane: the remainder goes to whoever still waits
                room = params.lane_capacity[lane] - run.lane_shipped[r, t, lane]
                extra = min(state.owed[r, lane], left, room)
                if extra > 0.0:
                    state.owed[r, lane] -= extra
                    left -= extra
                    sent += extra
                    _dispatch(r, t, lane, extra, params, shocks, state, run)
            if left > 0.0 and state.ext_back[r, j] > 0.0:
                extra = min(state.ext_back[r, j], left)
                state.ext_back[r, j] -= extra
                to_customers += extra
                sent += extra
            if params.lost_sales[j]:
                run.lost_sales[r, t, j] = state.ext_back[r, j]
                state.ext_back[r, j] = 0.0
            run.sold[r, t, j] = to_customers
            state.inv[r, j] -= sent
            run.shipped[r, t, j] = sent
        for lane in range(lanes):
            if params.lane_from[lane] < 0:  # the source ships what it is asked, within the lane's capacity
                want = state.owed[r, lane] + arriving[lane]
                ship = min(want, params.lane_capacity[lane])
                state.owed[r, lane] = want - ship
                if ship > 0.0:
                    _dispatch(r, t, lane, ship, params, shocks, state, run)
        for i in range(nodes):
            owing = state.ext_back[r, i]
            for lane in params.out_lanes[params.out_start[i] : params.out_start[i + 1]]:
                owing += state.owed[r, lane]
            run.incoming[r, t, i] = incoming[i]
            run.inventory[r, t, i] = state.inv[r, i]
            run.backlog[r, t, i] = owing
            short = owing + run.lost_sales[r, t, i]  # a unit lost is charged once, as a step of backlog
            run.cost[r, t, i] = params.holding_cost[i] * state.inv[r, i] + params.backlog_cost[i] * short
        for i in range(nodes):
            if params.window[i] > 0:
                state.history[r, i, t % params.window[i]] = incoming[i]
                state.expected[r, i] = state.history[r, i, : params.window[i]].mean()
            else:
                state.expected[r, i] = (
                    params.theta[r, i] * incoming[i] + (1.0 - params.theta[r, i]) * state.expected[r, i]
                )
            into = params.in_lanes[params.in_start[i] : params.in_start[i + 1]]
            supply_line = 0.0
            for lane in into:
                supply_line += state.pipe[r, lane].sum() + state.held[r, lane] + state.owed[r, lane]
                for j in range(params.mail_delay[lane] - 1):
                    supply_line += state.mail[r, lane, j]
            net = state.inv[r, i] - run.backlog[r, t, i]
            if t < params.fixed_weeks:
                order = params.initial_flow[i]
            elif params.policy[i] == STERMAN:
                gap = params.s_prime[r, i] - net - params.beta[r, i] * supply_line
                order = _round_order(state.expected[r, i] + params.alpha_s[r, i] * gap)
            else:
                position = net + supply_line
                order = _round_order(
                    _policy_order(params, i, position, state.expected[r, i], t - params.fixed_weeks)
                )
            run.orders[r, t, i] = order
            rest = order
            on_way = 0.0
            for k in range(len(into)):
                lane = into[k]
                part = rest if k == len(into) - 1 else min(rest, np.floor(order * params.share[lane] + 0.5))
                rest -= part
                run.lane_orders[r, t, lane] = part
                if params.mail_delay[lane] > 0:
                    state.mail[r, lane, params.mail_delay[lane] - 1] = part
                else:  # straight to the source, which ships at once within the lane's capacity
                    want = state.owed[r, lane] + part
                    ship = min(want, params.lane_capacity[lane] - run.lane_shipped[r, t, lane])
                    state.owed[r, lane] = want - ship
                    if ship > 0.0:
                        _dispatch(r, t, lane, ship, params, shocks, state, run)
                on_way += state.pipe[r, lane].sum() + state.held[r, lane]
            run.in_transit[r, t, i] = on_way


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
                 supplier=None, lanes: Lanes | None = None, nodes: int | None = None,
                 lost_sales=False):  # fmt: skip
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
        self.parameters = Parameters(
            lane_from=lanes.source, lane_to=lanes.to, out_start=out_start, out_lanes=out_lanes,
            in_start=in_start, in_lanes=in_lanes, share=lanes.share, lane_capacity=lanes.capacity,
            via=lanes.via, theta=per_replicate(theta), alpha_s=per_replicate(alpha_s),
            beta=per_replicate(beta), s_prime=per_replicate(s_prime), policy=per_node(policy, np.int64),
            window=per_node(window, np.int64), cover=per_node(cover), safety=per_node(safety),
            reorder=per_node(reorder), target=per_node(target), quantity=per_node(quantity),
            period=per_node(period, np.int64), mail_delay=lanes.mail_delay, ship_delay=lanes.ship_delay,
            initial_flow=per_node(initial_flow), fixed_weeks=int(fixed_weeks),
            holding_cost=per_node(holding_cost), backlog_cost=per_node(backlog_cost),
            lost_sales=per_node(lost_sales, np.bool_),
        )  # fmt: skip
        self.state = State.initial(
            r, per_node(initial_inventory), per_node(initial_flow), lanes.mail_delay.tolist(),
            lanes.ship_delay.tolist(), per_node(window, int).tolist(), max_extra_delay, lanes.share, lanes.to,
        )  # fmt: skip
        count = len(lanes.to)
        self.run = ChainRun.zeros(r, weeks, nodes, count)
        self.normal = Disruptions(np.full(nodes, np.inf), np.zeros(count, dtype=np.int64), np.zeros(nodes))

    def week(self, t: int, capacity=None, extra_delay=None, lost_share=None) -> None:
        """Advance one week (demand: `self.demand[:, t]`) with its disruptions (None: none of that kind):
        per node `capacity` and `lost_share`, per lane `extra_delay`."""
        normal = self.normal
        disruptions = Disruptions(
            normal.capacity if capacity is None else capacity,
            normal.extra_delay if extra_delay is None else extra_delay,
            normal.lost_share if lost_share is None else lost_share,
        )
        chain_week(t, self.demand[:, t], self.parameters, disruptions, self.state, self.run)


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
