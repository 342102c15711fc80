"""Checks of a whole payments scenario, run by `sim validate` and again (with the scale) before a run
allocates anything: a step's transactions and the AML rows planned up front fit in memory, and the real
PaySim month is hourly."""

from __future__ import annotations

from datetime import timedelta

from sim.domains.payments.customers import Customers
from sim.domains.payments.scenario import Launderers, PaymentsScenario

MAX_STEP_ROWS = 20_000_000  # transactions one step may draw: its arrays (~200 bytes a row) stay in memory
BUSIEST = 3.0  # the busiest stretch of a day or week over its mean, for steps shorter than a week


def step_rows(scenario: PaymentsScenario, scale: float = 1.0) -> float:
    """About how many transactions the busiest step draws: each customer population's count times its
    mean daily rate times the step's length in days (times BUSIEST within a week's rhythm)."""
    days = scenario.horizon.step.total_seconds() / 86400
    peak = BUSIEST if days < 7 else 1.0
    rows = 0.0
    for spec in scenario.populations.values():
        if isinstance(spec, Customers):
            try:
                rate = float(spec.transactions_per_day.mean)
            except NotImplementedError:  # a law without a closed-form mean: not estimated
                continue
            rows += spec.count * scale * rate * days * peak
    return rows


def step_rows_problem(rows: float) -> str | None:
    """What is wrong with a step of `rows` transactions (`step_rows`), or None."""
    if rows <= MAX_STEP_ROWS:
        return None
    return (f"the busiest step would draw about {rows:,.0f} transactions, more than the {MAX_STEP_ROWS:,} "
            "one step holds in memory: use a shorter step or fewer customers")  # fmt: skip


MAX_PLANNED_ROWS = 20_000_000  # AML rows, all decided before the first step and held until written


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


def planned_rows(scenario: PaymentsScenario, scale: float = 1.0) -> dict[str, float]:
    """Each launderer population's most rows over the run (its patterns times `pattern_rows`)."""
    return {
        name: max(1, round(spec.patterns * scale)) * pattern_rows(spec)
        for name, spec in scenario.populations.items()
        if isinstance(spec, Launderers)
    }


def planned_rows_problem(rows: dict[str, float]) -> str | None:
    """What is wrong with the AML rows a run plans up front (`planned_rows`), or None."""
    total = sum(rows.values())
    if total <= MAX_PLANNED_ROWS:
        return None
    return (f"launderers' patterns could write up to {total:,.0f} rows, all planned before the first "
            f"step, more than the {MAX_PLANNED_ROWS:,} memory holds: fewer patterns or smaller")  # fmt: skip


def check_scenario(scenario: PaymentsScenario) -> list[tuple[tuple, str]]:
    """The real PaySim month is hour by hour; a step's transactions, and the AML rows planned before the
    first step, fit in memory."""
    problems = []
    too_many = step_rows_problem(step_rows(scenario))
    if too_many:
        problems.append((("horizon", "step"), too_many))
    planned = planned_rows(scenario)
    too_many = planned_rows_problem(planned)
    if too_many:
        share = MAX_PLANNED_ROWS / len(planned)  # those over their share are named
        problems += [
            (("populations", name, "size"), f"up to {rows:,.0f} rows from these patterns; {too_many}")
            for name, rows in planned.items()
            if rows > share
        ]
    for name, spec in scenario.populations.items():
        rhythm = getattr(spec, "rhythm", None)
        if rhythm is not None and rhythm.month and scenario.horizon.step != timedelta(hours=1):
            problems.append(
                (("populations", name, "rhythm", "month"), "the PaySim month is hourly: use 'step: 1h'")
            )
    return problems
