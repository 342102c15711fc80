"""Payments: mobile money (PaySim) and card payments (BankSim/Sparkov) with fraud and AML labels.

The registry reads `DOMAIN`; the world and its kernels are imported only when a run needs them.
"""

from __future__ import annotations

from sim.domains.payments.card import CARD
from sim.domains.payments.checks import check_scenario
from sim.domains.payments.scenario import PaymentsScenario, check_data
from sim.engine.world import Domain, Format


def _paysim_view(world):
    """PaySim1's 11 columns, with each id named as a merchant's or a client's by this world's accounts."""
    from functools import partial

    from sim.domains.payments.records import paysim_view

    return partial(paysim_view, is_merchant=world.is_merchant)


DOMAIN = Domain(
    name="payments",
    scenario=PaymentsScenario,
    world="sim.domains.payments.world:PaymentsWorld",
    table="transactions",
    labels={
        "transactions": (
            "is_fraud",
            "fraud_type",
            "campaign_id",
            "is_laundering",
            "typology",
            "pattern_id",
            "isFraud",
            "isFlaggedFraud",
        ),  # the last two: PaySim's CSV names
        "accounts": ("is_fraudster", "is_mule", "is_victim", "is_laundering"),
    },
    formats={"paysim-csv": Format(base="csv", view=_paysim_view, quoted=False)},
    check_data=check_data,
    check_scenario=check_scenario,
    card=CARD,
)
