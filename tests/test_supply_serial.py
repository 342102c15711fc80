"""The beer game board: Sterman's published benchmark exactly, stock conservation, amplification."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domains.supply.serial import beer_game


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
