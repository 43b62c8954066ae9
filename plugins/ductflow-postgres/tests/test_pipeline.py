"""End to end: ``ductflow run`` finds the plugin through its entry point and moves rows both ways."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from helpers import execute, fetch

PIPELINE = """
- name: setup
  kind: sql
  query: CREATE SCHEMA IF NOT EXISTS analytics
  connection:
    kind: postgres
    params: {dsn: "${PG_DSN}"}
- name: orders
  kind: tap
  after: [setup]
  connection:
    kind: postgres
    params: {dsn: "${PG_DSN}", table: public.orders}
- name: paid
  kind: transform
  sql: SELECT customer, sum(amount) AS total, max(placed) AS last_order FROM orders WHERE paid GROUP BY customer
- name: to_pg
  kind: sink
  from: paid
  connection:
    kind: postgres
    params: {dsn: "${PG_DSN}", table: "analytics.paid_totals", mode: replace}
"""


def _cli() -> list[str]:
    found = shutil.which("ductflow") or str(Path(sys.executable).with_name("ductflow"))
    if not Path(found).exists():
        pytest.fail("the `ductflow` command is not installed: pip install -e . (the core)", pytrace=False)
    return [found]


def _run(pipeline: Path, pg_dsn: str) -> subprocess.CompletedProcess[str]:
    """``ductflow run PIPELINE`` in the pipeline's folder, with the server's DSN as ``${PG_DSN}``."""
    return subprocess.run(
        [*_cli(), "run", str(pipeline)],
        capture_output=True,
        text=True,
        env={**os.environ, "PG_DSN": pg_dsn},
        cwd=pipeline.parent,
        timeout=300,
    )


def test_entry_point_is_installed():
    """The distribution registers the ``postgres`` locator in the ductflow.connections group."""
    names = {ep.name: ep.value for ep in entry_points(group="ductflow.connections")}
    assert names.get("postgres") == "ductflow_postgres:PostgresConnection", (
        "install the plugin: pip install -e plugins/ductflow-postgres"
    )


def test_ductflow_run_moves_rows_through_duckdb(pg_dsn, tmp_path):
    """A YAML pipeline taps PostgreSQL, totals in DuckDB and replaces a table in another schema, exactly."""
    execute(
        pg_dsn,
        "CREATE TABLE orders (id int, customer text, amount numeric(12,2), placed timestamptz, paid boolean)",
        "INSERT INTO orders VALUES (1, 'ann', 10.10, '2024-01-01 10:00+01', true), "
        "(2, 'ann', 0.20, '2024-01-02 10:00+01', true), (3, 'bob', 99.99, '2024-01-03 10:00Z', false), "
        "(4, 'bob', 5.05, '2024-01-04 10:00Z', true)",
    )
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE)
    done = _run(pipeline, pg_dsn)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = fetch(pg_dsn, "SELECT customer, total::text, last_order::text FROM analytics.paid_totals ORDER BY customer")
    assert rows == [
        ("ann", "10.30", "2024-01-02 09:00:00+00"),
        ("bob", "5.05", "2024-01-04 10:00:00+00"),
    ]


def test_ductflow_run_reports_missing_table_in_one_line(pg_dsn, tmp_path):
    """A failing tap exits non-zero with the stage, the server's reason, and no traceback."""
    pipeline = tmp_path / "broken.yaml"
    pipeline.write_text(
        "- name: gone\n  kind: tap\n  connection:\n    kind: postgres\n"
        '    params: {dsn: "${PG_DSN}", table: public.not_there}\n'
    )
    done = _run(pipeline, pg_dsn)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert 'relation "public.not_there" does not exist' in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ('{dsn: "x", table: t, mode: upsert}', "mode"),
        ('{dsn: "x", table: t, prot: 5432}', "prot"),
        ('{host: h, port: "not-a-number", table: t}', "port"),
    ],
)
def test_validate_checks_typed_params(tmp_path, params, expected):
    """``ductflow validate`` rejects a bad mode, an unknown param and a mistyped port before connecting."""
    pipeline = tmp_path / "bad.yaml"
    pipeline.write_text(f"- name: src\n  kind: tap\n  connection:\n    kind: postgres\n    params: {params}\n")
    done = subprocess.run([*_cli(), "validate", str(pipeline)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr


def test_ductflow_run_copies_postgres_to_postgres_streaming(pg_dsn, tmp_path):
    """A tap read only by a postgres sink streams table to table, types and values intact, twice (replace)."""
    execute(
        pg_dsn,
        "CREATE SCHEMA IF NOT EXISTS copies",
        "CREATE TABLE src_rows AS SELECT g AS id, (g / 7.0)::numeric(10,4) AS ratio, "
        "gen_random_uuid() AS uid, now() AS at FROM generate_series(1, 30000) g",
    )
    pipeline = tmp_path / "copy.yaml"
    pipeline.write_text(
        "- name: rows\n  kind: tap\n  connection:\n    kind: postgres\n"
        '    params: {dsn: "${PG_DSN}", table: src_rows}\n'
        "- name: out\n  kind: sink\n  from: rows\n  connection:\n    kind: postgres\n"
        '    params: {dsn: "${PG_DSN}", table: copies.rows_copy, mode: replace}\n'
    )
    for _ in range(2):
        done = _run(pipeline, pg_dsn)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "30,000 rows" in done.stdout + done.stderr
    differ = fetch(
        pg_dsn,
        "SELECT count(*) FROM (SELECT * FROM src_rows EXCEPT ALL SELECT * FROM copies.rows_copy) d",
    )
    assert differ == [(0,)]
    assert fetch(pg_dsn, "SELECT count(*) FROM copies.rows_copy") == [(30000,)]


def test_a_table_read_and_replaced_in_one_run(pg_dsn, tmp_path):
    """Streaming a table, transforming it and replacing the same table finishes, with the transformed rows."""
    execute(
        pg_dsn,
        "CREATE TABLE dedupe AS SELECT g % 1000 AS id FROM generate_series(1, 50000) g",
    )
    pipeline = tmp_path / "dedupe.yaml"
    pipeline.write_text(
        "- name: rows\n  kind: tap\n  connection:\n    kind: postgres\n"
        '    params: {dsn: "${PG_DSN}", table: dedupe}\n'
        "- name: distinct_rows\n  kind: transform\n  sql: SELECT DISTINCT id FROM rows\n"
        "- name: out\n  kind: sink\n  connection:\n    kind: postgres\n"
        '    params: {dsn: "${PG_DSN}", table: dedupe, mode: replace}\n'
    )
    done = subprocess.run(
        [*_cli(), "run", str(pipeline)],
        capture_output=True,
        text=True,
        env={**os.environ, "PG_DSN": pg_dsn},
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert fetch(pg_dsn, "SELECT count(*), count(DISTINCT id) FROM dedupe") == [(1000, 1000)]
