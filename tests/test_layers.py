"""The layers hold: no module outside `sim/domains/` imports a domain (only the registry, which names them
all), the engine reaches the registry only when asked for a world, domains do not import each other, and
every module can be the first one a fresh process imports (a worker unpickling a task does exactly that)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SIM = ROOT / "sim"
DOMAINS = sorted(p.name for p in (SIM / "domains").iterdir() if (p / "__init__.py").exists())


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in a file, `from a import b` as `a.b` too;
    imports under `if TYPE_CHECKING:` are for annotations only and count as not at module level."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in tree.body
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    top = {id(node) for node in tree.body} - typing_only
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found += [(name, id(node) in top) for name in names]
    return found


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["sim", "domains"] and len(parts) > 2 and parts[2] in DOMAINS:
        return parts[2]
    return None


MODULES = sorted(SIM.rglob("*.py"))


def test_the_domains_are_found():
    assert {"payments", "supply"} <= set(DOMAINS)


def test_no_module_outside_the_domains_imports_a_domain():
    offenders = [
        f"{module_name(path)} imports {name}"
        for path in MODULES
        if not module_name(path).startswith("sim.domains")
        for name, _ in imports(path)
        if domain_of(name)
    ]
    assert offenders == []


def test_the_engine_imports_no_domain_and_asks_the_registry_only_at_run_time():
    offenders = [
        f"{module_name(path)} imports {name}" + ("" if not top else " at module level")
        for path in sorted((SIM / "engine").rglob("*.py"))
        for name, top in imports(path)
        if name.startswith("sim.domains") and (top or name not in ("sim.domains", "sim.domains.registry"))
    ]
    assert offenders == []


def test_domains_do_not_import_each_other():
    offenders = [
        f"{module_name(path)} imports {name}"
        for domain in DOMAINS
        for path in sorted((SIM / "domains" / domain).rglob("*.py"))
        for name, _ in imports(path)
        if domain_of(name) not in (None, domain)
    ]
    assert offenders == []


def test_every_module_can_be_imported_first():
    """Each module imported alone in a fresh interpreter state (the `sim` modules dropped between), as a
    spawned worker does when it unpickles a task: no circular import hides behind an import order."""
    names = [module_name(p) for p in MODULES if module_name(p) not in ("sim.__main__", "sim.refine.neural")]
    code = f"""
import importlib, sys
failed = []
for name in {names!r}:
    for loaded in [m for m in sys.modules if m == "sim" or m.startswith("sim.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{exc!r}}")
print("\\n".join(failed))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
