"""The run's one DuckDB database and the async facade a connection sees as ``self.c``.

DuckDB connections are not safe to use from two threads at once, so every
stage gets its own cursor (a DuckDB connection sharing the same database) and
every blocking call on it runs in a worker thread, one call at a time. That is
what lets independent stages run concurrently without DuckDB errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ductflow_core.duck.engine import engine, python_api
from ductflow_core.duck.names import quote_ident
from ductflow_core.duck.open import connect
from ductflow_core.errors import ConnectorError, PipelineError, first_line
from ductflow_core.models import Field
from ductflow_core.pipeline.sandbox import RunSandbox, real

if TYPE_CHECKING:
    import duckdb
    import pyarrow

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 122_880  # DuckDB's row-group size: batches come out whole.
CANCEL_GRACE_SECONDS = 1.5
CLOSE_GRACE_SECONDS = 5.0


class Database:
    """Owns the DuckDB database of one run and hands out per-stage facades."""

    def __init__(
        self,
        path: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        max_workers: int = 32,
        allowed_directories: list[str] | None = None,
        allowed_paths: list[str] | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
        sandbox: RunSandbox | None = None,
        extensions: bool = True,
    ) -> None:
        """Open ``path`` with ``config``, or adopt ``connection``: one opened from them already.

        (See :mod:`ductflow_core.duck.open`.) ``sandbox`` (see :mod:`ductflow_core.pipeline.sandbox`) or
        ``allowed_directories``/``allowed_paths`` lock the database's file access down to those folders and
        files. ``extensions=False`` stops SQL from installing or loading DuckDB extensions on its own (DuckDB
        does for a function or URL it knows one provides).
        """
        self.path = path
        if sandbox is None and (allowed_directories is not None or allowed_paths is not None):
            dirs = tuple(real(d) for d in allowed_directories or [])
            files = tuple(real(p) for p in allowed_paths or [])
            spelled_dirs = tuple(os.path.abspath(d) for d in allowed_directories or [])
            spelled_files = tuple(os.path.abspath(p) for p in allowed_paths or [])
            sandbox = RunSandbox(
                dirs, files, tuple(dict.fromkeys(dirs + spelled_dirs)), tuple(dict.fromkeys(files + spelled_files))
            )
        #: The run's sandbox by real paths, or ``None`` when the run has none.
        self.sandbox = sandbox
        self._con = connection if connection is not None else connect(path, config)
        if not extensions:
            # Before the sandbox: it locks the configuration.
            self._configure(
                self._keep_extensions_out,
                "cannot keep DuckDB from loading extensions with these settings ({}); "
                "leave lock_configuration to the sandbox",
                "duckdb",
            )
        if sandbox is not None:
            # duckdb: settings that shut external access or the configuration before the sandbox is set.
            self._configure(
                lambda: self._lock_down(list(sandbox.duckdb_directories), list(sandbox.duckdb_paths)),
                "cannot be applied with these duckdb: settings ({}); "
                "leave enable_external_access and lock_configuration to the sandbox",
                "sandbox",
            )
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ductflow-db")
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._guard = threading.Lock()

    def _configure(self, apply: Callable[[], None], message: str, key: str) -> None:
        """Run ``apply``; when the pipeline's own settings make DuckDB refuse it, close and blame ``key``."""
        try:
            apply()
        except engine().Error as exc:
            self._con.close()
            raise PipelineError(message.format(first_line(exc)), key_path=(key,)) from None

    def _keep_extensions_out(self) -> None:
        self._con.execute("SET autoinstall_known_extensions = false")
        self._con.execute("SET autoload_known_extensions = false")

    def _lock_down(self, directories: list[str], paths: list[str]) -> None:
        # Order matters: the lists can only be set while external access is still on,
        # and locking the configuration stops pipeline SQL from undoing any of it.
        dirs = [d if d.endswith("/") else d + "/" for d in directories]
        self._con.execute("SET allowed_directories = ?", [dirs])
        self._con.execute("SET allowed_paths = ?", [paths])
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def facade(self) -> StageDatabase:
        """Return a new facade on its own DuckDB cursor."""
        with self._guard:
            cursor = self._con.cursor()
            self._cursors.append(cursor)
        return StageDatabase(cursor, self._executor, self)

    def statement_kinds(self, sql: str) -> list[str]:
        """DuckDB's statement types of ``sql`` (``["SELECT"]``), parsed, not run; raises ``duckdb.Error``."""
        with self._guard:
            return [s.type.name for s in self._con.extract_statements(sql)]

    def serialize(self, sql: str) -> str:
        """DuckDB's ``json_serialize_sql`` of ``sql``: its syntax tree as JSON, or a JSON error; nothing is run."""
        with self._guard:
            return str(self._con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])

    def serialize_all(self, sqls: list[str]) -> list[str]:
        """:meth:`serialize` of each of ``sqls``, in order, in one query: a pipeline's transforms at once."""
        if not sqls:
            return []
        query = "SELECT json_serialize_sql(s) FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(s, i) ORDER BY i"
        with self._guard:
            return [str(row[0]) for row in self._con.execute(query, [sqls]).fetchall()]

    def check_path(self, path: str | os.PathLike[str], write: bool = False) -> str:
        """The real path of ``path``; :class:`ConnectorError` when the run's sandbox does not allow it."""
        target = real(path)
        if self.sandbox is not None:
            problem = self.sandbox.problem(path, write)
            if problem:
                raise ConnectorError(problem)
        return target

    def interrupt_all(self) -> None:
        """Interrupt every query running on any cursor of this database."""
        with self._guard:
            cursors = list(self._cursors)
        for cursor in cursors:
            with contextlib.suppress(Exception):
                cursor.interrupt()

    def close(self) -> None:
        """Stop the workers, close every cursor and the database (checkpointing a file)."""
        # Queries were interrupted; give their workers a moment to return before the cursors close,
        # but never hang on a connection's own code that ignores interruption.
        self._executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        for thread in list(getattr(self._executor, "_threads", ())):
            while thread.is_alive() and time.monotonic() < deadline:
                self.interrupt_all()
                thread.join(0.05)
        with self._guard:
            cursors, self._cursors = self._cursors, []
        for cursor in cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        # Still busy with a worker that ignored interruption? The WAL keeps the file consistent.
        with contextlib.suppress(engine().Error):
            self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StageDatabase:
    """Async facade over one DuckDB cursor: what a connection uses as ``self.c``.

    Calls on one facade run one at a time, in a worker thread; use
    :meth:`cursor` for a second, independent facade. Objects given to
    :meth:`register` are visible to this facade only.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, executor: ThreadPoolExecutor, owner: Database) -> None:
        self._con = con
        self._executor = executor
        self._owner = owner
        self._lock = asyncio.Lock()
        self._streaming = False

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB cursor itself, for blocking work inside :meth:`run`, with all of the ``duckdb`` package's API."""
        python_api()
        return self._con

    @staticmethod
    def quote(name: str) -> str:
        """Quote ``name`` as a DuckDB identifier (``quote("a b")`` is ``'"a b"'``)."""
        return quote_ident(name)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Stop DuckDB and wait for the worker, so no query outlives its stage. The query may not
            # have started when the first interrupt arrives, so interrupt again until it returns.
            # Python code blocking in the worker cannot be interrupted: past a short grace it is left.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CANCEL_GRACE_SECONDS
            while not future.done() and loop.time() < deadline:
                with contextlib.suppress(Exception):
                    self._con.interrupt()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(future), 0.05)
            raise

    def _refuse_while_streaming(self) -> None:
        if self._streaming:
            # Waiting would deadlock: the stream holds this cursor until the loop over it ends.
            raise ConnectorError(
                "this DuckDB facade is busy streaming record_batches(); "
                "use a second one (c2 = await self.c.cursor()) for other queries inside the loop"
            )

    async def statement_kinds(self, sql: str) -> list[str]:
        """DuckDB's statement types of ``sql`` (``["SELECT"]``), from DuckDB's parser; nothing is run.

        :raises ConnectorError: ``sql`` does not parse.
        """
        duck = engine()
        try:
            return self._owner.statement_kinds(sql)
        except duck.Error as exc:
            raise ConnectorError(first_line(exc)) from exc

    async def require_query(self, sql: str, what: str = "a tap query") -> None:
        """Raise :class:`ConnectorError` unless DuckDB parses ``sql`` as exactly one read-only ``SELECT`` statement.

        Call it before putting SQL from a pipeline inside a statement of your own: a second statement
        (``…; COPY …``), one that changes settings (``SET``, ``ATTACH``, ``PRAGMA``…), or a call of a
        function that does (``SELECT * FROM enable_profiling()``, see :mod:`ductflow_core.duck.transforms`)
        is refused.
        """
        from ductflow_core.duck.transforms import query_problem

        try:
            kinds = await self.statement_kinds(sql)
        except ConnectorError as exc:
            raise ConnectorError(f"{what} does not parse: {exc.message}") from exc
        if kinds != ["SELECT"]:
            found = ", ".join(kinds) or "nothing"
            raise ConnectorError(f"{what} must be one SELECT statement; found {len(kinds)} statement(s): {found}")
        problem = query_problem(sql, kinds, self._owner.serialize, what=what)
        if problem:
            raise ConnectorError(problem)

    def check_path(self, path: str | os.PathLike[str], write: bool = False) -> str:
        """The real path of the file, folder or glob pattern ``path``, once the run's sandbox allows it.

        Not async: it only resolves symlinks. Call it on a tap's file, folder or pattern, on each file a
        glob matched (a match may be a symlink), and on a sink's target, before DuckDB touches them.
        Without a ``sandbox:`` every path is allowed.

        :raises ConnectorError: the real path is outside the sandbox's folders and files.
        """
        return self._owner.check_path(path, write)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the blocking callable ``fn(*args)`` in a worker thread, in turn with this facade's other calls."""
        self._refuse_while_streaming()
        async with self._lock:
            return await self._in_thread(fn, *args)

    async def sql(self, query: str, params: Any = None) -> Relation | None:
        """Run ``query``; return a :class:`Relation` for a query that yields rows, else ``None``.

        Statements (``CREATE``, ``INSERT``, …) run at once; a ``SELECT`` runs
        when its relation is fetched.
        """
        python_api()  # relations are the package's Python layer (see engine.py)
        rel = await self.run(lambda: self._con.sql(query, params=params))
        return Relation(rel, self) if rel is not None else None

    async def execute(self, query: str, params: Any = None) -> None:
        """Run a statement, with ``?`` or ``$name`` parameters bound from ``params``; any result is discarded."""
        # DuckDB keeps an unread result open on the cursor and refuses the next call until it is read.
        await self.fetchall(query, params)

    async def fetchall(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run a statement, with parameters bound as for :meth:`execute`, and return all its rows."""
        return await self.run(lambda: self._con.execute(query, params).fetchall())

    async def register(self, name: str, obj: Any) -> None:
        """Make ``obj`` (a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader) queryable as ``name``.

        A RecordBatchReader is read as a stream, once, by the query that selects from it.
        """
        python_api()  # it sets up DuckDB's scanning of Python objects (see engine.py)
        await self.run(self._con.register, name, obj)

    async def unregister(self, name: str) -> None:
        """Drop what :meth:`register` made visible as ``name``."""
        await self.run(self._con.unregister, name)

    async def relation_kind(self, name: str) -> str | None:
        """``"table"`` or ``"view"`` for what is called ``name`` in the current schema, else ``None``."""
        rows = await self.fetchall(
            "SELECT 'table' FROM duckdb_tables() WHERE table_name = ? AND schema_name = current_schema() "
            "UNION ALL SELECT 'view' FROM duckdb_views() WHERE view_name = ? AND schema_name = current_schema() "
            "AND NOT internal",
            [name, name],
        )
        return str(rows[0][0]) if rows else None

    async def table_exists(self, name: str) -> bool:
        """Whether a table or view called ``name`` exists in the current schema."""
        return await self.relation_kind(name) is not None

    async def drop(self, name: str) -> None:
        """Drop the table or view called ``name``, if there is one."""
        kind = await self.relation_kind(name)
        if kind is not None:
            await self.execute(f"DROP {kind.upper()} {quote_ident(name)}")

    async def columns(self, name: str) -> list[Field]:
        """The fields of table or view ``name``, in column order."""
        rows = await self.fetchall(
            "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            [name],
        )
        return [Field(name=col, type=typ, nullable=bool(nullable)) for col, typ, nullable in rows]

    async def count(self, name: str) -> int:
        """Number of rows in table or view ``name``."""
        rows = await self.fetchall(f"SELECT count(*) FROM {quote_ident(name)}")
        return int(rows[0][0]) if rows else 0

    async def cursor(self) -> StageDatabase:
        """A second facade on its own DuckDB cursor, for work that must overlap this one's."""
        return self._owner.facade()


class Relation:
    """A DuckDB query result whose fetching runs off the event loop."""

    def __init__(self, rel: duckdb.DuckDBPyRelation, db: StageDatabase) -> None:
        self._rel = rel
        self._db = db

    @property
    def raw(self) -> duckdb.DuckDBPyRelation:
        """The DuckDB relation itself."""
        return self._rel

    @property
    def columns(self) -> list[str]:
        """Column names."""
        return list(self._rel.columns)

    @property
    def types(self) -> list[str]:
        """DuckDB type names of the columns."""
        return [str(t) for t in self._rel.types]

    async def df(self) -> Any:
        """The whole result as a pandas DataFrame (needs pandas: ``pip install 'ductflow[pandas]'``)."""
        _needs("pandas")
        return await self._db.run(self._rel.df)

    async def pl(self) -> Any:
        """The whole result as a polars DataFrame (needs polars)."""
        _needs("polars")
        return await self._db.run(self._rel.pl)

    async def arrow(self) -> pyarrow.Table:
        """The whole result as a pyarrow Table."""
        return await self._db.run(self._rel.to_arrow_table)

    async def fetchall(self) -> list[tuple[Any, ...]]:
        """All rows as tuples."""
        return await self._db.run(self._rel.fetchall)

    async def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or ``None``."""
        rows = await self._db.run(lambda: self._rel.limit(1).fetchall())
        return rows[0] if rows else None

    def record_batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> AsyncIterator[pyarrow.RecordBatch]:
        """Stream the result as pyarrow RecordBatches of at most ``batch_size`` rows.

        Only one batch is in memory at a time. The facade is held for the whole
        iteration: another call on it inside the loop fails at once (use a second
        facade), and it is free again as soon as the loop ends, ``break`` included.
        """
        return _BatchStream(self._db, self._rel, batch_size)

    def __aiter__(self) -> AsyncIterator[pyarrow.RecordBatch]:
        return self.record_batches()


class _BatchStream:
    """An async iterator over a relation's batches that holds its facade from the first batch to the last.

    A class rather than an async generator: a generator left by ``break`` is closed only later, by a task the
    event loop schedules, and would keep the facade busy until then; this one lets go when it is dropped.
    """

    def __init__(self, db: StageDatabase, rel: Any, batch_size: int) -> None:
        self._db = db
        self._rel = rel
        self._batch_size = batch_size
        self._reader: Any = None
        self._holding = False
        self._done = False

    def __aiter__(self) -> _BatchStream:
        return self

    async def __anext__(self) -> pyarrow.RecordBatch:
        if self._done:
            raise StopAsyncIteration
        try:
            if not self._holding:
                self._db._refuse_while_streaming()
                await self._db._lock.acquire()
                self._holding = True
                self._db._streaming = True
                self._reader = await self._db._in_thread(self._rel.to_arrow_reader, self._batch_size)
            batch = await self._db._in_thread(_next_batch, self._reader)
        except BaseException:
            self.close()
            raise
        if batch is None:
            self.close()
            raise StopAsyncIteration
        return batch

    async def aclose(self) -> None:
        """Stop early and free the facade (what ``contextlib.aclosing`` calls)."""
        self.close()

    def close(self) -> None:
        """Free the facade and the reader; safe to call more than once."""
        self._done = True
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()
            self._reader = None
        if self._holding:
            self._holding = False
            self._db._streaming = False
            self._db._lock.release()

    def __del__(self) -> None:
        self.close()


def _needs(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConnectorError(f"this needs {module}, which is not installed: pip install {module}")


def _next_batch(reader: Any) -> Any:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
