"""Fraud typologies as scheduled rows: each incident is one pattern, labelled `is_fraud` with its
`fraud_type`, its `pattern_id` and, inside a fraud-ring attack, the attack's `campaign_id`.

Incidents arrive as a Poisson process per population (rate x intensity of the active campaigns); bust-outs
are decided when the world is built (each first-party fraudster busts out once).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.domains.payments.accounts import Accounts
from sim.domains.payments.kernels import (
    CASH_OUT,
    PAYMENT,
    SHARE_OF_AVAILABLE,
    SHARE_OF_LIMIT,
    TRANSFER,
    UP_TO,
)
from sim.domains.payments.rows import Agenda, Membership, concat, make_rows
from sim.domains.payments.scenario import (
    FRAUD_TYPES,
    AccountTakeover,
    AppScam,
    BustOut,
    CardTesting,
    CardTheft,
)
from sim.rng import Streams
from sim.scenario.schema import Scenario

Purchases = Callable[[np.random.Generator, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(rng, times in steps) -> (merchant accounts, amounts at those merchants' categories then)"""
Amounts = Callable[[np.random.Generator, int, np.ndarray], np.ndarray]
"""(rng, type, times in steps) -> amounts of that type as customers draw them then"""


def _code(typology: str) -> int:
    return FRAUD_TYPES.index(typology) + 1


def _counts(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, n)


def _spread(rng: np.random.Generator, t0: np.ndarray, counts: np.ndarray, span: float):
    """For incident i, counts[i] times in [t0[i], t0[i] + span), in order. Returns (incident, time)."""
    incident = np.repeat(np.arange(len(t0)), counts)
    u = rng.random(len(incident))
    order = np.lexsort((u, incident))
    return incident, t0[incident] + u[order] * span


