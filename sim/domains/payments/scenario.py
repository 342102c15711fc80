"""Payments scenarios (domain `payments`): populations of account holders, merchants, banks, mules,
fraudsters and launderers, fraud-ring campaigns in the calendar, and the checks across them.

Defaults come from PaySim's real aggregated month (sim/domains/payments/data/); card-world categories and
amounts are the scenario's to set. Fraud and AML typologies are populations with a `typology` tag.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from sim.dists import Dist, KernelDist, LogNormal, Uniform
from sim.domains.payments.customers import Customers
from sim.scenario.calendar import CalendarEvent
from sim.scenario.schema import OutputsBase, ScenarioBase
from sim.scenario.semantics import reference_problem, text
from sim.scenario.types import (
    CEILING,
    Count,
    IntRange,
    Name,
    NonNegative,
    Rate,
    Share,
    Span,
    Spec,
    tagged_union,
)

AmlTypology = Literal[
    "fan_in", "fan_out", "cycle", "bipartite", "stack", "random", "scatter_gather", "gather_scatter",
    "structuring",
]  # fmt: skip
AML_TYPOLOGIES = get_args(AmlTypology)  # codes are positions in these tuples
FRAUD_TYPES = ("account_takeover", "card_theft", "card_testing", "app_scam", "bust_out")


class Category(Spec):
    """A merchant category: its share of purchases (and of merchants) and its amount law."""

    weight: Annotated[float, Field(gt=0, le=CEILING, allow_inf_nan=False)]
    amount: KernelDist


class Merchants(Spec):
    """Merchants and cash agents: receive payments, pay out and take in cash; never decline."""

    role: Literal["merchant"]
    count: Count
    opening_balance: Dist = LogNormal(mean=5_000_000, std=2_000_000)
    categories: dict[Name, Category] | None = None

    @model_validator(mode="after")
    def _enough(self):
        if self.categories and len(self.categories) > min(self.count, 120):
            raise ValueError("at most one category per merchant (and at most 120 categories)")
        return self


class Banks(Spec):
    """Banks receive DEBIT transactions (without one, merchants do)."""

    role: Literal["bank"]
    count: Count
    opening_balance: Dist = LogNormal(mean=50_000_000, std=10_000_000)


class Mules(Spec):
    """Accounts that receive stolen funds and cash them out: `among` a customer population, ordinary
    customers recruited as mules (their own balances, activity and limits: being a mule is what they
    do with stolen money, not all they do); without it, dedicated accounts that open empty."""

    role: Literal["mule"]
    count: Count
    cash_out_share: Share = 1.0
    among: Name | None = None


class _Fraud(Spec):
    role: Literal["fraudster"]
    count: Count


class _Attacks(_Fraud):
    """Incidents arrive at `attacks_per_day` per fraudster, each against one of `victims`: of `reach`
    accounts drawn by activity (people who use the service are the ones phished), the one holding the
    most when the incident starts. `timing: rhythm` spreads them over the day like the victims' own
    activity (so quiet hours are not a fraud tell, as they are in PaySim), `uniform` evenly (a botnet
    that never sleeps)."""

    attacks_per_day: Rate
    victims: Name
    timing: Literal["rhythm", "uniform"] = "rhythm"
    reach: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1


class AccountTakeover(_Attacks):
    """A thief in a customer's account takes the money out by one of its `route`s (weights): `mule`, to
    a mule who cashes out (PaySim's only route); `cash_out`, straight from the victim at a cash agent;
    `purchases`, goods and airtime bought from the victim's account within `span`. A transfer or cash-
    out moves what a customer would move then (that type's amounts, that hour), or all there is when
    that is less (PaySim: always all of it, a tell a thief avoids: big round sums get noticed)."""

    typology: Literal["account_takeover"] = "account_takeover"
    mules: Name
    route: dict[Literal["mule", "cash_out", "purchases"], NonNegative] = Field(
        default_factory=lambda: {"mule": 1.0}
    )
    purchases: IntRange = (1, 4)
    span: Span = timedelta(hours=6)

    @model_validator(mode="after")
    def _some_route(self):
        if sum(self.route.values()) <= 0:
            raise ValueError("'route' needs at least one positive weight")
        return self


class AppScam(_Attacks):
    """Authorised push payment: the victim is talked into sending part of the balance to a mule."""

    typology: Literal["app_scam"]
    mules: Name
    payments: IntRange = (1, 3)
    share: KernelDist = Uniform(low=0.2, high=0.6)
    span: Span = timedelta(hours=12)


class CardTheft(_Attacks):
    """BankSim: a stolen or cloned card is used in a burst of purchases before it is blocked."""

    typology: Literal["card_theft"]
    purchases: IntRange = (3, 12)
    amount_multiplier: Annotated[float, Field(gt=0, le=1000)] = 3.0
    span: Span = timedelta(hours=3)
    categories: dict[Name, NonNegative] | None = None  # where thieves buy (weights); default: as customers


class CardTesting(_Attacks):
    """Small probe purchases check that a card works, then large spends follow."""

    typology: Literal["card_testing"]
    probes: IntRange = (3, 8)
    probe_amount: KernelDist = Uniform(low=0.5, high=5.0)
    spends: IntRange = (1, 4)
    spend_amount: KernelDist = LogNormal(mean=900, std=600)
    delay: Span = timedelta(hours=2)
    span: Span = timedelta(hours=1)
    probe_categories: dict[Name, NonNegative] | None = (
        None  # where probes go (weights); default: as customers
    )
    spend_categories: dict[Name, NonNegative] | None = None  # ... and the spends


class BustOut(_Fraud):
    """First-party fraud: accounts that behave normally, get credit, then max it out and vanish.
    `count` accounts of `accounts` are the fraudsters; each busts out once, at a random time."""

    typology: Literal["bust_out"]
    accounts: Name
    credit_limit: Annotated[float, Field(gt=0, le=CEILING, allow_inf_nan=False)] = 5_000.0
    purchases: IntRange = (4, 10)
    span: Span = timedelta(hours=24)


FRAUD_CLASSES = (AccountTakeover, AppScam, CardTheft, CardTesting, BustOut)


Fraudsters = tagged_union(
    "typology",
    "account_takeover",  # PaySim's one typology
    {
        "account_takeover": AccountTakeover,
        "app_scam": AppScam,
        "card_theft": CardTheft,
        "card_testing": CardTesting,
        "bust_out": BustOut,
    },
)


class Launderers(Spec):
    """AML patterns (AMLSim/AMLworld shapes) run through ordinary accounts of `accounts`.

    Each pattern starts with cash placed into its sources, then moves it along its shape within `spread`,
    each hop keeping `1 - fee` of what it received. Structuring deposits just under `threshold`. Then
    the money leaves by the `exit` weights: `stay` (AMLSim: it rests in the sinks), `cash_out` (each sink
    cashes out what it received) or `purchases` (each sink spends it in two to five purchases). Rows
    fall in the hours the customers are active (the rhythm), not uniformly around the clock.
    """

    role: Literal["launderer"]
    typology: AmlTypology
    patterns: Count
    accounts: Name
    size: IntRange = (3, 8)
    amount: KernelDist = LogNormal(mean=60_000, std=40_000)
    spread: Span = timedelta(days=3)
    layers: Annotated[int, Field(ge=2, le=10, strict=True)] = 3
    hops: IntRange = (4, 10)
    fee: Annotated[float, Field(ge=0, lt=1)] = 0.02
    threshold: Annotated[float, Field(gt=0, le=CEILING, allow_inf_nan=False)] = 10_000.0
    margin: Annotated[float, Field(gt=0, lt=1)] = 0.1
    exit: dict[Literal["stay", "cash_out", "purchases"], NonNegative] = Field(
        default_factory=lambda: {"stay": 1.0}
    )

    @model_validator(mode="after")
    def _some_exit(self):
        if sum(self.exit.values()) <= 0:
            raise ValueError("'exit' needs at least one positive weight")
        return self


Population = Annotated[
    Customers | Merchants | Banks | Mules | Fraudsters | Launderers, Field(discriminator="role")
]
ACCOUNT_HOLDERS = (Customers, Merchants, Banks, Mules)
"""Populations that own accounts of their own (fraudsters and launderers act through others')."""


class FraudRingAttack(CalendarEvent):
    """A coordinated campaign: the population's attack rate is multiplied by `intensity` for `duration`."""

    kind: Literal["fraud_ring_attack"]
    population: Name
    intensity: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]

    @property
    def target(self) -> str:
        return self.population


Event = Annotated[FraudRingAttack, Field(discriminator="kind")]


class Outputs(OutputsBase):
    format: Literal["parquet", "csv", "paysim-csv"] = "parquet"
    tables: list[Literal["transactions", "accounts", "events", "patterns"]] = Field(
        default_factory=lambda: ["transactions", "accounts", "events", "patterns"]
    )


class PaymentsScenario(ScenarioBase):
    """A payments world. `settlement` is when a credit becomes spendable: `instant` (by the next
    transaction, in one time order over the whole world: the shipped calibrations' rule) or `step` (at
    the end of the step it arrives in, as in a clearing batch: a payer spends within a step only what it
    held when the step began; a mule cashes out, and a laundering hop passes on, money received in an
    earlier step). Under `step` what a payer can spend in a step does not depend on what others pay it
    in that step, so the hosts of a sharded run settle their own accounts (`sharding`); `--shards` needs
    it."""

    domain: Literal["payments"]
    populations: dict[Name, Population]
    events: list[Event] = Field(default_factory=list)
    outputs: Outputs = Outputs()
    settlement: Literal["instant", "step"] = "instant"


# --- checks across fields (see sim.scenario.semantics) -----------------------------------------------

# role -> fields of that role that must name a population of the given role
_REFERENCES = {
    "fraudster": {"victims": "customer", "mules": "mule", "accounts": "customer"},
    "launderer": {"accounts": "customer"},
    "mule": {"among": "customer"},
}
_EVENT_TARGETS = {"fraud_ring_attack": "fraudster"}
_REQUIRED = ("customer", "merchant")
_AT_MOST_ONE = ("customer", "merchant", "bank")


def _more(count, other) -> bool:
    """Two counts as written, when both are plain numbers: the first is larger."""
    numbers = all(isinstance(c, int) and not isinstance(c, bool) for c in (count, other))
    return numbers and count > other


def check_data(body: dict) -> list[tuple[tuple, str]]:
    """References between populations and from events to populations, on the data as written."""
    problems: list[tuple[tuple, str]] = []
    pops = body.get("populations")
    roles: dict = {}
    if isinstance(pops, dict):
        roles = {name: text(spec, "role") for name, spec in pops.items() if isinstance(spec, dict)}
        for name, spec in pops.items():
            if not isinstance(spec, dict):
                continue
            for field, wanted in _REFERENCES.get(text(spec, "role"), {}).items():
                target = spec.get(field)
                if isinstance(target, str):
                    problem = reference_problem(target, wanted, roles)
                    if problem:
                        problems.append((("populations", name, field), problem))
            among = spec.get("among") if text(spec, "role") == "mule" else None
            host = pops.get(among) if isinstance(among, str) else None
            if isinstance(host, dict) and _more(spec.get("count"), host.get("count")):
                problems.append((("populations", name, "count"), f"more mules than '{among}' has customers"))
        problems += _category_problems(pops)
        present = [r for r in roles.values() if isinstance(r, str)]
        for role in _REQUIRED:
            if role not in present:
                problems.append((("populations",), f"a payments world needs a '{role}' population"))
        for role in _AT_MOST_ONE:
            if present.count(role) > 1:
                problems.append((("populations",), f"more than one '{role}' population"))
    events = body.get("events")
    for i, event in enumerate(events if isinstance(events, list) else []):
        wanted = _EVENT_TARGETS.get(text(event, "kind"))
        target = event.get("population") if isinstance(event, dict) else None
        if wanted and isinstance(target, str):
            problem = reference_problem(target, wanted, roles)
            if problem:
                problems.append((("events", i, "population"), problem))
    return problems


_CATEGORY_FIELDS = ("categories", "probe_categories", "spend_categories")


def _category_problems(pops: dict) -> list[tuple[tuple, str]]:
    """Fraudsters' category weights name categories the merchants have."""
    merchants = next((s for s in pops.values() if isinstance(s, dict) and text(s, "role") == "merchant"), {})
    known = merchants.get("categories") if isinstance(merchants.get("categories"), dict) else {}
    problems = []
    for name, spec in pops.items():
        if not isinstance(spec, dict) or text(spec, "role") != "fraudster":
            continue
        for field in _CATEGORY_FIELDS:
            weights = spec.get(field)
            for category in weights if isinstance(weights, dict) else []:
                if category not in known:
                    have = ", ".join(map(repr, known)) or "none"
                    problem = f"no merchant category {category!r} (the merchants have {have})"
                    problems.append((("populations", name, field, category), problem))
    return problems
