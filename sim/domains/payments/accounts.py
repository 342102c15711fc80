"""The account arrays of a payments world: one row per account, populations as contiguous blocks.

Layout: customers, merchants (grouped by category), banks, mules. Public account ids are a seeded random
permutation, so an id never reveals a role (no PaySim-style mule prefix, no Sparkov `fraud_` merchant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sim.domains.payments import client_rates, people, profiles
from sim.domains.payments.customers import TX_TYPES, Customers
from sim.domains.payments.scenario import ACCOUNT_HOLDERS, Banks, Merchants, Mules
from sim.records import END_BATCH_ROWS
from sim.rng import Streams
from sim.scenario.schema import Scenario

ID_BASE = 1_000_000_000


@dataclass(frozen=True)
class Block:
    """A population's slice of the account arrays."""

    name: str
    role: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def pick(self, rng: np.random.Generator, n: int, cumsum: np.ndarray | None = None) -> np.ndarray:
        """n accounts of this block with replacement: uniformly, or in proportion to weights given by
        their running sum over the block (`cumsum`, e.g. of activity rates) when it is positive."""
        if cumsum is not None and len(cumsum) and cumsum[-1] > 0:
            at = np.searchsorted(cumsum, rng.random(n) * cumsum[-1], side="right")
            return self.start + np.minimum(at, self.size - 1)
        return self.start + rng.integers(0, self.size, n)


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def first(pops: dict, cls: type) -> str | None:
    return next((name for name, spec in pops.items() if isinstance(spec, cls)), None)


@dataclass
class Accounts:
    blocks: dict[str, Block]
    customers: Block
    merchants: Block
    banks: Block | None
    opening: np.ndarray
    overdraft: np.ndarray
    rate_per_day: np.ndarray
    group_rates: dict[str, np.ndarray] | None  # customers' rates per group (`client_rates`), if apart
    amount_scale: np.ndarray
    exposure: np.ndarray  # a customer's chance to be a fraud victim per unit of activity (segments)
    account_id: np.ndarray
    category: np.ndarray  # merchant category code per account, -1 elsewhere
    employer: np.ndarray  # each customer's employer (a merchant's index), -1 elsewhere
    category_names: list[str]
    category_blocks: list[Block]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # demographics, profile fields
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # is_fraudster, is_mule, ...

    @property
    def n(self) -> int:
        return len(self.opening)

    @property
    def public(self) -> np.ndarray:
        """Each account's position in public-id order (its id minus ID_BASE): balances live in this
        order, so a transaction's ids need no lookup."""
        return self.account_id - ID_BASE

    def label(self, name: str, rows: np.ndarray) -> None:
        self.labels[name][rows] = True

    def table(self, closing: np.ndarray, rows: int = END_BATCH_ROWS) -> pa.RecordBatchReader:
        """The accounts table, ordered by public id: attributes, balances and ground-truth labels. It
        streams, `rows` accounts a batch, so no process ever holds the whole table (a host of a
        10^9-row run would hold twice its accounts' arrays)."""
        c = self.customers  # recruited mules are customers (`is_mule` says the rest)
        kept = [b for b in self.blocks.values() if not (b.role == "mule" and c.start <= b.start < c.stop)]
        block = np.full(self.n, -1, dtype=np.int16)
        for code, b in enumerate(kept):
            block[b.start : b.stop] = code
        population = np.asarray([*(b.name for b in kept), None], dtype=object)
        role = np.asarray([*(b.role for b in kept), None], dtype=object)
        category = np.asarray([*self.category_names, None], dtype=object)
        columns = {  # name -> (values by position, arrow type, names its codes index or a mask of nulls)
            "account": (self.account_id, None, None),
            "population": (block, pa.string(), population),
            "role": (block, pa.string(), role),
            "category": (self.category, pa.string(), category),
            "opening_balance": (self.opening, None, None),
            "overdraft_limit": (self.overdraft, None, np.isinf),  # null: no limit
            "closing_balance": (closing, None, None),
            "transactions_per_day": (self.rate_per_day, None, None),
            "amount_scale": (self.amount_scale, None, None),
        }
        for name, values in self.attributes.items():
            columns[name] = (values, _arrow_type(values), np.isnan if values.dtype.kind == "f" else _is_none)
        for name, values in self.labels.items():
            columns[name] = (values, None, None)
        types = {
            name: kind or pa.from_numpy_dtype(values.dtype) for name, (values, kind, _) in columns.items()
        }
        schema = pa.schema(list(types.items()))
        order = np.argsort(self.account_id)

        def batch(at: np.ndarray) -> pa.RecordBatch:
            arrays = []
            for name, (values, _, how) in columns.items():
                taken = values[at]
                if isinstance(how, np.ndarray):  # codes into names (the last one null)
                    arrays.append(pa.array(how[taken], types[name]))
                else:
                    arrays.append(pa.array(taken, types[name], mask=how(taken) if how else None))
            return pa.RecordBatch.from_arrays(arrays, schema=schema)

        batches = (batch(order[lo : lo + rows]) for lo in range(0, self.n, rows))
        return pa.RecordBatchReader.from_batches(schema, batches)


