"""The ``ductflow`` command: exit codes, one-line errors, tracebacks only with --verbose."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import conn

Cli = Callable[..., subprocess.CompletedProcess[str]]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_run_success_exits_zero_with_progress_lines(cli: Cli, tmp_path: Path) -> None:
    """A good run exits 0 and prints one plain progress line per stage when not on a terminal."""
    write(tmp_path, f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=7)}}}\n")
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "✓ nums (tap): 7 rows in" in proc.stderr
    assert "pipeline finished: 1 stage in" in proc.stderr
    assert "\r" not in proc.stderr


def test_invalid_pipeline_exits_two_with_one_line(cli: Cli, tmp_path: Path) -> None:
    """A pipeline with a typed param of the wrong type exits 2 with one line naming file, line, stage, key."""
    write(tmp_path, f"- name: nums\n  kind: tap\n  connection: {conn('Numbers', rows='abc')}\n")
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 2
    assert proc.stderr == "error: pipeline.yaml:3: stage 'nums': connection.params.rows: expected int, got 'abc'\n"


def test_failed_run_exits_one_and_hides_traceback(cli: Cli, tmp_path: Path) -> None:
    """A stage raising a bug exits 1 with the cause on one error line and no traceback."""
    write(tmp_path, f"- {{name: boom, kind: tap, connection: {conn('Failing', bug='true')}}}\n")
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 1
    expected = "error: pipeline.yaml:1: stage 'boom' (sample_connections.Failing) failed: ZeroDivisionError: "
    expected += "division by zero"
    assert expected + "\n" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verbose_keeps_the_traceback(cli: Cli, tmp_path: Path) -> None:
    """With --verbose the same failure prints the traceback down to the connection's line."""
    write(tmp_path, f"- {{name: boom, kind: tap, connection: {conn('Failing', bug='true')}}}\n")
    proc = cli("run", "--verbose", "pipeline.yaml")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert 'raise ZeroDivisionError("division by zero")' in proc.stderr


