"""Each customer's own rate per transaction type, from PaySim's real client profiles (`activity_by_type`).

In the real month a type has its own clients: 2 % of them cash in, most over 100 times a month; most
cash out once or twice. One activity rate per customer split by one type mix cannot show that (every
customer would cash in now and then). Here each type draws, per customer, whether it is one of the
type's clients and at what monthly rate, from the law deconvolved from PaySim's clientsProfiles.csv
(`paysim_client_rates.csv`: Poisson counts of those rates fall in the profile's bins as the real ones
do). The customers' `transactions_per_day` still sets the volume; the rates only say who makes it.

Pay (the `income` TRANSFERs from employers) goes to customers in proportion to what they are expected
to spend beyond what they cash in, so a customer's ledger roughly balances over the month.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from sim.domains.payments import profiles
from sim.domains.payments.customers import TX_TYPES, Customers

PAY = "pay"
GROUPS = (*TX_TYPES, PAY)  # who makes a customer's rows: one law per type, and its pay
MONTH_DAYS = 30.0  # the profiles count a client's transactions over a month
CASH_IN = TX_TYPES.index("CASH_IN")
# No reference gives the joint law of a client's types; busy customers are busy in every type (a latent
# normal, correlation 0.8): of 0, 0.5, 0.8 and 0.95, 0.8 gave paysim_month the fewest declines at scale 0.25
CORRELATION = 0.8


@cache
def rate_laws() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per type: (monthly rates, their probabilities) of one of its potential clients."""
    table = profiles.read_table("paysim_client_rates.csv")
    laws = {}
    for t in dict.fromkeys(table["type"]):  # each type's rows, in the table's order
        rows = table["type"] == t
        laws[t] = (table["monthly_rate"][rows], table["weight"][rows] / table["weight"][rows].sum())
    return laws


def volume_shares(spec: Customers) -> dict[str, float]:
    """Each group's share of the customers' volume: the type mix (the real month's, or `type_mix`), with
    the TRANSFERs that are pay (`income_share`) apart."""
    if spec.rhythm.month:
        by_type = profiles.month_arrays()[0].sum(axis=0)
    else:
        mix = spec.type_mix or profiles.default_type_mix()
        by_type = np.array([mix.get(t, 0.0) for t in TX_TYPES])
    by_type = by_type / by_type.sum()
    out = dict(zip(TX_TYPES, by_type.tolist(), strict=True))
    out[PAY] = out["TRANSFER"] * spec.income_share
    out["TRANSFER"] -= out[PAY]
    return out


def group_rates(spec: Customers, volume: float, activity: np.ndarray, amount_scale: np.ndarray,
                rng: np.random.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    """Per group, each customer's rate per day; each group's rates sum to its share of `volume` (the
    customers' rows per day). A type's clients are a share u of the customers: its expected count per
    customer over the law's mean (when the population is too small for that, u > 1, every customer is
    a client and the rates are scaled up by u). A customer's rank in each type's law follows a latent
    busyness shared by its types (`CORRELATION`). `activity` multiplies the drawn rates (segments)."""
    customers = len(activity)
    shares = volume_shares(spec)
    laws = rate_laws()
    out: dict[str, np.ndarray] = {}
    from scipy.special import ndtr  # only scenarios that draw clients per type need SciPy

    common = rng.standard_normal(customers)  # how busy a customer is, whatever the type
    for t in TX_TYPES:
        rates, weights = laws[t]
        expected = volume * MONTH_DAYS * shares[t] / max(customers, 1)
        u = min(expected / float(rates @ weights), 1.0)
        scale = expected / float(rates @ weights) / u if u > 0 else 0.0
        own = rng.standard_normal(customers)
        rank = ndtr(CORRELATION * common + np.sqrt(1.0 - CORRELATION**2) * own)
        client = rank > 1.0 - u  # the busiest u of the customers, each at its rank's rate of the law
        at = np.searchsorted(np.cumsum(weights), (rank - (1.0 - u)) / max(u, 1e-300), side="right")
        drawn = rates[np.minimum(at, len(rates) - 1)] * scale
        out[t] = _scaled(np.where(client, drawn, 0.0) * activity, volume * shares[t], activity)
    means = [(spec.amounts.get(t) or profiles.default_amount(t)).mean * spec.amount_factor.get(t, 1.0)
             for t in TX_TYPES]  # fmt: skip
    spend = sum(out[t] * means[i] for i, t in enumerate(TX_TYPES) if i != CASH_IN)
    need = np.maximum(spend - out["CASH_IN"] * means[CASH_IN], 0.0) * amount_scale
    out[PAY] = _scaled(need, volume * shares[PAY], activity)
    return out


def _scaled(weights: np.ndarray, total: float, fallback: np.ndarray) -> np.ndarray:
    """`weights` scaled to sum to `total`; when none is positive (a population too small to hold one
    of the type's clients), `fallback`'s."""
    if total <= 0:
        return np.zeros_like(weights)
    if weights.sum() <= 0:
        weights = fallback if fallback.sum() > 0 else np.ones_like(weights)
    return weights * (total / weights.sum())