def _is_none(values: np.ndarray) -> np.ndarray:
    return np.equal(values, None)


def _arrow_type(values: np.ndarray) -> pa.DataType:
    """An attribute column's type, whatever rows a batch holds: its values' own (nulls where none)."""
    if values.dtype.kind != "O":
        return pa.from_numpy_dtype(values.dtype)
    present = np.flatnonzero(~_is_none(values))
    return pa.array(values[present[:1024]]).type if len(present) else pa.null()


def build_accounts(scenario: Scenario, streams: Streams, scale: float) -> Accounts:
    pops = scenario.populations
    merchants_spec: Merchants = pops[first(pops, Merchants)]
    categories = merchants_spec.categories or {}
    blocks: dict[str, Block] = {}
    category_blocks: list[Block] = []
    start = 0
    for name, spec in pops.items():
        if isinstance(spec, ACCOUNT_HOLDERS) and not (isinstance(spec, Mules) and spec.among):
            size = scaled(spec.count, scale)
            if isinstance(spec, Merchants) and categories:
                size = max(size, len(categories))
                category_blocks = _category_blocks(categories, start, size)
            blocks[name] = Block(name, spec.role, start, start + size)
            start += size
    n = start
    customers = blocks[first(pops, Customers)]
    for name, spec in pops.items():  # mules recruited among customers: the first of them (drawn alike)
        if isinstance(spec, Mules) and spec.among:
            size = min(scaled(spec.count, scale), customers.size)
            blocks[name] = Block(name, spec.role, customers.start, customers.start + size)
    merchants = blocks[first(pops, Merchants)]
    bank_name = first(pops, Banks)

    opening = np.zeros(n)
    for name, block in blocks.items():
        spec = pops[name]
        if not isinstance(spec, Mules):  # dedicated mules open empty and hold only what they receive
            rng = streams.generator(f"populations.{name}.opening_balance")
            opening[block.start : block.stop] = np.round(spec.opening_balance.sample(rng, block.size), 2)

    cspec: Customers = pops[customers.name]
    c = slice(customers.start, customers.stop)
    rate = np.zeros(n)
    rng = streams.generator(f"populations.{customers.name}.transactions_per_day")
    rate[c] = np.clip(cspec.transactions_per_day.sample(rng, customers.size), 0, None)
    amount_scale = np.ones(n)
    rng = streams.generator(f"populations.{customers.name}.amount_scale")
    amount_scale[c] = np.clip(cspec.amount_scale.sample(rng, customers.size), 0, None)
    exposure = np.ones(n)  # relative chance of being picked as a fraud victim, per unit of activity
    segments = _segments(cspec, customers.name, customers.size, streams)
    activity = np.ones(customers.size)  # the segments' effect on activity alone
    for _, effects in segments.values():
        rate[c] *= effects["activity"]
        activity *= effects["activity"]
        amount_scale[c] *= effects["spending"]
        exposure[c] *= effects["victimisation"]
    group_rates = None
    if cspec.activity_by_type:
        rng = streams.generator(f"populations.{customers.name}.activity_by_type")
        group_rates = client_rates.group_rates(cspec, float(rate[c].sum()), activity, amount_scale[c], rng)
        rate[c] = sum(group_rates.values())
    overdraft = np.zeros(n)
    overdraft[merchants.start : merchants.stop] = np.inf  # cash agents never decline
    if bank_name:
        overdraft[blocks[bank_name].start : blocks[bank_name].stop] = np.inf
    if cspec.overdraft_limit == "paysim":
        overdraft[c] = profiles.paysim_overdraft(amount_scale[c] * _expected_amount(cspec))
    else:
        overdraft[c] = cspec.overdraft_limit

    employer = np.full(n, -1, dtype=np.int64)  # who pays each customer (its pay: `income_share`)
    employer[c] = merchants.pick(streams.generator(f"populations.{customers.name}.employer"), customers.size)
    category = np.full(n, -1, dtype=np.int8)
    for code, block in enumerate(category_blocks):
        category[block.start : block.stop] = code
    perm = streams.generator("accounts.ids").permutation(n)
    attributes = {}
    for name, (values, _) in segments.items():
        column = np.full(n, None, dtype=object)
        column[c] = values
        attributes[name] = column
    accounts = Accounts(
        blocks=blocks,
        customers=customers,
        merchants=merchants,
        banks=blocks[bank_name] if bank_name else None,
        opening=opening,
        overdraft=overdraft,
        rate_per_day=rate,
        group_rates=group_rates,
        amount_scale=amount_scale,
        exposure=exposure,
        attributes=attributes,
        account_id=(ID_BASE + perm).astype(np.int64),
        category=category,
        employer=employer,
        category_names=list(categories),
        category_blocks=category_blocks,
        labels={
            k: np.zeros(n, dtype=bool) for k in ("is_fraudster", "is_mule", "is_victim", "is_laundering")
        },
    )
    for name, block in blocks.items():
        if isinstance(pops[name], Mules):
            accounts.labels["is_mule"][block.start : block.stop] = True
    _add_people(accounts, cspec, streams)
    return accounts