class Fraud:
    """The scenario's fraudster populations and what their incidents do to the accounts."""

    def __init__(self, scenario: Scenario, accounts: Accounts, streams: Streams, scale: float,
                 purchases: Purchases, amounts: Amounts, membership: Membership, agenda: Agenda,
                 day_share: np.ndarray, holdings: Callable[[np.ndarray], np.ndarray]):  # fmt: skip
        self.scenario = scenario
        self.accounts = accounts
        self.streams = streams
        self.purchases = purchases
        self.amounts = amounts
        self.membership = membership
        self.agenda = agenda
        self.step_days = scenario.horizon.step.total_seconds() / 86400
        self.day_share = day_share  # the customers' rhythm: share of a day's activity in each step
        self.holdings = holdings  # accounts -> their balances now
        self.activity: dict[str, np.ndarray] = {}  # victims' running sums of rates, by block
        self.specs = {
            name: spec
            for name, spec in scenario.populations.items()
            if spec.role == "fraudster" and not isinstance(spec, BustOut)
        }
        self.counts = {name: max(1, round(spec.count * scale)) for name, spec in self.specs.items()}
        self.incidents = dict.fromkeys(self.specs, 0)  # started so far, per population
        for name, spec in scenario.populations.items():
            if isinstance(spec, BustOut):
                self._bust_outs(name, spec, max(1, round(spec.count * scale)))

    def span(self, value) -> float:
        return float(self.scenario.steps_in(value)) if value else 0.0

    def step(self, k: int, intensity: dict[str, float], campaign: dict[str, int]) -> None:
        """Start this step's incidents; their rows go to the agenda (some land in later steps)."""
        for name, spec in self.specs.items():
            rng = self.streams.generator(f"payments.fraud.{name}", k)
            days = self.day_share[k] if spec.timing == "rhythm" else self.step_days
            lam = spec.attacks_per_day * self.counts[name] * days * intensity.get(name, 1.0)
            n = int(rng.poisson(lam))
            if n == 0:
                continue
            self.incidents[name] += n
            t0 = k + rng.random(n)
            ids = self.membership.new_ids(n)
            camp = campaign.get(name, -1)
            victims = self._victims(rng, spec, n)
            self.accounts.label("is_victim", victims)
            self.membership.add("fraud", spec.typology, ids, victims, "victim", camp, t0)
            build = {
                AccountTakeover: self._takeover,
                AppScam: self._app_scam,
                CardTheft: self._card_theft,
                CardTesting: self._card_testing,
            }[type(spec)]
            rows = build(rng, spec, t0, victims, ids)
            rows.update(fraud=_code(spec.typology), campaign=camp)
            self.agenda.add(make_rows(**rows))

    def _victims(self, rng, spec, n: int) -> np.ndarray:
        """Of `reach` accounts drawn by activity (times their segments' exposure) per incident, the one
        holding the most now."""
        block = self.accounts.blocks[spec.victims]
        if block.name not in self.activity:  # each block's running sum of rates, once
            rows = slice(block.start, block.stop)
            weight = self.accounts.rate_per_day[rows] * self.accounts.exposure[rows]
            self.activity[block.name] = np.cumsum(weight)
        drawn = block.pick(rng, n * spec.reach, self.activity[block.name])
        drawn = drawn.reshape(n, spec.reach)
        return drawn[np.arange(n), np.argmax(self.holdings(drawn), axis=1)]

    def _mule_cash_out(self, rng, spec, mules: np.ndarray, after: np.ndarray, ids: np.ndarray,
                       received: np.ndarray | None = None) -> dict:  # fmt: skip
        """Each mule cashes out its `cash_out_share` of the amounts the thief sent it (`received`, as
        asked: a victim who held less gave less, and the mule then pays up to what it holds), or, where
        what arrives is known only at settlement (a share of a balance), of all it holds then. A mule is
        often an ordinary customer with savings of its own: those stay. It cashes out later in the same
        step, or, under the step settlement rule, in the next (when what it received has cleared)."""
        share = self.scenario.populations[spec.mules].cash_out_share
        agents = self.accounts.merchants.pick(rng, len(mules))
        amount, mode = (
            (share, SHARE_OF_AVAILABLE)
            if received is None
            else (np.floor(share * received * 100) / 100, UP_TO)
        )
        u = rng.random(len(mules))
        if self.scenario.settlement == "step":  # what arrived is spendable once its step has cleared
            later = np.floor(after) + 1 + u
        else:
            later = after + (np.floor(after) + 1 - after) * u  # later, same step
        return {
            "time": later,
            "kind": CASH_OUT,
            "origin": mules,
            "dest": agents,
            "amount": amount,
            "mode": mode,
            "pattern": ids,
        }

    def _takeover(self, rng, spec: AccountTakeover, t0, victims, ids) -> dict:
        """Each incident by one of the spec's routes (see `AccountTakeover`); a transfer or cash-out moves
        what a customer would move then, or all there is when that is less."""
        names = list(spec.route)
        weights = np.array([spec.route[n] for n in names])
        route = np.array(names)[rng.choice(len(names), len(t0), p=weights / weights.sum())]
        parts = []
        m = np.flatnonzero(route == "mule")
        if len(m):
            mules = self.accounts.blocks[spec.mules].pick(rng, len(m))
            self.membership.add("fraud", spec.typology, ids[m], mules, "mule", -1, t0[m])
            amounts = self.amounts(rng, TRANSFER, t0[m])
            drain = {"time": t0[m], "kind": TRANSFER, "origin": victims[m], "dest": mules, "amount": amounts,
                     "mode": UP_TO, "pattern": ids[m]}  # fmt: skip
            parts += [drain, self._mule_cash_out(rng, spec, mules, t0[m], ids[m], amounts)]
        cash = np.flatnonzero(route == "cash_out")
        if len(cash):
            parts.append({"time": t0[cash], "kind": CASH_OUT, "origin": victims[cash],
                          "dest": self.accounts.merchants.pick(rng, len(cash)),
                          "amount": self.amounts(rng, CASH_OUT, t0[cash]), "mode": UP_TO,
                          "pattern": ids[cash]})  # fmt: skip
        buy = np.flatnonzero(route == "purchases")
        if len(buy):
            incident, times = _spread(
                rng, t0[buy], _counts(rng, spec.purchases, len(buy)), self.span(spec.span)
            )
            merchants, amounts = self.purchases(rng, times)
            parts.append(_purchase(times, victims[buy][incident], merchants, amounts, ids[buy][incident],
                                   self.accounts))  # fmt: skip
        return concat([make_rows(**part) for part in parts])  # each part's missing fields defaulted

    def _app_scam(self, rng, spec: AppScam, t0, victims, ids) -> dict:
        """The victim makes one or more transfers to the scammer's mule, which then cashes out."""
        mules = self.accounts.blocks[spec.mules].pick(rng, len(t0))
        self.membership.add("fraud", spec.typology, ids, mules, "mule", -1, t0)
        counts = _counts(rng, spec.payments, len(t0))
        incident, times = _spread(rng, t0, counts, self.span(spec.span))
        share = np.clip(spec.share.sample(rng, len(incident)), 0.0, 1.0)
        pay = {"time": times, "kind": TRANSFER, "origin": victims[incident], "dest": mules[incident],
               "amount": share, "mode": SHARE_OF_AVAILABLE, "pattern": ids[incident]}  # fmt: skip
        last = np.zeros(len(t0))
        np.maximum.at(last, incident, times)
        return _join(pay, self._mule_cash_out(rng, spec, mules, last, ids))

    def _card_theft(self, rng, spec: CardTheft, t0, victims, ids) -> dict:
        """BankSim: a burst of larger-than-usual purchases on the stolen card."""
        incident, times = _spread(rng, t0, _counts(rng, spec.purchases, len(t0)), self.span(spec.span))
        merchants, amounts = self.purchases(rng, times, spec.categories)
        return _purchase(times, victims[incident], merchants, amounts * spec.amount_multiplier, ids[incident],
                         self.accounts)  # fmt: skip

    def _card_testing(self, rng, spec: CardTesting, t0, victims, ids) -> dict:
        """Tiny probes to check the card works, then large spends after a delay."""
        span = self.span(spec.span)
        incident, times = _spread(rng, t0, _counts(rng, spec.probes, len(t0)), span)
        merchants, _ = self.purchases(rng, times, spec.probe_categories)
        probes = _purchase(times, victims[incident], merchants, spec.probe_amount.sample(rng, len(incident)),
                           ids[incident], self.accounts)  # fmt: skip
        later = t0 + span + self.span(spec.delay)
        incident, times = _spread(rng, later, _counts(rng, spec.spends, len(t0)), span)
        merchants, _ = self.purchases(rng, times, spec.spend_categories)
        spends = _purchase(times, victims[incident], merchants, spec.spend_amount.sample(rng, len(incident)),
                           ids[incident], self.accounts)  # fmt: skip
        return _join(probes, spends)

    def _bust_outs(self, name: str, spec: BustOut, count: int) -> None:
        """First-party fraud: chosen accounts get credit, live normally, then spend it all and vanish."""
        rng = self.streams.generator(f"payments.fraud.{name}")
        block = self.accounts.blocks[spec.accounts]
        fraudsters = block.start + rng.choice(block.size, size=min(count, block.size), replace=False)
        self.accounts.overdraft[fraudsters] = spec.credit_limit
        self.accounts.label("is_fraudster", fraudsters)
        horizon = self.scenario.horizon.steps
        t0 = horizon * (0.25 + 0.75 * rng.random(len(fraudsters)))  # after building a normal history
        ids = self.membership.new_ids(len(fraudsters))
        self.membership.add("fraud", spec.typology, ids, fraudsters, "fraudster", -1, t0)
        counts = _counts(rng, spec.purchases, len(fraudsters))
        incident, times = _spread(rng, t0, counts, self.span(spec.span))
        # the j-th of m purchases takes 1/(m - j) of what is left: the last one empties the credit line
        position = np.arange(len(incident)) - np.repeat(np.cumsum(counts) - counts, counts)
        share = 1.0 / (counts[incident] - position)
        merchants, _ = self.purchases(rng, times)
        rows = _purchase(times, fraudsters[incident], merchants, share, ids[incident], self.accounts)
        rows.update(amount=share, mode=SHARE_OF_LIMIT, fraud=_code(spec.typology))
        self.agenda.add(make_rows(**rows))


def _purchase(times, cards, merchants, amounts, pattern, accounts: Accounts) -> dict:
    return {
        "time": times,
        "kind": PAYMENT,
        "origin": cards,
        "dest": merchants,
        "amount": np.maximum(np.round(amounts, 2), 0.01),
        "pattern": pattern,
        "category": accounts.category[merchants],
    }


def _join(a: dict, b: dict) -> dict:
    """Two row sets as one; scalar fields are broadcast first."""
    na, nb = len(a["time"]), len(b["time"])
    keys = a.keys() | b.keys()
    return {
        key: np.concatenate(
            [
                np.broadcast_to(np.asarray(a.get(key, 0)), (na,)),
                np.broadcast_to(np.asarray(b.get(key, 0)), (nb,)),
            ]
        )
        for key in keys
    }
