"""The beer game board: Sterman's published benchmark exactly, stock conservation, amplification."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domains.supply.arrays import Lanes
from sim.domains.supply.chain import ORDER_UP_TO, R_Q, S_S, STERMAN, T_Q, Chain, beer_game, run_chain


def test_sterman_benchmark_costs_exactly():
    """Edali & Yasarcan (2014) / Sterman (1989): theta 0, alpha_s 1, beta 1, S' 28/28/28/20."""
    run = beer_game(theta=0, alpha_s=1, beta=1, s_prime=(28, 28, 28, 20))
    assert run.cost_by_node[0].tolist() == [46.0, 50.0, 54.0, 54.0]
    assert run.team_cost[0] == 204.0


def test_the_board_starts_in_equilibrium():
    """With demand held at 4 and S' = on hand + supply line (12 + 12, factory 12 + 8), nothing moves:
    12 on hand everywhere, every flow 4, cost 6 a week each."""
    run = beer_game(theta=0, alpha_s=1, beta=1, s_prime=(24, 24, 24, 20), demand=np.full(36, 4.0))
    assert (run.inventory == 12).all() and (run.backlog == 0).all() and (run.orders == 4).all()
    assert run.team_cost[0] == 36 * 4 * 6.0


params = st.floats(0, 1)


@settings(max_examples=40, deadline=None)
@given(
    theta=params, alpha=params, beta=st.floats(0, 1.2), s_prime=st.floats(0, 40),
    demand=st.lists(st.integers(0, 20), min_size=36, max_size=36),
)  # fmt: skip
def test_stock_is_conserved_along_the_chain(theta, alpha, beta, s_prime, demand):
    run = beer_game(theta=theta, alpha_s=alpha, beta=beta, s_prime=s_prime, demand=np.array(demand, float))
    inv, back, shipped, received, orders = (x[0] for x in (run.inventory, run.backlog, run.shipped,
                                                             run.received, run.orders))  # fmt: skip
    assert (inv >= 0).all() and (back >= 0).all() and (orders >= 0).all()
    assert np.array_equal(orders, np.round(orders))
    # each node's stock: last week's + what arrived - what it shipped
    before = np.vstack([np.full((1, 4), 12.0), inv[:-1]])
    assert np.array_equal(inv, before + received - shipped)
    # nothing is lost in transit: what a supplier ships arrives two weeks later; the pipeline starts at 4
    assert (received[:2] == 4).all()
    assert np.array_equal(received[2:, :3], shipped[:-2, 1:])
    # the factory's production arrives three weeks after it is ordered
    assert np.array_equal(received[3:, 3], orders[:-3, 3])
    # the retailer never ships more than the customer asked for in total
    assert shipped[:, 0].sum() <= sum(demand)


def test_mean_human_players_amplify_orders_upstream():
    """Sterman's subject means (theta .36, alpha_s .26, beta .34, S' 17): the bullwhip effect."""
    run = beer_game()
    peaks = run.orders[0].max(axis=0)
    assert 8 < peaks[0] < peaks[1] < peaks[2] < peaks[3]
    assert run.team_cost[0] > 10 * 204


@pytest.mark.parametrize("replicates", [1, 7])
def test_replicates_are_independent_runs_of_their_own_parameters(replicates):
    rng = np.random.default_rng(replicates)
    s_prime = rng.uniform(10, 30, (replicates, 4))
    together = beer_game(s_prime=s_prime, replicates=replicates)
    for r in range(replicates):
        alone = beer_game(s_prime=s_prime[r])
        assert np.array_equal(together.orders[r], alone.orders[0])


def order_up_to_chain(demand, nodes, window=0, alpha=0.0, cover=4.0):
    """Order-up-to nodes (no warm-up orders) facing i.i.d. demand; the last orders from the source."""
    return run_chain(
        demand, theta=alpha, alpha_s=0, beta=0, s_prime=0, mail_delay=[1] * nodes, ship_delay=[1] * nodes,
        initial_inventory=cover * 200, initial_flow=200, fixed_weeks=0, holding_cost=1, backlog_cost=1,
        policy=ORDER_UP_TO, window=window, cover=cover,
    )  # fmt: skip


def ratio(run, node, burn=100):
    orders = run.orders[0, burn:, node]
    received = run.incoming[0, burn:, 0]
    return orders.var() / received.var()


