"""Customers' own (legitimate) transactions: channels, the step's volume, and the drawing kernel.

A channel is one way to spend: a type, a destination block, an amount law and a merchant category (a card
purchase in a category is a PAYMENT channel; CASH_IN/CASH_OUT go to cash agents, DEBIT to a bank,
TRANSFER to another customer). The step's count is Poisson with mean (sum of customers' daily rates) x
(the rhythm's share of a day in that step); splitting a Poisson process by channel and by origin in
proportion to rate is the same law as one Poisson count per customer, at O(transactions) cost.

Customers are split into a fixed number of contiguous *cells* (a function of the population only), each
with its own count and stream per step. A shard of a sharded run draws a set of whole cells, so the rows
are the same whichever way the cells are grouped into shards, and whichever machine draws them.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from sim.dists import LOGNORMAL, sample_law, scale_law
from sim.domains.payments import client_rates, profiles
from sim.domains.payments.accounts import Accounts, Block
from sim.domains.payments.customers import TX_TYPES, Customers
from sim.domains.payments.kernels import PAYMENT, Channels, Draw, draw_legitimate
from sim.engine.kernels import alias_table
from sim.rng import Streams
from sim.scenario.schema import Scenario

MAX_CELLS = 16  # the most shards a run can have (each cell costs ~40 µs a step in overheads)
CELL_CUSTOMERS = 1024  # the fewest customers in a cell


class Group(NamedTuple):
    """Channels drawn by the same customers' rates: the channels (their cdf within the group), each
    cell's running sum of the rates and its total, and per profile row the group's share of that row's
    volume over its share of all volume (1 when the mix never changes)."""

    channels: Channels
    cell_cumsum: list[np.ndarray]
    cell_rate: np.ndarray
    per_row: np.ndarray


_PER_CHANNEL = ("kind", "dest_start", "dest_size", "not_self", "code", "category", "by_rate", "income")
_CHANNEL_FIELDS = ("kind", "dest_start", "dest_size", "not_self", "code", "p1", "p2", "category", "weight",
                   "income")  # fmt: skip
COLUMNS = dict(
    zip(Draw._fields, (np.float64, np.int8, np.int64, np.int64, np.float64, np.int8, np.bool_), strict=True)
)


def cell_bounds(customers: int) -> np.ndarray:
    """Cell boundaries as offsets into the customer block (cells + 1 of them)."""
    cells = int(min(MAX_CELLS, max(1, customers // CELL_CUSTOMERS)))
    return np.linspace(0, customers, cells + 1).astype(np.int64)


class Activity:
    def __init__(self, scenario: Scenario, accounts: Accounts, streams: Streams):
        self.streams = streams
        self.accounts = accounts
        c = accounts.customers
        spec: Customers = scenario.populations[c.name]
        self.spec = spec
        h = scenario.horizon
        self.day_share = profiles.day_share_per_step(h.start, h.step, h.steps, spec.rhythm)
        self.bounds = cell_bounds(c.size)
        self.amount_scale = accounts.amount_scale
        self.public = accounts.public
        self._build_channels(scenario)
        self.groups = self._groups()
        hour0 = int(
            (h.start - h.start.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() // 3600
        )
        self.profile_row = (
            (hour0 + np.arange(h.steps)) % profiles.MONTH_HOURS
            if spec.rhythm.month
            else np.zeros(h.steps, int)
        )

    def _groups(self) -> list[Group]:
        """Who makes which rows: one group of every channel drawn by each customer's activity rate, or
        with `activity_by_type` one per type (and one for pay), each by its own rates."""
        a, ch = self.accounts, self.channels
        if a.group_rates is None:
            rates = a.rate_per_day[a.customers.start : a.customers.stop]
            return [self._group(np.arange(len(ch.kind)), rates, np.ones(len(ch.cdf)))]
        key = [client_rates.PAY if pay else TX_TYPES[k] for k, pay in zip(ch.kind, ch.income, strict=True)]
        weights = np.diff(ch.cdf, prepend=0.0, axis=1) * self.volume[:, None]  # each row's channel volumes
        groups = []
        for name in client_rates.GROUPS:
            members = np.array([c for c, k in enumerate(key) if k == name], dtype=np.int64)
            if len(members) == 0:
                continue
            volume = weights[:, members].sum(axis=1)
            share = volume.sum() / self.volume.sum()  # of all volume (what its rates sum to)
            if share > 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    per_row = np.where(self.volume > 0, volume / self.volume, 0.0) / share
                groups.append(self._group(members, a.group_rates[name], per_row))
        return groups

    def _group(self, members: np.ndarray, rates: np.ndarray, per_row: np.ndarray) -> Group:
        ch = channels = self.channels
        if len(members) < len(ch.kind):  # the members' channels, their cdf over themselves alone
            shares = np.diff(ch.cdf, prepend=0.0, axis=1)[:, members]
            totals = shares.sum(axis=1, keepdims=True)
            cdf = np.cumsum(np.divide(shares, totals, out=np.zeros_like(shares), where=totals > 0), axis=1)
            cdf[:, -1] = 1.0
            channels = ch._replace(
                cdf=cdf, p1=ch.p1[:, members].copy(), p2=ch.p2[:, members].copy(),
                **{name: getattr(ch, name)[members] for name in _PER_CHANNEL},
            )  # fmt: skip
        cell_cumsum = [np.cumsum(rates[lo:hi]) for lo, hi in itertools.pairwise(self.bounds)]
        cell_rate = np.array([float(cs[-1]) for cs in cell_cumsum])
        return Group(channels, cell_cumsum, cell_rate, per_row)

    def _destinations(self, tx_type: str) -> list[tuple[Block, int, bool]]:
        """(block, category code, not-self) per destination of a type (a TRANSFER goes to a customer,
        by activity: see `Channels`)."""
        a = self.accounts
        if tx_type == "TRANSFER":
            return [(a.customers, -1, True)]
        if tx_type == "DEBIT" and a.banks is not None:
            return [(a.banks, -1, False)]
        return [(a.merchants, -1, False)]

    def _build_channels(self, scenario: Scenario) -> None:
        """Channel arrays; cdf/p1/p2 have one row per profile row (one, or 720 for the real month)."""
        a = self.accounts
        merchants = scenario.populations[a.merchants.name]
        spec = self.spec
        if spec.rhythm.month:
            shares, means, stds = profiles.month_arrays()
        else:
            mix = spec.type_mix or profiles.default_type_mix()
            shares = np.array([[mix.get(t, 0.0) for t in TX_TYPES]])
            means = stds = None
        rows = len(shares)
        fields: dict[str, list] = {name: [] for name in _CHANNEL_FIELDS}

        def add(t_index, block, cat_code, excl, law, share, income=False):
            values = (t_index, block.start, block.size, excl, law[0], np.broadcast_to(law[1], (rows,)),
                      np.broadcast_to(law[2], (rows,)), cat_code, share, income)  # fmt: skip
            for name, value in zip(_CHANNEL_FIELDS, values, strict=True):
                fields[name].append(value)

        for t_index, t in enumerate(TX_TYPES):
            if not shares[:, t_index].any():
                continue
            if t == "PAYMENT" and merchants.categories:
                cats = merchants.categories
                total = sum(c.weight for c in cats.values())
                for cat_code, (block, cat) in enumerate(zip(a.category_blocks, cats.values(), strict=True)):
                    law = scale_law(
                        (spec.amounts.get(t) or cat.amount).kernel(), spec.amount_factor.get(t, 1.0)
                    )
                    add(t_index, block, cat_code, False, law, shares[:, t_index] * cat.weight / total)
                continue
            ((block, cat_code, excl),) = self._destinations(t)
            if t in spec.amounts or means is None:
                law = scale_law((spec.amounts.get(t) or profiles.default_amount(t)).kernel(),
                              spec.amount_factor.get(t, 1.0))  # fmt: skip
                params = (law[0], np.full(rows, law[1]), np.full(rows, law[2]))
            else:  # the real month's mean and std of this type in each hour, as a lognormal
                sigma2 = np.log1p((stds[:, t_index] / means[:, t_index]) ** 2)
                mu = np.log(means[:, t_index] * spec.amount_factor.get(t, 1.0)) - sigma2 / 2
                params = (LOGNORMAL, mu, np.sqrt(sigma2))
            pay = spec.income_share if t == "TRANSFER" else 0.0  # a share of transfers is pay
            add(t_index, block, cat_code, excl, params, shares[:, t_index] * (1.0 - pay))
            if pay > 0:
                add(t_index, block, cat_code, False, params, shares[:, t_index] * pay, income=True)
        w = np.array(fields["weight"]).T  # [profile rows, channels]
        totals = w.sum(axis=1, keepdims=True)
        self.volume = totals[:, 0]  # each profile row's volume (relative)
        cdf = np.cumsum(np.divide(w, totals, out=np.zeros_like(w), where=totals > 0), axis=1)
        cdf[:, -1] = 1.0
        payee = alias_table(a.rate_per_day[a.customers.start : a.customers.stop])  # transfers by activity
        self.channels = Channels(
            cdf=cdf,
            kind=np.array(fields["kind"], dtype=np.int8),
            dest_start=np.array(fields["dest_start"], dtype=np.int64),
            dest_size=np.array(fields["dest_size"], dtype=np.int64),
            not_self=np.array(fields["not_self"], dtype=np.bool_),
            code=np.array(fields["code"], dtype=np.int64),
            p1=np.array(fields["p1"]).T.copy(),
            p2=np.array(fields["p2"]).T.copy(),
            category=np.array(fields["category"], dtype=np.int8),
            by_rate=np.array(fields["not_self"], dtype=np.bool_),  # transfers to other customers
            payee_prob=payee[0],
            payee_alias=payee[1],
            income=np.array(fields["income"], dtype=np.bool_),
            employer=a.employer,
            loyalty=float(spec.habits.loyalty),
            favourites=int(spec.habits.favourites),
            salt=int(self.streams.generator(f"populations.{a.customers.name}.habits").integers(0, 2**31)),
        )

    @property
    def cells(self) -> int:
        return len(self.bounds) - 1

    def draw(self, k: int, cells: range | None = None) -> dict[str, np.ndarray]:
        """Step k's legitimate transactions of the given cells (all by default), in time order (offsets
        in [0, 1) of the step); origin and dest are public indexes (see `Accounts.public`). Rows at the
        same instant keep cell order, so merging shards' draws gives exactly the draw of all cells."""
        parts = [self._draw_cell(k, cell) for cell in cells or range(self.cells)]
        return merge_in_time(parts)

    def _draw_cell(self, k: int, cell: int) -> dict[str, np.ndarray]:
        rng = self.streams.generator("payments.activity", k, cell)
        row = self.profile_row[k]
        parts = []
        for group in self.groups:  # one stream per cell and step: the groups draw from it in turn
            mean = group.cell_rate[cell] * self.day_share[k] * group.per_row[row]
            n = int(rng.poisson(mean)) if mean > 0 else 0
            out = Draw(*(np.empty(n, dtype) for dtype in COLUMNS.values()))
            if n:
                draw_legitimate(
                    rng, n, group.cell_cumsum[cell], self.accounts.customers.start + self.bounds[cell],
                    self.public, group.channels.at(row), self.amount_scale, out, np.empty(n, np.int64),
                )  # fmt: skip
            parts.append(out._asdict())
        return merge_in_time(parts)

    def amounts(self, rng: np.random.Generator, kind: int, times: np.ndarray) -> np.ndarray:
        """Amounts of type `kind` at `times` (in steps) as customers draw them then (their channel's law
        that hour, at spending level 1): what a thief moves so as to look like the account's owner."""
        channel = next((c for c in range(len(self.channels.kind))
                        if self.channels.kind[c] == kind and not self.channels.income[c]), None)  # fmt: skip
        if channel is None:  # the scenario has no such channel: PaySim's amounts of that type
            return profiles.default_amount(TX_TYPES[kind]).sample(rng, len(times))
        row = self.profile_row[np.clip(np.asarray(times, dtype=np.int64), 0, len(self.profile_row) - 1)]
        ch = self.channels
        law = (ch.code[channel], ch.p1[row, channel], ch.p2[row, channel])
        return np.maximum(np.round(sample_law(rng, law, len(times)), 2), 0.01)

    def purchases(self, rng: np.random.Generator, times: np.ndarray,
                  categories: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Purchases at `times` (in steps) as a thief makes them: merchants picked as customers pick
        them at that hour, or by the `categories` weights given, amounts at their channel's law then
        (no customer spending level)."""
        ch, n = self.channels, len(times)
        pay = np.flatnonzero(ch.kind == PAYMENT)
        if len(pay) == 0:  # no purchase channel: any merchant, PaySim's PAYMENT amounts
            law = profiles.default_amount("PAYMENT")
            return self.accounts.merchants.pick(rng, n), law.sample(rng, n)
        row = self.profile_row[np.clip(np.asarray(times, dtype=np.int64), 0, len(self.profile_row) - 1)]
        if categories:
            names = self.accounts.category_names
            chosen = np.array([categories.get(names[c], 0.0) if c >= 0 else 0.0 for c in ch.category[pay]])
            weights = np.broadcast_to(chosen, (n, len(pay))).copy()
        else:
            weights = np.diff(ch.cdf, prepend=0.0, axis=1)[row][:, pay]  # each purchase's hour's shares
        weights[weights.sum(axis=1) <= 0] = 1.0  # an hour without purchases: any purchase channel
        cumulative = np.cumsum(weights, axis=1)
        pick = (rng.random(n)[:, None] * cumulative[:, -1:] >= cumulative).sum(axis=1)
        channel = pay[np.minimum(pick, len(pay) - 1)]
        merchants = ch.dest_start[channel] + (rng.random(n) * ch.dest_size[channel]).astype(np.int64)
        amounts = np.empty(n)
        for c in np.unique(channel):
            rows = np.flatnonzero(channel == c)
            law = (ch.code[c], ch.p1[row[rows], c], ch.p2[row[rows], c])
            amounts[rows] = sample_law(rng, law, len(rows))
        return merchants, amounts


def merge_in_time(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Time-ordered draws (in cell order) as one time-ordered draw; ties keep the parts' order."""
    parts = [p for p in parts if len(p["offset"])] or parts[:1]
    if not parts:
        return {name: np.empty(0, dtype) for name, dtype in COLUMNS.items()}
    if len(parts) == 1:
        return parts[0]
    cols = {name: np.concatenate([p[name] for p in parts]) for name in COLUMNS}
    order = np.argsort(cols["offset"], kind="stable")  # timsort: finds the sorted runs and merges them
    return {name: values[order] for name, values in cols.items()}
