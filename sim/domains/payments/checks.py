"""Checks of a whole payments scenario, run by `sim validate` and again (with the scale) before a run
allocates anything: a step's transactions, and the fraud and AML rows held before their step, fit in
memory, and the real PaySim month is hourly."""

from __future__ import annotations

from datetime import timedelta

from sim.domains.payments.customers import Customers
from sim.domains.payments.scenario import (
    AccountTakeover,
    AppScam,
    BustOut,
    CardTesting,
    CardTheft,
    FraudRingAttack,
    Launderers,
    PaymentsScenario,
)

MAX_STEP_ROWS = 20_000_000  # transactions one step may draw: its arrays (~200 bytes a row) stay in memory
BUSIEST = 3.0  # the busiest stretch of a day or week over its mean, for steps shorter than a week


ATTACKS = (AccountTakeover, AppScam, CardTheft, CardTesting)
DRAWS_PER_ROW = 12  # candidate victims (an index and a balance, 16 bytes) in a drawn row's memory


def step_rows(scenario: PaymentsScenario, scale: float = 1.0) -> float:
    """About how many transactions the busiest step draws: each customer population's count times its
    mean daily rate times the step's length in days (times BUSIEST within a week's rhythm), and each
    attacking population's incidents (`incidents`) times their rows and their candidate victims."""
    days = scenario.horizon.step.total_seconds() / 86400
    peak = BUSIEST if days < 7 else 1.0
    rows = 0.0
    for name, spec in scenario.populations.items():
        if isinstance(spec, Customers):
            try:
                rate = float(spec.transactions_per_day.mean)
            except NotImplementedError:  # a law without a closed-form mean: not estimated
                continue
            rows += spec.count * scale * rate * days * peak
        elif isinstance(spec, ATTACKS):
            rows += incidents(scenario, name, scale) * (incident_rows(spec) + spec.reach / DRAWS_PER_ROW)
    return rows


def incidents(scenario: PaymentsScenario, name: str, scale: float = 1.0) -> float:
    """About how many incidents an attacking population starts in its busiest step: its rate times its
    fraudsters times the step's days (times BUSIEST under the rhythm), times every campaign that can
    boost it at once (each event has one occurrence under way at a time; overlapping events multiply)."""
    spec = scenario.populations[name]
    days = scenario.horizon.step.total_seconds() / 86400
    peak = BUSIEST if spec.timing == "rhythm" and days < 7 else 1.0
    boost = 1.0
    for event in scenario.events:
        if isinstance(event, FraudRingAttack) and event.population == name:
            boost *= max(1.0, event.intensity)
    return spec.attacks_per_day * max(1, round(spec.count * scale)) * days * peak * boost


def step_rows_problem(rows: float) -> str | None:
    """What is wrong with a step of `rows` transactions (`step_rows`), or None."""
    if rows <= MAX_STEP_ROWS:
        return None
    return (f"the busiest step would draw about {rows:,.0f} transactions, more than the {MAX_STEP_ROWS:,} "
            "one step holds in memory: use a shorter step, fewer customers or fewer attacks")  # fmt: skip


MAX_PLANNED_ROWS = 20_000_000  # fraud and AML rows decided before their step, held until it is written


def pattern_rows(spec: Launderers) -> int:
    """The most rows one pattern of `spec` writes (at its largest size): placements and moves (a bipartite
    or stack pattern's grow with the square of its size), then up to five purchases per member."""
    n = max(spec.size[1], spec.layers if spec.typology == "stack" else 2)
    if spec.typology == "bipartite":
        moves = n * n // 4 + n
    elif spec.typology == "stack":
        width = -(-n // spec.layers)
        moves = width + (spec.layers - 1) * width * width
    else:
        moves = 2 * n + spec.hops[1]
    return moves + 5 * n


def incident_rows(spec) -> int:
    """The most rows one fraud incident of `spec` writes."""
    if isinstance(spec, AccountTakeover):  # a transfer and the mule's cash-out, one cash-out, or purchases
        return max(2, spec.purchases[1])
    if isinstance(spec, AppScam):  # the victim's payments and the mule's cash-out
        return spec.payments[1] + 1
    if isinstance(spec, CardTesting):
        return spec.probes[1] + spec.spends[1]
    return spec.purchases[1]  # a card theft's or a bust-out's purchases


def _held_steps(scenario: PaymentsScenario, spec) -> int:
    """Steps an incident's rows can wait in the agenda: its span (and a card test's delay), then the
    mule's cash-out a step later; never more than the horizon."""
    wait = scenario.steps_in(spec.span) + (
        scenario.steps_in(spec.delay) if isinstance(spec, CardTesting) else 0
    )
    return min(scenario.horizon.steps, wait + 1)


def planned_rows(scenario: PaymentsScenario, scale: float = 1.0) -> dict[str, float]:
    """The most rows each fraud and launderer population holds before their step: a launderer's patterns
    times `pattern_rows`, all planned up front; every bust-out's purchases, also planned up front; an
    attacking population's `incidents` of its busiest step times `incident_rows`, for the steps they wait."""
    rows = {}
    for name, spec in scenario.populations.items():
        if isinstance(spec, Launderers):
            rows[name] = max(1, round(spec.patterns * scale)) * pattern_rows(spec)
        elif isinstance(spec, BustOut):
            holders = scenario.populations.get(spec.accounts)
            most = getattr(holders, "count", spec.count)
            rows[name] = max(1, round(min(spec.count, most) * scale)) * incident_rows(spec)
        elif isinstance(spec, ATTACKS):
            rows[name] = incidents(scenario, name, scale) * incident_rows(spec) * _held_steps(scenario, spec)
    return rows


def planned_rows_problem(rows: dict[str, float]) -> str | None:
    """What is wrong with the fraud and AML rows a run holds before their step (`planned_rows`), or None."""
    total = sum(rows.values())
    if total <= MAX_PLANNED_ROWS:
        return None
    return (f"fraud incidents and laundering patterns could hold up to {total:,.0f} rows before their "
            f"step, more than the {MAX_PLANNED_ROWS:,} memory holds: fewer or smaller incidents or "
            "patterns")  # fmt: skip


PLANNED_FIELD = {Launderers: "size", BustOut: "count"}  # where a population's rows are located; else its rate


def check_scenario(scenario: PaymentsScenario) -> list[tuple[tuple, str]]:
    """The real PaySim month is hour by hour; a step's transactions, and the fraud and AML rows held
    before their step, fit in memory."""
    problems = []
    too_many = step_rows_problem(step_rows(scenario))
    if too_many:
        problems.append((("horizon", "step"), too_many))
    planned = planned_rows(scenario)
    too_many = planned_rows_problem(planned)
    if too_many:
        share = MAX_PLANNED_ROWS / len(planned)  # those over their share are named
        for name, rows in planned.items():
            if rows > share:
                field = PLANNED_FIELD.get(type(scenario.populations[name]), "attacks_per_day")
                problems.append((("populations", name, field), f"up to {rows:,.0f} rows held; {too_many}"))
    for name, spec in scenario.populations.items():
        rhythm = getattr(spec, "rhythm", None)
        if rhythm is not None and rhythm.month and scenario.horizon.step != timedelta(hours=1):
            problems.append(
                (("populations", name, "rhythm", "month"), "the PaySim month is hourly: use 'step: 1h'")
            )
    return problems
