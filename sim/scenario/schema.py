"""The scenario file format (schema_version 1): frozen pydantic models that reject unknown keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

from sim.scenario.calendar import CalendarEvent
from sim.scenario.payments import TX_TYPES, Population
from sim.scenario.supply import Disruption, SerialChain, SupplyOutputs
from sim.scenario.types import Duration, Name, Spec

SCHEMA_VERSION = 1
__all__ = [
    "SCENARIO",
    "SCHEMA_VERSION",
    "TX_TYPES",
    "PaymentsScenario",
    "Scenario",
    "SupplyScenario",
]
Scalar = bool | int | float | str


class Horizon(Spec):
    steps: Annotated[int, Field(ge=1, le=10_000_000, strict=True)]
    step: Duration = timedelta(hours=1)
    start: datetime = datetime(2026, 1, 1)

    @property
    def start_us(self) -> int:
        """The start as microseconds since 1970 (naive dates are UTC), as output timestamps count."""
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
        return (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    @property
    def step_us(self) -> int:
        return self.step // timedelta(microseconds=1)


class FraudRingAttack(CalendarEvent):
    """A coordinated campaign: the population's attack rate is multiplied by `intensity` for `duration`."""

    kind: Literal["fraud_ring_attack"]
    population: Name
    intensity: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]

    @property
    def target(self) -> str:
        return self.population


Event = Annotated[FraudRingAttack, Field(discriminator="kind")]


class Outputs(Spec):
    format: Literal["parquet", "csv", "paysim-csv"] = "parquet"
    batch_rows: Annotated[int, Field(ge=1_000, le=50_000_000, strict=True)] = 1_000_000
    compression: Literal["zstd", "lz4", "snappy", "none"] = "zstd"
    tables: list[Literal["transactions", "accounts", "events", "patterns"]] = Field(
        default_factory=lambda: ["transactions", "accounts", "events", "patterns"]
    )


class _Scenario(Spec):
    """What every scenario has: identity, seed, horizon and parameters."""

    schema_version: Literal[1]
    name: Name
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63, strict=True)] | None = None
    horizon: Horizon
    parameters: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]\w*$")], Scalar] = Field(
        default_factory=dict
    )
    strategies: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(default_factory=dict)
    """Parameter values `sim stress` compares when not told otherwise (every combination)."""

    @model_validator(mode="after")
    def _strategies_vary_parameters(self):
        unknown = sorted(set(self.strategies) - set(self.parameters))
        if unknown:
            raise ValueError(f"strategies vary undeclared parameters: {', '.join(unknown)}")
        return self

    def step_of(self, when: datetime | int) -> int:
        """The step containing a date (or a step number given directly)."""
        if isinstance(when, int):
            return when
        start = self.horizon.start
        if (when.tzinfo is None) != (start.tzinfo is None):  # naive dates are UTC
            when, start = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (when, start))
        return int((when - start) // self.horizon.step)

    def steps_in(self, span: timedelta | int) -> int:
        """Whole steps covering a duration (at least one)."""
        if isinstance(span, int):
            return max(1, span)
        return max(1, -(-span // self.horizon.step))


class PaymentsScenario(_Scenario):
    domain: Literal["payments"]
    populations: dict[Name, Population]
    events: list[Event] = Field(default_factory=list)
    outputs: Outputs = Outputs()


class SupplyScenario(_Scenario):
    domain: Literal["supply"]
    chain: SerialChain
    events: list[Disruption] = Field(default_factory=list)
    outputs: SupplyOutputs = SupplyOutputs()


class CommonFields(_Scenario):
    """The fields every domain shares, checked on their own when the domain itself is wrong."""

    model_config = ConfigDict(frozen=True, extra="ignore")


Scenario = PaymentsScenario | SupplyScenario
SCENARIO = TypeAdapter(Annotated[Scenario, Field(discriminator="domain")])
"""Validates any scenario, choosing its model by `domain`."""
