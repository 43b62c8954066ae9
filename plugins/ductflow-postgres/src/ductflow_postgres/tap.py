"""PostgreSQL -> DuckDB: the driver's Arrow stream goes straight into a DuckDB table, batch by batch."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from ductflow_core import sql
from ductflow_core.errors import ConnectorError

from .client import Target, connect, rollback, tap_columns
from .errors import StreamFailed, connector_error
from .names import TableName, quote_ident
from .types import Shipping, tap_expressions, tap_select, wrapped_query


def tap_into_duckdb(
    duck: Any, target: Target, query: str, table: TableName | None, dest: str, unconstrained: str
) -> int:
    """Run ``query`` on the server and create DuckDB table ``dest`` from its rows; return the row count.

    Only the driver's current batch and DuckDB's own table are in memory: the result is never collected.
    """
    con = connect(target, read_only=True)
    try:
        with con.cursor() as cur:
            reader, select = _open_reader(cur, query, table, target, unconstrained)
            rows = _load(duck, reader, select, dest, target, table)
        _commit(con, target, table)
        return rows
    finally:
        con.close()


def _commit(con: Any, target: Target, table: TableName | None) -> None:
    # The session is read-only, so this only ends the transaction (and any error the server reports at its end).
    try:
        con.commit()
    except Exception as exc:
        raise connector_error(f"reading {table or 'query'} failed", exc, target.secrets) from None


#: Bytes of COPY data the driver decodes into each Arrow batch (its default is 16 MB). Smaller batches cut a
#: read's peak memory at the same speed: see DRIVER.md.
BATCH_BYTES = 1 << 20


def _open_reader(cur: Any, query: str, table: TableName | None, target: Target, unconstrained: str) -> tuple[Any, str]:
    """Start the query; return the driver's batch reader and the DuckDB select list that types its columns.

    Numeric columns are asked for as text, which the driver decodes far more cheaply than binary numerics, and
    array columns come with their number of dimensions: a ``table`` tap builds its select list from the catalogue;
    a query with numeric or array columns is wrapped in one.
    """
    from adbc_driver_postgresql import StatementOptions

    cur.adbc_statement.set_options(**{StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(BATCH_BYTES)})
    typmods: dict[str, int] = {}
    # A query's trailing ``;`` or ``-- comment`` would break the COPY (…) it is sent inside.
    sent = query if table is not None else sql.without_trailing_semicolons(query)
    shipping = Shipping(sent, unconstrained=unconstrained)
    if table is not None:
        try:
            columns, typmods = tap_columns(cur, table)
        except Exception as exc:
            raise connector_error(f"cannot read {table}", exc, target.secrets) from None
        if columns:  # else the plain query fails with the server's own words for what is wrong
            shipping = tap_select(table.sql, columns, unconstrained)
    else:
        wrapped = _wrapped_query(cur, query, target, unconstrained)
        if wrapped is not None:
            return wrapped
    try:
        if not _copyable(shipping.query):
            cur.adbc_statement.set_options(**{StatementOptions.USE_COPY.value: "false"})
        cur.execute(shipping.query)
        reader = cur.fetch_record_batch()
    except Exception as exc:
        raise connector_error(f"cannot read {table or 'query'}", exc, target.secrets) from None
    return reader, ", ".join(tap_expressions(reader.schema, shipping, typmods))


#: First words of the statements ``COPY (query) TO STDOUT`` takes among those a tap runs.
_COPY_WORDS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "("})
#: First words of the statements a tap's query may be: ones that only read (SHOW and EXPLAIN read settings and plans).
_READ_WORDS = _COPY_WORDS | {"SHOW", "EXPLAIN"}


def check_read_query(query: str) -> None:
    """Refuse ``query`` unless it is lexically one statement of a kind that only reads.

    The server has the last word: the query is described through the extended protocol, which refuses several
    statements, and runs in a READ ONLY transaction, which refuses any write to a table or sequence (a
    ``WITH … DELETE``, a function that inserts), though not a function's effects outside them. This check names
    the problem before anything is sent, and keeps out statements a read-only transaction still allows but that
    are not reads (``COPY … TO 'file'``, ``SET``, ``CALL`` of a procedure, …).
    """
    words = sql.statement_words(query)
    allowed = "SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN"
    if len(words) != 1:
        found = ", ".join(words) or "nothing"
        raise ConnectorError(
            f"a postgres tap's query must be one read-only statement ({allowed}); found {len(words)}: {found}"
        )
    if words[0] not in _READ_WORDS:
        raise ConnectorError(
            f"a postgres tap's query must be one read-only statement ({allowed}); this one starts with {words[0]}"
        )


def _copyable(query: str) -> bool:
    """Whether the driver can stream ``query`` through COPY; others (SHOW, EXPLAIN, …) take the plain protocol.

    The plain protocol holds the whole result in memory, which suits the small results such statements give.
    """
    words = sql.statement_words(query)
    return not words or words[0] in _COPY_WORDS


def _wrapped_query(cur: Any, query: str, target: Target, unconstrained: str) -> tuple[Any, str] | None:
    """The reader and select list of ``query`` wrapped (see ``wrapped_query``), or ``None`` to run it as given.

    Refuses a query that is not one read-only statement (:func:`check_read_query`); the server describes it through
    the extended protocol, which cannot run several statements, and a failure there is the server's reason.
    """
    check_read_query(query)
    try:
        schema = cur.adbc_execute_schema(query)
    except Exception as exc:
        raise connector_error("cannot read query", exc, target.secrets) from None
    wrap = wrapped_query(query, schema, unconstrained)
    if wrap is None:
        return None
    try:
        cur.execute(wrap.query)
        reader = cur.fetch_record_batch()
    except Exception:
        # SHOW and EXPLAIN cannot be subqueries; such a one runs as given.
        rollback(cur.connection)
        return None
    return reader, ", ".join(tap_expressions(reader.schema, wrap))


def _load(duck: Any, reader: pa.RecordBatchReader, select: str, dest: str, target: Target, table: Any) -> int:
    view = f"__ductflow_pg_{uuid.uuid4().hex}"
    duck.register(view, reader)
    try:
        duck.execute(f"CREATE OR REPLACE TABLE {quote_ident(dest)} AS SELECT {select} FROM {quote_ident(view)}")
    except Exception as exc:
        raise connector_error(f"reading {table or 'query'} failed", exc, target.secrets) from None
    finally:
        duck.unregister(view)
        reader.close()
    # fetchall, not fetchone: a half-read result would block the next query on this cursor.
    return int(duck.execute(f"SELECT count(*) FROM {quote_ident(dest)}").fetchall()[0][0])


#: Server process ids of this process's sessions that are streaming a tap. Each holds its tables' locks until
#: its stream is read out; a sink that must lock one of them exclusively drains its source first (see sink.py).
STREAMING: set[int] = set()


def tap_as_stream(
    duck: Any, target: Target, query: str, table: TableName | None, dest: str, unconstrained: str
) -> None:
    """Leave ``dest`` as a temporary view over the live result, for the one stage that reads it.

    Nothing is stored: the reading stage pulls batches straight from the server. The driver connection stays open
    until the stream ends (or the stream is dropped unread with the DuckDB cursor), not until the tap returns.
    """
    con = connect(target, read_only=True)
    try:
        cur = con.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pid = int(cur.fetchone()[0])
        reader, select = _open_reader(cur, query, table, target, unconstrained)
    except BaseException:
        con.close()
        raise
    STREAMING.add(pid)
    stream = pa.RecordBatchReader.from_batches(reader.schema, _owned(reader, cur, con, target, table, pid))
    # DuckDB names the registered stream in its error when the read fails: a name that says what it is.
    source = f"PostgreSQL tap {dest}"
    duck.register(source, stream)
    duck.execute(f"CREATE OR REPLACE TEMPORARY VIEW {quote_ident(dest)} AS SELECT {select} FROM {quote_ident(source)}")


def _owned(
    reader: Any, cur: Any, con: Any, target: Target, table: TableName | None, pid: int
) -> Iterator[pa.RecordBatch]:
    # The generator owns the driver objects: they close when it ends, fails, or is collected unread.
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                try:
                    _commit(con, target, table)
                except ConnectorError as exc:
                    raise StreamFailed(exc.message) from None
                return
            except Exception as exc:
                cause = connector_error(f"reading {table or 'query'} failed", exc, target.secrets)
                raise StreamFailed(cause.message) from None
            yield batch
    finally:
        for closable in (reader, cur, con):
            with contextlib.suppress(Exception):
                closable.close()
        STREAMING.discard(pid)
