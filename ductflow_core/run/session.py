"""The one place a run is built: requirements, registry and policy, plugin manager, output, database, stage plan.

:func:`ductflow_core.api.arun`, ``ductflow run``, ``ductflow schema`` and the conformance suite
all open their run with :func:`open_run`, so a policy flag or a hook plugin added here reaches
every one of them. Nothing heavy is imported at module level: ``ductflow --help`` and
``ductflow validate`` must stay fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy

    from ductflow_core.duck.open import Opening
    from ductflow_core.models import Stages
    from ductflow_core.plugin.registry import Registry
    from ductflow_core.run.context import RunContext, StageResult
    from ductflow_core.run.output import Output


def start_database(pipeline: Stages, database: str | None = None) -> Opening | None:
    """Start opening the run's DuckDB database on a thread; hand the result to :func:`open_run` as ``early``.

    For the CLI, which overlaps the opening with its own imports. ``None`` when the database is a
    file that does not exist yet: creating it early would leave it behind a run that fails validation.
    """
    from ductflow_core.api import database_path
    from ductflow_core.duck.open import open_early

    return open_early(database_path(pipeline, database), pipeline.settings.duckdb)


@contextlib.asynccontextmanager
async def open_run(
    pipeline: Stages,
    *,
    database: str | None = None,
    stages: Iterable[str] | None = None,
    registry: Registry | None = None,
    plugins: Iterable[object] = (),
    pm: pluggy.PluginManager | None = None,
    output: Output | None = None,
    early: Opening | None = None,
) -> AsyncIterator[RunContext]:
    """Check, resolve and open everything a run of ``pipeline`` (or of ``stages`` and what they need) uses.

    Yields the run's :class:`~ductflow_core.run.context.RunContext`, its stage plan computed once; the
    database closes when the block ends.

    :param registry: what may be loaded (default: everything installed, under the ``DUCTFLOW_*`` policy);
        its policy also decides ``--plugins-only`` for the database.
    :param plugins: hook plugins added to a fresh plugin manager (ignored when ``pm`` is given).
    :param early: what :func:`start_database` returned for the same ``pipeline`` and ``database``;
        without it, the database starts opening here, before connections are resolved, so the two overlap.
    """
    from ductflow_core import api
    from ductflow_core.duck.transforms import check_transforms, duckdb_serialize, duckdb_statement_kinds
    from ductflow_core.pipeline import plan
    from ductflow_core.pipeline.requirements import check_requirements
    from ductflow_core.plugin.manager import Hooks, make_plugin_manager
    from ductflow_core.plugin.registry import default_registry
    from ductflow_core.run.context import RunContext, StagePlan
    from ductflow_core.run.output import Output

    registry = registry or default_registry()
    names = list(stages) if stages is not None else None
    opening = early
    try:
        check_requirements(pipeline)
        if opening is None:
            opening = start_database(pipeline, database)
        stage_plan = StagePlan.of(pipeline)
        resolved = api._resolve(pipeline, registry, names, deps=stage_plan.dependencies, database=database)
        pm = pm or make_plugin_manager(registry=registry, plugins=plugins)
        output = output or Output(secrets=pipeline.secrets)
        # start_database leaves only a file not made yet unopened; it is made only for a pipeline
        # that passes every check, so its transforms are parsed first, without it.
        parsed_first = opening is None and api.database_path(pipeline, database) is not None
        if parsed_first:
            check_transforms(pipeline, duckdb_statement_kinds(), duckdb_serialize())
        db = api._open_database(pipeline, database, opening, plugins_only=registry.policy.plugins_only)
    except BaseException:
        if opening is not None:
            opening.discard()
        raise
    try:
        if not parsed_first:
            # Parsed on the run's own database: opening a second one just to parse costs a DuckDB start.
            check_transforms(pipeline, db.statement_kinds, db.serialize, db.serialize_all)
        if plan.parser_disagrees(pipeline):  # DuckDB's parser read some transform's tables otherwise than the scan
            stage_plan = StagePlan.of(pipeline)
        selected = stage_plan.select(pipeline, names) if names is not None else None
        yield RunContext(pipeline, db, Hooks(pm), resolved, output, plan=stage_plan, stages=selected)
    finally:
        db.close()


async def run_all(
    pipeline: Stages,
    *,
    stages: Iterable[str] | None = None,
    **kwargs: object,
) -> list[StageResult]:
    """Open the run (``kwargs`` as for :func:`open_run`) and run its stages; one result per stage."""
    from ductflow_core.run.runner import run_stages

    names = list(stages) if stages is not None else None
    async with open_run(pipeline, stages=names, **kwargs) as run:  # type: ignore[arg-type]
        return await run_stages(run, names)
