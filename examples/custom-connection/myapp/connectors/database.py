"""A Ductflow connection to a SQLite database, built on the standard library's ``sqlite3``.

It shows the whole connection API on a system that needs no server: ``tap``
copies a SQLite table (or query result) into DuckDB, ``sink`` streams a DuckDB
table into SQLite, ``sql`` runs statements on SQLite and ``show_schema``
describes the SQLite table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError
from ductflow_core.models import Field

# DuckDB types SQLite stores natively; any other column is written as its text form.
_SQLITE_TYPES = {
    "BOOLEAN": "INTEGER",
    "TINYINT": "INTEGER",
    "SMALLINT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "UTINYINT": "INTEGER",
    "USMALLINT": "INTEGER",
    "UINTEGER": "INTEGER",
    "FLOAT": "REAL",
    "DOUBLE": "REAL",
    "VARCHAR": "TEXT",
    "BLOB": "BLOB",
}


def quote(name: str) -> str:
    """``name`` as a SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def arrow_type(declared: str) -> pa.DataType | None:
    """The Arrow type for a SQLite declared column type, by SQLite's affinity rules; ``None`` to infer."""
    upper = declared.upper()
    if "INT" in upper:
        return pa.int64()
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    # BLOB, NUMERIC and untyped columns may hold anything: let Arrow look at the values.
    return None


class SQLite(Connection):
    """Reads and writes tables of one SQLite database file."""

    path: str
    table: str | None = None
    mode: Literal["replace", "append"] = "replace"

    def init(self) -> None:
        # Relative paths belong to the pipeline's folder, not to wherever ductflow was started.
        self.file = Path(self.path) if Path(self.path).is_absolute() else self.base_dir / self.path
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None leaves transactions to us; calls come from worker threads one at a time.
            self._db = sqlite3.connect(self.file, isolation_level=None, check_same_thread=False)
        return self._db

    def _need_table(self, what: str) -> str:
        if not self.table:
            raise ConnectorError(f"{what} {self.path!r} needs a 'table' param")
        return self.table

    # -- tap -------------------------------------------------------------------------------------------------

    def _read(self, query: str | None) -> pa.Table:
        db = self._open()
        types: dict[str, pa.DataType | None] = {}
        if query is None:
            table = self._need_table("reading from")
            info = db.execute(f"PRAGMA table_info({quote(table)})").fetchall()
            if not info:
                raise ConnectorError(f"table {table!r} not found in {self.path!r}")
            types = {row[1]: arrow_type(row[2]) for row in info}
            query = f"SELECT * FROM {quote(table)}"
        try:
            cursor = db.execute(query)
        except sqlite3.Error as exc:
            raise ConnectorError(f"SQLite refused the query on {self.path!r}: {exc}") from exc
        names = [d[0] for d in cursor.description]
        columns = list(zip(*cursor.fetchall(), strict=True)) or [() for _ in names]
        arrays = {name: pa.array(values, type=types.get(name)) for name, values in zip(names, columns, strict=True)}
        return pa.table(arrays)

    async def tap(self, query: str | None = None) -> None:
        """Copy ``table`` (or the rows of ``query``, run on SQLite) into DuckDB table ``self.name``."""
        data = await self.c.run(self._read, query)
        staging = f"tmp_{self.name}"
        await self.c.register(staging, data)
        try:
            # The core drops the stage's table before a tap, so a plain CREATE is enough.
            await self.c.execute(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM {self.c.quote(staging)}")
        finally:
            await self.c.unregister(staging)

    # -- sink ------------------------------------------------------------------------------------------------

    def _begin(self, columns: list[tuple[str, str]]) -> None:
        db = self._open()
        table = quote(self._need_table("writing to"))
        db.execute("BEGIN")
        if self.mode == "replace":
            db.execute(f"DROP TABLE IF EXISTS {table}")
        definition = ", ".join(f"{quote(name)} {kind}" for name, kind in columns)
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({definition})")

    def _insert(self, batch: pa.RecordBatch) -> None:
        marks = ", ".join("?" for _ in batch.schema.names)
        rows: Iterator[tuple[Any, ...]] = zip(*(column.to_pylist() for column in batch.columns), strict=True)
        self._open().executemany(f"INSERT INTO {quote(self.table or '')} VALUES ({marks})", rows)

    def _finish(self, ok: bool) -> None:
        self._open().execute("COMMIT" if ok else "ROLLBACK")

    async def sink(self, from_name: str) -> int:
        """Write DuckDB table ``from_name`` into SQLite ``table`` in one transaction; return the rows written."""
        self._need_table("writing to")
        described = await self.c.sql(f"SELECT * FROM {self.c.quote(from_name)} LIMIT 0")
        assert described is not None
        select, columns = [], []
        for name, duck_type in zip(described.columns, described.types, strict=True):
            sqlite_type = _SQLITE_TYPES.get(duck_type)
            if duck_type in ("UBIGINT", "HUGEINT", "UHUGEINT"):
                # SQLite integers are 64-bit; DuckDB's cast fails loudly on a value that does not fit.
                sqlite_type, expr = "INTEGER", f"CAST({self.c.quote(name)} AS BIGINT)"
            elif sqlite_type is None and duck_type.startswith("DECIMAL"):
                sqlite_type, expr = "REAL", f"CAST({self.c.quote(name)} AS DOUBLE)"
            elif sqlite_type is None:
                sqlite_type, expr = "TEXT", f"CAST({self.c.quote(name)} AS VARCHAR)"
            else:
                expr = self.c.quote(name)
            select.append(f"{expr} AS {self.c.quote(name)}")
            columns.append((name, sqlite_type))
        relation = await self.c.sql(f"SELECT {', '.join(select)} FROM {self.c.quote(from_name)}")
        assert relation is not None
        # record_batches() holds self.c until the stream ends, so SQLite work goes through a second facade.
        writer = await self.c.cursor()
        await writer.run(self._begin, columns)
        written = 0
        try:
            async for batch in relation.record_batches(self.config.batch_size if self.config else 10_000):
                await writer.run(self._insert, batch)
                written += batch.num_rows
        except BaseException:
            await writer.run(self._finish, False)
            raise
        await writer.run(self._finish, True)
        return written

    # -- sql and schema --------------------------------------------------------------------------------------

    def _script(self, query: str) -> None:
        try:
            self._open().executescript(query)
        except sqlite3.Error as exc:
            raise ConnectorError(f"SQLite refused the statements for {self.path!r}: {exc}") from exc

    async def sql(self, query: str) -> None:
        """Run one or more ``;``-separated statements on the SQLite database."""
        await self.c.run(self._script, query)

    def _fields(self, table: str) -> list[Field]:
        info = self._open().execute(f"PRAGMA table_info({quote(table)})").fetchall()
        return [Field(name=row[1], type=row[2] or "ANY", nullable=not row[3]) for row in info]

    async def show_schema(self) -> list[Field]:
        """The columns of SQLite ``table`` as SQLite declares them; without a table, the DuckDB table's."""
        if not self.table:
            return await super().show_schema()
        return await self.c.run(self._fields, self.table)

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await self.c.run(db.close)
