"""The payments dataset card's text (`sim.engine.world.CardText`): what each column means, the label
figures a reader checks first, and what the data are and are not for."""

from __future__ import annotations

from sim.engine.world import CardText

TRANSACTIONS = {
    "step": "the step of the run the row settled in (0-based; PaySim's `step` counts hours from 1)",
    "timestamp": "when it settled (UTC, microseconds); rows are in time order within a step",
    "type": "CASH_IN, CASH_OUT, DEBIT, PAYMENT or TRANSFER (PaySim's types)",
    "amount": "money moved (the currency of the scenario's amounts); a declined row's is what was tried",
    "origin": "the paying account's id (random: an id never tells a role)",
    "dest": "the receiving account's id",
    "origin_balance_before": "the payer's balance before the row",
    "origin_balance_after": "the payer's balance after it (below zero only within a granted overdraft)",
    "dest_balance_before": "the payee's balance before the row",
    "dest_balance_after": "the payee's balance after it",
    "declined": "true: tried beyond the payer's balance and overdraft, nothing moved",
    "is_fraud": "label: the row is part of a fraud incident",
    "fraud_type": "label: its typology (account_takeover, app_scam, card_theft, card_testing, bust_out)",
    "campaign_id": "label: the calendar event (a fraud-ring wave) that caused it, else null",
    "is_laundering": "label: the row is part of a laundering pattern",
    "typology": "label: the laundering pattern's shape (fan_in, fan_out, cycle, scatter_gather, ...)",
    "pattern_id": "label: the incident or pattern it belongs to (see patterns)",
    "category": "the merchant category of a card purchase, else null",
}
ACCOUNTS = {
    "account": "the account's id (as in origin and dest)",
    "population": "the scenario population it belongs to",
    "role": "customer, merchant, bank or mule",
    "category": "a merchant's category, else null",
    "opening_balance": "balance at the start",
    "overdraft_limit": "how far below zero it may go (null: no limit)",
    "closing_balance": "balance at the end",
    "transactions_per_day": "its expected activity (the rate its payments are drawn at)",
    "amount_scale": "its spending level (multiplies its amounts)",
    "age": "customer's age (census demographics), else null",
    "gender": "customer's gender (census demographics), else null",
    "state": "customer's US state (census demographics), else null",
    "urban": "whether the customer lives in a city (census demographics), else null",
    "name": "customer's made-up name (profile fields), else null",
    "email": "customer's made-up e-mail address (profile fields), else null",
    "phone": "customer's made-up phone number (profile fields), else null",
    "is_fraudster": "label: an account fraudsters control",
    "is_mule": "label: a money mule",
    "is_victim": "label: robbed at least once",
    "is_laundering": "label: used to launder",
    "*": "a customer attribute the scenario declares (its `segments`), else null",
}
PATTERNS = {
    "pattern_id": "the incident or pattern (as in the transactions' pattern_id)",
    "kind": "fraud or laundering",
    "typology": "its typology",
    "account": "an account taking part",
    "member_role": "its part (victim, mule, source, hub, sink, ...)",
    "campaign_id": "the calendar event that caused it, else null",
    "start": "when it began",
}


def figures(kpis: dict) -> list[tuple[str, str]]:
    n = kpis["transactions"]
    rows = [("transactions", f"{n:,}"), ("declined", _share(kpis["declined"], n))]
    fraud, laundering = kpis["fraud"], kpis["laundering"]
    rows.append(("fraud rows", _share(fraud["transactions"], n)))
    rows += [(f"fraud: {name}", _share(count, n)) for name, count in fraud["by_type"].items()]
    rows.append(("laundering rows", _share(laundering["transactions"], n)))
    rows += [(f"laundering: {name}", _share(count, n)) for name, count in laundering["by_typology"].items()]
    rows.append(("money conserved (closing minus opening total)", f"{kpis['money']['difference']:.2f}"))
    fit = kpis.get("paysim_fit")
    if fit:
        worst = max((v for v in fit["nrmse_count"].values() if v is not None), default=None)
        if worst is not None:
            rows.append(
                ("fidelity: hourly count NRMSE against PaySim's real month (worst type)", f"{worst:.3f}")
            )
    return rows


def _share(count: int, n: int) -> str:
    return f"{count:,} ({100 * count / n:.3f} % of rows)" if n else f"{count:,}"


CARD = CardText(
    columns={"transactions": TRANSACTIONS, "accounts": ACCOUNTS, "patterns": PATTERNS},
    figures=figures,
    intended=(
        "training, tuning and benchmarking fraud and anti-money-laundering detectors, with ground truth "
        "for every row, account and incident",
        "testing data pipelines, alert rules and case tools on realistic volumes without customer data",
        "teaching: how typologies look in a ledger (sequence, timing, graph shape)",
    ),
    unintended=(
        "estimating real fraud or laundering prevalence, losses or trends: rates are the scenario's choices",
        "decisions about real people (credit, onboarding, investigation): no row describes a real person",
        "claiming a detector's real-world performance from this data alone: validate on real data",
    ),
    limitations=(
        "behaviour comes from the scenario's rules and the references it names; what they leave out is "
        "absent (e.g. seasonality beyond the horizon, real merchants' identities)",
        "labels are exact: real labels are late, partial and noisy",
    ),
)
