"""PG1 / PG2: PostgreSQL -> Parquet and Parquet -> PostgreSQL through the ``postgres`` connection.

The limits are PostgreSQL on its own: ``psql \\copy ... TO /dev/null`` in binary for reading, and the server's
``COPY FROM`` of a local binary file for writing. Binary is the server's cheapest way out, so it is the limit
judged; ``\\copy`` in its default text format, the command as users type it, runs beside it as a diagnostic.
The server is the one ``scripts/pg-server.sh`` runs (or ``DUCTFLOW_BENCH_PG_DSN``); the data set is loaded into
database ``ductflow_bench`` (or ``DUCTFLOW_BENCH_PG_DB``, so two runs at once do not overwrite each other's tables)
once and kept.

With ``--peers`` the other tools doing the same move (``benchmarks/pg_peers.py``) run in the same rounds, and a
second target asks Ductflow to beat the fastest of them.

Registered by adding ``"postgres"`` to ``MODULES`` in ``benchmarks/workloads/__init__.py``.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import REPO_DIR
from ..context import Context
from ..harness import DUCTFLOW, PEER, REFERENCE, Contestant, Outcome, paired_ratio
from ..pg_peers import count_check, read_peers, write_peers
from .base import Check, Workload, by_role, ductflow_contestant, row_count_verifier, write_yaml

DEFAULT_DB = "ductflow_bench"
READ_LIMIT = 1.3  # x psql binary \copy to /dev/null: the psql \copy, in the server's cheapest format
#: The role of PG1's second limit, ``psql \copy`` in its default (text) format: measured and shown, never the target.
TEXT_LIMIT = "text-limit"
WRITE_LIMIT = 1.3  # x server COPY FROM a binary file, as the issue asks
#: Ductflow's median over the fastest valid peer's: below 1 is faster than every peer measured.
PEER_LIMIT = 1.0


def bench_db() -> str:
    return os.environ.get("DUCTFLOW_BENCH_PG_DB") or DEFAULT_DB


@functools.cache
def _server(rows: int, parquet: str) -> str:
    """The DSN of a database holding table ``facts_<rows>`` with ``rows`` rows; raises RuntimeError."""
    dsn = os.environ.get("DUCTFLOW_BENCH_PG_DSN")
    if not dsn:
        done = subprocess.run(
            [str(REPO_DIR / "scripts" / "pg-server.sh"), "start"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg-server.sh start failed: {done.stderr.strip()[-300:]}")
        dsn = done.stdout.strip().splitlines()[-1]
    name = bench_db()
    bench = urlunsplit(urlsplit(dsn)._replace(path="/" + name))
    if not _psql(dsn, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        _psql(dsn, f'CREATE DATABASE "{name}"')
    table = f"facts_{rows}"
    count = _psql(bench, f"SELECT count(*) FROM pg_class WHERE relname = '{table}'")
    if count != "1" or _psql(bench, f"SELECT count(*) FROM {table}") != str(rows):
        _load(bench, table, parquet)
    return bench


@functools.cache
def _copy_file(dsn: str, rows: int) -> str:
    """A binary COPY file of ``facts_<rows>`` for the write limit, made once (scaling never needs one)."""
    table = f"facts_{rows}"
    # The server reads this file for the limit run as its own user, so it lives where that user can reach it.
    folder = Path(os.environ.get("DUCTFLOW_BENCH_PG_COPY_DIR", "/tmp/ductflow-bench-pgcopy"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    copy_file = folder / f"{table}.pgcopy"
    if not copy_file.exists():
        _psql(dsn, f"\\copy {table} TO '{copy_file}' WITH (FORMAT binary)")
        copy_file.chmod(0o644)
    return str(copy_file)


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


def _prepare(ctx: Context, *, copy_file: bool = False) -> tuple[str | None, str | None, str | None]:
    """``(dsn, copy_file, None)``, or ``(None, None, why)`` when there is no server to measure against."""
    try:
        dsn = _server(ctx.rows, str(ctx.dataset.parquet))
        return dsn, _copy_file(dsn, ctx.rows) if copy_file else None, None
    except (RuntimeError, OSError, ImportError) as exc:
        return None, None, f"no PostgreSQL server: {exc}"


def _unavailable(contestants: list[Contestant], why: str | None) -> list[Contestant]:
    for contestant in contestants:
        contestant.unavailable = contestant.unavailable or why
    return contestants


def _pg_params(dsn: str | None, **extra: Any) -> dict[str, Any]:
    return {"dsn": dsn or "postgresql://unavailable", **extra}


def read_ductflow(ctx: Context, folder: Path, dsn: str | None) -> Contestant:
    """``ductflow run`` of a postgres tap and a parquet sink: PG1's contestant, and its scaling case's."""
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
    return ductflow_contestant(
        ctx,
        "ductflow",
        write_yaml(folder / "pg1.yaml", document),
        cleanup=[out],
        verify=row_count_verifier(out, ctx.rows),
    )


def build_read(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("pg1")
    dsn, _, why = _prepare(ctx)
    ours = read_ductflow(ctx, folder, dsn)
    limit = Contestant(
        "psql \\copy binary to /dev/null",
        REFERENCE,
        ["psql", "-Xq", dsn or "", "-c", f"\\copy facts_{ctx.rows} TO '/dev/null' WITH (FORMAT binary)"],
    )
    text = Contestant(
        "psql \\copy text to /dev/null",
        TEXT_LIMIT,
        ["psql", "-Xq", dsn or "", "-c", f"\\copy facts_{ctx.rows} TO '/dev/null'"],
    )
    found = [ours, limit, text]
    if ctx.peers and dsn:
        found += read_peers(ctx, folder, dsn, f"facts_{ctx.rows}")
    return _unavailable(found, why)


def scaling_read(ctx: Context, folder: Path) -> list[Contestant]:
    """PG1 through Ductflow alone, for ``--scaling``: psql's own memory says nothing about ours."""
    dsn, _, why = _prepare(ctx)
    return _unavailable([read_ductflow(ctx, folder, dsn)], why)


