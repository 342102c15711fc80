"""The one place that names domains: each package below exposes a `DOMAIN` entry (`sim.engine.world.Domain`).

Everything generic asks here: the scenario loader for the union of scenario models and the unknown-domain
message, the runner and `SimModel` for a world factory, evaluation for a run's table of record, the CLI for
the output formats. Adding a domain is one package under `sim/domains/` and one line in `PACKAGES`;
`register` adds one at run time (a plug-in, or a test's toy domain). The packages are imported when the
registry is first asked (so importing a domain's own modules never runs into the registry half-made), and
every entry is checked as it is registered, so a malformed domain fails at once, not in a run.
"""

from __future__ import annotations

import importlib
import typing
from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter

from sim.engine.world import Domain, WorldFactory
from sim.scenario.calendar import CalendarEvent
from sim.scenario.schema import PLAIN_FORMATS, OutputsBase, ScenarioBase

PACKAGES = (
    "sim.domains.payments",
    "sim.domains.supply",
)

_DOMAINS: dict[str, Domain] = {}
_loaded = False  # PACKAGES imported
_adapter: TypeAdapter | None = None  # the union of the registered scenario models, made when first asked


def _registered() -> dict[str, Domain]:
    """The domains, the packages' first (imported on the first call)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for package in PACKAGES:
            _add(importlib.import_module(package).DOMAIN)
    return _DOMAINS


def register(domain: Domain) -> None:
    """Add a domain (its name must be new); its entry is checked first."""
    _registered()
    _add(domain)


def _add(domain: Domain) -> None:
    global _adapter
    if domain.name in _DOMAINS:
        raise ValueError(f"a domain named {domain.name!r} is already registered")
    _check(domain)
    _DOMAINS[domain.name] = domain
    _adapter = None


def unregister(name: str) -> None:
    """Remove a domain added by `register` (a test's toy domain)."""
    global _adapter
    del _registered()[name]
    _adapter = None


def domains() -> dict[str, Domain]:
    return dict(_registered())


def domain(name: str) -> Domain:
    registered = _registered()
    if name not in registered:
        raise KeyError(f"no domain named {name!r} is registered (known: {', '.join(registered)})")
    return registered[name]


def world_factory(name: str) -> WorldFactory:
    return domain(name).world_factory()


def tables_of_record() -> tuple[str, ...]:
    """Each domain's per-step table (a run directory's main table), in registry order."""
    return tuple(dict.fromkeys(d.table for d in _registered().values()))


GENERIC_LABELS = ("target", "label", "class")
"""Names that mean a label in any table a user brings."""


def label_columns() -> frozenset[str]:
    """Every column some domain declares as a label or derived from one (lower case), and the generic
    label names: evaluation and refinement never let a model read these as features."""
    declared = {c for d in _registered().values() for names in d.labels.values() for c in names}
    return frozenset(name.lower() for name in (*declared, *GENERIC_LABELS))


def output_formats() -> tuple[str, ...]:
    """Every format some domain writes: Parquet, CSV and the domains' own (PaySim's CSV)."""
    extra = [name for d in _registered().values() for name in d.formats]
    return tuple(dict.fromkeys([*PLAIN_FORMATS, *extra]))


def unknown_domain_message() -> str:
    names = [repr(name) for name in _registered()]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"must be {listed}"


def scenario_adapter() -> TypeAdapter:
    """Validates any scenario, choosing its model by `domain`."""
    global _adapter
    if _adapter is None:
        models = tuple(d.scenario for d in _registered().values())
        union = models[0] if len(models) == 1 else Annotated[Union[models], Field(discriminator="domain")]  # noqa: UP007
        _adapter = TypeAdapter(union)
    return _adapter


def _check(domain: Domain) -> None:
    """The contract a domain's entry must meet, as one error listing every problem."""
    problems = []
    model = domain.scenario
    fields = getattr(model, "model_fields", {})
    if not (isinstance(model, type) and issubclass(model, ScenarioBase)):
        problems.append("its scenario model must subclass sim.scenario.schema.ScenarioBase")
    elif _literals(fields["domain"].annotation) != (domain.name,):
        problems.append(f"its scenario model must declare domain: Literal[{domain.name!r}]")
    for name in ("events", "outputs"):
        if name not in fields:
            problems.append(f"its scenario model has no {name!r} field")
    for event in _classes(fields["events"].annotation) if "events" in fields else ():
        has = [n for n in ("kind", "target", "intensity") if n in event.model_fields or hasattr(event, n)]
        if not issubclass(event, CalendarEvent) or len(has) < 3:
            problems.append(
                f"its event {event.__name__} must be a CalendarEvent with a kind, target and intensity"
            )
    outputs = fields["outputs"].annotation if "outputs" in fields else None
    if "outputs" in fields and not (isinstance(outputs, type) and issubclass(outputs, OutputsBase)):
        problems.append("its outputs model must subclass sim.scenario.schema.OutputsBase")
    elif outputs is not None:
        tables = _literals(typing.get_args(outputs.model_fields["tables"].annotation)[0])
        if domain.table not in tables or "events" not in tables:
            problems.append(f"its outputs' tables must offer {domain.table!r} and 'events'")
        formats = set(_literals(outputs.model_fields["format"].annotation))
        if not formats <= {*PLAIN_FORMATS, *domain.formats}:
            problems.append(
                f"its outputs name formats it does not define: {sorted(formats - set(PLAIN_FORMATS))}"
            )
    for name, spec in domain.formats.items():
        if name in PLAIN_FORMATS or spec.base not in PLAIN_FORMATS:
            problems.append(f"format {name!r} must be new and written as one of {PLAIN_FORMATS}")
    if not (callable(domain.world) or (isinstance(domain.world, str) and ":" in domain.world)):
        problems.append("its world must be a factory or 'module:attribute'")
    if problems:
        raise TypeError(f"domain {domain.name!r}: " + "; ".join(problems))


def _classes(annotation) -> list[type]:
    """The classes a `list[...]` annotation admits (through Annotated and unions)."""
    (item,) = typing.get_args(annotation) or (None,)
    while typing.get_origin(item) is Annotated:
        item = typing.get_args(item)[0]
    return [c for c in (typing.get_args(item) or (item,)) if isinstance(c, type)]


def _literals(annotation) -> tuple:
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else ()
