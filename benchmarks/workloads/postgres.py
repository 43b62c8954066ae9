"""PG1 / PG2: PostgreSQL -> Parquet and Parquet -> PostgreSQL through the ``postgres`` connection.

The limits are PostgreSQL on its own: ``psql \\copy ... TO /dev/null`` in binary for reading, and the server's
``COPY FROM`` of a local binary file for writing. The server is the one ``scripts/pg-server.sh`` runs (or
``DUCTFLOW_BENCH_PG_DSN``); the data set is loaded into database ``ductflow_bench`` once and kept.

Registered by adding ``"postgres"`` to ``MODULES`` in ``benchmarks/workloads/__init__.py``.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import REPO_DIR
from ..context import Context
from ..harness import DUCTFLOW, REFERENCE, Contestant, Outcome
from .base import Check, Workload, by_role, ductflow_contestant, ratio, row_count_verifier, write_yaml

BENCH_DB = "ductflow_bench"
READ_LIMIT = 2.5  # x psql binary \copy to /dev/null; peers with ADBC+DuckDB measured ~2.1x
WRITE_LIMIT = 2.5  # x server COPY FROM a binary file; peers with ADBC ingest measured ~1.7x


@functools.cache
def _server(rows: int, parquet: str) -> tuple[str, str]:
    """``(dsn, binary_copy_file)`` of a server holding table ``facts`` with ``rows`` rows; raises RuntimeError."""
    dsn = os.environ.get("DUCTFLOW_BENCH_PG_DSN")
    if not dsn:
        done = subprocess.run(
            [str(REPO_DIR / "scripts" / "pg-server.sh"), "start"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg-server.sh start failed: {done.stderr.strip()[-300:]}")
        dsn = done.stdout.strip().splitlines()[-1]
    bench = urlunsplit(urlsplit(dsn)._replace(path="/" + BENCH_DB))
    if not _psql(dsn, f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"):
        _psql(dsn, f'CREATE DATABASE "{BENCH_DB}"')
    table = f"facts_{rows}"
    count = _psql(bench, f"SELECT count(*) FROM pg_class WHERE relname = '{table}'")
    if count != "1" or _psql(bench, f"SELECT count(*) FROM {table}") != str(rows):
        _load(bench, table, parquet)
    # The server reads this file for the limit run as its own user, so it lives where that user can reach it.
    folder = Path(os.environ.get("DUCTFLOW_BENCH_PG_COPY_DIR", "/tmp/ductflow-bench-pgcopy"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    copy_file = folder / f"{table}.pgcopy"
    if not copy_file.exists():
        _psql(bench, f"\\copy {table} TO '{copy_file}' WITH (FORMAT binary)")
        copy_file.chmod(0o644)
    return bench, str(copy_file)


def _psql(dsn: str, command: str) -> str:
    done = subprocess.run(["psql", "-XAtq", dsn, "-c", command], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def _load(dsn: str, table: str, parquet: str) -> None:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb

    reader = duckdb.connect().sql(f"SELECT * FROM read_parquet('{parquet}')").to_arrow_reader(65_536)
    with pg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.adbc_ingest(table, reader, mode="create")
        con.commit()


def _prepare(ctx: Context) -> tuple[str | None, str | None, str | None]:
    try:
        dsn, copy_file = _server(ctx.rows, str(ctx.dataset.parquet))
    except (RuntimeError, OSError, ImportError) as exc:
        return None, None, f"no PostgreSQL server: {exc}"
    return dsn, copy_file, None


def _unavailable(contestants: list[Contestant], why: str | None) -> list[Contestant]:
    for contestant in contestants:
        contestant.unavailable = contestant.unavailable or why
    return contestants


def _pg_params(dsn: str | None, **extra: Any) -> dict[str, Any]:
    return {"dsn": dsn or "postgresql://unavailable", **extra}


def build_read(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("pg1")
    dsn, _, why = _prepare(ctx)
    out = folder / "ductflow.parquet"
    document = {
        "stages": [
            {
                "name": "src",
                "kind": "tap",
                "connection": {"kind": "postgres", "params": _pg_params(dsn, table=f"facts_{ctx.rows}")},
            },
            {
                "name": "out",
                "kind": "sink",
                "from": "src",
                "connection": {"kind": "parquet", "params": {"path": str(out)}},
            },
        ]
    }
    ours = ductflow_contestant(
        ctx,
        "ductflow",
        write_yaml(folder / "pg1.yaml", document),
        cleanup=[out],
        verify=row_count_verifier(out, ctx.rows),
    )
    limit = Contestant(
        "psql \\copy binary to /dev/null",
        REFERENCE,
        ["psql", "-Xq", dsn or "", "-c", f"\\copy facts_{ctx.rows} TO '/dev/null' WITH (FORMAT binary)"],
    )
    return _unavailable([ours, limit], why)


def build_write(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("pg2")
    dsn, copy_file, why = _prepare(ctx)
    document = {
        "stages": [
            {
                "name": "src",
                "kind": "tap",
                "connection": {"kind": "parquet", "params": {"path": str(ctx.dataset.parquet)}},
            },
            {
                "name": "out",
                "kind": "sink",
                "from": "src",
                "connection": {"kind": "postgres", "params": _pg_params(dsn, table="facts_out", mode="replace")},
            },
        ]
    }
    ours = ductflow_contestant(ctx, "ductflow", write_yaml(folder / "pg2.yaml", document))
    ours.verify = lambda: _count_check(dsn, "facts_out", ctx.rows)
    limit = Contestant(
        "server COPY FROM binary file",
        REFERENCE,
        [
            "psql",
            "-Xq",
            dsn or "",
            "-c",
            f"BEGIN; DROP TABLE IF EXISTS facts_lim; CREATE TABLE facts_lim (LIKE facts_{ctx.rows}); "
            f"COPY facts_lim FROM '{copy_file}' WITH (FORMAT binary); COMMIT",
        ],
    )
    return _unavailable([ours, limit], why)


def _count_check(dsn: str | None, table: str, rows: int) -> str | None:
    try:
        count = _psql(dsn or "", f"SELECT count(*) FROM {table}")
    except RuntimeError as exc:
        return str(exc)
    return None if count == str(rows) else f"{table} has {count} rows, expected {rows}"


def _checks(limit: float):
    def checks(ctx: Context, outcomes: list[Outcome]) -> list[Check]:
        ours, ref = by_role(outcomes, DUCTFLOW), by_role(outcomes, REFERENCE)
        measured = ratio(ours.median_s if ours else None, ref.median_s if ref else None)
        return [Check("median time ÷ PostgreSQL alone", measured, limit, "×")]

    return checks


READ = Workload(
    key="PG1",
    title="PostgreSQL → Parquet",
    measures="Tap a PostgreSQL table (ADBC Arrow stream into DuckDB) and sink it to Parquet, against psql's binary "
    "\\copy to /dev/null.",
    build=build_read,
    checks=_checks(READ_LIMIT),
)

WRITE = Workload(
    key="PG2",
    title="Parquet → PostgreSQL",
    measures="Tap Parquet and sink it to PostgreSQL (replace, binary COPY in one transaction), against the server's "
    "COPY FROM a local binary file.",
    build=build_write,
    checks=_checks(WRITE_LIMIT),
)

WORKLOAD = READ
WORKLOADS = [READ, WRITE]
