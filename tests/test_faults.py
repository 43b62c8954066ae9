"""Failures and stops: clean exits, cancelled neighbours, a database file left usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import HERE, conn

from ductflow_core.errors import StageFailed
from ductflow_core.testing import RunOutcome

Run = Callable[..., RunOutcome]
SLOW_SQL = "SELECT count(*) AS c FROM range(100000000000) t(i) WHERE i % 7 = 3"


def _start(tmp_path: Path, text: str) -> subprocess.Popen[str]:
    (tmp_path / "pipeline.yaml").write_text(text, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "ductflow_core.cli", "run", "pipeline.yaml"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> list[str]:
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"never saw {needle!r}: {lines}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_a_run_quickly_and_names_finished_stages(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """SIGTERM or SIGINT during a long DuckDB query stops the run within seconds, with the signal's exit code."""
    proc = _start(
        tmp_path,
        "database: run.duckdb\nstages:\n"
        f"  - {{name: quick, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        f"  - {{name: slow, kind: transform, sql: '{SLOW_SQL}', after: [quick]}}\n",
    )
    _wait_for_line(proc, "✓ quick")
    time.sleep(0.5)
    proc.send_signal(sig)
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert proc.returncode == code
    assert "finished stages: quick" in err
    assert f"error: run stopped by {sig.name}" in err
    with duckdb.connect(str(tmp_path / "run.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quick").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'slow'").fetchall() == [(0,)]


def test_failure_interrupts_a_running_duckdb_query(ductflow_run: Run) -> None:
    """When one stage fails, a DuckDB query running in another is interrupted, not waited for."""
    started = time.perf_counter()
    with pytest.raises(StageFailed, match="stage 'broken'"):
        ductflow_run(
            f"- {{name: slow, kind: transform, sql: '{SLOW_SQL}'}}\n"
            f"- {{name: broken, kind: tap, connection: {conn('Failing')}}}\n"
        )
    assert time.perf_counter() - started < 10


def test_failed_run_leaves_a_reopenable_database_with_finished_tables(
    ductflow_run: Run, ductflow_project: Path
) -> None:
    """After a failed run the DuckDB file opens and holds the tables of the stages that finished."""
    with pytest.raises(StageFailed):
        ductflow_run(
            f"- {{name: done, kind: tap, connection: {conn('Numbers', rows=5)}}}\n"
            f"- {{name: broken, kind: tap, after: [done], connection: {conn('Failing')}}}\n"
        )
    with duckdb.connect(str(ductflow_project / "run.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM done").fetchall() == [(5,)]


def test_no_worker_thread_outlives_a_failed_run(ductflow_run: Run) -> None:
    """The database's worker threads are gone shortly after a failed run returns."""
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(StageFailed):
        ductflow_run(
            f"- {{name: slow, kind: transform, sql: '{SLOW_SQL}'}}\n"
            f"- {{name: broken, kind: tap, connection: {conn('Failing')}}}\n"
        )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("ductflow-db")]
        if not extra:
            break
        time.sleep(0.05)
    assert not extra
