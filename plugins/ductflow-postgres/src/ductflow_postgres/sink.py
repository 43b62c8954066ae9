"""DuckDB -> PostgreSQL in one transaction, streamed through the driver's binary COPY.

Every mode commits once at the end, so a failed or killed run leaves the target as it was:

* ``create`` / a new table: ``CREATE TABLE`` and the COPY share the transaction.
* ``append``: COPY straight into the target.
* ``replace`` of an existing table keeps its indexes, grants and dependent views. Strategy ``truncate`` (default):
  ``TRUNCATE`` then COPY straight into it; TRUNCATE is transactional, so a rollback brings the old rows back, but
  readers wait for the whole load. Strategy ``staging``: COPY into a temporary staging table, then ``TRUNCATE`` +
  ``INSERT ... SELECT``, so the exclusive lock is held only for that swap, at the price of writing the rows twice.
  When the columns differ, the table is dropped and created anew instead.
* ``merge``: staging table, then ``INSERT ... ON CONFLICT (primary_key) DO UPDATE``.

Rows COPYd by the fast writer into a plain table created or truncated in the same transaction are written frozen
(``COPY … FREEZE``), as a later VACUUM would leave them: the first reads after the load set no hint bits and the
table's next VACUUM has nothing to do. Like TRUNCATE itself this is not MVCC-safe: a repeatable-read transaction
older than the load sees the new rows (an empty table after TRUNCATE alone).

Columns whose target type the driver cannot write (see :mod:`.types`) always go through staging as text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from ductflow_core.errors import ConnectorError

from . import fastcopy
from .client import Target, connect, rollback, table_columns
from .errors import connector_error, server_cause, sqlstate
from .names import TableName, quote_ident, quote_literal
from .tap import STREAMING
from .types import ColumnPlan, PgColumn, pg_columns_for_duck, plan_columns, relabel_batch


def sink_from_duckdb(
    duck: Any,
    target: Target,
    source: str,
    table: TableName,
    mode: str,
    primary_key: list[str] | None,
    batch_size: int,
    replace_strategy: str = "truncate",
) -> int:
    """Write DuckDB table ``source`` to ``table`` on the server; return the number of rows sent.

    The fast writer (:mod:`.fastcopy`) is tried first; when the columns turn out not to be its to write, its
    transaction, which has changed nothing yet, is rolled back and ADBC writes the table instead.
    """
    src_cols = [
        (str(r[0]), str(r[1])) for r in duck.execute(f"DESCRIBE SELECT * FROM {quote_ident(source)}").fetchall()
    ]
    for key in primary_key or []:
        if key not in {name for name, _ in src_cols}:
            raise ConnectorError(f"primary_key column {key!r} is not a column of {source!r}")
    drained: str | None = None
    try:
        for fast in (True, False):
            con = fastcopy.connect(target) if fast else connect(target)
            try:
                with con.cursor() as cur:
                    if fast:  # the first attempt; the ADBC one reuses what it found
                        drained = _drain_if_streamed(duck, cur, source, table, mode)
                    rows = _write(
                        duck,
                        cur,
                        drained or source,
                        src_cols,
                        table,
                        mode,
                        primary_key,
                        batch_size,
                        replace_strategy,
                        fast,
                    )
                con.commit()
                return rows
            except _NotFast:
                rollback(con)
            except Exception as exc:
                rollback(con)
                raise connector_error(f"writing {table} failed", exc, target.secrets) from None
            finally:
                con.close()
        raise AssertionError("unreachable: the ADBC writer takes every column")
    finally:
        if drained:
            duck.execute(f"DROP TABLE IF EXISTS {quote_ident(drained)}")


class _NotFast(Exception):
    """The fast writer cannot write these columns; ADBC will."""


def _write(
    duck: Any,
    cur: Any,
    source: str,
    src_cols: list[tuple[str, str]],
    table: TableName,
    mode: str,
    primary_key: list[str] | None,
    batch_size: int,
    replace_strategy: str,
    fast: bool,
) -> int:
    existing = table_columns(cur, table)
    if existing is not None and mode == "create":
        raise ConnectorError(f"table {table} already exists (mode: create)")
    drop = existing is not None and mode == "replace" and {c.name for c in existing} != {n for n, _ in src_cols}
    created = existing is None or drop
    if existing is None or drop:
        existing = pg_columns_for_duck(src_cols, primary_key if mode == "merge" else None)
    plans = plan_columns(src_cols, existing)
    encoder = None
    if fast:
        # Chosen from an empty result of the same SELECT before anything changes or is read: a streamed source can
        # be read once only, so once its reader is open there is no going back to ADBC.
        wanted = fastcopy.expected_encoders(plans, existing)
        encoder = None if wanted is None else fastcopy.encoder_for(_arrow_schema(duck, source, plans), wanted)
        if encoder is None:
            raise _NotFast
    if drop:
        cur.execute(f"DROP TABLE {table.sql}")
    if created:
        cur.execute(_create_sql(table, existing, primary_key if mode == "merge" else None))
    truncate_first = mode == "replace" and not created and replace_strategy == "truncate"
    if truncate_first:
        # Emptied inside the load's transaction, so the rows are written once, straight into the table.
        cur.execute(f"TRUNCATE {table.sql}")
    staged_mode = mode == "merge" or (mode == "replace" and not truncate_first)
    staging = any(p.staged for p in plans) or (not created and staged_mode)
    # Only ADBC needs uuid and json columns labelled with Arrow extension types.
    reader, inner = _stream(duck, source, plans, batch_size, relabel=encoder is None)
    try:
        if not staging:
            freeze = encoder is not None and (created or (truncate_first and _is_plain_table(cur, table)))
            return _send(cur, table, [p.name for p in plans], reader, encoder, freeze=freeze)
        stage = f"_ductflow_stage_{uuid.uuid4().hex[:16]}"
        wire = ", ".join(f"{quote_ident(p.name)} {p.wire_type}" for p in plans)
        cur.execute(f"CREATE TEMPORARY TABLE {quote_ident(stage)} ({wire}) ON COMMIT DROP")
        rows = _send(cur, TableName("pg_temp", stage), [p.name for p in plans], reader, encoder)
    finally:
        # Closing the DuckDB side too: an unfinished result would block every later query on this cursor.
        reader.close()
        inner.close()
    if mode == "replace" and not created and not truncate_first:
        cur.execute(f"TRUNCATE {table.sql}")
    merge_key = primary_key if mode == "merge" and not created else None
    staged = [p for p in plans if p.staged]
    if staged and not fast:
        # ADBC refuses every statement after a failed one, savepoints included: check the casts first.
        _check_casts(cur, table, stage, staged, existing)
    elif staged:
        cur.execute("SAVEPOINT ductflow_insert")
    try:
        cur.execute(_insert_sql(table, stage, plans, existing, merge_key))
    except Exception as exc:
        # 42P10: no unique index matches ON CONFLICT. The driver's text echoes the SQL, so it cannot tell.
        if merge_key and sqlstate(exc) == "42P10":
            keys = ", ".join(merge_key)
            raise ConnectorError(f"mode: merge needs a primary key or unique index on ({keys}) in {table}") from None
        if staged and fast:  # only the fast writer set the savepoint (ADBC checked the casts before)
            cur.execute("ROLLBACK TO SAVEPOINT ductflow_insert")
            _check_casts(cur, table, stage, staged, existing)
        raise
    return rows


def _check_casts(cur: Any, table: TableName, stage: str, staged: list[ColumnPlan], target: list[PgColumn]) -> None:
    """Cast each staged column alone, raising for the first that fails with its name beside the server's reason.

    PostgreSQL's error for a cast in ``INSERT … SELECT`` names the value and the type but not the column. With
    psycopg this runs only once the INSERT has failed (rolled back to a savepoint before it), so it costs nothing
    otherwise.
    """
    types = {c.name: c.sql_type for c in target}
    for plan in staged:
        col = quote_ident(plan.name)
        try:
            cur.execute(f"SELECT count(CAST({col} AS {types[plan.name]})) FROM {quote_ident(stage)}")
            cur.fetchall()
        except Exception as exc:
            raise ConnectorError(f"writing {table} failed: column {plan.name!r}: {server_cause(exc)}") from None


def _drain_if_streamed(duck: Any, cur: Any, source: str, table: TableName, mode: str) -> str | None:
    """Copy ``source`` into a DuckDB temporary table when a streaming tap of this process locks ``table``.

    Read, transformed and written back with ``replace``, the table is still locked by the tap's session while
    its stream is read: the sink's TRUNCATE or DROP would wait for that lock, and the stream for the sink.
    Reading the source out first ends the stream and frees the lock. Returns the copy's name, or ``None``.
    """
    if mode != "replace" or not STREAMING:
        return None
    pids = ", ".join(str(int(pid)) for pid in sorted(STREAMING))
    cur.execute(
        f"SELECT count(*) FROM pg_locks WHERE relation = to_regclass({quote_literal(table.sql)}) AND pid IN ({pids})"
    )
    if not cur.fetchone()[0]:
        return None
    drained = f"__ductflow_drained_{uuid.uuid4().hex}"
    duck.execute(f"CREATE TEMPORARY TABLE {quote_ident(drained)} AS SELECT * FROM {quote_ident(source)}")
    return drained


def _create_sql(table: TableName, columns: list[PgColumn], primary_key: list[str] | None) -> str:
    defs = [f"{quote_ident(c.name)} {c.sql_type}{' NOT NULL' if c.not_null else ''}" for c in columns]
    if primary_key:
        defs.append(f"PRIMARY KEY ({', '.join(quote_ident(k) for k in primary_key)})")
    return f"CREATE TABLE {table.sql} ({', '.join(defs)})"


def _insert_sql(
    table: TableName, stage: str, plans: list[ColumnPlan], target: list[PgColumn], primary_key: list[str] | None
) -> str:
    types = {c.name: c.sql_type for c in target}
    names = ", ".join(quote_ident(p.name) for p in plans)
    values = ", ".join(
        f"CAST({quote_ident(p.name)} AS {types[p.name]})" if p.staged else quote_ident(p.name) for p in plans
    )
    sql = f"INSERT INTO {table.sql} ({names}) SELECT {values} FROM {quote_ident(stage)}"
    if primary_key:
        keys = ", ".join(quote_ident(k) for k in primary_key)
        rest = [quote_ident(p.name) for p in plans if p.name not in primary_key]
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
        sql += f" ON CONFLICT ({keys}) " + (f"DO UPDATE SET {update}" if rest else "DO NOTHING")
    return sql


def _send(
    cur: Any,
    into: TableName,
    columns: list[str],
    reader: pa.RecordBatchReader,
    encoder: Any | None,
    *,
    freeze: bool = False,
) -> int:
    """Append ``reader`` to ``into``: encoded by pgpq when there is an ``encoder``, else by ADBC's ingest."""
    if encoder is not None:
        return fastcopy.copy_in(cur, into, columns, reader, encoder, freeze=freeze)
    return int(cur.adbc_ingest(into.table, reader, mode="append", db_schema_name=into.schema))


