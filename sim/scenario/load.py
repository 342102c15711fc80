"""From a scenario file (plus `--set` and `--seed`) to a validated, fully resolved `Scenario`.

Every problem is collected before anything is raised, and each names its file, line and field.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import stat
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.domains import registry
from sim.errors import Problem, ScenarioError, did_you_mean
from sim.rng import draw_seed
from sim.scenario.parameters import OVERRIDE_SOURCE, apply_overrides, substitute
from sim.scenario.schema import CommonFields, Scenario
from sim.scenario.semantics import check_model, check_references
from sim.scenario.types import WHY_BOUNDED
from sim.scenario.yaml_lines import MAX_BYTES, LinedDocument, YamlProblems, load_lined_yaml


def load_scenario(path: str | Path, overrides: Sequence[str] = (), seed: int | None = None) -> Scenario:
    """Load, resolve and validate. The seed is `seed`, else the file's, else freshly drawn (and recorded)."""
    return resolve_document(read_document(path, "a scenario file"), overrides, seed)


def read_document(path: str | Path, what: str) -> LinedDocument:
    """A YAML file with the line of every value; a file that cannot be read or parsed is a ScenarioError."""
    file = str(path)
    try:
        raw = _read_regular_file(Path(path), what)
    except FileNotFoundError:
        folder = Path(path).parent
        near = [p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml")] if folder.is_dir() else []
        hint = did_you_mean(Path(path).name, near)  # a file beside it, spelt nearly the same
        raise ScenarioError([Problem(file, 0, "", "file not found" + hint)]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(file, 0, "", f"is a directory, not {what}")]) from None
    except _NotReadable as exc:
        raise ScenarioError([Problem(file, 0, "", str(exc))]) from None
    except OSError as exc:
        raise ScenarioError([Problem(file, 0, "", f"cannot read: {exc.strerror}")]) from None
    try:
        return load_lined_yaml(raw, file)
    except YamlProblems as exc:
        raise ScenarioError(exc.problems) from None


class _NotReadable(Exception):
    pass


def _read_regular_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file no larger than MAX_BYTES, checked before reading: a FIFO, a device
    (/dev/zero) or a huge file is refused, not read until it blocks or fills the memory."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    with os.fdopen(descriptor, "rb") as fh:  # opened first, so what is checked is what is read
        info = os.fstat(fh.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):
            raise _NotReadable(f"is not a regular file (a pipe, socket or device), not {what}")
        if info.st_size > MAX_BYTES:
            raise _NotReadable(f"file is larger than {MAX_BYTES:,} bytes ({info.st_size:,})")
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:  # it grew while being read
        raise _NotReadable(f"file is larger than {MAX_BYTES:,} bytes")
    return raw


