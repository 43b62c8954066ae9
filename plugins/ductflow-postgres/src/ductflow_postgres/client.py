"""Opening driver connections and reading the catalogue; everything here blocks and runs in a worker thread."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import attrs

from .errors import connector_error
from .names import TableName, quote_literal
from .types import PgColumn

APPLICATION_NAME = "ductflow"
_KV_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


@attrs.frozen(repr=False)
class Target:
    """Where to connect: a libpq URI or key=value string, and the secrets that must never appear in messages."""

    uri: str
    secrets: tuple[str, ...] = ()
    #: Server-side bound on each statement, so a stage's timeout also stops work the server is doing for it.
    statement_timeout_ms: int | None = None

    def __repr__(self) -> str:
        return "Target(<hidden>)"


def make_target(
    dsn: str | None,
    host: str | None,
    port: int,
    user: str | None,
    password: str | None,
    dbname: str | None,
    connect_timeout: int,
) -> Target:
    """Build the connection string from a DSN or from separate parts, remembering the password to hide it."""
    # client_encoding: Arrow strings are UTF-8 both ways; without it a LATIN1 database's text was read and written
    # as LATIN1 bytes. Each is added only where the DSN does not set it.
    defaults = {
        "connect_timeout": str(connect_timeout),
        "application_name": APPLICATION_NAME,
        "client_encoding": "UTF8",
    }
    secrets: list[str] = []
    if password:
        secrets += [password, quote(password, safe="")]
    if dsn is None:
        auth = quote(user or "", safe="")
        if password:
            auth += ":" + quote(password, safe="")
        netloc = f"{auth}@" if auth else ""
        hostpart = f"[{host}]" if host and ":" in host else (host or "")
        netloc += f"{hostpart}:{port}"
        query = urlencode(defaults)
        return Target(urlunsplit(("postgresql", netloc, "/" + quote(dbname or "", safe=""), query, "")), tuple(secrets))
    if dsn.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(dsn)
        if parts.password:
            # An unencoded @ in the password: Python splits the netloc at the last @, libpq at the first, and
            # the host name libpq then fails to find carries the rest. Every piece is masked on its own too.
            for piece in filter(None, {parts.password, *parts.password.split("@")}):
                secrets += [piece, unquote(piece)]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "password" in params:
            secrets += [params["password"], quote(params["password"], safe="")]
        # The user's own query text is kept as written: decoding and re-encoding it turned %20 into +,
        # which libpq does not read as a space.
        added = urlencode({k: v for k, v in defaults.items() if k not in params})
        query = "&".join(part for part in (parts.query, added) if part)
        return Target(urlunsplit(parts._replace(query=query)), tuple(secrets))
    match = _KV_PASSWORD.search(dsn)
    if match:
        secrets.append(match.group(1).strip("'"))
    extra = "".join(f" {k}={v}" for k, v in defaults.items() if k not in dsn)
    return Target(dsn + extra, tuple(secrets))


def connect(target: Target, *, read_only: bool = False) -> Any:
    """Open an ADBC connection with autocommit off, so everything until ``commit()`` is one transaction.

    ``read_only``, for taps, makes every transaction of the session READ ONLY, so the server itself refuses any write (a
    data-changing CTE, ``nextval``, a function that inserts) a tap's query might attempt. It is set before the
    session's first transaction begins, and a single statement cannot turn it off for the transaction it runs in.

    The driver is imported here, not with the module: with pyarrow.dataset it is a visible part of start-up, and
    a sink that the fast writer takes never needs it.
    """
    import adbc_driver_postgresql.dbapi as pg

    # Taps read intervals as text (see types.interval_as_text), in the one style DuckDB parses back exactly.
    settings = ("SET default_transaction_read_only = on", "SET IntervalStyle = postgres") if read_only else ()
    return open_session(target, pg.connect, *settings)


def open_session(target: Target, open_driver: Callable[[str], Any], *settings: str) -> Any:
    """Open ``target`` with a DB-API driver's ``connect`` and set the session up; extra ``settings`` run last."""
    try:
        con = open_driver(target.uri)
    except Exception as exc:
        raise connector_error("cannot connect to PostgreSQL", exc, target.secrets) from None
    # Values of timestamp-without-zone columns must not shift with the server's configured zone.
    statements = ["SET TIME ZONE 'UTC'", *settings]
    if target.statement_timeout_ms:
        statements.append(f"SET statement_timeout = {int(target.statement_timeout_ms)}")
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        con.commit()
    except Exception as exc:
        con.close()
        raise connector_error("cannot set up the PostgreSQL session", exc, target.secrets) from None
    return con


def rollback(con: Any) -> None:
    """Roll back whatever the connection's transaction holds, ignoring a connection that is already gone.

    A failed statement aborts the transaction the next one would run in; and the error that led here is the one
    worth reporting, not the rollback's own.
    """
    with contextlib.suppress(Exception):
        con.rollback()


_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(et.typname, t.typname),
       et.oid IS NOT NULL, a.attnotnull, a.atttypmod
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
WHERE a.attrelid = to_regclass({table}) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def table_columns(cur: Any, table: TableName) -> list[PgColumn] | None:
    """The columns of ``table`` from the catalogue, or ``None`` when there is no such table.

    ``cur`` is an ADBC or a psycopg cursor: the name is inlined as a literal, as the two spell parameters apart.
    """
    cur.execute(f"SELECT to_regclass({quote_literal(table.sql)}) IS NOT NULL")
    row = cur.fetchone()
    if not row or not row[0]:
        return None
    return tap_columns(cur, table)[0]


def tap_columns(cur: Any, table: TableName) -> tuple[list[PgColumn], dict[str, int]]:
    """The columns of ``table`` (none when it does not exist) and, for each array column, its elements' typmod.

    The driver's Arrow schema leaves element typmods out, so numeric arrays need the catalogue for their precision.
    """
    cur.execute(_COLUMNS_SQL.format(table=quote_literal(table.sql)))
    rows = cur.fetchall()
    columns = [PgColumn(name, sql_type, base, bool(arr), bool(nn)) for name, sql_type, base, arr, nn, _ in rows]
    return columns, {name: int(typmod) for name, _, _, arr, _, typmod in rows if arr}
