"""The schema of one stage, for ``ductflow schema``: run only what is safe to run to learn it.

Taps and transforms only write into DuckDB, so they may run; sinks and
``sql`` stages change outside systems, so they never run here.
"""

from __future__ import annotations

import io

from . import api, plan
from .discovery import Registry
from .models import Field, Stages
from .output import Output
from .plugins import Hooks, make_plugin_manager
from .runner import RunContext, run_stages


def _quiet() -> Output:
    # Stages run here only to learn a schema; their show: blocks would be noise.
    return Output(out=io.StringIO(), err=io.StringIO())


async def stage_schema(
    pipeline: Stages, name: str, *, database: str | None = None, registry: Registry | None = None
) -> list[Field]:
    """Fields of stage ``name``: its table's after running what it needs, or its connection's ``show_schema``.

    ``registry`` (default: everything installed, under the ``DUCTFLOW_*`` policy) decides what may be
    loaded, as for a run: the stages run here run their connections' code.
    """
    resolved = api.validate(pipeline, registry=registry, stages=[name])  # also refuses an unknown stage name
    stage = pipeline[name]
    needed = plan.select(pipeline, [name])
    db = api.open_database(pipeline, database, plugins_only=registry is not None and registry.policy.plugins_only)
    try:
        run = RunContext(pipeline, db, Hooks(make_plugin_manager(registry=registry)), resolved, _quiet())
        facade = db.facade()
        if stage.produces_table and await facade.table_exists(name):
            return await facade.columns(name)
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
    finally:
        db.close()
