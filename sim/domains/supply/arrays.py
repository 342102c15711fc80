"""What the supply kernel (`sim.domains.supply.chain.chain_week`) reads and writes, as named tuples of
arrays Numba compiles against: the network's fixed `Parameters`, a week's `Disruptions`, the `State`
carried from week to week and the `ChainRun` series; and the `Lanes` a network is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Parameters(NamedTuple):
    """A network and its policies, fixed for a run (see `chain_week` for each field's meaning)."""

    lane_from: np.ndarray
    lane_to: np.ndarray
    out_start: np.ndarray
    out_lanes: np.ndarray
    in_start: np.ndarray
    in_lanes: np.ndarray
    share: np.ndarray
    lane_capacity: np.ndarray
    via: np.ndarray
    theta: np.ndarray
    alpha_s: np.ndarray
    beta: np.ndarray
    s_prime: np.ndarray
    policy: np.ndarray
    window: np.ndarray
    cover: np.ndarray
    safety: np.ndarray
    reorder: np.ndarray
    target: np.ndarray
    quantity: np.ndarray
    period: np.ndarray
    mail_delay: np.ndarray
    ship_delay: np.ndarray
    initial_flow: np.ndarray
    fixed_weeks: int
    holding_cost: np.ndarray
    backlog_cost: np.ndarray
    lost_sales: np.ndarray


class Disruptions(NamedTuple):
    """One week's disruptions: per node the most it can ship (inf when normal) and the share of its stock
    destroyed as the week starts; per lane the weeks added to goods sent on it."""

    capacity: np.ndarray
    extra_delay: np.ndarray
    lost_share: np.ndarray


class State(NamedTuple):
    """What a network carries from week to week, for R replicates: stock, backlog, forecasts, and per
    lane what is owed, in the mail, on the way and held."""

    inv: np.ndarray
    ext_back: np.ndarray
    owed: np.ndarray
    expected: np.ndarray
    mail: np.ndarray
    pipe: np.ndarray
    held: np.ndarray
    history: np.ndarray

    @classmethod
    def initial(cls, replicates: int, initial_inventory, initial_flow, mail_delay, ship_delay, window,
                max_extra_delay: int = 0, share=None, to=None) -> State:  # fmt: skip
        """Pipelines have room for `max_extra_delay` more weeks than the longest shipping delay; the
        initial flow (times each lane's share) fills every slot of the mail and pipelines."""
        nodes, lanes = len(initial_inventory), len(mail_delay)
        share = np.ones(lanes) if share is None else share
        to = np.arange(lanes) if to is None else to
        initial_flow = np.broadcast_to(np.asarray(initial_flow, dtype=np.float64), (nodes,))
        expected = np.tile(initial_flow, (replicates, 1))
        state = cls(
            inv=np.tile(np.asarray(initial_inventory, dtype=np.float64), (replicates, 1)),
            ext_back=np.zeros((replicates, nodes)),
            owed=np.zeros((replicates, lanes)),
            expected=expected,
            mail=np.zeros((replicates, lanes, max(max(mail_delay), 1))),
            pipe=np.zeros((replicates, lanes, max(ship_delay) + max_extra_delay + 1)),
            held=np.zeros((replicates, lanes)),
            history=np.repeat(expected[:, :, None], max(max(window), 1), axis=2),
        )
        for lane in range(lanes):  # each lane carries its share of the initial flow
            state.mail[:, lane, : mail_delay[lane]] = initial_flow[to[lane]] * share[lane]
            state.pipe[:, lane, : ship_delay[lane]] = initial_flow[to[lane]] * share[lane]
        return state


class ChainRun(NamedTuple):
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
    lost_sales: np.ndarray  # customers' demand not filled at a node whose customers do not wait
    lane_orders: np.ndarray  # [R, T, L] each lane's share of its node's order
    lane_shipped: np.ndarray  # [R, T, L] goods sent on each lane

    @classmethod
    def zeros(cls, replicates: int, weeks: int, nodes: int, lanes: int) -> ChainRun:
        per_node = {name: np.zeros((replicates, weeks, nodes)) for name in cls._fields[:12]}
        return cls(**per_node, lane_orders=np.zeros((replicates, weeks, lanes)),
                   lane_shipped=np.zeros((replicates, weeks, lanes)))  # fmt: skip

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
