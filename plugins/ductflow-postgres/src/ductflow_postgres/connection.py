"""The ``postgres`` connection: taps, sinks and statements against a PostgreSQL server."""

from pathlib import Path
from typing import Any, Literal

import attrs
from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError, ParamError
from ductflow_core.models import Field
from ductflow_core.sql import StageDatabase

from .client import Target, connect, make_target, table_columns
from .errors import connector_error
from .names import TableName, parse_table_name, quote_literal
from .sink import sink_from_duckdb
from .tap import check_read_query, tap_as_stream, tap_into_duckdb
from .types import DEFAULT_UNCONSTRAINED, unconstrained_numeric

Mode = Literal["append", "replace", "merge", "create"]
ReplaceStrategy = Literal["truncate", "staging"]


class PostgresConnection(Connection):
    """Moves data between PostgreSQL and the run's DuckDB database through ADBC's binary COPY.

    Connect with ``dsn`` (a libpq URI or key=value string) or with ``host``/``port``/``user``/``password``/``dbname``.
    A tap reads ``table``, ``query`` or the stage's own query; a sink writes to ``table`` in ``mode``.
    """

    dsn: str | None = None
    host: str | None = None
    port: int | None = None  # 5432 unless given
    user: str | None = None
    password: str | None = None
    dbname: str | None = None
    connect_timeout: int = 10
    table: str | None = None
    query: str | None = None
    mode: Mode = "append"
    primary_key: list[str] | None = None
    #: How ``mode: replace`` empties an existing table; ``None`` means ``truncate``.
    replace_strategy: ReplaceStrategy | None = None
    #: DuckDB type a tap gives numerics declared without a precision DuckDB's DECIMAL holds: DOUBLE, VARCHAR or
    #: DECIMAL(p,s).
    unconstrained_numeric: str = DEFAULT_UNCONSTRAINED

    @classmethod
    def check_stage(cls, params: dict[str, Any], *, role: str, base_dir: Path) -> None:
        """Refuse at load a tap ``query`` param that the tap would refuse: not one read-only statement."""
        query = params.get("query")
        if role == "tap" and isinstance(query, str):
            try:
                check_read_query(query)
            except ConnectorError as exc:
                raise ParamError("query", str(exc)) from None

    def init(self) -> None:
        """Check the params that only make sense together, before anything connects."""
        separate = (self.host, self.port, self.user, self.password, self.dbname)
        if self.dsn is not None and any(v is not None for v in separate):
            # A port (or user…) given next to a DSN would be ignored without a word: the DSN says it all.
            raise ConnectorError("give either dsn or host/port/user/password/dbname, not both")
        if self.dsn is None and self.host is None:
            raise ConnectorError("give dsn, or host (with user, password and dbname as needed)")
        if self.mode not in ("append", "replace", "merge", "create"):
            raise ConnectorError(f"mode must be append, replace, merge or create, not {self.mode!r}")
        if self.mode == "merge" and not self.primary_key:
            raise ConnectorError("mode: merge needs primary_key (the columns that identify a row)")
        if self.primary_key is not None and self.mode != "merge":
            raise ConnectorError("primary_key is used only with mode: merge")
        if self.replace_strategy is not None and self.replace_strategy not in ("truncate", "staging"):
            raise ConnectorError(f"replace_strategy must be truncate or staging, not {self.replace_strategy!r}")
        if self.replace_strategy is not None and self.mode != "replace":
            raise ConnectorError("replace_strategy is used only with mode: replace")
        if self.table is not None and self.query is not None:
            raise ConnectorError("give either table or query, not both")
        self._table = parse_table_name(self.table) if self.table is not None else None
        self._numeric = unconstrained_numeric(self.unconstrained_numeric)
        target = make_target(
            self.dsn, self.host, self.port or 5432, self.user, self.password, self.dbname, self.connect_timeout
        )
        timeout = self.config.timeout if self.config is not None else None
        # The core abandons a call after config.timeout, but a thread blocked in the driver cannot be stopped from
        # Python; the server can stop the statement itself.
        self._target: Target = attrs.evolve(target, statement_timeout_ms=int(timeout * 1000) if timeout else None)

    async def tap(self, query: str | None = None) -> int | None:
        """Stream the rows of the stage's query, ``query`` or ``table`` into DuckDB as ``self.name``.

        A table by default, holding the rows (their count is returned); with ``materialize`` false, a view over the
        live stream that its one reader consumes.
        """
        sql = query or self.query
        if sql is None:
            if self._table is None:
                raise ConnectorError("a postgres tap needs table or query")
            sql = f"SELECT * FROM {self._table.sql}"
        table = self._table if not (query or self.query) else None
        c = self._duck()
        if self.materialize is False:
            # The core hands this facade to the single stage that reads us, so a stream can flow through unstored.
            await c.run(tap_as_stream, c.raw, self._target, sql, table, self.name, self._numeric)
            return None
        return await c.run(tap_into_duckdb, c.raw, self._target, sql, table, self.name, self._numeric)

    async def sink(self, from_name: str) -> int:
        """Stream DuckDB table ``from_name`` into ``table`` in one transaction; return the rows written."""
        if self._table is None:
            raise ConnectorError("a postgres sink needs table")
        c = self._duck()
        batch_size = self.config.batch_size if self.config is not None else 122_880
        return await c.run(
            sink_from_duckdb,
            c.raw,
            self._target,
            from_name,
            self._table,
            self.mode,
            self.primary_key,
            batch_size,
            self.replace_strategy or "truncate",
        )

    async def sql(self, query: str) -> None:
        """Run ``query`` (one or more statements) on the server and commit."""
        await self._duck().run(_run_script, self._target, query)

    async def check(self, role: str) -> None:
        """For ``ductflow validate --connect``: the server answers and accepts the credentials, and a tap's
        ``table`` exists. Read-only; a sink's table is not required, as its mode may create it.
        """
        table = self._table if role == "tap" and self.query is None else None
        # No facade to run it on (self.c is None), and validate checks one stage at a time: blocking is harmless.
        _check(self._target, table)

    async def show_schema(self) -> list[Field]:
        """The fields of ``table`` with PostgreSQL types from the server's catalogue.

        Once a tap has made its DuckDB table, that table's fields (DuckDB types) are what the stage holds, as the
        core expects of every connection.
        """
        c = self._duck()
        if self._table is None or (self.name and await c.table_exists(self.name)):
            return await super().show_schema()
        return await c.run(_describe, self._target, self._table)

    def _duck(self) -> StageDatabase:
        if self.c is None:
            raise ConnectorError("this connection has no DuckDB database (it must be created by the runner)")
        return self.c


def _run_script(target: Target, query: str) -> None:
    con = connect(target)
    try:
        with con.cursor() as cur:
            cur.executescript(query)
        con.commit()
    except Exception as exc:
        raise connector_error("statement failed", exc, target.secrets) from None
    finally:
        con.close()


def _check(target: Target, table: TableName | None) -> None:
    con = connect(target, read_only=True)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
            if table is not None:
                cur.execute(f"SELECT to_regclass({quote_literal(table.sql)}) IS NOT NULL")
                row = cur.fetchone()
                if not row or not row[0]:
                    raise ConnectorError(f"table {table} does not exist")
    except Exception as exc:
        raise connector_error("cannot check the PostgreSQL connection", exc, target.secrets) from None
    finally:
        con.close()


def _describe(target: Target, table: TableName) -> list[Field]:
    con = connect(target)
    try:
        with con.cursor() as cur:
            columns = table_columns(cur, table)
    except Exception as exc:
        raise connector_error(f"cannot describe {table}", exc, target.secrets) from None
    finally:
        con.close()
    if columns is None:
        raise ConnectorError(f"table {table} does not exist")
    return [Field(name=c.name, type=c.sql_type, nullable=not c.not_null) for c in columns]
