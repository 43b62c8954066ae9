"""Whole pipelines run through the ``ductflow`` command and in process, finding the plugin by its entry point."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import duckdb
import pytest
from ductflow_core.sql import quote_literal

import ductflow_files

PIPELINE = """
- name: orders
  kind: tap
  connection:
    kind: csv
    params: {path: "data/it's orders;*.csv", columns: {id: INTEGER, customer: VARCHAR, amount: "DECIMAL(10,2)"}}
  query: SELECT id, upper(customer) AS customer, amount FROM source WHERE amount > 0
- name: totals
  kind: transform
  sql: SELECT customer, sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer
- name: write_totals
  kind: sink
  from: totals
  connection:
    kind: parquet
    params: {path: out/totals.parquet, compression: zstd}
- name: write_orders
  kind: sink
  from: orders
  connection:
    kind: json
    params: {path: out/by_customer, format: newline_delimited, partition_by: [customer]}
"""


def ductflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("ductflow")
    assert script.is_file(), "the ductflow console script is not installed in this environment"
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "it's orders;1.csv").write_text("id,customer,amount\n1,ann,10.50\n2,bob,0\n3,ann,2.25\n")
    (folder / "data" / "it's orders;2.csv").write_text("id,customer,amount\n4,cy,7.00\n5,bob,1.10\n")
    (folder / "pipeline.yaml").write_text(PIPELINE)
    return folder


def read(query: str) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute(query).fetchall()


def test_plugin_is_installed_under_its_locators() -> None:
    """The three locators point at this package's classes through the ``ductflow.connections`` entry points."""
    found = {
        ep.name: ep.load()
        for ep in entry_points(group="ductflow.connections")
        if ep.value.startswith("ductflow_files.")
    }
    assert found == {
        "csv": ductflow_files.CsvConnection,
        "parquet": ductflow_files.ParquetConnection,
        "json": ductflow_files.JsonConnection,
    }


def test_a_locator_imports_only_its_own_module() -> None:
    """Loading the parquet locator imports the Parquet connection and neither the CSV nor the JSON one."""
    code = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "(ep,) = [e for e in entry_points(group='ductflow.connections') if e.name == 'parquet']\n"
        "ep.load()\n"
        "print(sorted(m for m in sys.modules if m.startswith('ductflow_files.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert "ductflow_files.parquetfile" in loaded
    assert not loaded & {"ductflow_files.csvfile", "ductflow_files.jsonfile"}


def test_cli_runs_a_pipeline_from_another_folder(project: Path, tmp_path: Path) -> None:
    """``ductflow run`` reads the CSV glob, runs the query and writes Parquet and partitioned JSON beside the file."""
    result = ductflow("run", str(project / "pipeline.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    totals = quote_literal(str(project / "out" / "totals.parquet"))
    assert read(f"SELECT customer, total::VARCHAR, n FROM read_parquet({totals}) ORDER BY customer") == [
        ("ANN", "12.75", 2),
        ("BOB", "1.10", 1),
        ("CY", "7.00", 1),
    ]
    folder = project / "out" / "by_customer"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".ductflow-sink",
        "customer=ANN",
        "customer=BOB",
        "customer=CY",
    ]
    assert read(f"SELECT list_sort(list(id)) FROM read_json({quote_literal(str(folder / '**' / '*.json'))})") == [
        ([1, 3, 4, 5],)
    ]
    assert sorted(p.name for p in (project / "out").iterdir()) == ["by_customer", "totals.parquet"]


def test_cli_validate_rejects_an_unknown_compression(project: Path) -> None:
    """``ductflow validate`` refuses a compression the Parquet connection does not know, naming the param."""
    (project / "pipeline.yaml").write_text(PIPELINE.replace("compression: zstd", "compression: lzma"))
    result = ductflow("validate", "pipeline.yaml", cwd=project)
    assert result.returncode == 2
    assert "compression" in result.stderr
    assert "lzma" in result.stderr


def test_cli_reports_a_missing_file_in_one_line(project: Path) -> None:
    """A tap over a glob that matches nothing ends the run with exit code 1 and a message naming the path."""
    for csv in (project / "data").iterdir():
        csv.unlink()
    result = ductflow("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 1
    assert 'no file matches "data/it\'s orders;*.csv"' in result.stderr
    assert not (project / "out").exists()


def test_failed_run_keeps_the_previous_output(project: Path) -> None:
    """A run whose sink fails mid-write leaves the output of the previous run byte for byte."""
    assert ductflow("run", "pipeline.yaml", cwd=project).returncode == 0
    target = project / "out" / "totals.parquet"
    before = target.read_bytes()
    # A lazy transform makes the error happen inside the sink's COPY, after part of the data went out.
    failing = PIPELINE.replace(
        "sql: SELECT customer, sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer",
        "materialize: false\n  sql: SELECT CASE WHEN i > 50000 THEN error('boom') ELSE i END AS i"
        " FROM range(100000) t(i)",
    )
    (project / "pipeline.yaml").write_text(failing)
    result = ductflow("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 1
    assert "write_totals" in result.stderr
    assert "boom" in result.stderr
    assert target.read_bytes() == before
    assert sorted(p.name for p in (project / "out").iterdir()) == ["by_customer", "totals.parquet"]


def test_in_process_run_with_a_lazy_tap(ductflow_run, ductflow_project: Path) -> None:
    """In process, ``materialize: false`` leaves a view over the file and the sink streams from it."""
    (ductflow_project / "in.json").write_text('[{"k": 1, "v": "é"}, {"k": 2, "v": null}]')
    outcome = ductflow_run(
        """
- name: raw
  kind: tap
  materialize: false
  connection: {kind: json, params: {path: in.json, format: array}}
- name: out
  kind: sink
  from: raw
  connection: {kind: csv, params: {path: out.csv.gz, nullstr: "NULL"}}
"""
    )
    assert outcome.rows("SELECT count(*) FROM duckdb_views() WHERE view_name = 'raw'") == [(1,)]
    back = quote_literal(str(ductflow_project / "out.csv.gz"))
    assert read(f"SELECT k, v FROM read_csv({back}, nullstr = 'NULL') ORDER BY k") == [(1, "é"), (2, None)]
