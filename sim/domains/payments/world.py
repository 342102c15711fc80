"""The payments world: each step draws customers' transactions, merges in the fraud and AML rows due,
settles everything in time order through the kernel and returns one record batch. It implements
`sim.engine.world.World`, `Shardable` (customers' draws on a backend's workers, cell by cell),
`StepFigures` and `HasActors` (what Mesa users collect and inspect).

Mobile money (PaySim) and card payments (BankSim/Sparkov) are the same world with different
populations: merchant categories make PAYMENT a card purchase in a category.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.distributed import Parts, write_table_file
from sim.domains.payments import statistics
from sim.domains.payments.accounts import ID_BASE, build_accounts
from sim.domains.payments.activity import Activity
from sim.domains.payments.actors import payments_actors
from sim.domains.payments.aml import schedule_laundering
from sim.domains.payments.checks import planned_rows, planned_rows_problem, step_rows, step_rows_problem
from sim.domains.payments.customers import TX_TYPES
from sim.domains.payments.driver import DriverWorld
from sim.domains.payments.fit import HourlyTally
from sim.domains.payments.fraud import Fraud
from sim.domains.payments.kernels import FIXED, interleave
from sim.domains.payments.kpis import STEP_FIGURES, payments_kpis
from sim.domains.payments.records import TRANSACTIONS
from sim.domains.payments.report import write_report
from sim.domains.payments.rows import Agenda, Membership
from sim.domains.payments.scenario import AML_TYPOLOGIES, FRAUD_TYPES, PaymentsScenario
from sim.domains.payments.settlement import NOT_MADE, Means, settle, settle_by_cells
from sim.domains.payments.sharding import HostLedger, HostPlan, cell_of_accounts
from sim.domains.payments.tally import ReportTally
from sim.errors import InputError
from sim.exchange import Exchange
from sim.records import END_BATCH_ROWS, TIMESTAMP, record_batch
from sim.rng import Streams

TX_TYPE_DICTIONARY = pa.array(TX_TYPES, pa.string())
FRAUD_DICTIONARY = pa.array(FRAUD_TYPES, pa.string())
TYPOLOGY_DICTIONARY = pa.array(AML_TYPOLOGIES, pa.string())


ACCOUNT_BYTES = 300  # an account's arrays (peak RSS over accounts of paysim_month at scale 4: ~300 B)
ROW_BYTES = 200  # a drawn transaction's, until its step is written


def _check_fits(scenario: PaymentsScenario, scale: float, memory_too: bool = True) -> None:
    """Refuse, before allocating, a run whose step or whose accounts cannot fit: --scale multiplies the
    populations the file's validation saw. The accounts are checked against this machine's memory only
    where they are built (`memory_too`: not by a sharded run's driver, whose hosts build them)."""
    rows, planned = step_rows(scenario, scale), planned_rows(scenario, scale)
    problem = step_rows_problem(rows) or planned_rows_problem(planned)
    accounts = sum(getattr(spec, "count", 0) or 0 for spec in scenario.populations.values()) * scale
    needed = accounts * ACCOUNT_BYTES + (rows + sum(planned.values())) * ROW_BYTES
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): the step bound alone
        memory = None
    if problem is None and memory_too and memory is not None and needed > memory:
        problem = (f"about {accounts:,.0f} accounts need about {needed / 2**30:,.1f} GiB, more than this "
                   f"machine's {memory / 2**30:,.1f} GiB")  # fmt: skip
    if problem:
        raise InputError(f"{scenario.name} at scale {scale:g}: {problem}")


