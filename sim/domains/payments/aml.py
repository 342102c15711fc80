"""AML typologies (AMLSim / AMLworld shapes) as scheduled rows through ordinary customers' accounts.

Every pattern places cash into its sources (CASH_IN from a cash agent), then layers it along its shape,
stage by stage within `spread`; each hop passes on `1 - fee` of what it received. Rows carry
`is_laundering`, `typology` and `pattern_id`; the `patterns` table lists each member and its role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.domains.payments.accounts import Accounts
from sim.domains.payments.kernels import CASH_IN, CASH_OUT, PAYMENT, TRANSFER, UP_TO
from sim.domains.payments.rows import Agenda, Membership, make_rows
from sim.domains.payments.scenario import AML_TYPOLOGIES, Launderers
from sim.rng import Streams
from sim.scenario.schema import Scenario


@dataclass
class Shape:
    """One pattern in local member numbers: roles, cash placements and staged transfers."""

    roles: list[str]
    placements: list[tuple[int, float]] = field(default_factory=list)  # (member, amount), stage 0
    edges: list[tuple[int, int, int, float]] = field(default_factory=list)  # (stage, src, dst, amount)

    def place(self, member: int, amount: float) -> None:
        self.placements.append((member, amount))

    def send(self, stage: int, src: int, dst: int, amount: float) -> None:
        self.edges.append((stage, src, dst, amount))


def _split(rng: np.random.Generator, total: float, n: int) -> np.ndarray:
    return total * rng.dirichlet(np.ones(n)) if n > 1 else np.array([total])


def fan_out(rng, size, amount, keep, spec) -> Shape:
    k = max(size - 1, 1)
    s = Shape(["source"] + ["sink"] * k)
    s.place(0, amount)
    for i, part in enumerate(_split(rng, amount * keep, k)):
        s.send(1, 0, 1 + i, part)
    return s


def fan_in(rng, size, amount, keep, spec) -> Shape:
    k = max(size - 1, 1)
    s = Shape(["source"] * k + ["sink"])
    for i, part in enumerate(_split(rng, amount, k)):
        s.place(i, part)
        s.send(1, i, k, part * keep)
    return s


def cycle(rng, size, amount, keep, spec) -> Shape:
    n = max(size, 2)
    s = Shape(["member"] * n)
    s.place(0, amount)
    for j in range(1, n + 1):
        s.send(j, j - 1, j % n, amount * keep**j)
    return s


def bipartite(rng, size, amount, keep, spec) -> Shape:
    senders = max((size + 1) // 2, 1)
    receivers = max(size - senders, 1)
    s = Shape(["source"] * senders + ["sink"] * receivers)
    for i, part in enumerate(_split(rng, amount, senders)):
        s.place(i, part)
        for r in range(receivers):
            s.send(1, i, senders + r, part * keep / receivers)
    return s


def stack(rng, size, amount, keep, spec) -> Shape:
    layers = spec.layers
    n = max(size, layers)
    widths = np.full(layers, n // layers) + (np.arange(layers) < n % layers)
    starts = np.concatenate([[0], np.cumsum(widths)])
    s = Shape(["source"] * widths[0] + ["intermediate"] * int(widths[1:-1].sum()) + ["sink"] * widths[-1])
    held = np.zeros(n)
    for i, part in enumerate(_split(rng, amount, int(widths[0]))):
        s.place(i, part)
        held[i] = part
    for layer in range(1, layers):
        for i in range(starts[layer - 1], starts[layer]):
            for j in range(starts[layer], starts[layer + 1]):
                part = held[i] * keep / widths[layer]
                s.send(layer, i, j, part)
                held[j] += part
    return s


def random_walk(rng, size, amount, keep, spec) -> Shape:
    n = max(size, 2)
    s = Shape(["member"] * n)
    s.place(0, amount)
    hops = int(rng.integers(spec.hops[0], spec.hops[1] + 1))
    here = 0
    for j in range(1, hops + 1):
        there = (here + 1 + int(rng.integers(0, n - 1))) % n
        s.send(j, here, there, amount * keep**j)
        here = there
    return s


def scatter_gather(rng, size, amount, keep, spec) -> Shape:
    k = max(size - 2, 1)
    s = Shape(["source"] + ["intermediate"] * k + ["sink"])
    s.place(0, amount)
    for i, part in enumerate(_split(rng, amount * keep, k)):
        s.send(1, 0, 1 + i, part)
        s.send(2, 1 + i, k + 1, part * keep)
    return s


def gather_scatter(rng, size, amount, keep, spec) -> Shape:
    rest = max(size - 1, 2)
    sources = (rest + 1) // 2
    sinks = rest - sources
    hub = sources
    s = Shape(["source"] * sources + ["hub"] + ["sink"] * sinks)
    for i, part in enumerate(_split(rng, amount, sources)):
        s.place(i, part)
        s.send(1, i, hub, part * keep)
    for r, part in enumerate(_split(rng, amount * keep * keep, sinks)):
        s.send(2, hub, hub + 1 + r, part)
    return s


def structuring(rng, size, amount, keep, spec) -> Shape:
    """`size` cash deposits, each just under the reporting threshold, into one account."""
    s = Shape(["member"])
    for _ in range(size):
        s.place(0, spec.threshold * (1 - spec.margin * rng.random()) - 0.01)
    return s


SHAPES = {
    "fan_in": fan_in,
    "fan_out": fan_out,
    "cycle": cycle,
    "bipartite": bipartite,
    "stack": stack,
    "random": random_walk,
    "scatter_gather": scatter_gather,
    "gather_scatter": gather_scatter,
    "structuring": structuring,
}
assert set(SHAPES) == set(AML_TYPOLOGIES)


def schedule_laundering(scenario: Scenario, accounts: Accounts, streams: Streams, scale: float,
                        membership: Membership, agenda: Agenda, day_share: np.ndarray) -> None:  # fmt: skip
    """Decide every AML pattern of the run and put its rows on the agenda (`day_share`: the customers'
    activity per step, which the rows' times follow)."""
    activity = np.concatenate([[0.0], np.cumsum(np.maximum(day_share, 0.0))])  # at each step's start
    horizon = scenario.horizon.steps
    for name, spec in scenario.populations.items():
        if not isinstance(spec, Launderers):
            continue
        rng = streams.generator(f"payments.aml.{name}")
        block = accounts.blocks[spec.accounts]
        spread = float(min(scenario.steps_in(spec.spread), horizon))
        code = AML_TYPOLOGIES.index(spec.typology) + 1
        keep = 1.0 - spec.fee
        parts = []
        for pattern in membership.new_ids(max(1, round(spec.patterns * scale))):
            size = int(rng.integers(spec.size[0], spec.size[1] + 1))
            amount = float(spec.amount.sample(rng, 1)[0])
            shape = SHAPES[spec.typology](rng, size, amount, keep, spec)
            members = block.start + rng.choice(
                block.size, size=min(len(shape.roles), block.size), replace=False
            )
            if len(members) < len(shape.roles):  # a tiny population: members repeat
                members = members[np.arange(len(shape.roles)) % len(members)]
            start = rng.random() * max(horizon - spread, 0.0)
            rows = _rows(rng, shape, members, start, spread, accounts, pattern)
            rows = _exit(rng, spec, shape, members, rows, accounts)
            rows["time"] = _in_rhythm(rows["time"], activity)
            stages = rows.pop("stage")
            if scenario.settlement == "step":
                rows["time"] = _after_funding(rows["time"], stages)
            parts.append(rows)
            accounts.label("is_laundering", members)
            membership.add("aml", spec.typology, pattern, members, np.array(shape.roles), -1, start)
        for rows in parts:
            rows["typology"] = code
            agenda.add(make_rows(**rows))


def _rows(rng, shape: Shape, members, start, spread, accounts: Accounts, pattern) -> dict:
    """Stage s happens in the s-th of `stages` equal slots of the spread, so stages stay in order."""
    stages = 1 + max((e[0] for e in shape.edges), default=0)
    slot = spread / stages
    n_place, n_edge = len(shape.placements), len(shape.edges)
    place_member = np.array([m for m, _ in shape.placements], dtype=np.int64)
    if stages == 1:  # structuring: deposits spread over the whole window
        place_time = start + np.sort(rng.random(n_place)) * spread
    else:
        place_time = start + rng.random(n_place) * slot
    edge = np.array(shape.edges, dtype=np.float64).reshape(n_edge, 4)
    edge_time = start + (edge[:, 0] + rng.random(n_edge)) * slot
    agents = accounts.merchants.pick(rng, n_place)
    return {
        "time": np.concatenate([place_time, edge_time]),
        "kind": np.concatenate([np.full(n_place, CASH_IN), np.full(n_edge, TRANSFER)]),
        "origin": np.concatenate([members[place_member], members[edge[:, 1].astype(np.int64)]]),
        "dest": np.concatenate([agents, members[edge[:, 2].astype(np.int64)]]),
        "amount": np.round(np.concatenate([[a for _, a in shape.placements], edge[:, 3]]), 2),
        "pattern": pattern,
        "stage": np.concatenate([np.zeros(n_place, np.int64), edge[:, 0].astype(np.int64)]),
    }


def _exit(rng, spec: Launderers, shape: Shape, members, rows: dict, accounts: Accounts) -> dict:
    """The money's way out of the sinks (members that receive and never send on; for structuring and
    cycles, where it was placed): by `spec.exit`, a cash-out of what the sink received, or two to five
    purchases adding up to it, within a day of the pattern's last row (UP_TO: never more than it holds)."""
    names = list(spec.exit)
    weights = np.array([spec.exit[n] for n in names])
    senders = {e[1] for e in shape.edges}
    received: dict[int, float] = {}
    for _, _, dst, amount in shape.edges:
        if dst not in senders:
            received[dst] = received.get(dst, 0.0) + amount
    if not received:
        for member, amount in shape.placements:
            received[member] = received.get(member, 0.0) + amount
    last = float(np.max(rows["time"])) if len(rows["time"]) else 0.0
    extra: dict[str, list] = {"time": [], "kind": [], "origin": [], "dest": [], "amount": []}
    for member, total in received.items():
        way = names[rng.choice(len(names), p=weights / weights.sum())]
        if way == "stay":
            continue
        parts = 1 if way == "cash_out" else int(rng.integers(2, 6))
        split = rng.dirichlet(np.ones(parts)) if parts > 1 else np.ones(1)
        extra["time"] += list(np.sort(last + rng.random(parts) * 24.0))
        extra["kind"] += [CASH_OUT if way == "cash_out" else PAYMENT] * parts
        extra["origin"] += [members[member]] * parts
        extra["dest"] += list(accounts.merchants.pick(rng, parts))
        extra["amount"] += list(np.maximum(np.round(total * (1.0 - spec.fee) * split, 2), 0.01))
    n = len(extra["time"])
    if n == 0:
        return rows
    dests = np.array(extra["dest"], dtype=np.int64)
    out = {name: np.concatenate([rows[name], np.array(values)]) for name, values in extra.items()}
    out["mode"] = np.r_[np.zeros(len(rows["time"]), np.int8), np.full(n, UP_TO, np.int8)]
    out["category"] = np.r_[np.full(len(rows["time"]), -1), accounts.category[dests]]
    out["pattern"] = rows["pattern"]
    out["stage"] = np.r_[rows["stage"], np.full(n, rows["stage"].max(initial=0) + 1)]  # the way out: last
    return out


def _after_funding(times: np.ndarray, stages: np.ndarray) -> np.ndarray:
    """Under the step settlement rule a hop spends money that arrived in an earlier step: each stage's
    rows falling in or before the step of the previous stage's last row move to the step after it (the
    same time within the step), so every stage settles after the one that funds it."""
    out = times.copy()
    funded = -np.inf  # the step of the previous stage's last row
    for stage in np.unique(stages):
        rows = np.flatnonzero(stages == stage)
        t = out[rows]
        early = np.floor(t) <= funded
        t[early] = funded + 1 + (t[early] - np.floor(t[early]))
        out[rows] = t
        funded = float(np.floor(t.max()))
    return out


def _in_rhythm(times: np.ndarray, activity: np.ndarray) -> np.ndarray:
    """Times (in steps) moved to the customers' rhythm: each keeps its share of the way through the
    activity between the pattern's first and last row, so order and span stay and quiet hours stay quiet."""
    if len(times) < 2 or activity[-1] <= 0:
        return times
    steps = np.arange(len(activity), dtype=np.float64)
    lo, hi = float(times.min()), float(times.max())
    a_lo, a_hi = np.interp([lo, hi], steps, activity)
    if a_hi <= a_lo:
        return times
    target = a_lo + (times - lo) / (hi - lo) * (a_hi - a_lo) if hi > lo else np.full(len(times), a_lo)
    moved = np.interp(target, activity, steps)  # activity is non-decreasing: its inverse
    return np.minimum(moved, len(activity) - 1 - 1e-9)
