"""Opening the run's DuckDB connection, optionally on a thread of its own.

``duckdb.connect`` takes a noticeable part of start-up and releases the GIL while it works. A run
starts it as soon as the pipeline's settings are known, then imports, resolves
connections and builds its plugin manager in the meantime. Of what is heavy, this module
imports only DuckDB's engine (see :mod:`.engine`), so that the thread can start before the rest of the run
is imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ductflow_core.duck.engine import engine
from ductflow_core.errors import PipelineError, first_line
from ductflow_core.pipeline.settings import database_file_problem

if TYPE_CHECKING:
    import duckdb


#: Ductflow's defaults where they differ from DuckDB's; a pipeline's ``duckdb:`` overrides them.
#: A COPY that keeps insertion order holds every batch a streamed source gets ahead of the writer, up to
#: memory_limit, so a streamed read's memory grew with its size (docs/performance.md); without it, no slower.
#: Without it, rows come out in the order DuckDB produces them; ORDER BY still orders.
DEFAULT_SETTINGS: dict[str, Any] = {"preserve_insertion_order": False}


def connect(path: str | None, config: Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open ``path`` (in memory when ``None``) with Ductflow's defaults under ``config``.

    :raises PipelineError: DuckDB refused the file or a setting; the message is DuckDB's first line.
    """
    settings = {**DEFAULT_SETTINGS, **{k: _setting_value(v) for k, v in (config or {}).items()}}
    problem = database_file_problem(path) if path else None
    if problem:
        raise PipelineError(f"cannot open the DuckDB database {path}: it {problem}")
    duck = engine()
    try:
        connection: duckdb.DuckDBPyConnection = duck.connect(path or ":memory:", config=settings)
        return connection
    except duck.Error as exc:
        raise PipelineError(f"cannot open the DuckDB database {path or ':memory:'}: {first_line(exc)}") from exc




def _setting_value(value: Any) -> Any:
    # DuckDB takes booleans and numbers in config, but wants strings for sizes.
    return value if isinstance(value, (bool, int, float, str)) else str(value)


class Opening:
    """A :func:`connect` running on a thread; :meth:`result` waits for it and returns or raises as it did."""

    def __init__(self, path: str | None, config: Mapping[str, Any] | None = None) -> None:
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._error: BaseException | None = None
        self._taken = False
        # A daemon, so that an interpreter leaving on an unrelated error never waits on it.
        self._thread = threading.Thread(target=self._open, args=(path, config), name="ductflow-connect", daemon=True)
        self._thread.start()

    def _open(self, path: str | None, config: Mapping[str, Any] | None) -> None:
        try:
            self._connection = connect(path, config)
        except BaseException as exc:  # handed to result(), in the caller's thread
            self._error = exc

    def result(self) -> duckdb.DuckDBPyConnection:
        """The open connection, once; the error :func:`connect` raised, as raised."""
        self._thread.join()
        if self._taken:
            raise RuntimeError("this DuckDB connection was already taken")
        self._taken = True
        if self._error is not None:
            raise self._error
        assert self._connection is not None
        return self._connection

    def discard(self) -> None:
        """Close the connection unless :meth:`result` handed it out: the run ended before it needed it."""
        self._thread.join()
        if not self._taken and self._connection is not None:
            self._taken = True
            self._connection.close()


def open_early(path: str | None, config: Mapping[str, Any] | None = None) -> Opening | None:
    """Start opening ``path`` on a thread, unless that would create a file a failed run should not leave.

    An in-memory database or a file that exists already is opened early; a new file is
    left to the caller, so a pipeline that fails validation leaves nothing behind.
    """
    if path is not None and not os.path.exists(path):
        return None
    return Opening(path, config)