class PaymentsWorld:
    """State arrays of a payments run and the per-step behaviour that produces transactions."""

    schema = TRANSACTIONS
    figure_names = STEP_FIGURES

    def __init__(self, scenario: PaymentsScenario, streams: Streams, scale: float = 1.0,
                 host: HostPlan | None = None, exchange: Exchange | None = None):  # fmt: skip
        self.scenario = scenario
        self.streams = streams
        self.scale = scale
        h = scenario.horizon
        _check_fits(scenario, scale)
        self.accounts = build_accounts(scenario, streams, scale)
        self.activity = Activity(scenario, self.accounts, streams)
        self.membership = Membership()
        self.agenda = Agenda(h.steps)
        self.fraud = Fraud(scenario, self.accounts, streams, scale, self.activity.purchases,
                           self.activity.amounts, self.membership, self.agenda, self.activity.day_share,
                           self._holdings)  # fmt: skip
        schedule_laundering(
            scenario, self.accounts, streams, scale, self.membership, self.agenda, self.activity.day_share
        )
        # balances in public-id order (ids are a permutation): transactions carry public indexes
        self.public = self.accounts.public
        self.balance = np.empty(self.accounts.n)
        self.balance[self.public] = self.accounts.opening
        self.overdraft = np.empty(self.accounts.n)
        self.overdraft[self.public] = self.accounts.overdraft  # after the bust-outs got their credit
        self.means = _means(scenario, self.accounts)
        if scenario.settlement == "step":  # each cell's payers decided apart (`settlement.settle_by_cells`)
            self.cell_of = cell_of_accounts(self.accounts, self.activity.bounds)
            self.spent = np.zeros(self.accounts.n)  # scratch: a payer's debits within the step
        # a host of a sharded run settles its own accounts (`sharding`)
        self.ledger = HostLedger(host, self.cell_of, exchange) if host is not None else None
        self.cells = host.cells if host is not None else None
        self.category_dictionary = pa.array(self.accounts.category_names, pa.string())
        self.start_us, self.step_us = h.start_us, h.step_us
        self.tally = HourlyTally(self.step_us)
        # customers' draws do not depend on balances, so step k+1's are drawn on a second core while
        # step k settles (each step has its own stream: the bytes do not change)
        self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draw-ahead")
        self._drawn: dict[int, Future] = {}
        self.report_tally = ReportTally(h.steps, len(TX_TYPES), len(FRAUD_TYPES), len(AML_TYPOLOGIES),
                                        len(self.accounts.category_names))  # fmt: skip
        self.last = dict.fromkeys(self.figure_names, 0.0)  # the last step's figures (none settled yet)
        self.occurrences: list = []  # the calendar's events seen, for the report

    # --- one step -------------------------------------------------------------------------------
    def step(self, k: int, timeline) -> pa.RecordBatch:
        """Draw step k's transactions, settle them in time order and return them as a record batch."""
        self.occurrences += [o for o in timeline.active if o not in self.occurrences]
        if self.ledger is not None:
            self.ledger.begin(k)
        self.fraud.step(k, timeline.intensity, timeline.campaign)
        drawn = self._drawn.pop(k, None)
        legit = drawn.result() if drawn is not None else self.activity.draw(k, self.cells)
        if k + 1 < self.scenario.horizon.steps:
            self._drawn[k + 1] = self._ahead.submit(self.activity.draw, k + 1, self.cells)
        special = self.agenda.take(k)
        special["origin"] = self.public[special["origin"]]
        special["dest"] = self.public[special["dest"]]
        if self.ledger is not None:
            legit, legit_keys = self.ledger.own_rows(k, legit)
            special, special_keys = self.ledger.own_special(special)
            keys = self.ledger.time_keys(legit, legit_keys, special, special_keys, k)
        cols = _merge(legit, special, k)
        out = np.empty((6, len(cols["kind"])))
        rows = (cols["kind"], cols["origin"], cols["dest"], cols["amount"], cols["mode"], cols["own"],
                self.balance, self.overdraft, self.means)  # fmt: skip
        if self.ledger is not None:
            rngs = [self.streams.generator("payments.settle", k, c) for c in self.cells]
            self.ledger.settle(k, cols, keys, self.balance, self.spent, self.overdraft, self.means, rngs, out)
        elif self.scenario.settlement == "step":
            rngs = [self.streams.generator("payments.settle", k, c) for c in range(self.activity.cells)]
            settle_by_cells(self.cell_of[cols["origin"]], *rows, rngs, out, self.spent)
        else:
            settle(*rows, self.streams.generator("payments.settle", k), out)
        made = out[5] != NOT_MADE
        if self.ledger is not None and len(self.ledger.plan.shards) > 1:
            # a host's rows by shard (each shard's in time order), so its parts are slices, not copies
            keep = np.flatnonzero(made)
            shard = self.ledger.shard_of_cell[self.cell_of[cols["origin"][keep]]]
            keep = keep[np.argsort(shard, kind="stable")]
            cols, out = {name: values[keep] for name, values in cols.items()}, out[:, keep]
        elif not made.all():  # a theft or laundering step with nothing to move is never made
            cols, out = {name: values[made] for name, values in cols.items()}, out[:, made]
        self.tally.add(k, cols, out)
        declined = out[5] > 0
        self.last = {
            "transactions": len(cols["kind"]),
            "declined": int(declined.sum()),
            "fraud": int(np.count_nonzero(cols["fraud"])),
            "laundering": int(np.count_nonzero(cols["typology"])),
            "amount_settled": float(out[0].sum() - out[0][declined].sum()),
        }
        self.report_tally.add(k, cols, out[0], declined)
        return self._batch(k, cols, out)

    def _batch(self, k: int, cols: dict[str, np.ndarray], out: np.ndarray) -> pa.RecordBatch:
        n = len(cols["kind"])
        stamp = self.start_us + k * self.step_us + (cols["offset"] * self.step_us).astype(np.int64)
        fraud, typology = cols["fraud"], cols["typology"]
        campaign, pattern, category = cols["campaign"], cols["pattern"], cols["category"]
        columns = {
            "step": pa.array(np.full(n, k, dtype=np.int32)),
            "timestamp": pa.array(stamp, type=TIMESTAMP),
            "type": pa.DictionaryArray.from_arrays(cols["kind"], TX_TYPE_DICTIONARY),
            "amount": pa.array(out[0]),
            "origin": pa.array(cols["origin"] + ID_BASE),
            "dest": pa.array(cols["dest"] + ID_BASE),
            "origin_balance_before": pa.array(out[1]),
            "origin_balance_after": pa.array(out[2]),
            "dest_balance_before": pa.array(out[3]),
            "dest_balance_after": pa.array(out[4]),
            "declined": pa.array(out[5] > 0),  # every row left is settled or declined
            "is_fraud": pa.array(fraud > 0),
            "fraud_type": _dictionary(fraud - 1, FRAUD_DICTIONARY),
            "campaign_id": _nullable(campaign),
            "is_laundering": pa.array(typology > 0),
            "typology": _dictionary(typology - 1, TYPOLOGY_DICTIONARY),
            "pattern_id": _nullable(pattern),
            "category": _dictionary(category, self.category_dictionary),
        }
        return record_batch(self.schema, columns)

    def figures(self) -> dict[str, float]:
        return self.last

    def actors(self) -> list:
        return payments_actors(self)

    @staticmethod
    def shard_problem(scenario: PaymentsScenario) -> str | None:
        """Why this scenario cannot run sharded, if it cannot."""
        if scenario.settlement != "step":
            return (f"settlement: {scenario.settlement} settles every payment in one time order, which one "
                    "process does; --shards needs `settlement: step` in the scenario (credits spendable "
                    "once their step has cleared: see the README's settlement section)")  # fmt: skip
        return None

    @staticmethod
    def driver(scenario: PaymentsScenario, streams: Streams, scale: float) -> DriverWorld:
        """The world a sharded run's driver holds: it builds no accounts (see `driver`)."""
        _check_fits(scenario, scale, memory_too=False)  # the hosts check the memory where they run
        return DriverWorld(scenario, scale)

    def _holdings(self, accounts: np.ndarray) -> np.ndarray:
        """What `accounts` (in the accounts' own order) hold now (a fraud incident picks its victim)."""
        if self.ledger is not None:
            return self.ledger.holdings(self.balance, self.public[accounts])
        return self.balance[self.public[accounts]]

    def host_result(self, parts: list[dict], where: Parts, tables: frozenset[str]) -> dict:
        """What a host sends the driver at the end: its tallies and part files. The first host gathers
        every host's closing balances and writes the end-of-run tables (every host draws the same
        accounts, patterns and victims), and sends the totals the KPIs and report need."""
        ledger = self.ledger
        out = {"tally": self.tally, "report_tally": self.report_tally, "parts": parts}
        if ledger.me != 0:
            ledger.exchange.send("closing", 0, (ledger.owned, self.balance[ledger.owned]))
            return out
        for other in ledger.peers:
            owned, closing = ledger.exchange.receive("closing", other)
            self.balance[owned] = closing
        out["files"] = {name: write_table_file(where, f"{name}.parquet", make())
                        for name, make in self.tables().items() if name in tables}  # fmt: skip
        out["totals"] = self.totals()
        out["accounts"] = (self.accounts.n, self.accounts.category_names)
        return out

    def close(self) -> None:
        """Stop the draw-ahead thread (a model's `release()` calls this)."""
        for future in self._drawn.values():
            future.cancel()
        self._drawn.clear()
        self._ahead.shutdown(wait=True)

    # --- end of run -----------------------------------------------------------------------------
    def closing_balance(self) -> np.ndarray:
        """Balances in the accounts' own order (the arrays of `self.accounts`)."""
        return self.balance[self.public]

    def accounts_table(self) -> pa.RecordBatchReader:
        return self.accounts.table(self.closing_balance())

    def is_merchant(self, ids: np.ndarray) -> np.ndarray:
        """Whether each public id is a merchant's (PaySim's 'M' names)."""
        merchant = np.zeros(self.accounts.n, dtype=bool)
        m = self.accounts.merchants
        merchant[self.public[m.start : m.stop]] = True
        return merchant[ids - ID_BASE]

    def totals(self) -> dict:
        """The run's money (opening and closing totals) and its patterns by kind: what the KPIs need of
        the accounts and the patterns."""
        opening, closing = float(self.accounts.opening.sum()), float(self.balance.sum())
        return {
            "money": {
                "opening_total": opening,
                "closing_total": closing,
                "difference": closing - opening,  # a closed system: only rounding may show here
            },
            "patterns": self.membership.counts(),
        }

    def kpis(self, scale: float) -> dict:
        """Run-level figures: volumes, labels, money conservation and the fit to PaySim's real month."""
        return payments_kpis(self, self.totals(), scale)

    @property
    def start_hour(self) -> int:
        start = self.scenario.horizon.start
        return start.hour

    def tables(self) -> dict:
        """End-of-run tables, made on demand: name -> callable returning the table's batches."""
        return {"accounts": self.accounts_table, "patterns": self.patterns_table}

    def statistic_names(self) -> list[str]:
        return list(statistics.NAMES)

    def statistic(self, name: str, scale: float) -> float | np.ndarray:
        return statistics.statistic(self.tally, name, scale)

    def report(self, path: Path, kpis: dict) -> dict[str, str]:
        return write_report(path, self.scenario, self, kpis)

    def patterns_table(self) -> pa.RecordBatchReader:
        return self.membership.table(self.accounts.account_id, self.start_us, self.step_us, END_BATCH_ROWS)


