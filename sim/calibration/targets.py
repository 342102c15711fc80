"""Calibration targets: named statistics of real data, each with its value, weight or tolerance, and where it
came from. A file is YAML (see `calibration/targets/`):

    targets_version: 1
    name: paysim_month
    provenance: where the numbers come from (required: a target without a source is not a target)
    statistics:
      - {name: volume, value: 24576685, tolerance: 491534}
      - {name: hourly_count.CASH_IN, value: [5189, 1057, null, ...], tolerance: 0.05, relative: range}

A statistic's `name` says which moment of a run it is compared with (`sim.calibration.moments`). Its value is
a number or a series (null where the real data has nothing to say). `tolerance` is how far off still counts
as a fit, in the statistic's units, or as a share of the value's size (`relative: value`) or of the series'
range (`relative: range`, so 0.05 means PaySim's NRMSE of 0.05); without one the scale is the range of a
series or the size of a number. `weight` (default 1) multiplies its term in the objective.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.errors import Problem, ScenarioError
from sim.scenario.load import _doc_path, _message, read_document
from sim.scenario.types import Name, Spec

Finite = Annotated[float, Field(allow_inf_nan=False)]
STATISTIC_NAME = r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_\-]+)*$"


class Statistic(Spec):
    """One target: a real statistic and how much its fit matters."""

    name: Annotated[str, Field(pattern=STATISTIC_NAME, max_length=200)]
    value: Finite | Annotated[list[Finite | None], Field(min_length=1)]
    tolerance: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    relative: Literal["value", "range"] | None = None
    weight: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    provenance: str | None = None

    @field_validator("value")
    @classmethod
    def _some_value(cls, value):
        if isinstance(value, list) and all(v is None for v in value):
            raise ValueError("a series needs at least one number")
        return value

    @model_validator(mode="after")
    def _relative(self):
        if self.relative and self.tolerance is None:
            raise ValueError("'relative' qualifies a tolerance: give 'tolerance' too")
        if self.relative == "range" and not self.is_series:
            raise ValueError("'relative: range' is for a series; use 'relative: value' for a number")
        if self.scale <= 0:
            raise ValueError("the value has no size to compare against: give an absolute 'tolerance'")
        return self

    @property
    def is_series(self) -> bool:
        return isinstance(self.value, list)

    @property
    def array(self) -> np.ndarray:
        """The value as floats (nan where the series has null)."""
        return np.array([np.nan if v is None else v for v in np.atleast_1d(self.value)], dtype=np.float64)

    @property
    def spread(self) -> float:
        """What an error is measured against in NRMSE: a series' range, a number's size."""
        a = self.array[~np.isnan(self.array)]
        return float(a.max() - a.min()) if self.is_series else float(abs(a[0]))

    @property
    def scale(self) -> float:
        """The error that counts as one unit of distance: the tolerance when given, else the spread."""
        if self.tolerance is None:
            return self.spread
        if self.relative == "range":
            return self.tolerance * self.spread
        if self.relative == "value":
            a = self.array[~np.isnan(self.array)]
            return self.tolerance * float(np.mean(np.abs(a)))
        return self.tolerance


class Targets(Spec):
    targets_version: Literal[1]
    name: Name
    description: str = ""
    provenance: Annotated[str, Field(min_length=1)]
    statistics: Annotated[list[Statistic], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self):
        names = [s.name for s in self.statistics]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"statistic named twice: {', '.join(twice)}")
        return self


class TargetsFile:
    """Targets with the lines they came from, so a later problem (an unknown statistic) is located."""

    def __init__(self, targets: Targets, file: str, lines: dict[str, int]):
        self.targets = targets
        self.file = file
        self.lines = lines

    def __iter__(self):
        return iter(self.targets.statistics)

    def line(self, name: str) -> int:
        return self.lines.get(name, 1)


def load_targets(path: str | Path) -> TargetsFile:
    """Read and validate a targets file; every problem is reported at once with its line and field."""
    doc = read_document(path, "a targets file")
    file = str(path)
    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(file, 1, "", "a targets file must be a mapping of fields")])
    try:
        targets = Targets.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = _doc_path(doc.data, error["loc"])
            problems.append(Problem(file, doc.line_of(where), ".".join(map(str, where)), _message(error)))
        raise ScenarioError(problems) from None
    lines = {s.name: doc.line_of(("statistics", i)) for i, s in enumerate(targets.statistics)}
    return TargetsFile(targets, file, lines)