def resolve_document(doc: LinedDocument, overrides: Sequence[str] = (), seed: int | None = None) -> Scenario:
    problems: list[Problem] = []

    def at(path: tuple, message: str, origins: dict | None = None) -> None:
        path = _doc_path(doc.data, path)
        note = ""
        if origins is not None and path in origins:
            note = f" (value from parameter {origins[path]})"
        field = ".".join(map(str, path))
        problems.append(Problem(doc.file, doc.line_of(path), field, message + note))

    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(doc.file, 1, "", "a scenario must be a mapping of fields")])
    data = dict(doc.data)
    declared = data.get("parameters", {})
    if not isinstance(declared, dict):
        declared = {}
    parameters, override_problems = apply_overrides(declared, overrides)
    for number, field, message in override_problems:
        problems.append(Problem(OVERRIDE_SOURCE, number, field, message))
    body = {k: v for k, v in data.items() if k != "parameters"}
    body, reference_problems, origins = substitute(body, parameters)
    unresolved = {path for path, _ in reference_problems}
    for path, message in reference_problems:
        at(path, message)
    if "parameters" in data:
        body["parameters"] = parameters
    if seed is not None and not (isinstance(seed, Integral) and 0 <= seed < 2**63):
        problems.append(Problem("<--seed>", 0, "seed", f"must be a whole number in [0, 2**63): got {seed!r}"))

    scenario = None
    domain = registry.domains().get(body.get("domain")) if isinstance(body.get("domain"), str) else None
    try:
        scenario = registry.scenario_adapter().validate_python(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        unchecked: list[str] = []
        if any(_is_domain_error(e) for e in errors):
            try:  # without a domain there is no model to check against: check what all share
                CommonFields.model_validate(body)
            except ValidationError as common:
                errors += common.errors(include_url=False)
            fields = [set(d.scenario.model_fields) for d in registry.domains().values()]
            for key in body:  # a field no domain has is unknown whatever the domain
                if key not in set().union(*fields):
                    errors.append({"type": "extra_forbidden", "loc": (key,), "msg": "", "input": body[key],
                                   "fields": sorted(set().union(*fields))})  # fmt: skip
                elif key not in CommonFields.model_fields:
                    unchecked.append(str(key))
        errors += _behind_bad_tags(body, errors)
        for error in errors:
            loc = error["loc"]
            hint = ""
            if error["type"] == "extra_forbidden":  # a misspelt field: the nearest its object takes
                hint = did_you_mean(loc[-1], error.get("fields") or _fields_at(loc[:-1]))
            if _is_domain_error(error):  # the domain picks the model
                missing = "domain" not in body
                message = registry.unknown_domain_message()
                if unchecked:
                    message += f" ({', '.join(unchecked)} not checked until it is)"
                changed = {"type": "missing", "note": message} if missing else {"msg": message}
                error = {**error, **changed}
                loc = ("domain",)
            if error["type"] != "missing" and not error["type"].startswith("unknown_"):
                path = _doc_path(body, loc)
                if path and not _present(body, path):
                    loc = path[:-1]  # a union's label (a model's own check failed): the object itself
            if error["type"].startswith("unknown_"):  # an unknown tag: point at the tag's own field
                path = _doc_path(body, loc)
                if path and not _present(body, path):
                    path = path[:-1]  # a union's label, not the user's field
                loc = (*path, error["type"].removeprefix("unknown_"))
            if _doc_path(body, loc) not in unresolved:
                at(loc, _message(error) + hint, origins)
    checks = check_references(body)  # on the data as written: reported even when fields are invalid
    if domain is not None and domain.check_data is not None:
        checks += domain.check_data(body)
    if scenario is not None:
        checks += check_model(scenario)
        if domain.check_scenario is not None:
            checks += domain.check_scenario(scenario)
    for path, message in checks:
        at(path, message)
    if problems:
        raise ScenarioError(problems)
    if seed is not None:  # the file's own seed was checked above, as `sim run` without --seed would
        scenario = scenario.model_copy(update={"seed": int(seed)})
    elif scenario.seed is None:
        scenario = scenario.model_copy(update={"seed": draw_seed()})
    return scenario


RECHECKED_TAGS = 20  # objects with a wrong tag whose other problems are looked for


def _fields_at(loc: tuple) -> list[str]:
    """The fields (as written: aliases) of the object at pydantic's location `loc` (union tags
    included), found by walking the scenario types' core schema; [] where the walk cannot tell."""
    root = registry.scenario_adapter().core_schema
    refs = {d["ref"]: d for d in root.get("definitions", [])}

    def resolve(schema: dict) -> dict:
        while True:
            kind = schema.get("type")
            if kind == "definition-ref":
                schema = refs.get(schema["schema_ref"], {})
            elif kind in ("definitions", "nullable", "default", "model") or str(kind).startswith("function-"):
                schema = schema.get("schema", {})
            else:
                return schema

    schema = resolve(root)
    for step in loc:
        kind = schema.get("type")
        if kind == "model-fields" and step in schema["fields"]:
            schema = schema["fields"][step]["schema"]
        elif kind == "tagged-union" and step in schema["choices"]:
            schema = schema["choices"][step]
        elif kind in ("list", "dict"):
            schema = schema.get("items_schema" if kind == "list" else "values_schema", {})
        else:
            return []
        schema = resolve(schema)
    if schema.get("type") != "model-fields":
        return []
    return [f.get("validation_alias") if isinstance(f.get("validation_alias"), str) else name
            for name, f in schema["fields"].items()]  # fmt: skip


def _bad_tag(body: dict, error: dict) -> tuple[tuple, str, Any, list[str]] | None:
    """(the object's path, its tag field, the tag written, the valid tags) of an error that names a
    tag no member of a union has (a `role`, `dist`, `kind` or `typology` misspelt), else None."""
    if error["type"] == "union_tag_invalid" and error["loc"]:
        context = error.get("ctx", {})
        valid = re.findall(r"'([^']*)'", context.get("expected_tags", ""))
        return (
            _doc_path(body, error["loc"]),
            context.get("discriminator", "").strip("'"),
            context.get("tag"),
            valid,
        )
    if error["type"].startswith("unknown_") and error["loc"]:
        path = _doc_path(body, error["loc"])
        if path and not _present(body, path):
            path = path[:-1]
        field = error["type"].removeprefix("unknown_")
        node = _node(body, path)
        valid = [v for v in error["msg"].partition("must be one of ")[2].split(", ") if v]
        return path, field, node.get(field) if isinstance(node, dict) else None, valid
    return None


def _behind_bad_tags(body: dict, errors: list[dict], depth: int = 3) -> list[dict]:
    """The other problems of an object whose tag is wrong: pydantic stops at the tag, so the object is
    checked again as each valid tag's model and the problems of the closest fit (the fewest problems;
    ties to the tag nearest in spelling) are reported too, beside a "did you mean" on the tag. The first
    `RECHECKED_TAGS` such objects only: each costs a validation per valid tag."""
    out = []
    for error in [e for e in errors if _bad_tag(body, e) is not None][:RECHECKED_TAGS]:
        found = _bad_tag(body, error)
        path, field, written, valid = found
        best = None  # (tag, its problems inside the object, the body with that tag)
        for tag in difflib.get_close_matches(str(written), valid, n=len(valid), cutoff=0.0):
            patched = _branch(body, path)
            node = _node(patched, path)
            if not isinstance(node, dict):
                break
            node[field] = tag
            try:
                registry.scenario_adapter().validate_python(patched)
                inside = []
            except ValidationError as exc:
                inside = [e for e in exc.errors(include_url=False)
                          if _doc_path(patched, e["loc"])[: len(path)] == path]  # fmt: skip
            if best is None or len(inside) < len(best[1]):
                best = tag, inside, patched
        if best is None:
            continue
        tag, inside, patched = best
        if difflib.get_close_matches(str(written), valid, n=1, cutoff=0.6) == [tag]:
            error["msg"] = error["msg"].rstrip(".") + f"; did you mean {tag!r}?"
        nested = [e for e in inside if _bad_tag(patched, e) is not None]
        out += [e for e in inside if e not in nested] + nested
        if depth > 1:
            out += _behind_bad_tags(patched, nested, depth - 1)
    return out


def _branch(data: Any, path: Sequence, top: bool = True) -> Any:
    """A copy of `data` for checking the object at `path` alone: below the top, a mapping on the way
    keeps its plain values (a `role`, a `count`) but none of its other mappings or lists (the other
    populations); a list keeps its other items uncopied, so indices stay. Checking one object then
    costs what the object costs, not what the whole file does."""
    if not path:
        return copy.deepcopy(data)
    step, rest = path[0], path[1:]
    if isinstance(data, dict):
        kept = data if top else {k: v for k, v in data.items() if not isinstance(v, dict | list)}
        return {**kept, step: _branch(data[step], rest, top=False)}
    out = list(data)
    out[step] = _branch(data[step], rest, top=False)
    return out


def _node(data: Any, path: Sequence) -> Any:
    for step in path:
        data = data[step] if _present(data, (step,)) else None
    return data


def _is_domain_error(error: dict) -> bool:
    """No domain, or none of the registered ones (with a single domain: its literal, wrong)."""
    union = error["type"] in ("union_tag_not_found", "union_tag_invalid") and not error["loc"]
    return union or (error["type"] == "literal_error" and error["loc"] == ("domain",))


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing" + (f": it {error['note']}" if "note" in error else "")
    message = error["msg"].removeprefix("Value error, ")
    bound = error.get("ctx", {}).get("le")
    if error["type"] == "less_than_equal" and bound in WHY_BOUNDED:
        message += f", {WHY_BOUNDED[bound]}"
    if "input" in error and not isinstance(error["input"], dict | list):
        shown = repr(error["input"])
        if len(shown) <= 60:
            message += f" (got {shown})"
    return message


def _present(data: Any, path: Sequence) -> bool:
    node = data
    for step in path:
        if (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        ):
            node = node[step]
        else:
            return False
    return True


def _doc_path(data: Any, loc: Sequence) -> tuple:
    """Pydantic's error location as the path the user wrote.

    Pydantic inserts union tags (`customer`, `lognormal`) and type names (`int`, `datetime`) that are not
    in the data: a step absent from the data with more steps after it is such a label and is dropped;
    an absent last step is a missing field and is kept.
    """
    path: list = []
    node = data
    for position, step in enumerate(loc):
        last = position == len(loc) - 1
        present = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if present:
            node = node[step]
        elif isinstance(node, dict | list) and not last:
            continue
        elif isinstance(node, dict | list):
            node = None
        else:
            break  # below a scalar: pydantic is naming the types it tried
        path.append(step)
    return tuple(path)
