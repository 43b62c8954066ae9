"""The lock-down cannot be bypassed: shadowed plugins, module: routes around the plugin lists, forgotten flags."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ductflow_core.cli.main import build_parser, main
from ductflow_core.plugin.policy import Policy
from ductflow_core.plugin.registry import Registry
from ductflow_core.testing import RunOutcome

Cli = Callable[..., subprocess.CompletedProcess[str]]
HERE = Path(__file__).parent

CONN = """
from ductflow_core.connection import Connection

ORIGIN = {value!r}


class Conn(Connection):
    async def tap(self, query=None):
        await self.c.execute(f"CREATE TABLE {{self.c.quote(self.name)}} AS SELECT '{{ORIGIN}}' AS origin")


class Other(Conn):
    pass
"""
MARK = "from pathlib import Path\nPath({path!r}).write_text('imported')\n"


def _package(folder: Path, value: str, marker: Path) -> None:
    (folder / "lockdemo").mkdir(parents=True)
    (folder / "lockdemo" / "__init__.py").write_text(MARK.format(path=str(marker)))
    (folder / "lockdemo" / "conn.py").write_text(CONN.format(value=value))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An installed distribution ``lock-demo`` (locators ``demo`` and ``other``) in a folder on PYTHONPATH."""
    folder = tmp_path / "site"
    _package(folder, "installed", tmp_path / "installed-imported")
    info = folder / "lock_demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lock-demo\nVersion: 1.0\n")
    points = "[ductflow.connections]\ndemo = lockdemo.conn:Conn\nother = lockdemo.conn:Other\n"
    (info / "entry_points.txt").write_text(points)
    return folder


@pytest.fixture
def shadow(tmp_path: Path) -> Path:
    """A pipeline folder holding its own ``lockdemo`` package, which must never be imported."""
    folder = tmp_path / "pipe"
    _package(folder, "shadow", tmp_path / "shadow-imported")
    return folder


def _run(cli: Cli, site: Path, folder: Path, text: str, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    (folder / "pipeline.yaml").write_text(text)
    db = folder.parent / "out.duckdb"
    full_env = {"PYTHONPATH": f"{site}:{HERE}", **env}
    proc = cli("run", *flags, "--database", str(db), "pipeline.yaml", cwd=folder, env=full_env)
    return proc


def _origins(folder: Path) -> list[tuple[object, ...]]:
    import duckdb

    with duckdb.connect(str(folder.parent / "out.duckdb"), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return [(t, *con.execute(f'SELECT origin FROM "{t}"').fetchone()) for t in tables]  # type: ignore[misc]


BY_MODULE = "- {name: a, kind: tap, connection: {kind: CustomConnection, module: lockdemo.conn, classname: Conn}}\n"
BY_LOCATOR = "- {name: b, kind: tap, connection: {kind: demo}}\n"


def test_a_locator_loads_from_its_installed_distribution_not_the_current_folder(
    cli: Cli, site: Path, shadow: Path
) -> None:
    """Run with python -m from a folder holding a same-named package, a locator still loads the installed one."""
    proc = _run(cli, site, shadow, BY_LOCATOR)
    assert proc.returncode == 0, proc.stderr
    assert _origins(shadow) == [("b", "installed")]
    assert not (shadow.parent / "shadow-imported").exists()


def test_module_naming_an_installed_package_never_imports_the_pipelines_copy(
    cli: Cli, site: Path, shadow: Path
) -> None:
    """module: of an installed package under --allow-module imports the installed one, and a later locator too."""
    proc = _run(cli, site, shadow, BY_MODULE + BY_LOCATOR, "--allow-module", "lockdemo.*")
    assert proc.returncode == 0, proc.stderr
    assert _origins(shadow) == [("a", "installed"), ("b", "installed")]
    assert not (shadow.parent / "shadow-imported").exists()


def test_a_pipeline_module_that_poisons_sys_modules_is_caught(cli: Cli, site: Path, shadow: Path) -> None:
    """A pipeline's own module that imports its copy of an installed package first makes the locator refuse to load."""
    (shadow / "poison.py").write_text(
        "import sys\nfrom pathlib import Path\nsys.path.insert(0, str(Path(__file__).parent))\n"
        "import lockdemo.conn\nfrom ductflow_core.connection import Connection\n"
        "class P(Connection):\n    async def tap(self, query=None):\n"
        "        await self.c.execute(f'CREATE TABLE \"{self.name}\" AS SELECT 1 AS origin')\n"
    )
    text = "- {name: p, kind: tap, connection: {kind: CustomConnection, module: poison, classname: P}}\n" + BY_LOCATOR
    proc = _run(cli, site, shadow, text)
    assert proc.returncode == 2, proc.stderr
    assert "may not stand in for an installed package" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DUCTFLOW_DISABLE_PLUGINS": "Lock_Demo"},
        {"DUCTFLOW_LOAD_PLUGINS": "some-other-dist"},
    ],
)
def test_a_disabled_distribution_cannot_be_reached_by_module(
    cli: Cli, site: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """module: into a distribution the plugin lists disable is refused before anything of it is imported."""
    folder = tmp_path / "plain"
    folder.mkdir()
    proc = _run(cli, site, folder, BY_MODULE, **env)
    assert proc.returncode == 2, proc.stderr
    assert "module 'lockdemo.conn' belongs to distribution lock-demo 1.0, which is disabled" in proc.stderr
    assert not (tmp_path / "installed-imported").exists()


def test_a_disabled_locator_cannot_be_reached_by_module(cli: Cli, site: Path, tmp_path: Path) -> None:
    """module:/classname: naming the class of a disabled locator is refused, the locator named case-insensitively."""
    folder = tmp_path / "plain"
    folder.mkdir()
    proc = _run(cli, site, folder, BY_MODULE, DUCTFLOW_DISABLE_PLUGINS="DEMO")
    assert proc.returncode == 2, proc.stderr
    assert "lockdemo.conn.Conn is plugin 'demo' (lock-demo 1.0), which is disabled" in proc.stderr


def test_a_pipeline_module_cannot_import_a_disabled_distribution(cli: Cli, site: Path, tmp_path: Path) -> None:
    """A pipeline's own module importing a disabled distribution's package fails to import, nothing of it run."""
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "wrapper.py").write_text("from lockdemo.conn import Conn\n\nclass Mine(Conn):\n    pass\n")
    text = "- {name: a, kind: tap, connection: {kind: CustomConnection, module: wrapper, classname: Mine}}\n"
    proc = _run(cli, site, folder, text, DUCTFLOW_DISABLE_PLUGINS="lock-demo")
    assert proc.returncode == 2, proc.stderr
    assert "package 'lockdemo' belongs to distribution lock-demo 1.0, which is disabled" in proc.stderr
    assert not (tmp_path / "installed-imported").exists()