def write_ductflow(ctx: Context, folder: Path, dsn: str | None, table: str = "facts_out") -> Contestant:
    """``ductflow run`` of a parquet tap and a postgres sink replacing ``table``: PG2's and its scaling case's."""
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
                "connection": {"kind": "postgres", "params": _pg_params(dsn, table=table, mode="replace")},
            },
        ]
    }
    ours = ductflow_contestant(ctx, "ductflow", write_yaml(folder / "pg2.yaml", document))
    ours.verify = lambda: count_check(dsn, table, ctx.rows)
    return ours


def scaling_write(ctx: Context, folder: Path) -> list[Contestant]:
    """PG2 through Ductflow alone, for ``--scaling``, into a table of its own dropped afterwards."""
    dsn, _, why = _prepare(ctx)
    ours = write_ductflow(ctx, folder, dsn, table="facts_out_scaling")
    verify = ours.verify

    def verify_and_drop() -> str | None:
        try:
            return verify() if verify is not None else None
        finally:
            if dsn:
                _psql(dsn, "DROP TABLE IF EXISTS facts_out_scaling")

    ours.verify = verify_and_drop
    return _unavailable([ours], why)


def build_write(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("pg2")
    dsn, copy_file, why = _prepare(ctx, copy_file=True)
    ours = write_ductflow(ctx, folder, dsn)
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
    found = [ours, limit]
    if ctx.peers and dsn:
        found += write_peers(ctx, folder, dsn)
    return _unavailable(found, why)


def fastest_peer(outcomes: list[Outcome]) -> Outcome | None:
    """The quickest peer that ran and wrote every row; failed and invalid peers were never timed to the end."""
    valid = [o for o in outcomes if o.role == PEER and o.ok]
    return min(valid, key=lambda o: o.median_s or 0.0, default=None)


def peer_check(outcomes: list[Outcome]) -> Check:
    """Ductflow's time over the fastest valid peer's, round by round, to pass below 1: faster than every peer."""
    ours, best = by_role(outcomes, DUCTFLOW), fastest_peer(outcomes)
    label = f"median of per-round time ÷ fastest peer's ({best.name})" if best else "time ÷ fastest peer's (none valid)"
    return Check(label, paired_ratio(ours, best), PEER_LIMIT, "×")


def _checks(limit: float) -> Callable[[Context, list[Outcome]], list[Check]]:
    def checks(ctx: Context, outcomes: list[Outcome]) -> list[Check]:
        ours, ref = by_role(outcomes, DUCTFLOW), by_role(outcomes, REFERENCE)
        found = [Check("median of per-round time ÷ PostgreSQL alone", paired_ratio(ours, ref), limit, "×")]
        text = by_role(outcomes, TEXT_LIMIT)
        if text is not None:
            label = "diagnostic: the same ÷ psql \\copy in its default text format"
            found.append(Check(label, paired_ratio(ours, text), limit, "×"))
        if ctx.peers:
            found.append(peer_check(outcomes))
        return found

    return checks


READ = Workload(
    key="PG1",
    title="PostgreSQL → Parquet",
    measures="Tap a PostgreSQL table (ADBC Arrow stream into DuckDB) and sink it to Parquet, against psql's binary "
    "\\copy to /dev/null; with --peers also dlt's sql_table (pyarrow and connectorx backends) and Sling.",
    build=build_read,
    checks=_checks(READ_LIMIT),
)

WRITE = Workload(
    key="PG2",
    title="Parquet → PostgreSQL",
    measures="Tap Parquet and sink it to PostgreSQL (replace, binary COPY in one transaction), against the server's "
    "COPY FROM a local binary file; with --peers also dlt's postgres destination and Sling.",
    build=build_write,
    checks=_checks(WRITE_LIMIT),
)

WORKLOAD = READ
WORKLOADS = [READ, WRITE]
