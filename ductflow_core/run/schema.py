"""The schema of one stage, for ``ductflow schema``: run only what is safe to run to learn it.

Taps and transforms only write into DuckDB, so they may run; sinks and
``sql`` stages change outside systems, so they never run here.
"""

from __future__ import annotations

import io

from ductflow_core.models import Field, Stages
from ductflow_core.plugin.registry import Registry
from ductflow_core.run.output import Output
from ductflow_core.run.runner import run_stages
from ductflow_core.run.session import open_run


def _quiet() -> Output:
    # Stages run here only to learn a schema; their show: blocks would be noise.
    return Output(out=io.StringIO(), err=io.StringIO())


async def stage_schema(
    pipeline: Stages, name: str, *, database: str | None = None, registry: Registry | None = None
) -> list[Field]:
    """Fields of stage ``name``: its table's after running what it needs, or its connection's ``show_schema``.

    ``registry`` (default: everything installed, under the ``DUCTFLOW_*`` policy) decides what may be
    loaded, as for a run: the stages run here run their connections' code. The run is opened by
    :func:`ductflow_core.run.session.open_run`, with every check and lock-down of ``ductflow run``.
    """
    # open_run also refuses an unknown stage name.
    async with open_run(pipeline, database=database, stages=[name], registry=registry, output=_quiet()) as run:
        stage = pipeline[name]
        facade = run.database.facade()
        if stage.produces_table and await facade.table_exists(name):
            return await facade.columns(name)
        needed: frozenset[str] = run.stages or frozenset()
        safe = {n for n in needed if pipeline[n].produces_table and not (n == name and stage.kind == "transform")}
        await run_stages(run, safe - ({name} if not stage.produces_table else set()), exact=True)
        if stage.kind == "transform":
            rel = await facade.sql(f"DESCRIBE {stage.sql}")  # type: ignore[attr-defined]
            rows = await rel.fetchall() if rel else []
            return [Field(name=r[0], type=r[1], nullable=r[2] == "YES") for r in rows]
        connection = run.connect(stage, facade)
        try:
            return await run.hooks.show_schema(stage, connection)
        finally:
            await connection.close()
