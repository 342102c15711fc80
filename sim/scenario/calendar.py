"""The calendar's common part: when an event starts (a date, a step or a trigger) and for how long."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sim.scenario.types import Name, Probability, Span, Spec, Steps

When = datetime | Steps  # a date, or a step number


def _step_or_date(value):
    """A number is a step (never seconds since 1970): a whole number from 0 up."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0 or value != int(value):
            raise ValueError("a start step must be a whole number from 0 up")
        return int(value)
    return value


class Trigger(Spec):
    """Fire with a fixed probability in each step, up to `max_occurrences` times; or once, at a step drawn
    uniformly `between` two times (a date or step each; the second excluded). Draws come from the
    event's own stream."""

    probability_per_step: Probability | None = None
    max_occurrences: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 1
    between: tuple[When, When] | None = None

    @field_validator("between", mode="before")
    @classmethod
    def _steps_or_dates(cls, value):
        if isinstance(value, list | tuple):
            return [_step_or_date(v) for v in value]
        return value

    @model_validator(mode="after")
    def _one_way_to_fire(self):
        if (self.probability_per_step is None) == (self.between is None):
            raise ValueError("give exactly one of 'probability_per_step' and 'between'")
        if self.between is not None and "max_occurrences" in self.model_fields_set:
            raise ValueError("'between' fires once: max_occurrences goes with probability_per_step")
        if self.between is not None and type(self.between[0]) is not type(self.between[1]):
            raise ValueError("'between' takes two dates or two steps")
        if self.between is not None and self.between[0] >= self.between[1]:
            raise ValueError("'between' needs its first time before its second")
        return self


class CalendarEvent(Spec):
    """When an event happens: at `start` (a date or a step), by `trigger`, or `after` another event ends
    (a chain: failure, then recovery), for `duration`."""

    name: Name
    start: When | None = None
    trigger: Trigger | None = None
    after: Name | None = None
    duration: Span

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value):
        return _step_or_date(value)

    @model_validator(mode="after")
    def _one_way_to_start(self):
        if sum(x is not None for x in (self.start, self.trigger, self.after)) != 1:
            raise ValueError("give exactly one of 'start' (a date or step), 'trigger' and 'after'")
        if self.after == self.name:
            raise ValueError("an event cannot start after itself")
        return self
