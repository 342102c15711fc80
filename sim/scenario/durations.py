"""Durations in scenario files: `90s`, `30min`, `1h`, `6h`, `2d`, `1w`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*$")


def parse_duration(value: object) -> timedelta:
    """A positive `timedelta` from a duration string; pydantic turns the ValueError into a field error."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        match = _PATTERN.match(str(value)) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"expected a duration like '1h', '30min', '2d' (units {', '.join(_UNITS)})")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("duration must be positive")
    if seconds < 1:
        raise ValueError("duration is shorter than one second (the finest step a run keeps time in)")
    if seconds > 100 * 365 * 86400:
        raise ValueError("duration is longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "min", "s"):
        if seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds}s"
