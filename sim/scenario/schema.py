"""The scenario file format (schema_version 1), its part every domain shares: frozen pydantic models that
reject unknown keys. Each domain's own model (`sim/domains/<name>/scenario.py`) subclasses `ScenarioBase`
with `domain: Literal[name]`, its populations or network, `events` and `outputs`; the registry joins
them into one union (`sim.domains.registry.scenario_adapter`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from sim.scenario.durations import format_duration
from sim.scenario.types import MAX_STEPS, Duration, Name, Spec

SCHEMA_VERSION = 1
PLAIN_FORMATS = ("parquet", "csv")  # every domain writes these; a domain may add its own (PaySim's CSV)
Scalar = bool | int | float | str


LAST_DAY = datetime(9999, 12, 31)  # the last date Python (and so every output timestamp) can hold


class Horizon(Spec):
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS, strict=True)]
    step: Duration = timedelta(hours=1)
    start: datetime = datetime(2026, 1, 1)

    @model_validator(mode="after")
    def _ends_before_the_last_date(self):
        room = (LAST_DAY - self.start.replace(tzinfo=None)).total_seconds()
        if self.steps * self.step.total_seconds() > room:
            raise ValueError(
                f"{self.steps} steps of {format_duration(self.step)} from {self.start:%Y-%m-%d} end after "
                f"{LAST_DAY:%Y-%m-%d}, "
                "the last date a timestamp can hold: shorten the step or the horizon, or start earlier"
            )
        return self

    @property
    def start_us(self) -> int:
        """The start as microseconds since 1970 (naive dates are UTC), as output timestamps count."""
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
        return (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    @property
    def step_us(self) -> int:
        return self.step // timedelta(microseconds=1)


class OutputsBase(Spec):
    """How a run's tables are written; a domain narrows `format` and `tables` to what it writes."""

    format: str = "parquet"
    batch_rows: Annotated[int, Field(ge=1_000, le=50_000_000, strict=True)] = 1_000_000
    compression: Literal["zstd", "lz4", "snappy", "none"] = "zstd"
    tables: list[str] = Field(default_factory=list)


class ScenarioBase(Spec):
    """What every scenario has: identity, seed, horizon and parameters; its domain's model adds the rest
    (and narrows `domain` to its own name)."""

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
    domain: str

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


class CommonFields(ScenarioBase):
    """The fields every domain shares, checked on their own when the domain itself is wrong."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    domain: Any = None  # a missing or unknown domain is reported on its own


Scenario = ScenarioBase
"""Any domain's scenario (a subclass of `ScenarioBase`)."""
