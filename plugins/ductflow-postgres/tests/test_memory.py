"""Streaming keeps memory flat: 2,000,000 rows pass through without the result being held by the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import execute, scalar

CHILD = Path(__file__).resolve().parent / "memory_child.py"
ROWS = 2_000_000


@pytest.fixture(scope="module")
def data_mb(pg_dsn: str) -> float:
    """Create the 2,000,000-row source table; return its size in MB as PostgreSQL stores it."""
    execute(
        pg_dsn,
        "CREATE TABLE mem_src AS SELECT g::bigint AS id, g * 0.5 AS half, now() AS at, "
        f"repeat(md5(g::text), 8) AS pad "
        f"FROM generate_series(1, {ROWS}) g",
    )
    return scalar(pg_dsn, "SELECT pg_relation_size('mem_src')") / 2**20


def _run(pg_dsn: str, direction: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(CHILD), pg_dsn, direction, str(path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tap_then_sink_stay_well_under_data_size(pg_dsn, data_mb, tmp_path):
    """Peak RSS growth of a tap and of a sink of 2,000,000 rows stays under half the table's size."""
    path = tmp_path / "mem.duckdb"
    tap = _run(pg_dsn, "tap", path)
    assert tap["rows"] == ROWS
    assert data_mb > 500, "the table is too small for the bound to mean anything"
    assert tap["peak_mb"] - tap["baseline_mb"] < data_mb / 2, (tap, data_mb)
    sink = _run(pg_dsn, "sink", path)
    assert scalar(pg_dsn, "SELECT count(*) FROM mem_dst") == ROWS
    assert sink["peak_mb"] - sink["baseline_mb"] < data_mb / 2, (sink, data_mb)


def test_streamed_tap_into_parquet_stays_small(pg_dsn, data_mb, tmp_path):
    """A tap left as a stream (materialize false) feeds a Parquet COPY of 2,000,000 rows with little growth."""
    result = _run(pg_dsn, "stream", tmp_path / "stream.duckdb")
    assert result["rows"] == ROWS
    assert result["peak_mb"] - result["baseline_mb"] < data_mb / 2, (result, data_mb)
