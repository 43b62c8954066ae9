"""Run-time failures are failures: sys.exit in a connection, a database that is not DuckDB's, a missing method."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import conn

from ductflow_core.cli.main import main
from ductflow_core.errors import ConnectorError

_HINT = "(name a DuckDB file, or one not made yet)"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("where", ["loop", "init", "thread"])
def test_sys_exit_in_a_connection_is_a_stage_failure(cli: Cli, tmp_path: Path, where: str) -> None:
    """sys.exit(3) on the event loop, in init() or in a function run by c.run fails the stage: exit 1, one error."""
    (tmp_path / "p.yaml").write_text(
        f"- name: a\n  kind: tap\n  connection: {conn('Exits', where=where)}\n"
        f"- name: b\n  kind: tap\n  connection: {conn('Numbers')}\n",
        encoding="utf-8",
    )
    result = cli("run", "p.yaml")
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: p.yaml:1: stage 'a' (sample_connections.Exits) failed: the connection called sys.exit(3)"]
    assert "Traceback" not in result.stderr


def test_base_methods_fail_naming_the_class() -> None:
    """Calling sql() on a class that does not implement it raises a ConnectorError naming the class."""
    from sample_connections import Numbers

    connection = Numbers.create(name="n", c=None, params={})
    with pytest.raises(ConnectorError, match=r"^sample_connections\.Numbers does not implement sql\(\)"):
        asyncio.run(connection.sql("SELECT 1"))
    with pytest.raises(ConnectorError, match=r"does not implement sink\(\), so it cannot be used in a sink stage$"):
        asyncio.run(connection.sink("n"))


def _pipeline(tmp_path: Path, database: str | None = None) -> Path:
    head = f"database: {database}\n" if database is not None else ""
    path = tmp_path / "p.yaml"
    path.write_text(head + "stages:\n- {name: t, kind: transform, sql: SELECT 1 AS x}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("in.csv", f"the path exists and is not a DuckDB database file {_HINT}"),
        ("empty.duckdb", f"the path exists and is not a DuckDB database file {_HINT}"),
        ("folder", "the path is a folder, not a DuckDB database file"),
        ("/dev/null", "the path is a device, pipe or socket, not a DuckDB database file"),
        ('"nul\\0.duckdb"', "the path is not a name the file system can hold"),
        ("link.duckdb", "the path is a symbolic link to nothing, not a DuckDB database file"),
        (
            "nowhere/x.duckdb",
            "the path names a folder that does not exist, so no DuckDB database file can be made there",
        ),
        ("in.csv/x.duckdb", "the path names a folder that is a file, so no DuckDB database file can be made there"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_database_that_is_not_duckdbs_is_refused_at_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, message: str, command: str
) -> None:
    """database: naming a CSV, an empty file, a folder, a device, a dangling link or a path under no folder fails
    with exit 2 at its line, and nothing is made or changed."""
    (tmp_path / "in.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "empty.duckdb").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.duckdb").symlink_to(tmp_path / "gone" / "x.duckdb")
    path = _pipeline(tmp_path, target)
    assert main([command, str(path)]) == 2
    assert _errors(capsys) == [f"error: {path}:1: database: {message}"]
    assert (tmp_path / "in.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert list((tmp_path / "folder").iterdir()) == []
    assert not (tmp_path / "gone").exists()
    assert not (tmp_path / "nowhere").exists()


def test_database_option_naming_another_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--database FILE naming a file that is not a DuckDB database fails with exit 2 and leaves it as it was."""
    (tmp_path / "in.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    path = _pipeline(tmp_path)
    assert main(["run", str(path), "--database", str(tmp_path / "in.csv")]) == 2
    [line] = _errors(capsys)
    assert "it exists and is not a DuckDB database file" in line
    assert (tmp_path / "in.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_duckdb_files_new_or_existing_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database file not made yet, and an existing DuckDB file, both run and keep the stage's table."""
    path = _pipeline(tmp_path, "new.duckdb")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    with duckdb.connect(str(tmp_path / "new.duckdb")) as db:
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_duckdb_threads_zero_is_blamed_on_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """duckdb: {threads: 0} fails validation at the threads line, as duckdb.threads; threads: '2' is fine."""
    path = tmp_path / "p.yaml"
    path.write_text("duckdb:\n  threads: 0\nstages:\n- {name: t, kind: transform, sql: SELECT 1}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert _errors(capsys) == [f"error: {path}:2: duckdb.threads: must be >= 1, got 0"]
    path.write_text("duckdb:\n  threads: '2'\nstages:\n- {name: t, kind: transform, sql: SELECT 1}\n", encoding="utf-8")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
