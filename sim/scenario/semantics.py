"""Checks that span fields, common to every domain: the calendar's chains and names, and times inside the
horizon. Each domain adds its own (references between its populations or nodes) in its `Domain` entry.

`check_references` reads the raw data so reference errors are reported even when other fields are invalid.
"""

from __future__ import annotations

from typing import Any

from sim.scenario.schema import Scenario

Problems = list[tuple[tuple, str]]  # (field path, message)


def check_references(body: dict) -> Problems:
    """The calendar's own references: `after` chains, and event names given once."""
    problems: Problems = []
    events = body.get("events")
    if isinstance(events, list):
        _check_chains(events, problems)
        names: set[str] = set()
        for i, event in enumerate(events):
            name = text(event, "name")
            if isinstance(name, str):
                if name in names:
                    problems.append((("events", i, "name"), f"duplicate event name {name!r}"))
                names.add(name)
    return problems


def _check_chains(events: list, problems: Problems) -> None:
    """`after` must name another event, and chains must not loop (they would never start)."""
    after = {text(e, "name"): text(e, "after") for e in events if isinstance(e, dict) and text(e, "name")}
    for i, event in enumerate(events):
        target = text(event, "after") if isinstance(event, dict) else None
        if target is None:
            continue
        if target not in after:
            known = ", ".join(sorted(after)) or "none"
            problems.append((("events", i, "after"), f"no event named {target!r} (events: {known})"))
            continue
        seen, node = {text(event, "name")}, target
        while node is not None and node not in seen:
            seen.add(node)
            node = after.get(node)
        if node is not None:
            problems.append((("events", i, "after"), "events that wait for each other in a loop never start"))


def text(mapping: Any, key: str) -> str | None:
    """A field's value when it is text; anything else is the schema's problem, not ours."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else None


def reference_problem(target: str, wanted: str, roles: dict[str, Any]) -> str | None:
    """What is wrong with a reference to population `target`, which must have role `wanted`."""
    if target not in roles:
        known = ", ".join(sorted(roles)) or "none"
        return f"no population named {target!r} (populations: {known})"
    if roles[target] != wanted:
        return f"population {target!r} has role {roles[target]!r}, expected {wanted!r}"
    return None


def check_model(scenario: Scenario) -> Problems:
    """Event start times must fall inside the horizon."""
    problems: Problems = []
    steps = scenario.horizon.steps
    for i, event in enumerate(scenario.events):
        if event.start is not None:
            step = scenario.step_of(event.start)
            if not 0 <= step < steps:
                problems.append(
                    (("events", i, "start"), f"falls at step {step}, outside the horizon 0..{steps - 1}")
                )
    return problems