def test_a_subclass_of_a_disabled_plugin_is_refused(cli: Cli, site: Path, tmp_path: Path) -> None:
    """A pipeline's own class deriving from a disabled plugin's class is refused like the plugin itself."""
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "wrapper.py").write_text("from lockdemo.conn import Conn\n\nclass Mine(Conn):\n    pass\n")
    text = "- {name: a, kind: tap, connection: {kind: CustomConnection, module: wrapper, classname: Mine}}\n"
    proc = _run(cli, site, folder, text, DUCTFLOW_DISABLE_PLUGINS="demo")
    assert proc.returncode == 2, proc.stderr
    assert "lockdemo.conn.Conn is plugin 'demo' (lock-demo 1.0), which is disabled" in proc.stderr


def test_allowed_modules_from_the_environment_are_case_sensitive(cli: Cli, site: Path, tmp_path: Path) -> None:
    """DUCTFLOW_ALLOWED_MODULES keeps its case: LockDemo.* does not allow lockdemo.conn, lockdemo.* does."""
    folder = tmp_path / "plain"
    folder.mkdir()
    refused = _run(cli, site, folder, BY_MODULE, DUCTFLOW_ALLOWED_MODULES="LockDemo.*")
    assert refused.returncode == 2
    assert "module 'lockdemo.conn' is not allowed (allowed modules: LockDemo.*)" in refused.stderr
    allowed = _run(cli, site, folder, BY_MODULE, DUCTFLOW_ALLOWED_MODULES="lockdemo.*")
    assert allowed.returncode == 0, allowed.stderr


def test_plugin_and_distribution_names_compare_normalized() -> None:
    """LOAD/DISABLE names match distributions and locators case-insensitively with -, _ and . alike."""
    assert Policy.from_env({"DUCTFLOW_LOAD_PLUGINS": "Ductflow.Files"}).allows_plugin("csv", "ductflow-files")
    assert not Policy.from_env({"DUCTFLOW_DISABLE_PLUGINS": "DUCTFLOW__files"}).allows_plugin("csv", "ductflow_files")
    assert not Policy.from_env({"DUCTFLOW_DISABLE_PLUGINS": "My-Api"}).allows_plugin("my_api", "x")
    assert Policy.from_env({"DUCTFLOW_ALLOWED_MODULES": "MyApp.*"}).allowed_modules == ("MyApp.*",)


def _pipeline_commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: p
        for name, p in sub.choices.items()
        if any(a.dest == "pipeline" for a in p._actions)  # every command that loads a pipeline
    }


def test_every_command_that_loads_a_pipeline_takes_the_policy_flags() -> None:
    """Each subcommand with a pipeline argument accepts --plugins-only and --allow-module."""
    commands = _pipeline_commands()
    assert {"run", "validate", "schema"} <= set(commands)
    for name, parser in commands.items():
        flags = {s for a in parser._actions for s in a.option_strings}
        assert {"--plugins-only", "--allow-module"} <= flags, name


