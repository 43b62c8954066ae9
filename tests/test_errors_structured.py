"""Structured errors: exit codes as an enum, one first-line helper, PipelineError with fields."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ductflow_core.cli import main
from ductflow_core.errors import DuctflowError, ExitCode, PipelineError, StageFailed, first_line

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_exit_codes_are_the_documented_numbers() -> None:
    """ExitCode names the five codes ductflow exits with, 130 and 143 being 128 + SIGINT and SIGTERM."""
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("INVALID", 2),
        ("INTERRUPTED", 130),
        ("TERMINATED", 143),
    ]
    assert ExitCode(128 + int(signal.SIGINT)) is ExitCode.INTERRUPTED
    assert ExitCode(128 + int(signal.SIGTERM)) is ExitCode.TERMINATED


def test_error_classes_carry_exit_code_members() -> None:
    """An invalid pipeline's error exits INVALID and a failed run's FAILED, as ExitCode members."""
    assert PipelineError.exit_code is ExitCode.INVALID
    assert StageFailed.exit_code is ExitCode.FAILED
    assert DuctflowError.exit_code is ExitCode.FAILED


def test_cli_returns_exit_code_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ductflow entry point returns an ExitCode member: INVALID for a broken pipeline, OK for a valid one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("- {name: a, kind: nope}\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text("- {name: a, kind: transform, sql: 'SELECT 1 AS x'}\n", encoding="utf-8")
    assert main(["validate", "bad.yaml"]) is ExitCode.INVALID
    assert main(["validate", "good.yaml"]) is ExitCode.OK


def test_first_line_of_a_real_duckdb_error() -> None:
    """first_line keeps the first non-blank line of DuckDB's multi-line parser error, stripped."""
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute("SELECT FROM WHERE")
    assert "\n" in str(caught.value)
    line = first_line(caught.value)
    assert line == str(caught.value).strip().splitlines()[0].strip()
    assert line.startswith("Parser Error:")
    assert "\n" not in line


def test_first_line_skips_blank_lines_and_falls_back() -> None:
    """Blank leading lines are skipped; an empty error gives its class name, an empty text the fallback or ''."""
    assert first_line(ValueError("\n  \n  the cause  \ncontext")) == "the cause"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(ValueError(""), fallback="") == ""
    assert first_line("") == ""
    assert first_line("   \n", fallback="none") == "none"


def test_plugins_use_the_core_first_line() -> None:
    """The files plugin's and the PostgreSQL plugin's error helpers are the core's first_line, not copies."""
    from ductflow_files import sqltext
    from ductflow_postgres.errors import server_cause

    assert sqltext.first_line is first_line
    assert server_cause(RuntimeError("\n\nERROR:  relation \"x\" does not exist\nLINE 1: ...")) == (
        'relation "x" does not exist'
    )
    assert server_cause(RuntimeError("")) == "RuntimeError"