@pytest.mark.parametrize(
    ("window", "alpha", "bound"),
    [(5, 0.0, 1 + 2 * 4 / 5 + 2 * 16 / 25), (0, 0.36, 1 + 2 * 4 * 0.36 + 2 * 16 * 0.36**2 / (2 - 0.36))],
    ids=["moving-average", "exponential-smoothing"],
)
def test_order_up_to_bullwhip_meets_chen_et_al(window, alpha, bound):
    """Chen et al. (2000): with i.i.d. demand an order-up-to policy over a p-period moving average (or
    smoothing weight alpha) amplifies variance by 1 + 2L/p + 2L^2/p^2 (resp. 1 + 2La + 2L^2a^2/(2-a));
    bullwhip_targets.csv: 3.88 for L 4, p 5 and 6.41 for L 4, alpha 0.36."""
    weeks = 40_000
    demand = np.random.default_rng(3).normal(200, 20, weeks)[None, :]
    run = order_up_to_chain(demand, nodes=1, window=window, alpha=alpha)
    tolerance = 5 * np.sqrt(2 * 2 / weeks) * bound  # sampling error of a variance ratio, autocorrelation x2
    assert round(bound, 2) in (3.88, 6.41)
    assert ratio(run, 0) >= bound - tolerance
    assert ratio(run, 0) == pytest.approx(bound, abs=tolerance)


def test_decentralised_order_up_to_chain_multiplies_the_bullwhip():
    """Chen et al. (2000), decentralised multistage: Var(q_k)/Var(D) >= prod_i (1 + 2L/p + 2L^2/p^2)."""
    weeks = 40_000
    demand = np.random.default_rng(4).normal(200, 10, weeks)[None, :]
    run = order_up_to_chain(demand, nodes=2, window=5, cover=2.0)
    stage = 1 + 2 * 2 / 5 + 2 * 4 / 25
    tolerance = 5 * np.sqrt(4 / weeks) * stage**2
    assert ratio(run, 0) == pytest.approx(stage, abs=tolerance / stage)
    assert ratio(run, 1) >= stage**2 - tolerance


def single_node(policy, demand, **params):
    """One stocking node (mail 1, ship 1) ordering from the source; returns (orders, position before
    ordering) per step. The inventory position only moves by demand (down) and orders (up)."""
    run = run_chain(
        np.asarray(demand, float)[None, :], theta=0, alpha_s=0, beta=0, s_prime=0, mail_delay=[1],
        ship_delay=[1], initial_inventory=100, initial_flow=0, fixed_weeks=0, holding_cost=1, backlog_cost=1,
        policy=policy, **params,
    )  # fmt: skip
    orders = run.orders[0, :, 0]
    after = 100 + np.cumsum(orders - np.asarray(demand, float))
    return orders, after - orders


@settings(max_examples=30, deadline=None)
@given(
    s=st.integers(0, 100),
    extra=st.integers(0, 200),
    demand=st.lists(st.integers(0, 60), min_size=5, max_size=60),
)
def test_s_S_orders_up_to_S_exactly_when_at_or_below_s(s, extra, demand):
    orders, position = single_node(S_S, demand, reorder=s, target=s + extra)
    low = position <= s
    assert np.array_equal(orders[low], (s + extra) - position[low])
    assert (orders[~low] == 0).all()


@settings(max_examples=30, deadline=None)
@given(
    r=st.integers(0, 100), q=st.integers(1, 80), demand=st.lists(st.integers(0, 60), min_size=5, max_size=60)
)
def test_R_Q_orders_whole_lots_until_above_R(r, q, demand):
    orders, position = single_node(R_Q, demand, reorder=r, quantity=q)
    assert (orders % q == 0).all()
    low = position <= r
    assert (orders[~low] == 0).all()
    assert (position[low] + orders[low] > r).all() and (position[low] + orders[low] - q <= r).all()


def test_T_Q_orders_Q_every_T_steps():
    orders, _ = single_node(T_Q, np.full(20, 10), period=3, quantity=25)
    assert orders.tolist() == [25 if t % 3 == 0 else 0 for t in range(20)]


