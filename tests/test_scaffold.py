"""``ductflow new-plugin``: the distribution it writes installs, passes its own tests and shows up as a plugin."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pip_support import build_flags, ductflow

from ductflow_core.errors import DuctflowError
from ductflow_core.scaffold import create, names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before 3.11
    import tomli as tomllib


@pytest.mark.slow
def test_new_plugin_installs_passes_its_tests_and_is_listed(tmp_path: Path) -> None:
    """A fresh scaffold installs editable, its tests (conformance suite included) pass, and its locator is listed."""
    locator = f"scaffold-{uuid.uuid4().hex[:6]}"
    made = ductflow("new-plugin", locator, "--dir", str(tmp_path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / f"ductflow-{locator}"
    assert f"wrote {folder}" in made.stdout
    pip = [sys.executable, "-m", "pip"]
    install = subprocess.run(
        [*pip, "install", "--no-deps", *build_flags(), "-e", str(folder)], capture_output=True, text=True, timeout=600
    )
    assert install.returncode == 0, install.stdout + install.stderr
    try:
        # As docs/cli.md has it: pytest ductflow-NAME, from the folder new-plugin ran in.
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", folder.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert tests.returncode == 0, tests.stdout[-3000:]
        assert " passed" in tests.stdout.splitlines()[-1]
        assert "failed" not in tests.stdout.splitlines()[-1]
        listed = ductflow("plugins", "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        mine = [p for p in json.loads(listed.stdout) if p["name"] == locator]
        assert [(p["kind"], p["distribution"], p["target"]) for p in mine] == [
            (
                "connection",
                f"ductflow-{locator}",
                f"ductflow_{locator.replace('-', '_')}:{names(locator)['class_name']}",
            )
        ]
    finally:
        subprocess.run([*pip, "uninstall", "--yes", f"ductflow-{locator}"], capture_output=True, timeout=300)


def test_names_are_spelled_for_each_place() -> None:
    """One name gives the locator, the distribution, the package and the class, with or without the prefix."""
    expected = {
        "locator": "my-api",
        "distribution": "ductflow-my-api",
        "package": "ductflow_my_api",
        "class_name": "MyApiConnection",
        "title": "my api",
    }
    assert names("my-api") == expected
    assert names("ductflow-my-api") == expected


@pytest.mark.parametrize("bad", ["My-Api", "my_api", "-api", "api-", "my api", "1api", ""])
def test_bad_names_are_refused(bad: str, tmp_path: Path) -> None:
    """A name that cannot be a locator and a package name is refused before anything is written."""
    with pytest.raises(DuctflowError, match="must be lower-case letters and digits"):
        create(bad, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    """The command refuses to write into a non-empty folder, as one line on stderr, and leaves it as it was."""
    folder = tmp_path / "ductflow-taken"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = ductflow("new-plugin", "taken", "--dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"error: {folder} already exists and is not empty\n"
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_templates_fill_every_placeholder(tmp_path: Path) -> None:
    """Every file written has its names filled in: no '$' placeholder survives, and the Python files compile."""
    folder = create("weather", tmp_path)
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [
        "README.md",
        "pyproject.toml",
        "src/ductflow_weather/__init__.py",
        "src/ductflow_weather/connection.py",
        "src/ductflow_weather/py.typed",
        "tests/test_conformance.py",
        "tests/test_connection.py",
    ]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert re.search(r"\$\{?[a-z_]+", text) is None, path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert 'weather = "ductflow_weather:WeatherConnection"' in (folder / "pyproject.toml").read_text()


def _imports(folder: Path) -> set[str]:
    """Top-level modules the Python files under ``folder`` import, less the standard library and relative ones."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "__future__"}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_generated_pyproject_declares_what_its_code_imports(tmp_path: Path) -> None:
    """Every third-party module the generated package imports is a dependency; its tests' ones are in ``[test]``."""
    folder = create("weather", tmp_path)
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    test = runtime | _requirement_names(project["optional-dependencies"]["test"])
    providers = {"ductflow_core": "ductflow", "ductflow_weather": "ductflow-weather"}
    owned = {"ductflow-weather"}
    src = {providers.get(name, name.replace("_", "-")) for name in _imports(folder / "src")} - owned
    tests = {providers.get(name, name.replace("_", "-")) for name in _imports(folder / "tests")} - owned
    assert "duckdb" in src
    assert src <= runtime, f"src/ imports {sorted(src - runtime)} without declaring them"
    # The conformance suite the tests enable is imported from ductflow_core.testing, which needs pytest.
    assert tests | {"pytest"} <= test, f"tests/ import {sorted(tests - test)} without declaring them"


def test_cli_doc_installs_the_scaffold_with_its_test_extra() -> None:
    """docs/cli.md's install line for a new plugin names the ``[test]`` extra, without which pytest is missing."""
    text = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "pip install -e 'ductflow-NAME[test]' && pytest ductflow-NAME" in text
    assert "pip install -e ductflow-NAME " not in text
