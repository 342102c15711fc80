"""Field types shared by every part of the scenario schema."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
)

from sim.scenario.durations import format_duration, parse_duration

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")]
Count = Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]
Probability = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
Share = Annotated[float, Field(gt=0, le=1)]
CEILING = 1e15
"""The largest amount, quantity or cost a scenario may give: money to the cent and units stay exact in a
float (below 2**53, about 9e15), and a run's sums of them stay finite."""
NonNegative = Annotated[float, Field(ge=0, le=CEILING, allow_inf_nan=False)]
MAX_STEPS = 10_000_000
Steps = Annotated[int, Field(ge=0, le=MAX_STEPS, strict=True)]
Span = Duration | Steps
"""A length of time: a duration ("6h", "3d") or a whole number of steps."""
WHY_BOUNDED = {
    CEILING: "the ceiling on amounts and quantities, so money to the cent stays exact and sums stay finite",
    MAX_STEPS: "the most steps a horizon has",
}
"""Why an upper bound is what it is, said in the error that names it."""


def _as_range(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    return value


def _ordered(value: tuple[int, int]) -> tuple[int, int]:
    if value[1] < value[0]:
        raise ValueError("give [low, high] with low <= high")
    return value


SmallInt = Annotated[int, Field(ge=1, le=100_000, strict=True)]
IntRange = Annotated[tuple[SmallInt, SmallInt], BeforeValidator(_as_range), AfterValidator(_ordered)]
"""A whole number or an inclusive range [low, high], drawn uniformly."""


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def tagged_union(field: str, default: str, members: dict[str, type]):
    """A union chosen by its `field` (`default` when absent, so files stay short); an unknown tag is
    reported as one problem at that field (`unknown_<field>`), not as one per member."""

    def pick(value):
        if isinstance(value, dict):
            tag = value.get(field, default)
            return tag if isinstance(tag, str) and tag in members else None
        return getattr(value, field, None)

    union = Union[tuple(Annotated[cls, Tag(tag)] for tag, cls in members.items())]  # noqa: UP007
    return Annotated[
        union,
        Discriminator(
            pick,
            custom_error_type=f"unknown_{field}",
            custom_error_message=f"must be one of {', '.join(members)}",
        ),
    ]
