"""A sink that fails or is killed half-way leaves the target exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError

from helpers import execute, fetch, scalar

CHILD = Path(__file__).resolve().parent / "sink_child.py"


def _seed(dsn: str, table: str) -> list[tuple]:
    execute(
        dsn,
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, label text)",
        f"INSERT INTO {table} SELECT i, 'old-' || i FROM generate_series(0, 999) i",
    )
    return _snapshot(dsn, table)


def _snapshot(dsn: str, table: str) -> list[tuple]:
    return fetch(dsn, f"SELECT count(*), md5(string_agg(id || ':' || label, ',' ORDER BY id)) FROM {table}")


@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("replace", "truncate"), ("replace", "staging"), ("merge", None), ("append", None)],
)
def test_sigkill_mid_copy_leaves_target_intact(pg_dsn, mode, strategy):
    """Killing the process with SIGKILL while COPY streams leaves the old rows and no staging table."""
    table = f"killed_{mode}_{strategy or 'default'}"
    before = _seed(pg_dsn, table)
    child = subprocess.Popen([sys.executable, str(CHILD), pg_dsn, table, mode, "5000000", strategy or ""])
    try:
        deadline = time.monotonic() + 120
        copied, into_target = 0, None
        while time.monotonic() < deadline and child.poll() is None:
            progress = fetch(
                pg_dsn,
                # This query is itself a COPY (the driver reads through COPY TO), hence the type filter.
                f"SELECT tuples_processed, relid = '{table}'::regclass FROM pg_stat_progress_copy "
                "WHERE datname = current_database() AND type = 'PIPE' AND command = 'COPY FROM'",
            )
            if progress and progress[0][0] > 100_000:
                copied, into_target = progress[0]
                break
            time.sleep(0.05)
        assert child.poll() is None, "the sink finished before it could be killed; raise the row count"
        assert copied > 100_000, "COPY never got going"
        # truncate copies straight into the emptied target, append into it; staging and merge copy elsewhere.
        assert into_target == (strategy != "staging" and mode != "merge")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    # The server notices the dead client and aborts its transaction.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and scalar(
        pg_dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ductflow'",
    ):
        time.sleep(0.1)
    assert _snapshot(pg_dsn, table) == before
    assert fetch(pg_dsn, "SELECT count(*) FROM pg_class WHERE relname LIKE '_ductflow_stage_%'") == [(0,)]


@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("replace", "truncate"), ("replace", "staging"), ("merge", None), ("append", None), ("create", None)],
)
async def test_source_failing_mid_stream_leaves_target_intact(make, db, pg_dsn, mode, strategy):
    """A DuckDB source that errors after many rows makes the sink fail cleanly, target untouched."""
    table = f"failing_{mode}_{strategy or 'default'}"
    if mode == "create":
        execute(pg_dsn, f"DROP TABLE IF EXISTS {table}")
        before = None
    else:
        before = _seed(pg_dsn, table)
    await db.execute(
        "CREATE VIEW breaks AS SELECT i AS id, CASE WHEN i = 700000 THEN error('source broke at row 700000') "
        "ELSE 'new-' || i END AS label FROM range(1000000) t(i)"
    )
    params: dict[str, object] = {"primary_key": ["id"]} if mode == "merge" else {}
    if strategy:
        params["replace_strategy"] = strategy
    with pytest.raises(ConnectorError, match="source broke at row 700000"):
        await make(table=table, mode=mode, **params).sink("breaks")
    if before is None:
        assert fetch(pg_dsn, f"SELECT to_regclass('{table}') IS NULL") == [(True,)]
    else:
        assert _snapshot(pg_dsn, table) == before
