"""The calendar's common part: when an event starts (a date, a step or a trigger) and for how long."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sim.scenario.types import Name, Probability, Span, Spec


class Trigger(Spec):
    """Fire with a fixed probability in each step (drawn from the event's own stream)."""

    probability_per_step: Probability
    max_occurrences: Annotated[int, Field(ge=1, strict=True)] = 1


class CalendarEvent(Spec):
    """When an event happens: at `start` (a date or a step), by `trigger`, or `after` another event ends
    (a chain: failure, then recovery), for `duration`."""

    name: Name
    start: datetime | Annotated[int, Field(ge=0, strict=True)] | None = None
    trigger: Trigger | None = None
    after: Name | None = None
    duration: Span

    @field_validator("start", mode="before")
    @classmethod
    def _step_or_date(cls, value):
        """A number is a step (never seconds since 1970): a whole number from 0 up."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0 or value != int(value):
                raise ValueError("a start step must be a whole number from 0 up")
            return int(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_start(self):
        if sum(x is not None for x in (self.start, self.trigger, self.after)) != 1:
            raise ValueError("give exactly one of 'start' (a date or step), 'trigger' and 'after'")
        if self.after == self.name:
            raise ValueError("an event cannot start after itself")
        return self