def test_every_command_that_loads_a_pipeline_honours_plugins_only(cli: Cli, tmp_path: Path) -> None:
    """Each such subcommand, given --plugins-only, refuses a module: before importing it."""
    marker = tmp_path / "imported"
    (tmp_path / "localmod.py").write_text(MARK.format(path=str(marker)))
    text = "- {name: a, kind: tap, connection: {kind: CustomConnection, module: localmod, classname: X}}\n"
    (tmp_path / "pipeline.yaml").write_text(text)
    extra = {"schema": ["a"]}
    for name in _pipeline_commands():
        proc = cli(name, "--plugins-only", "pipeline.yaml", *extra.get(name, []))
        assert proc.returncode == 2, (name, proc.stderr)
        assert "only installed plugins may be used (--plugins-only)" in proc.stderr, name
        assert not marker.exists(), name


def test_plugins_only_stops_sql_from_loading_duckdb_extensions(ductflow_run: Callable[..., RunOutcome]) -> None:
    """Under --plugins-only DuckDB may not install or load extensions on its own; without it, it may as before."""
    text = (
        "- name: t\n  kind: transform\n  sql: >-\n"
        "    SELECT current_setting('autoinstall_known_extensions') AS i,\n"
        "           current_setting('autoload_known_extensions') AS l\n"
    )
    locked = ductflow_run(text, registry=Registry(policy=Policy(plugins_only=True)))
    assert locked.rows("SELECT i, l FROM t") == [(False, False)]
    assert ductflow_run(text, registry=Registry(policy=Policy())).rows("SELECT i, l FROM t") == [(True, True)]


def test_the_implicit_current_folder_is_trusted_only_when_also_put_on_the_path_on_purpose(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """python -m's current folder is not an installed location, unless a .pth or PYTHONPATH also lists it."""
    from ductflow_core.plugin import installed

    here = str(tmp_path)
    monkeypatch.setattr(installed, "_IMPLICIT", here)
    monkeypatch.setattr("sys.path", [here, "/site"])
    assert installed.trusted_paths() == ["/site"]
    monkeypatch.setattr("sys.path", [here, "/site", here])
    assert installed.trusted_paths() == [here, "/site", here]
    installed.drop_implicit_entry()
    assert installed.trusted_paths() == ["/site", here]


@pytest.mark.parametrize(
    "env",
    [
        {"DUCTFLOW_DISABLE_PLUGINS": "ductflow-files"},
        {"DUCTFLOW_DISABLE_PLUGINS": "Ductflow_Files"},
        {"DUCTFLOW_LOAD_PLUGINS": "ductflow-postgres"},
    ],
)
def test_the_files_plugin_disabled_cannot_be_named_by_module(cli: Cli, tmp_path: Path, env: dict[str, str]) -> None:
    """With ductflow-files disabled, module: ductflow_files.csvfile is refused at its line, exit 2."""
    (tmp_path / "x.csv").write_text("a\n1\n")
    (tmp_path / "pipeline.yaml").write_text(
        "- name: a\n  kind: tap\n  connection:\n    kind: CustomConnection\n"
        "    module: ductflow_files.csvfile\n    classname: CsvConnection\n    params: {path: x.csv}\n"
    )
    proc = cli("run", "pipeline.yaml", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "pipeline.yaml:5: stage 'a': connection.module: module 'ductflow_files.csvfile' belongs to" in proc.stderr


def test_a_ductflow_files_folder_next_to_the_pipeline_is_never_imported(cli: Cli, tmp_path: Path) -> None:
    """A pipeline-local ductflow_files/ shadows neither module: ductflow_files.* nor a later kind: csv stage."""
    marker = tmp_path / "shadow-imported"
    (tmp_path / "ductflow_files").mkdir()
    (tmp_path / "ductflow_files" / "__init__.py").write_text(MARK.format(path=str(marker)))
    (tmp_path / "ductflow_files" / "csvfile.py").write_text(MARK.format(path=str(marker)))
    (tmp_path / "x.csv").write_text("a\n7\n")
    (tmp_path / "pipeline.yaml").write_text(
        "- name: a\n  kind: tap\n  connection: {kind: CustomConnection, module: ductflow_files.csvfile,"
        " classname: CsvConnection, params: {path: x.csv}}\n"
        "- name: b\n  kind: tap\n  connection: {kind: csv, params: {path: x.csv}}\n"
    )
    proc = cli("run", "--allow-module", "ductflow_files.*", "--database", "out.duckdb", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    import duckdb

    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT (SELECT a FROM a), (SELECT a FROM b)").fetchall() == [(7, 7)]


def test_plugins_only_with_a_locked_configuration_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--plugins-only`` on a pipeline that locks DuckDB's configuration itself fails in one line at that setting."""
    path = tmp_path / "lc.yaml"
    path.write_text("duckdb: {lock_configuration: true}\nstages:\n- {name: a, kind: transform, sql: SELECT 1}\n")
    assert main(["run", "--plugins-only", str(path)]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {path}:1: duckdb.lock_configuration: cannot keep DuckDB from loading extensions with these "
        'settings (Invalid Input Error: Cannot change configuration option "autoinstall_known_extensions" - the '
        "configuration has been locked); leave lock_configuration to the sandbox"
    ]
    assert "Traceback" not in err