def _segments(spec: Customers, name: str, size: int, streams: Streams) -> dict:
    """Each segment attribute's value per customer, drawn by the shares from its own stream, and the
    effects of those values per customer (activity, spending, victimisation multipliers)."""
    out = {}
    for attribute, segments in spec.segments.items():
        rng = streams.generator(f"populations.{name}.segments.{attribute}")
        shares = np.array([s.share for s in segments.values()])
        drawn = rng.choice(len(segments), size=size, p=shares / shares.sum())
        effects = {
            effect: np.array([getattr(s, effect) for s in segments.values()])[drawn]
            for effect in ("activity", "spending", "victimisation")
        }
        out[attribute] = (np.array(list(segments), dtype=object)[drawn], effects)
    return out


def _category_blocks(categories: dict, start: int, size: int) -> list[Block]:
    """Split the merchants into contiguous category blocks in proportion to weight, at least one each."""
    weights = np.array([c.weight for c in categories.values()])
    counts = np.maximum(1, np.floor(weights / weights.sum() * size)).astype(int)
    counts[np.argmax(counts)] += size - counts.sum()
    edges = start + np.concatenate([[0], np.cumsum(counts)])
    return [Block(name, "merchant", int(edges[i]), int(edges[i + 1])) for i, name in enumerate(categories)]


def _expected_amount(spec: Customers) -> float:
    """A customer's mean transaction amount at spending level 1 (for PaySim's overdraft rule)."""
    mix = spec.type_mix or profiles.default_type_mix()
    total = sum(mix.values())
    return sum(
        share
        / total
        * (spec.amounts.get(t) or profiles.default_amount(t)).mean
        * spec.amount_factor.get(t, 1.0)
        for t, share in mix.items()
        if t in TX_TYPES
    )


def _add_people(accounts: Accounts, spec: Customers, streams: Streams) -> None:
    """Demographics and profile fields are customer attributes; other accounts get nulls."""
    c = accounts.customers
    if spec.demographics == "none" and not spec.profile_fields:
        return
    gender = np.full(c.size, None, dtype=object)
    if spec.demographics == "census":
        drawn = people.demographics(streams.generator("populations.demographics"), c.size)
        gender = drawn["gender"]
        for name, values in drawn.items():
            column = np.full(accounts.n, None, dtype=object)
            column[c.start : c.stop] = values
            if name == "age":
                column = column.astype(float)  # NaN for non-customers, age for customers
            accounts.attributes[name] = column
    if spec.profile_fields:
        fields = people.profile_fields(streams.generator("populations.profile_fields"), gender)
        for name, values in fields.items():
            column = np.full(accounts.n, None, dtype=object)
            column[c.start : c.stop] = values
            accounts.attributes[name] = column
