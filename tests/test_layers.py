"""The package layout's rules (docs/architecture.md), checked on the source with ``ast``: no import is run.

An import counts wherever it is written, at module level or inside a function, since a lazy import is still a
dependency; only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "ductflow_core"

#: The path data takes; a layer imports only its own and lower layers.
LAYERS = {"pipeline": 0, "duck": 1, "plugin": 2, "run": 3, "cli": 4}

#: The public modules below every layer, which ``pipeline/`` and ``duck/`` may use.
BASE = {"ductflow_core", "ductflow_core.errors", "ductflow_core.models"}

#: The documented doors: ``(importing module, imported module) -> why``. Each is one lazy import inside a
#: function, kept so a public name (or the plugin manager's defaults) stays where users have it.
DOORS = {
    ("ductflow_core.connection", "ductflow_core.plugin.registry"): "Connection.locate delegates to the registry",
    ("ductflow_core.plugin.manager", "ductflow_core.run.builtin"): "the manager registers the built-in hooks",
}


def _through_door(source: str, target: str) -> bool:
    # A door names a module or a package; the package's modules go through it too.
    return any(s == source and (target == t or target.startswith(t + ".")) for s, t in DOORS)

#: What a plugin may import from the core (docs/architecture.md, "Public surface").
PUBLIC = {
    "ductflow_core",
    "ductflow_core.api",
    "ductflow_core.connection",
    "ductflow_core.errors",
    "ductflow_core.hookspecs",
    "ductflow_core.models",
    "ductflow_core.params",
    "ductflow_core.sql",
    "ductflow_core.testing",
    "ductflow_core.testing.conformance",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(child) for child in ast.walk(node))
    return ids


def imports(path: Path, *, with_type_checking: bool = False) -> Iterator[tuple[str, int]]:
    """``(module, line)`` for each core module ``path`` imports; ``from x import y`` adds ``x.y`` if a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if with_type_checking else _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            # `from ductflow_core.pipeline import plan` imports the module ductflow_core.pipeline.plan.
            names += [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
        else:
            continue
        for name in names:
            if name == "ductflow_core" or name.startswith("ductflow_core."):
                yield name, node.lineno


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "template" not in p.parts)


def test_no_layer_imports_a_higher_one() -> None:
    """A module in pipeline/, duck/, plugin/, run/ or cli/ imports no module of a higher layer, doors aside."""
    wrong = []
    for path in _core_files():
        source = _module_name(path)
        mine = _layer(source)
        if mine is None:
            continue
        for target, line in imports(path):
            theirs = _layer(target)
            if theirs is not None and LAYERS[theirs] > LAYERS[mine] and not _through_door(source, target):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}/) imports {target} ({theirs}/)")
    assert not wrong, "\n".join(wrong)


def test_pipeline_and_duck_use_only_the_base_public_modules() -> None:
    """pipeline/ and duck/ import no public module above them (connection, params, api, ...): they would be a detour."""
    wrong = []
    for path in _core_files():
        source = _module_name(path)
        if _layer(source) not in ("pipeline", "duck"):
            continue
        for target, line in imports(path):
            if _layer(target) is None and target not in BASE:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_only_the_cli_imports_the_cli() -> None:
    """Nothing in the core outside cli/ imports cli/: the console script is its only way in."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in _core_files()
        if _layer(_module_name(path)) != "cli"
        for target, line in imports(path)
        if _layer(target) == "cli"
    ]
    assert not wrong, "\n".join(wrong)


def test_public_modules_reach_layers_above_duck_only_through_doors() -> None:
    """errors, models, params, connection, hookspecs and sql import plugin/, run/ or cli/ only through a listed door."""
    public = ["errors", "models", "params", "connection", "hookspecs", "sql"]
    wrong = []
    for name in public:
        path = CORE / f"{name}.py"
        for target, line in imports(path):
            layer = _layer(target)
            if layer in ("plugin", "run", "cli") and not _through_door(f"ductflow_core.{name}", target):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_every_door_is_a_lazy_import_that_exists() -> None:
    """Each documented door is an import inside a function of its module, so the list holds no stale entry."""
    for source, target in DOORS:
        path = ROOT.joinpath(*source.split(".")).with_suffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = {
            name
            for func in ast.walk(tree)
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(func)
            if isinstance(node, ast.ImportFrom) and node.module
            for name in [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        }
        assert any(n == target or n.startswith(target + ".") for n in lazy), f"{source} has no lazy import of {target}"


def test_first_party_plugins_import_only_public_core_modules() -> None:
    """The plugins' packages and tests import only the core's public modules, ductflow_core.sql among them."""
    wrong = []
    files = sorted((ROOT / "plugins").glob("*/src/**/*.py")) + sorted((ROOT / "plugins").glob("*/tests/**/*.py"))
    assert files
    for path in files:
        for target, line in imports(path, with_type_checking=True):
            if target not in PUBLIC:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)
