"""The supply dataset card's text (`sim.engine.world.CardText`)."""

from __future__ import annotations

from sim.engine.world import CardText

TIMESERIES = {
    "t": "the step (0-based)",
    "date": "the step's start (UTC)",
    "node": "the node (store, DC, factory, ...)",
    "product": "the product",
    "demand": "end customers' orders at this node this step (units)",
    "orders_placed": "units the node ordered from its suppliers",
    "orders_received": "units its customers (or downstream nodes) ordered from it",
    "shipped": "units it sent out",
    "received": "units that arrived",
    "inventory": "units on hand at the end of the step",
    "backlog": "units owed to customers at the end of the step",
    "in_transit": "units on their way to it",
    "lost": "units destroyed (an outage's damage)",
    "lost_sales": "demand that went unmet and left (where `unmet_demand: lost`)",
    "cost": "the node's cost this step (holding, backlog, purchase, ordering, transport)",
}


def figures(kpis: dict) -> list[tuple[str, str]]:
    total = kpis["total"]
    rows = [("fill rate (units filled at once)", f"{100 * total['fill_rate']:.1f} %"),
            ("total cost", f"{kpis['team_cost']:,.0f}"),
            ("lost sales (units)", f"{total['lost_sales']:,.0f}"),
            ("mean inventory (units)", f"{total['mean_inventory']:,.0f}")]  # fmt: skip
    for d in kpis["disruptions"]:
        recover = "not cleared" if d["time_to_recover"] is None else f"{d['time_to_recover']} steps"
        rows.append(
            (f"disruption {d['event']} ({d['kind']})", f"peak shortage {d['impact']:,.0f}; {recover}")
        )
    return rows


CARD = CardText(
    columns={"timeseries": TIMESERIES},
    figures=figures,
    intended=(
        "stress-testing inventory policies and network designs against disruptions, with the same draws "
        "for every strategy",
        "training and testing forecasting, anomaly-detection and planning models on series with known causes",
        "teaching the bullwhip effect and recovery from disruptions",
    ),
    unintended=(
        "forecasting a real network's demand or costs without calibrating the scenario to it",
        "reading the costs as prices: they are the scenario's parameters",
    ),
    limitations=("one echelon's decisions follow its policy exactly: no human judgement or expediting",),
)