def test_validate_runs_nothing(cli: Cli, tmp_path: Path) -> None:
    """validate resolves and checks without running: a failing tap still validates and no database appears."""
    write(
        tmp_path,
        f"database: run.duckdb\nstages:\n  - {{name: boom, kind: tap, connection: {conn('Failing')}}}\n",
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "valid: 1 stage, 1 connection resolved" in proc.stdout
    assert not (tmp_path / "run.duckdb").exists()


def test_validate_reports_unknown_locator_with_exit_two(cli: Cli, tmp_path: Path) -> None:
    """validate of a pipeline naming a locator nobody provides exits 2 and lists what is installed."""
    write(tmp_path, "- {name: s, kind: tap, connection: {kind: no-such-locator}}\n")
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert "connection.kind: unknown locator 'no-such-locator'" in proc.stderr
    assert "installed locators:" in proc.stderr


def test_secret_from_env_never_printed(cli: Cli, tmp_path: Path) -> None:
    """A value from ${VAR} is masked in show output and errors."""
    write(
        tmp_path,
        "- name: u\n  kind: tap\n  show: 1\n  connection:\n    kind: CustomConnection\n"
        "    module: sample_connections\n    classname: Untyped\n    params: {token: '${API_TOKEN}'}\n"
        "- {name: echo, kind: transform, show: 1, sql: \"SELECT '${API_TOKEN}' AS leaked\"}\n",
    )
    proc = cli("run", "pipeline.yaml", env={"API_TOKEN": "tok-very-secret-123"})
    assert proc.returncode == 0, proc.stderr
    assert "tok-very-secret-123" not in proc.stdout + proc.stderr
    assert "***" in proc.stdout


def test_secret_in_a_long_or_nested_cell_never_printed(cli: Cli, tmp_path: Path) -> None:
    """A secret inside a struct cell longer than a cell's width is masked whole, not cut and shown in part."""
    write(tmp_path, "- {name: t, kind: transform, show: 1, sql: \"SELECT {'token': '${API_TOKEN}'} AS cred\"}\n")
    secret = "tok_live_9f8e7d6c5b4a3210ffeeddccbbaa9988"
    proc = cli("run", "pipeline.yaml", env={"API_TOKEN": secret})
    assert proc.returncode == 0, proc.stderr
    assert secret[:12] not in proc.stdout + proc.stderr
    assert "{'token': '***'}" in proc.stdout


def test_schema_prints_a_stage_fields(cli: Cli, tmp_path: Path) -> None:
    """schema prints the fields of a transform after running the taps it needs."""
    write(
        tmp_path,
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        "- {name: t, kind: transform, sql: \"SELECT n, 'x' AS label FROM nums\"}\n",
    )
    proc = cli("schema", "pipeline.yaml", "t")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["n", "BIGINT", "label", "VARCHAR"]


def test_schema_says_when_a_stage_has_no_fields(cli: Cli, tmp_path: Path) -> None:
    """schema of a sink whose connection reports no fields says so on stderr and prints no field lines."""
    write(
        tmp_path,
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        f"- {{name: out, kind: sink, connection: {conn('Collect')}}}\n",
    )
    proc = cli("schema", "pipeline.yaml", "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == "stage 'out' reports no fields\n"


def test_unknown_stage_names_get_a_hint(cli: Cli, tmp_path: Path) -> None:
    """run --stage and schema with a misspelt stage name fail with exit 2 and suggest the stage meant."""
    write(tmp_path, f"- {{name: numbers, kind: tap, connection: {conn('Numbers', rows=3)}}}\n")
    expected = "error: pipeline.yaml: no stage is called 'numbrs' (did you mean 'numbers'?)\n"
    for args in (("run", "--stage", "numbrs", "pipeline.yaml"), ("schema", "pipeline.yaml", "numbrs")):
        proc = cli(*args)
        assert (proc.returncode, proc.stderr) == (2, expected)


def test_plugins_json_lists_installed_locators(cli: Cli) -> None:
    """plugins --json lists each installed locator with its distribution and version."""
    proc = cli("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    csv = next(r for r in rows if r["name"] == "csv")
    assert csv["distribution"] == "ductflow-files"
    assert csv["kind"] == "connection"


def test_missing_file_exits_two(cli: Cli) -> None:
    """A pipeline path that does not exist is a load error with exit code 2."""
    proc = cli("run", "nope.yaml")
    assert proc.returncode == 2
    assert proc.stderr == "error: nope.yaml: no such pipeline file\n"


def test_progress_is_live_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, progress redraws a live line of running stages and ends with the finished lines."""
    import os
    import pty
    import sys

    from conftest import HERE

    write(tmp_path, f"- {{name: nap, kind: tap, connection: {conn('Sleeper', seconds=0.8)}}}\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ductflow_core.cli", "run", "pipeline.yaml"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode()
    assert "… running: nap" in screen
    assert "\r\x1b[2K✓ nap (tap): 1 row in" in screen


def test_failed_run_exits_without_waiting_for_blocked_code(cli: Cli, tmp_path: Path) -> None:
    """A run that fails beside a stage blocked in its own Python code exits 1 promptly, not when that code ends."""
    import time

    write(
        tmp_path,
        f"- {{name: stuck, kind: tap, connection: {conn('Sleeper', seconds=60)}}}\n"
        f"- {{name: boom, kind: tap, connection: {conn('Failing')}}}\n",
    )
    started = time.monotonic()
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 1
    assert "stage 'boom'" in proc.stderr
    assert time.monotonic() - started < 20


def test_validate_scans_sql_without_importing_duckdb(cli: Cli, tmp_path: Path) -> None:
    """Plain validate rejects a transform of two statements and never imports DuckDB while doing it."""
    write(
        tmp_path,
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=1)}}}\n"
        "- {name: t, kind: transform, sql: 'SELECT * FROM nums; DROP TABLE nums'}\n",
    )
    proc = cli("validate", "pipeline.yaml", python_flags=["-X", "importtime"])
    assert proc.returncode == 2
    assert "stage 't': sql: a transform is one SELECT query; found 2 statement(s): SELECT, DROP" in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "import time:" in line}
    assert "ductflow_core.pipeline.sqlscan" in imported
    assert "duckdb" not in imported


def test_valid_pipeline_spares_error_only_imports(cli: Cli, tmp_path: Path) -> None:
    """Validating a correct pipeline never imports difflib, which only "did you mean" hints need."""
    write(tmp_path, f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=1)}}}\n")
    proc = cli("validate", "pipeline.yaml", python_flags=["-X", "importtime"])
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "import time:" in line}
    assert "ductflow_core.pipeline.loader" in imported
    assert "difflib" not in imported


def test_validate_parse_sql_reports_duckdb_syntax_errors(cli: Cli, tmp_path: Path) -> None:
    """With --parse-sql, validate reports DuckDB's own syntax error, which a lexical scan cannot see."""
    write(
        tmp_path,
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=1)}}}\n"
        "- {name: t, kind: transform, sql: 'SELECT * FORM nums'}\n",
    )
    assert cli("validate", "pipeline.yaml").returncode == 0
    proc = cli("validate", "--parse-sql", "pipeline.yaml")
    assert proc.returncode == 2
    assert "stage 't': sql: Parser Error: syntax error" in proc.stderr


def test_validate_print_keeps_params_set_to_false(cli: Cli, tmp_path: Path) -> None:
    """``validate --print`` shows a param written as ``false``: leaving it out would suggest its ``true`` default."""
    (tmp_path / "p.yaml").write_text(
        "- {name: a, kind: transform, sql: SELECT 1 AS x}\n"
        "- name: o\n  kind: sink\n  connection: {kind: csv, params: {path: o.csv, header: false, overwrite: false}}\n"
    )
    done = cli("validate", "--print", "p.yaml")
    assert done.returncode == 0, done.stderr
    assert "      header: false\n      overwrite: false\n" in done.stdout
