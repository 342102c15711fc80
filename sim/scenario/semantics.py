"""Checks that span fields: references between populations and events, and times inside the horizon.

`check_references` reads the raw data so reference errors are reported even when other fields are invalid.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sim.scenario.schema import PaymentsScenario, Scenario

# role -> fields of that role that must name a population of the given role
_REFERENCES = {
    "fraudster": {"victims": "customer", "mules": "mule", "accounts": "customer"},
    "launderer": {"accounts": "customer"},
}
_EVENT_TARGETS = {"fraud_ring_attack": "fraudster"}
_PAYMENTS_REQUIRED = ("customer", "merchant")
_AT_MOST_ONE = ("customer", "merchant", "bank")


def check_references(body: dict) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    pops = body.get("populations")
    roles: dict[str, Any] = {}
    if isinstance(pops, dict):
        roles = {name: _text(spec, "role") for name, spec in pops.items() if isinstance(spec, dict)}
        for name, spec in pops.items():
            if not isinstance(spec, dict):
                continue
            for field, wanted in _REFERENCES.get(_text(spec, "role"), {}).items():
                target = spec.get(field)
                if isinstance(target, str):
                    problem = _reference_problem(target, wanted, roles)
                    if problem:
                        problems.append((("populations", name, field), problem))
        if _text(body, "domain") == "payments":
            present = [r for r in roles.values() if isinstance(r, str)]
            for role in _PAYMENTS_REQUIRED:
                if role not in present:
                    problems.append((("populations",), f"a payments world needs a '{role}' population"))
            for role in _AT_MOST_ONE:
                if present.count(role) > 1:
                    problems.append((("populations",), f"more than one '{role}' population"))
    events = body.get("events")
    chain = body.get("chain")
    if _text(body, "domain") == "supply" and isinstance(chain, dict) and isinstance(events, list):
        nodes = chain.get("nodes")
        nodes = nodes if isinstance(nodes, list) else []
        names = {_text(n, "name") for n in nodes if isinstance(n, dict)} - {None}
        facilities = chain.get("facilities")
        facilities = facilities if isinstance(facilities, list) else []
        ports = {_text(f, "name") for f in facilities} - {None}  # ports and lines: node_outage closes them
        closable = f"; facilities close with node_outage: {', '.join(sorted(ports))}" if ports else ""
        for i, event in enumerate(events):
            node = _text(event, "node")
            if node is None or node in names or (node in ports and _text(event, "kind") == "node_outage"):
                continue
            known = ", ".join(sorted(names)) or "none"
            problems.append((("events", i, "node"), f"no node named {node!r} (nodes: {known}{closable})"))
    if isinstance(events, list):
        _check_chains(events, problems)
        names: set[str] = set()
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                continue
            name = _text(event, "name")
            if isinstance(name, str):
                if name in names:
                    problems.append((("events", i, "name"), f"duplicate event name {name!r}"))
                names.add(name)
            wanted = _EVENT_TARGETS.get(_text(event, "kind"))
            target = event.get("population")
            if wanted and isinstance(target, str):
                problem = _reference_problem(target, wanted, roles)
                if problem:
                    problems.append((("events", i, "population"), problem))
    return problems


def _check_chains(events: list, problems: list) -> None:
    """`after` must name another event, and chains must not loop (they would never start)."""
    after = {_text(e, "name"): _text(e, "after") for e in events if isinstance(e, dict) and _text(e, "name")}
    for i, event in enumerate(events):
        target = _text(event, "after") if isinstance(event, dict) else None
        if target is None:
            continue
        if target not in after:
            known = ", ".join(sorted(after)) or "none"
            problems.append((("events", i, "after"), f"no event named {target!r} (events: {known})"))
            continue
        seen, node = {_text(event, "name")}, target
        while node is not None and node not in seen:
            seen.add(node)
            node = after.get(node)
        if node is not None:
            problems.append((("events", i, "after"), "events that wait for each other in a loop never start"))


def _text(mapping: dict, key: str) -> str | None:
    """A field's value when it is text; anything else is the schema's problem, not ours."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else None


def _reference_problem(target: str, wanted: str, roles: dict[str, Any]) -> str | None:
    if target not in roles:
        known = ", ".join(sorted(roles)) or "none"
        return f"no population named {target!r} (populations: {known})"
    if roles[target] != wanted:
        return f"population {target!r} has role {roles[target]!r}, expected {wanted!r}"
    return None


def check_model(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Times that must fall inside the horizon; profiles that need hourly steps."""
    problems: list[tuple[tuple, str]] = []
    steps = scenario.horizon.steps
    populations = scenario.populations if isinstance(scenario, PaymentsScenario) else {}
    for name, spec in populations.items():
        rhythm = getattr(spec, "rhythm", None)
        if rhythm is not None and rhythm.month and scenario.horizon.step != timedelta(hours=1):
            problems.append(
                (("populations", name, "rhythm", "month"), "the PaySim month is hourly: use 'step: 1h'")
            )
    for i, event in enumerate(scenario.events):
        if event.start is not None:
            step = scenario.step_of(event.start)
            if not 0 <= step < steps:
                problems.append(
                    (
                        ("events", i, "start"),
                        f"falls at step {step}, outside the horizon 0..{steps - 1}",
                    )
                )
    return problems