def host_world(plan: HostPlan, exchange: Exchange):
    """A world factory for a host of a sharded run: its cells' share of the world (see `sharding`), which
    trades with the other hosts through `exchange`."""

    def make(scenario: PaymentsScenario, streams: Streams, scale: float) -> PaymentsWorld:
        return PaymentsWorld(scenario, streams, scale, host=plan, exchange=exchange)

    return make


def _means(scenario: PaymentsScenario, accounts) -> Means:
    """The customers' `spending` rule as the kernel reads it (see `settlement.Means`)."""
    spending = scenario.populations[accounts.customers.name].spending
    return Means(everything=spending.everything, least=spending.least, credit=spending.credit,
                 attempt=spending.attempt, tries=spending.tries)  # fmt: skip


def _nullable(ids: np.ndarray) -> pa.Array:
    """An id column where negative means none."""
    missing = ids < 0
    if missing.all():
        return pa.nulls(len(ids), pa.int64())
    return pa.array(ids, mask=missing if missing.any() else None, type=pa.int64())


def _dictionary(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    """Categorical column; negative codes are nulls (no null mask at all when none are set)."""
    missing = codes < 0
    if not missing.any():
        return pa.DictionaryArray.from_arrays(codes.astype(np.int8), dictionary)
    if missing.all():
        return pa.DictionaryArray.from_arrays(pa.nulls(len(codes), pa.int8()), dictionary)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8), mask=missing), dictionary)


def _merge(legit: dict[str, np.ndarray], special: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Legitimate rows (in time order) with the few scheduled rows due this step, in time order."""
    n, m = len(legit["kind"]), len(special["kind"])
    defaults = {"mode": FIXED, "fraud": 0, "campaign": -1, "typology": 0, "pattern": -1}
    cols = dict(legit)
    if m == 0:
        for name, value in defaults.items():
            cols[name] = np.full(n, value, dtype=special[name].dtype)
        return cols
    special_offset = special["time"] - k
    at = np.searchsorted(legit["offset"], special_offset, side="right")  # legit rows before each
    for name in ("offset", "kind", "origin", "dest", "amount", "category", "own"):
        values = special_offset if name == "offset" else np.zeros(m, bool) if name == "own" else special[name]
        cols[name] = np.empty(n + m, dtype=values.dtype)
        interleave(legit[name], values.astype(legit[name].dtype), at, cols[name])
    where = at + np.arange(m)
    for name, value in defaults.items():
        cols[name] = np.full(n + m, value, dtype=special[name].dtype)
        cols[name][where] = special[name]
    return cols
