"""``ductflow install`` / ``uninstall`` and ``plugins --requirements``, against a real local distribution."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from pip_support import build_flags, ductflow

from ductflow_core.cli.commands.install import pip_command, requirement
from ductflow_core.scaffold import create


def test_install_lists_pins_and_uninstalls_a_local_plugin(tmp_path: Path) -> None:
    """A plugin installed from a folder is pinned by ``plugins --requirements``, and ``uninstall NAME`` removes it."""
    name = f"inst{uuid.uuid4().hex[:6]}"
    folder = create(name, tmp_path)
    pip_args = [f"--pip-arg={arg}" for arg in ["--no-deps", *build_flags()]]
    try:
        installed = ductflow("install", str(folder), *pip_args, cwd=tmp_path)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert installed.stdout.startswith(f"running: pip install --no-deps {' '.join(build_flags())}".rstrip())
        assert f"Successfully installed ductflow-{name}-0.1.0" in installed.stdout
        pins = ductflow("plugins", "--requirements", cwd=tmp_path)
        assert pins.returncode == 0, pins.stderr
        assert f"ductflow-{name}==0.1.0" in pins.stdout.splitlines()
        assert all("==" in line for line in pins.stdout.splitlines())
    finally:
        removed = ductflow("uninstall", name, cwd=tmp_path)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert f"Successfully uninstalled ductflow-{name}-0.1.0" in removed.stdout
    after = ductflow("plugins", "--requirements", cwd=tmp_path)
    assert f"ductflow-{name}==0.1.0" not in after.stdout.splitlines()


def test_failing_pip_is_one_line_error(tmp_path: Path) -> None:
    """When pip fails, its own output streams through and Ductflow adds one line naming the failure."""
    result = ductflow("install", str(tmp_path / "no-such-folder"), "--pip-arg=--no-deps", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: pip install failed (exit ")
    assert "no-such-folder" in result.stdout + result.stderr


def test_uninstalling_what_is_not_installed_is_harmless(tmp_path: Path) -> None:
    """pip only warns about a distribution that is not installed, so neither does Ductflow fail."""
    result = ductflow("uninstall", f"never{uuid.uuid4().hex[:6]}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not installed" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres", "ductflow-postgres"),
        ("my-api", "ductflow-my-api"),
        ("ductflow-files", "ductflow-files"),
        ("Ductflow_Files", "Ductflow_Files"),
        ("ductflow", "ductflow"),
        ("postgres==0.2", "postgres==0.2"),
        ("postgres>=0.2", "postgres>=0.2"),
        ("./plugins/x", "./plugins/x"),
        ("/abs/path", "/abs/path"),
        ("dist/x-1.0-py3-none-any.whl", "dist/x-1.0-py3-none-any.whl"),
        ("x.whl", "x.whl"),
        ("git+https://example.org/x.git", "git+https://example.org/x.git"),
        ("-e", "-e"),
    ],
)
def test_bare_names_get_the_prefix(given: str, expected: str) -> None:
    """Only a bare name gets ``ductflow-``; paths, URLs, pinned requirements and options go to pip unchanged."""
    assert requirement(given) == expected


def test_pip_runs_in_ductflows_own_python() -> None:
    """pip is run as this interpreter's module, uninstall without a prompt, pip args before the names."""
    assert pip_command("install", ["postgres"], ["--no-deps"]) == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "ductflow-postgres",
    ]
    assert pip_command("uninstall", ["files"], []) == [
        sys.executable,
        "-m",
        "pip",
        "uninstall",
        "--yes",
        "ductflow-files",
    ]