def _is_plain_table(cur: Any, table: TableName) -> bool:
    """Whether ``table`` is an ordinary table: COPY FREEZE refuses partitioned and foreign ones."""
    cur.execute(f"SELECT relkind = 'r' FROM pg_class WHERE oid = to_regclass({quote_literal(table.sql)})")
    row = cur.fetchone()
    return bool(row and row[0])


def _select(source: str, plans: list[ColumnPlan]) -> str:
    return f"SELECT {', '.join(p.duck_expr for p in plans)} FROM {quote_ident(source)}"


def _arrow_schema(duck: Any, source: str, plans: list[ColumnPlan]) -> pa.Schema:
    """The Arrow schema :func:`_stream` will give, from a query that reads no row (DuckDB plans LIMIT 0 as empty)."""
    return duck.sql(f"{_select(source, plans)} LIMIT 0").to_arrow_table().schema


def _stream(
    duck: Any, source: str, plans: list[ColumnPlan], batch_size: int, *, relabel: bool
) -> tuple[pa.RecordBatchReader, pa.RecordBatchReader]:
    reader = duck.sql(_select(source, plans)).to_arrow_reader(batch_size)
    relabels = {p.name: p.relabel for p in plans if p.relabel} if relabel else {}
    if not relabels:
        return reader, reader
    ext = {"uuid": pa.uuid(), "json": pa.json_()}
    schema = pa.schema([pa.field(f.name, ext[relabels[f.name]]) if f.name in relabels else f for f in reader.schema])

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield relabel_batch(batch, relabels)

    return pa.RecordBatchReader.from_batches(schema, batches()), reader
