"""Table references: the lexical scan, DuckDB's parser, the dependencies built on them, and unknown tables."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

ORDERS = "- {name: orders, kind: transform, sql: 'SELECT 1 AS id'}\n"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _write(folder: Path, text: str) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- unknown tables (`ductflow validate`) ---


def test_validate_reports_a_table_no_stage_makes_with_a_suggestion(cli: Cli, tmp_path: Path) -> None:
    """A transform reading `orderz` fails validate (exit 2) at its sql line, suggesting the stage `orders`."""
    _write(
        tmp_path,
        "- name: orders\n  kind: transform\n  sql: SELECT 1 AS id\n"
        "- name: per\n  kind: transform\n  sql: |\n    SELECT id FROM orderz\n",
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: pipeline.yaml:6: stage 'per': sql: reads table 'orderz', which no stage makes and DuckDB "
        "does not have (did you mean 'orders'?)"
    )


def test_validate_parse_sql_reports_the_unknown_table_too(cli: Cli, tmp_path: Path) -> None:
    """With --parse-sql the references come from DuckDB's parser and the same unknown table is reported."""
    _write(
        tmp_path,
        ORDERS + "- {name: t, kind: transform, sql: 'SELECT * FROM ordrs'}\n",
    )
    proc = cli("validate", "--parse-sql", "pipeline.yaml")
    assert proc.returncode == 2
    assert "stage 't': sql: reads table 'ordrs'" in proc.stderr
    assert "(did you mean 'orders'?)" in proc.stderr


@pytest.mark.parametrize(
    "sql",
    [
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x",
        "SELECT * FROM range(3) r, generate_series(1, 2) g",
        "SELECT * FROM duckdb_tables, pg_tables, sqlite_master",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM other_db.main.t",
        "SELECT * FROM main.orders",
        "SELECT * FROM 'missing.csv'",
        "SELECT extract(year FROM DATE '2020-01-01') AS y FROM orders",
        "SELECT id FROM orders o WHERE o.id IS DISTINCT FROM (SELECT max(id) FROM ORDERS)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    ],
)
def test_validate_accepts_ctes_table_functions_catalog_and_qualified_names(cli: Cli, tmp_path: Path, sql: str) -> None:
    """CTE names, table functions, DuckDB's catalog views and names outside the run's schema are not unknown."""
    _write(
        tmp_path,
        ORDERS + f"- name: t\n  kind: transform\n  sql: {json.dumps(sql)}\n",
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr


def test_validate_accepts_a_table_of_the_database_file(cli: Cli, tmp_path: Path) -> None:
    """A table that only the pipeline's `database:` file holds is known; one it lacks is still reported."""
    con = duckdb.connect(str(tmp_path / "run.duckdb"))
    con.execute("CREATE TABLE history AS SELECT 1 AS id")
    con.close()
    body = "- {name: t, kind: transform, sql: 'SELECT * FROM history'}\n"
    _write(tmp_path, "database: run.duckdb\nstages:\n" + body.replace("- ", "  - "))
    assert cli("validate", "pipeline.yaml").returncode == 0
    _write(tmp_path, "stages:\n" + body.replace("- ", "  - "))
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert "reads table 'history'" in proc.stderr


def test_validate_of_known_tables_does_not_import_duckdb(cli: Cli, tmp_path: Path) -> None:
    """When every table a transform reads is a stage, the check needs no DuckDB import."""
    _write(
        tmp_path,
        ORDERS + "- {name: t, kind: transform, sql: 'SELECT id FROM orders'}\n",
    )
    proc = cli("validate", "pipeline.yaml", python_flags=["-X", "importtime"])
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "import time:" in line}
    assert not {"duckdb", "_duckdb"} & imported
