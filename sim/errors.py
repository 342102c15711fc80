"""Errors users see. `ScenarioError` carries every problem at once, each with file, line and field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class SimError(Exception):
    """A failure the user can act on; the CLI prints it without a traceback."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        """`file:line: field: message`, without the parts it does not have (line 0: no line)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def did_you_mean(written: object, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the choice nearest in spelling to what was written, or '' if none is."""
    close = difflib.get_close_matches(str(written), list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


class ScenarioError(SimError):
    """Every problem found in a scenario (or its command-line overrides), reported together."""

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("ScenarioError needs at least one problem")
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class RunExistsError(SimError):
    """The run directory exists and --force was not given."""


class InputError(SimError):
    """A data file or option the user gave cannot be used (missing, unreadable, wrong columns)."""
