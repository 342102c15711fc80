"""Shards of a payments world: each host settles its own accounts, the driver only schedules.

A sharded run (under `settlement: step`) splits the customers' cells into shards, and the shards among
hosts, one host per worker, all running at once. A host owns the ledger of its cells' accounts (customers
by cell; every other account spread over the cells by a fixed rule of the population: `cell_of_accounts`).
Each step it draws its own cells' transactions, takes the fraud and laundering rows its accounts pay
(every host keeps the whole agenda, drawn from the same streams), decides its payers' rows on what they
held when the step began (`settlement.decide`, each cell with its own stream) and books them:

- a row whose payee another host owns sends that side (a leg: its row's time, time key, account and
  signed amount) to that host, straight to it (`Exchange`: the driver never sees it);
- each host books its own rows and the legs it received in the step's time order, in one pass
  (`legs.book_host`), and sends the legs' balances before and after back to the rows' host;
- a fraud incident that picks its victim by balance asks every host for the candidates' balances.

The host writes its rows as its shards' Parquet parts, straight to the run's folder or object store; at
the end the first host gathers every host's closing balances and writes the accounts and patterns
tables. The driver (`driver`) holds no accounts: it receives progress, and at the end each host's
tallies (exact: they add up to the whole run's) and its files' checksums; no transaction row passes
through it. Every run that settles by step writes the same rows, whole or on any number of shards,
hosts and backends.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sim.distributed import Parts, PartWriter
from sim.domains.payments.accounts import ID_BASE
from sim.domains.payments.activity import CELL_CUSTOMERS
from sim.domains.payments.kernels import draw_keys, interleave, take_interleave
from sim.domains.payments.settlement import decide, rows_by_cell
from sim.errors import InputError, SimError
from sim.exchange import LOOPBACK, Exchange
from sim.mailbox import Mailbox

SPECIAL = np.int64(1) << 62  # a scheduled row's time key sorts after customers' rows at the same instant


def shard_cells(cells: int, shards: int, name: str) -> list[range]:
    """Contiguous groups of whole cells, one per shard."""
    if shards < 1:
        raise InputError("--shards must be at least 1")
    if shards > cells:
        raise InputError(
            f"{name}: at most {cells} shard(s) at this scale (its customers form {cells} cell(s) of at "
            f"least {CELL_CUSTOMERS:,}); use --shards {cells} or fewer"
        )
    edges = np.linspace(0, cells, shards + 1).astype(int)
    return [range(lo, hi) for lo, hi in itertools.pairwise(edges)]


def cell_of_accounts(accounts, bounds: np.ndarray) -> np.ndarray:
    """The cell each account belongs to, indexed by public position: a customer's is its own cell;
    every other account (merchants, banks, mules' other roles) is spread over the cells round-robin by
    its place in the population. A function of the population alone, like the cells themselves."""
    cells = len(bounds) - 1
    cell = (np.arange(accounts.n) % cells).astype(np.int64)
    c = accounts.customers
    for k in range(cells):
        cell[c.start + bounds[k] : c.start + bounds[k + 1]] = k
    by_public = np.empty_like(cell)
    by_public[accounts.public] = cell
    return by_public


def shard_of_cells(groups: list[range]) -> np.ndarray:
    out = np.empty(groups[-1].stop, dtype=np.int64)
    for shard, cells in enumerate(groups):
        out[cells.start : cells.stop] = shard
    return out


def host_shards(shards: int, hosts: int) -> list[range]:
    """Contiguous groups of shards, one per host."""
    edges = np.linspace(0, shards, hosts + 1).astype(int)
    return [range(lo, hi) for lo, hi in itertools.pairwise(edges)]


@dataclass(frozen=True)
class HostPlan:
    """One host's share of a sharded run: shards `shards` of `groups` (the cells of every shard); where
    the hosts meet (`mailbox`) and the interface their exchange listens on (`Exchange`)."""

    index: int
    hosts: int
    groups: tuple[range, ...]
    shards: range
    mailbox: str
    interface: str = LOOPBACK

    @property
    def cells(self) -> range:
        return range(self.groups[self.shards.start].start, self.groups[self.shards.stop - 1].stop)


def _insertion_points(offset, keys, new_offset, new_keys) -> np.ndarray:
    """Where each of a few (time-ordered) rows goes among time-ordered rows: after every row earlier in
    (offset, key) order."""
    at = np.searchsorted(offset, new_offset, side="left")
    tied = np.flatnonzero(at < len(offset))
    tied = tied[offset[at[tied]] == new_offset[tied]]  # rows at the very same instant: keys decide
    for i in tied:
        j = at[i]
        while j < len(offset) and offset[j] == new_offset[i] and keys[j] < new_keys[i]:
            j += 1
        at[i] = j
    return at


class HostLedger:
    """A host's part of the ledger (see the module's docstring): its accounts, its rows' time keys, the
    exchange of legs and balances with the other hosts."""

    def __init__(self, plan: HostPlan, cell_of: np.ndarray, exchange: Exchange):
        self.plan = plan
        self.me = plan.index
        self.exchange = exchange
        self.cell_of = cell_of  # by public index
        host_of_cell = np.empty(plan.groups[-1].stop, dtype=np.int64)
        for host, shards in enumerate(host_shards(len(plan.groups), plan.hosts)):
            for s in shards:
                host_of_cell[plan.groups[s].start : plan.groups[s].stop] = host
        self.host_of = host_of_cell[cell_of]  # by public index
        self.shard_of_cell = shard_of_cells(list(plan.groups))
        self.owned = np.flatnonzero(self.host_of == self.me)
        self.k = 0  # the step under way
        self.asked = 0  # holdings asked for so far in this step (each ask is one exchange)

    def begin(self, k: int) -> None:
        self.k, self.asked = k, 0

    @property
    def peers(self) -> list[int]:
        """The other hosts."""
        return [h for h in range(self.plan.hosts) if h != self.me]

    def own_special(self, special: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The scheduled rows this host's accounts pay, and their time keys."""
        mine = np.flatnonzero(self.host_of[special["origin"]] == self.me)
        return {name: values[mine] for name, values in special.items()}, SPECIAL + mine

    def own_rows(self, k: int, legit: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """This host's cells' draw as the rows its accounts pay, with their time keys (the tie-break within
        an instant, as the whole run orders a step: by the cell that drew the row, then by its place in
        that cell's draw). Pay drawn here whose employer another host owns goes to that host, and the pay
        its cells drew for employers here comes in."""
        keys, payer = draw_keys(legit["origin"], legit["dest"], legit["own"], self.cell_of, self.host_of,
                                self.plan.groups[-1].stop)  # fmt: skip
        if self.plan.hosts == 1:
            return legit, keys
        away = np.flatnonzero(payer != self.me)  # only pay can be: every other row's payer drew it
        topic = f"{k}.rows"
        for other in self.peers:
            to = away[payer[away] == other]
            self.exchange.send(topic, other, ({n: v[to] for n, v in legit.items()}, keys[to]))
        parts = [self.exchange.receive(topic, other) for other in self.peers]
        mine = np.flatnonzero(payer == self.me)
        if not any(len(p[1]) for p in parts):
            return (legit, keys) if len(away) == 0 else ({n: v[mine] for n, v in legit.items()}, keys[mine])
        keys_in = np.concatenate([p[1] for p in parts])
        rows_in = {n: np.concatenate([p[0][n] for p in parts]) for n in legit}
        order = np.lexsort((keys_in, rows_in["offset"]))  # the few rows that came in, in time order
        rows_in, keys_in = {n: v[order] for n, v in rows_in.items()}, keys_in[order]
        at = _insertion_points(legit["offset"][mine], keys[mine], rows_in["offset"], keys_in)
        out = {n: np.empty(len(mine) + len(keys_in), v.dtype) for n, v in legit.items()}
        merged = np.empty(len(mine) + len(keys_in), np.int64)
        for base, extra, into in [(legit[n], rows_in[n], out[n]) for n in legit] + [(keys, keys_in, merged)]:
            take_interleave(base, mine, extra, at, into)  # its rows kept, those that came in put in place
        return out, merged

    def time_keys(self, legit: dict[str, np.ndarray], legit_keys: np.ndarray, special: dict[str, np.ndarray],
                  special_keys: np.ndarray, k: int) -> np.ndarray:  # fmt: skip
        """The merged step's time keys: scheduled rows after customers' rows at the same instant, in
        agenda order (as `world._merge` puts them)."""
        at = np.searchsorted(legit["offset"], special["time"] - k, side="right")
        out = np.empty(len(legit_keys) + len(special_keys), dtype=np.int64)
        interleave(legit_keys, special_keys, at, out)
        return out

    def holdings(self, balance: np.ndarray, accounts: np.ndarray) -> np.ndarray:
        """The balances of `accounts` (public indexes) now, each from the host that owns it."""
        topic = f"{self.k}.holdings.{self.asked}"
        self.asked += 1
        owner = self.host_of[accounts]
        values = np.where(owner == self.me, balance[accounts], 0.0)
        for other in self.peers:
            self.exchange.send(topic, other, values)
        for other in self.peers:
            values = np.where(owner == other, self.exchange.receive(topic, other), values)
        return values

    def settle(self, k: int, cols, keys, balance, spent, overdraft, means, rngs, out) -> None:
        """Decide this host's rows (its cells, each with its stream from `rngs`) and book them with the
        other hosts' legs on its accounts (see `legs`). `out` as `settlement.settle`."""
        # only hosts load these kernels: a whole run never compiles them, and its first-run notice of
        # what compiles must not name them
        from sim.domains.payments.legs import book_host, incoming_order, leg_values, legs_away

        kind, origin, dest = cols["kind"], cols["origin"], cols["dest"]
        first = self.plan.cells.start
        for cell, rows in enumerate(rows_by_cell(self.cell_of[origin] - first, len(rngs))):
            decide(rows, kind, origin, dest, cols["amount"], cols["mode"], cols["own"], balance, spent,
                   overdraft, means, rngs[cell], out)  # fmt: skip
        local, away = legs_away(kind, dest, out, self.host_of, self.me, self.plan.hosts)
        topic = f"{k}.legs"
        for other, rows in away.items():
            self.exchange.send(topic, other, leg_values(kind, dest, out, cols["offset"], keys, rows))
        received = [self.exchange.receive(topic, other) for other in self.peers]
        in_offset, in_keys, in_account, in_delta, in_moves = (
            np.concatenate([r[c] for r in received]) if received else np.empty(0, t)
            for c, t in enumerate((np.float64, np.int64, np.int64, np.float64, bool))
        )
        before, after = np.empty(len(in_account)), np.empty(len(in_account))
        book_host(kind, origin, dest, out, cols["offset"], keys, local, incoming_order(in_offset, in_keys),
                  in_offset, in_keys, in_account, in_delta, in_moves, balance, before, after)  # fmt: skip
        topic, at = f"{k}.balances", 0
        for other, legs in zip(self.peers, received, strict=True):
            count = len(legs[0])
            self.exchange.send(topic, other, (before[at : at + count], after[at : at + count]))
            at += count
        for other, rows in away.items():
            out[3, rows], out[4, rows] = self.exchange.receive(topic, other)


def run_host(scenario, scale: float, plan: HostPlan, parts: Parts, tables: frozenset[str]) -> dict:
    """One host of a sharded run, every step (runs on a worker): what the driver needs at the end. The
    host writes its shards' rows as part files (when the run writes the table of record: `tables`), the
    first host also the end-of-run tables (`PaymentsWorld.host_result`)."""
    from sim.domains.payments.world import PaymentsWorld, host_world
    from sim.engine.simulation import Simulation

    mail = Mailbox(plan.mailbox, plan.index)
    if not mail.claim(f"host-{plan.index}"):  # a host restarted by the cluster cannot rejoin the exchange
        mail.abort(f"host {plan.index} was restarted (its worker died)")
        raise SimError(f"host {plan.index} of the sharded run was restarted after its worker died")
    exchange = None
    try:
        exchange = Exchange(mail, plan.hosts, plan.interface)
        sim = Simulation(scenario, host_world(plan, exchange), scale=scale)
        world: PaymentsWorld = sim.world
        shard_of_cell = world.ledger.shard_of_cell
        writer = None
        if parts.directory.name in tables:

            def shard_of_row(batch: pa.RecordBatch) -> np.ndarray:  # the payer's cell's shard
                return shard_of_cell[world.cell_of[batch.column("origin").to_numpy() - ID_BASE]]

            writer = PartWriter(parts, world.schema, plan.shards, shard_of_row)
        shown = time.monotonic()
        while sim.running:
            sim.step()
            if writer is not None:
                writer.write(sim.batch)
            if time.monotonic() - shown > 0.25 or not sim.running:
                mail.post(f"progress-{plan.index}", sim.steps)
                shown = time.monotonic()
        written = writer.close() if writer is not None else []
        sim.release()
        return world.host_result(written, parts, tables)
    except BaseException as exc:
        mail.abort(f"host {plan.index} failed: {exc}")
        raise
    finally:
        if exchange is not None:
            exchange.close()
