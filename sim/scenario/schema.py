"""The scenario file format (schema_version 1): frozen pydantic models that reject unknown keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from sim.dists import Dist, Gamma, LogNormal
from sim.scenario.durations import format_duration, parse_duration

SCHEMA_VERSION = 1
TX_TYPES = ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER")

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")]
Count = Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]
Probability = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
TxType = Literal["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]
Scalar = bool | int | float | str


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Horizon(Spec):
    steps: Annotated[int, Field(ge=1, le=10_000_000, strict=True)]
    step: Duration = timedelta(hours=1)
    start: datetime = datetime(2026, 1, 1)


class Customers(Spec):
    """Account holders: opening balances, a personal activity rate, a type mix and amounts per type."""

    role: Literal["customer"]
    count: Count
    opening_balance: Dist = LogNormal(mean=20_000, std=40_000)
    transactions_per_day: Dist = Gamma(mean=1.0, shape=0.7)
    overdraft_limit: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    type_mix: dict[TxType, Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None
    amounts: dict[TxType, Dist] = Field(default_factory=dict)
    daily_rhythm: Literal["paysim", "flat"] = "paysim"

    @model_validator(mode="after")
    def _mix_has_mass(self):
        if self.type_mix is not None and sum(self.type_mix.values()) <= 0:
            raise ValueError("type_mix needs at least one positive share")
        return self


class Merchants(Spec):
    """Merchants and cash agents: receive payments, pay out and take in cash; never decline."""

    role: Literal["merchant"]
    count: Count
    opening_balance: Dist = LogNormal(mean=5_000_000, std=2_000_000)


class Mules(Spec):
    """Accounts that receive stolen funds and cash them out."""

    role: Literal["mule"]
    count: Count
    cash_out_share: Annotated[float, Field(gt=0, le=1)] = 1.0


class Fraudsters(Spec):
    """Account-takeover fraudsters (PaySim): drain a victim to a mule, the mule cashes out."""

    role: Literal["fraudster"]
    count: Count
    typology: Literal["account_takeover"] = "account_takeover"
    attacks_per_day: Rate
    victims: Name
    mules: Name


Population = Annotated[Customers | Merchants | Mules | Fraudsters, Field(discriminator="role")]


class Trigger(Spec):
    """Fire with a fixed probability in each step (drawn from the event's own stream)."""

    probability_per_step: Probability
    max_occurrences: Annotated[int, Field(ge=1, strict=True)] = 1


class FraudRingAttack(Spec):
    """A coordinated campaign: the population's attack rate is multiplied by `intensity` for `duration`."""

    kind: Literal["fraud_ring_attack"]
    name: Name
    population: Name
    start: datetime | Annotated[int, Field(ge=0, strict=True)] | None = None
    trigger: Trigger | None = None
    duration: Duration | Annotated[int, Field(ge=1, strict=True)]
    intensity: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _one_way_to_start(self):
        if (self.start is None) == (self.trigger is None):
            raise ValueError("give exactly one of 'start' (a date or step) and 'trigger'")
        return self


Event = Annotated[FraudRingAttack, Field(discriminator="kind")]


class Outputs(Spec):
    format: Literal["parquet", "csv"] = "parquet"
    batch_rows: Annotated[int, Field(ge=1_000, le=50_000_000, strict=True)] = 1_000_000
    tables: list[Literal["transactions", "accounts", "events"]] = [
        "transactions",
        "accounts",
        "events",
    ]


class Scenario(Spec):
    schema_version: Literal[1]
    name: Name
    domain: Literal["payments"]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63, strict=True)] | None = None
    horizon: Horizon
    parameters: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]\w*$")], Scalar] = Field(
        default_factory=dict
    )
    populations: dict[Name, Population]
    events: list[Event] = Field(default_factory=list)
    outputs: Outputs = Outputs()

    def step_of(self, when: datetime | int) -> int:
        """The step containing a date (or a step number given directly)."""
        if isinstance(when, int):
            return when
        return int((when - self.horizon.start) // self.horizon.step)

    def steps_in(self, span: timedelta | int) -> int:
        """Whole steps covering a duration (at least one)."""
        if isinstance(span, int):
            return span
        return max(1, -(-span // self.horizon.step))
