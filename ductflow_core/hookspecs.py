"""The hooks a Ductflow plugin can implement.

pluggy is synchronous; Ductflow is not. So every operation hook returns an
*awaitable* that the runner awaits, and a ``wrapper=True`` implementation gets
that awaitable from ``yield`` and returns its own, for example::

    @hookimpl(wrapper=True)
    def ductflow_tap(stage, connection, query):
        inner = yield

        async def timed():
            started = time.perf_counter()
            try:
                return await inner
            finally:
                print(stage.name, time.perf_counter() - started)

        return timed()

The connection's own method is the last implementation of each operation
hook (``trylast``), so another plugin's plain implementation that returns an
awaitable replaces it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ductflow_core.connection import Connection
    from ductflow_core.models import Field, Stage, Stages
    from ductflow_core.run.context import RunContext, StageResult

hookspec = pluggy.HookspecMarker("ductflow")


@hookspec(firstresult=True)
def ductflow_tap(stage: Stage, connection: Connection, query: str | None) -> Awaitable[int | None] | None:
    """Read from a source into the DuckDB table named after the stage.

    :param stage: the tap stage being run.
    :param connection: the stage's connection instance.
    :param query: the stage's ``query:``, or ``None``.
    :return: an awaitable; awaited, it leaves table ``stage.name`` in DuckDB and
        gives the number of rows read, or ``None`` when unknown.

    firstresult: the first implementation returning non-``None`` wins; the
    default calls ``connection.tap(query)``.
    """


@hookspec(firstresult=True)
def ductflow_sink(stage: Stage, connection: Connection, from_name: str) -> Awaitable[int | None] | None:
    """Write a DuckDB table to a destination.

    :param stage: the sink stage being run.
    :param connection: the stage's connection instance.
    :param from_name: the DuckDB table to write (the stage's ``from``).
    :return: an awaitable; awaited, it has written the table and gives the
        number of rows written, or ``None`` when unknown.

    firstresult: the first implementation returning non-``None`` wins; the
    default calls ``connection.sink(from_name)``.
    """


@hookspec(firstresult=True)
def ductflow_sql(stage: Stage, connection: Connection, query: str) -> Awaitable[Any] | None:
    """Run a statement on the connection's own system.

    :param stage: the ``sql`` stage being run.
    :param connection: the stage's connection instance.
    :param query: the stage's ``query:``.
    :return: an awaitable; awaited, the statement has run. Its value is ignored.

    firstresult: the first implementation returning non-``None`` wins; the
    default calls ``connection.sql(query)``.
    """


@hookspec(firstresult=True)
def ductflow_show_schema(stage: Stage, connection: Connection) -> Awaitable[list[Field]] | None:
    """Describe the table a stage made or writes.

    :param stage: the stage whose schema is asked for (``show:`` or ``ductflow schema``).
    :param connection: the stage's connection instance.
    :return: an awaitable giving a list of :class:`~ductflow_core.models.Field`.

    firstresult: the first implementation returning non-``None`` wins; the
    default calls ``connection.show_schema()``.
    """


@hookspec(firstresult=True)
def ductflow_run_stage(stage: Stage, run: RunContext) -> Awaitable[StageResult] | None:
    """Run one whole stage: build its connection, call the operation, count rows, show.

    Wrap this hook to see every stage of every kind, transforms included
    (progress, timing and logging in the core are such wrappers).

    :param stage: the stage to run.
    :param run: the run it belongs to (pipeline, database, hooks, output).
    :return: an awaitable giving a :class:`~ductflow_core.run.context.StageResult`.

    firstresult: the core's own implementation runs last.
    """


@hookspec
def ductflow_run_start(pipeline: Stages, stages: list[str]) -> None:
    """Called once before the first stage of a run starts.

    :param pipeline: the loaded pipeline.
    :param stages: names of the stages that will run, in dependency order.
    :return: nothing; return values are ignored.
    """


@hookspec
def ductflow_run_end(pipeline: Stages, results: list[StageResult], error: BaseException | None) -> None:
    """Called once when a run ends, whether it succeeded, failed or was stopped.

    :param pipeline: the loaded pipeline.
    :param results: one result per stage that finished, in finishing order.
    :param error: what ended the run early, or ``None`` when every stage finished.
    :return: nothing; return values are ignored.
    """
