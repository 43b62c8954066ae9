"""The default ``ductflow_run_stage``: what running each kind of stage means."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable

from ductflow_core import hookimpl
from ductflow_core.duck.database import StageDatabase
from ductflow_core.duck.names import quote_ident
from ductflow_core.errors import ConnectorError
from ductflow_core.models import SinkStage, SqlStage, Stage, TapStage, TransformStage
from ductflow_core.run.context import RunContext, StageResult


@hookimpl(trylast=True)
def ductflow_run_stage(stage: Stage, run: RunContext) -> Awaitable[StageResult]:
    """Run ``stage`` according to its kind."""
    return _run(stage, run)


async def _run(stage: Stage, run: RunContext) -> StageResult:
    started = time.perf_counter()
    facade = await run.facade_for(stage)
    if not (stage.produces_table and run.database.path is not None):
        return await _run_kind(stage, run, facade, started)
    # Only a database file can hold this stage's table from an earlier run. It is set aside, not dropped,
    # so a stage that fails leaves the earlier run's table as it was.
    aside = f"__ductflow_previous_{stage.name}"
    kind = await facade.relation_kind(stage.name)
    left = await facade.relation_kind(aside)
    if left is not None and kind is None:
        # A run killed after setting the table aside and before its own was made: the earlier table comes back.
        await _rename(facade, left, aside, stage.name)
        kind, left = left, None
    if left is not None:
        await facade.drop(aside)  # a run killed after its own table was made: the earlier one is done with
    if kind is None:
        return await _run_kind(stage, run, facade, started)
    await _rename(facade, kind, stage.name, aside)
    try:
        result = await _run_kind(stage, run, facade, started)
    except BaseException:
        with contextlib.suppress(Exception):
            await facade.drop(stage.name)
            await _rename(facade, kind, aside, stage.name)
        raise
    await facade.drop(aside)
    return result


async def _rename(facade: StageDatabase, kind: str, name: str, to: str) -> None:
    await facade.execute(f"ALTER {kind.upper()} {quote_ident(name)} RENAME TO {quote_ident(to)}")


async def _run_kind(stage: Stage, run: RunContext, facade: StageDatabase, started: float) -> StageResult:
    if isinstance(stage, TransformStage):
        rows = await _transform(stage, run, facade)
        if stage.show:
            await run.output.show(stage, await facade.columns(stage.name), facade, stage.name)
        run.keep(stage, facade)
        return StageResult(stage.name, stage.kind, rows, time.perf_counter() - started)
    connection = run.connect(stage, facade)
    try:
        rows = None
        shown_table: str | None = None
        if isinstance(stage, TapStage):
            rows = await run.hooks.tap(stage, connection, stage.query)
            kind = await facade.relation_kind(stage.name)
            if kind is None:
                raise ConnectorError(f"the tap finished without creating table {quote_ident(stage.name)}")
            rows = await _rows(facade, stage.name, kind, rows)
            shown_table = stage.name
        elif isinstance(stage, SinkStage):
            source = run.input_of(stage)
            assert source is not None  # the loader refuses a sink without input
            rows = await run.hooks.sink(stage, connection, source)
            rows = await _rows(facade, source, await facade.relation_kind(source), rows)
            shown_table = source
        elif isinstance(stage, SqlStage):
            await run.hooks.sql(stage, connection, stage.query)
        if stage.show:
            fields = await run.hooks.show_schema(stage, connection)
            await run.output.show(stage, fields, facade, shown_table)
    finally:
        await connection.close()
    run.keep(stage, facade)
    return StageResult(stage.name, stage.kind, rows, time.perf_counter() - started)


async def _transform(stage: TransformStage, run: RunContext, facade: StageDatabase) -> int | None:
    # The SQL was parsed as one query before the run started (run.session.open_run -> duck.transforms.check_transforms).
    as_view = not run.materialized(stage)
    if as_view:
        await facade.execute(f"CREATE VIEW {quote_ident(stage.name)} AS {stage.sql}")
        return None
    # DuckDB answers CREATE TABLE … AS with the number of rows written: no count(*) needs to follow.
    statement = f"CREATE TABLE {quote_ident(stage.name)} AS {stage.sql}"
    written = await facade.fetchall(statement)
    return int(written[0][0]) if written else await facade.count(stage.name)


async def _rows(facade: StageDatabase, table: str, kind: str | None, reported: int | None) -> int | None:
    # Counting a table is cheap; counting a view would read its source again.
    if isinstance(reported, int) and not isinstance(reported, bool):
        return reported
    return await facade.count(table) if kind == "table" else None
