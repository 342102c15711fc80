"""What a payments scenario's customer population declares: the transaction types, the daily and weekly
rhythm, what a customer does beyond its means, its habits and the segments that shape activity, spending
and exposure to fraud."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints, model_validator

from sim.dists import Constant, Dist, Gamma, KernelDist, LogNormal
from sim.scenario.types import Count, Name, NonNegative, Probability, Spec

TxType = Literal["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]
TX_TYPES = get_args(TxType)  # codes are positions in this tuple
Weights24 = Annotated[list[NonNegative], Field(min_length=24, max_length=24)]
Weights7 = Annotated[list[NonNegative], Field(min_length=7, max_length=7)]


class Rhythm(Spec):
    """When activity happens: hour-of-day and day-of-week weights, or the real PaySim month hour by hour
    (its per-hour volume, type mix and amounts; needs hourly steps)."""

    hours: Literal["paysim", "flat"] | Weights24 = "paysim"
    weekdays: Literal["flat"] | Weights7 = "flat"
    month: Literal["paysim"] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if self.month and self.model_fields_set & {"hours", "weekdays"}:
            raise ValueError("'month' sets the whole rhythm: drop 'hours' and 'weekdays'")
        for field in ("hours", "weekdays"):
            value = getattr(self, field)
            if isinstance(value, list) and sum(value) <= 0:
                raise ValueError(f"'{field}' needs at least one positive weight")
        return self


class Spending(Spec):
    """What a customer does when a payment of its own is more than it holds (the kernel's `Means`): move
    everything it holds instead (CASH_OUT and TRANSFER, holding at least `least` of the amount), pay on
    its granted overdraft (`credit`), try anyway and be declined (`attempt`), or leave the payment to a
    customer who can (up to `tries` drawn by activity). Each probability applies in that order to the
    payments the previous ones left. Declines for want of funds are about 1 % of card payments: card-
    present authorisation is ~98 % (industry benchmarks quoted by subrevival.com, "Credit Card Decline
    Statistics (2026)") and "almost half of the declines occur due to the cardholder's lack of funds"
    (Spreedly, "Cash me if you can", 2018)."""

    everything: Probability = 0.5
    least: Probability = 0.2
    credit: Probability = 0.1
    attempt: Probability = 0.02
    tries: Annotated[int, Field(ge=0, le=1000, strict=True)] = 20


class Habits(Spec):
    """Customers go back to the same payees: with probability `loyalty` a purchase, cash-out or transfer
    goes to one of the customer's `favourites` payees of its kind (a few shops, agents and people),
    otherwise to anyone as usual."""

    loyalty: Probability = 0.0
    favourites: Annotated[int, Field(ge=1, le=100, strict=True)] = 5


class Segment(Spec):
    """Customers with one value of an attribute (an age band, a gender): their share of the customers,
    and what the value changes, as multipliers of a customer's activity rate, of its spending level
    and of its chance to be picked as a fraud victim."""

    share: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
    activity: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] = 1.0
    spending: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] = 1.0
    victimisation: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] = 1.0


SegmentValue = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # an age band "0", "F"
Segments = Annotated[dict[SegmentValue, Segment], Field(min_length=1, max_length=1000)]


class Customers(Spec):
    """Account holders: opening balances, a personal activity rate and spending level, a type mix."""

    role: Literal["customer"]
    count: Count
    opening_balance: Dist = LogNormal(mean=20_000, std=40_000)
    transactions_per_day: Dist = Gamma(mean=1.0, shape=0.7)
    amount_scale: Dist = Constant(value=1.0)
    overdraft_limit: NonNegative | Literal["paysim"] = 0.0
    type_mix: dict[TxType, NonNegative] | None = None
    # each type its own clients and per-client rates, from PaySim's client profiles (client_rates.py)
    activity_by_type: Literal["paysim"] | None = None
    amounts: dict[TxType, KernelDist] = Field(default_factory=dict)
    amount_factor: dict[TxType, Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )  # multiplies a type's amount law (also the month's): the knob calibration turns
    rhythm: Rhythm = Rhythm()
    spending: Spending = Spending()
    habits: Habits = Habits()
    income_share: Probability = 0.0  # of TRANSFERs: pay from the customer's employer (a merchant), B2C
    demographics: Literal["none", "census"] = "none"
    # attribute -> value -> Segment: each attribute drawn on its own by the shares; effects multiply
    segments: dict[Name, Segments] = Field(default_factory=dict)
    profile_fields: bool = False

    @model_validator(mode="after")
    def _segments(self):
        drawn = {"age", "gender", "state", "urban"} if self.demographics == "census" else set()
        clash = sorted(drawn & set(self.segments))
        if clash:
            raise ValueError(f"segments by {', '.join(clash)}: the census demographics draw those already")
        return self

    @model_validator(mode="after")
    def _mix(self):
        if self.type_mix is not None:
            if sum(self.type_mix.values()) <= 0:
                raise ValueError("type_mix needs at least one positive share")
            if self.rhythm.month:
                raise ValueError("the 'month' rhythm gives the type mix hour by hour: drop 'type_mix'")
        return self