@settings(max_examples=30, deadline=None)
@given(
    lead=st.integers(1, 5), s=st.integers(0, 100), extra=st.integers(1, 200),
    demand=st.lists(st.integers(0, 60), min_size=8, max_size=60),
)  # fmt: skip
def test_orders_straight_to_the_source_arrive_after_the_shipping_delay(lead, s, extra, demand):
    """mail_delay 0: the source ships in the step the order is placed; stock is conserved."""
    demand = np.asarray(demand, float)
    run = run_chain(
        demand[None, :], theta=0, alpha_s=0, beta=0, s_prime=0, mail_delay=[0], ship_delay=[lead],
        initial_inventory=50, initial_flow=0, fixed_weeks=0, holding_cost=1, backlog_cost=1, policy=S_S,
        reorder=s, target=s + extra,
    )  # fmt: skip
    orders, received, shipped, inv, back, sold, in_transit = (
        x[0, :, 0] for x in (run.orders, run.received, run.shipped, run.inventory, run.backlog, run.sold,
                             run.in_transit)
    )  # fmt: skip
    assert (received[:lead] == 0).all() and np.array_equal(received[lead:], orders[:-lead])
    placed = np.concatenate([np.zeros(lead - 1), orders])
    assert np.array_equal(in_transit, [placed[t : t + lead].sum() for t in range(len(demand))])
    assert np.array_equal(inv, 50 + np.cumsum(received - shipped))
    assert np.array_equal(shipped, sold)  # a node with no customer nodes ships only to customers
    assert np.allclose(back, np.cumsum(demand - sold))  # what customers asked for, shipped or owed


@settings(max_examples=40, deadline=None)
@given(data=st.data(), nodes=st.integers(2, 5), weeks=st.integers(5, 40))
def test_stock_is_conserved_on_random_networks_with_dual_sourcing(data, nodes, weeks):
    """Any network (node i's lanes come from higher-numbered nodes or the source), any lane capacities
    and delays: every unit is on hand, on the way, delivered to customers, or destroyed."""
    source, to, share, mail, ship, cap = [], [], [], [], [], []
    for i in range(nodes):
        suppliers = data.draw(st.lists(st.integers(i + 1, nodes), min_size=1, max_size=2, unique=True))
        for j in suppliers:
            source.append(j if j < nodes else -1)
            to.append(i)
            share.append(1.0 / len(suppliers))
            mail.append(data.draw(st.integers(0 if j == nodes else 1, 3)))
            ship.append(data.draw(st.integers(1, 4)))
            cap.append(data.draw(st.sampled_from([np.inf, 5.0, 20.0])))
    lanes = Lanes.build(source, to, share, mail, ship, cap)
    demand = np.asarray(data.draw(st.lists(st.integers(0, 30), min_size=weeks, max_size=weeks)), float)
    per_node = np.zeros((1, weeks, nodes))
    per_node[0, :, 0] = demand
    policy = data.draw(st.sampled_from([STERMAN, S_S, R_Q]))
    chain = Chain(per_node, theta=0.3, alpha_s=0.5, beta=0.5, s_prime=40, initial_inventory=25,
                  initial_flow=4, fixed_weeks=2, holding_cost=1, backlog_cost=2, lanes=lanes, nodes=nodes,
                  policy=policy, reorder=15, target=60, quantity=20)  # fmt: skip
    for t in range(weeks):
        lost = np.where(np.arange(nodes) == t % nodes, 0.1, 0.0) if t == weeks // 2 else None
        chain.week(t, lost_share=lost)
    r = chain.run
    inv, shipped, received, lost, sold = (x[0] for x in (r.inventory, r.shipped, r.received, r.lost, r.sold))
    before = np.vstack([np.full((1, nodes), 25.0), inv[:-1]])
    assert np.allclose(inv, before + received - shipped - lost) and (inv >= -1e-9).all()
    out = np.zeros((weeks, nodes))  # what each node sent down its lanes
    for lane, j in enumerate(lanes.source):
        if j >= 0:
            out[:, j] += r.lane_shipped[0, :, lane]
    assert np.allclose(shipped, sold + out)
    assert (r.lane_shipped[0] <= lanes.capacity + 1e-9).all()
    # everything sent on a lane (plus the initial flow in its pipeline) has arrived or is on the way
    for i in range(nodes):
        into = np.flatnonzero(lanes.to == i)
        preloaded = sum(4 * lanes.share[lane] * lanes.ship_delay[lane] for lane in into)
        sent = r.lane_shipped[0][:, into].sum() + preloaded
        assert np.isclose(sent, received[:, i].sum() + r.in_transit[0, -1, i])
    assert sold[:, 0].sum() <= demand.sum() + 1e-9
