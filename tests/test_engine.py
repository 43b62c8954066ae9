"""A run executes its SQL on DuckDB's engine alone, and imports DuckDB's Python package only when asked for it."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
from conftest import conn

from ductflow_core.duck.engine import engine, python_api

Cli = Callable[..., subprocess.CompletedProcess[str]]

#: DuckDB releases that ship their C++ extension as the top-level module ``_duckdb`` (2.0 does).
SPLIT = importlib.util.find_spec("_duckdb") is not None


def _read(tmp_path: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(tmp_path / "run.duckdb"))
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_engine_is_the_extension_and_shares_the_packages_errors() -> None:
    """engine() is the C++ extension where DuckDB ships one, and its errors are the ones ``duckdb`` exports."""
    assert engine().__name__ == ("_duckdb" if SPLIT else "duckdb")
    assert engine().Error is python_api().Error
    assert engine().CatalogException is duckdb.CatalogException


def test_a_run_of_sql_alone_never_imports_duckdbs_python_package(cli: Cli, tmp_path: Path) -> None:
    """After two table transforms have run, a tap still finds ``duckdb`` unimported."""
    (tmp_path / "pipeline.yaml").write_text(
        "- {name: base, kind: transform, sql: 'SELECT range AS n FROM range(5)', materialize: true}\n"
        "- {name: doubled, kind: transform, sql: 'SELECT n * 2 AS m FROM base', materialize: true}\n"
        f"- {{name: probe, kind: tap, after: [doubled], connection: {conn('LayerProbe')}}}\n"
    )
    proc = cli("run", "pipeline.yaml", "--database", "run.duckdb")
    assert proc.returncode == 0, proc.stderr
    assert _read(tmp_path, "SELECT imported FROM probe") == [(not SPLIT,)]
    assert _read(tmp_path, "SELECT sum(m) FROM doubled") == [(20,)]


def test_raw_gives_a_connection_opened_by_the_engine_the_packages_whole_api(cli: Cli, tmp_path: Path) -> None:
    """A connection using ``self.c.raw.sql`` works in a fresh process where the run opened DuckDB by its engine."""
    (tmp_path / "pipeline.yaml").write_text(f"- {{name: answer, kind: tap, connection: {conn('RawProbe')}}}\n")
    proc = cli("run", "pipeline.yaml", "--database", "run.duckdb")
    assert proc.returncode == 0, proc.stderr
    assert _read(tmp_path, "SELECT answer FROM answer") == [(42,)]
