"""`parameters` blocks, `${name}` references and `--set NAME=VALUE` overrides.

A reference that is a whole value keeps the parameter's type (`count: ${n}` gives an int); one inside a
longer string is formatted into it. Calibration and stress tests vary scenarios only through these names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from sim.errors import did_you_mean
from sim.scenario.yaml_lines import Path

REFERENCE = re.compile(r"\$\{([^}]*)\}")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
OVERRIDE_SOURCE = "<--set>"


def parse_override_value(text: str) -> Any:
    """A `--set` value read as a YAML scalar (`3` is an int, `0.5` a float, `true` a bool, else text)."""
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
    if value is None or isinstance(value, bool | int | float | str):
        return text if value is None else value
    return text


def apply_overrides(
    parameters: dict[str, Any], overrides: Sequence[str]
) -> tuple[dict[str, Any], list[tuple[int, str, str]]]:
    """Parameters with `--set` values applied, and problems as (argument number, field, message)."""
    resolved = dict(parameters)
    problems: list[tuple[int, str, str]] = []
    for number, item in enumerate(overrides, start=1):
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not IDENTIFIER.match(name):
            problems.append((number, "", f"expected NAME=VALUE, got {item!r}"))
            continue
        if name not in parameters:
            known = ", ".join(sorted(parameters)) or "none are declared"
            hint = did_you_mean(name, parameters)
            problems.append((number, f"parameters.{name}", f"unknown parameter (known: {known}){hint}"))
            continue
        resolved[name] = parse_override_value(text)
    return resolved, problems


def substitute(
    data: Any, parameters: dict[str, Any], path: Path = ()
) -> tuple[Any, list[tuple[Path, str]], dict[Path, str]]:
    """Replace `${name}` references below `data`.

    Returns the new data, problems as (path, message), and which parameter fed each substituted path.
    """
    problems: list[tuple[Path, str]] = []
    origins: dict[Path, str] = {}

    def walk(node: Any, where: Path) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*where, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*where, i)) for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node
        names = REFERENCE.findall(node)
        missing = [n for n in names if n not in parameters]
        for name in missing:
            known = ", ".join(sorted(parameters)) or "none are declared"
            problems.append(
                (where, f"unknown parameter ${{{name}}} (known: {known}){did_you_mean(name, parameters)}")
            )
        if missing:
            return node
        origins[where] = ", ".join(names)
        whole = REFERENCE.fullmatch(node)
        if whole:
            return parameters[whole.group(1)]
        return REFERENCE.sub(lambda m: str(parameters[m.group(1)]), node)

    return walk(data, path), problems, origins
