"""``ductflow validate PIPELINE``: load, resolve every connection, check params; run nothing."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ductflow_core.cli.commands._policy import pipeline_parent, registry_from, untrust_current_folder
from ductflow_core.errors import ExitCode

if TYPE_CHECKING:
    from ductflow_core.models import Stages
    from ductflow_core.plugin.registry import Registry
    from ductflow_core.plugin.resolve import Resolved

#: How many independent problems ``validate`` reports before it stops looking.
LIMIT = 20


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``validate PIPELINE``."""
    parser = sub.add_parser(name, parents=[common, pipeline_parent()], help="check a pipeline without running it")
    parser.add_argument("--print", action="store_true", help="print the resolved pipeline, secrets masked")
    parser.add_argument(
        "--parse-sql",
        action="store_true",
        help="also parse transform SQL with DuckDB (catches syntax errors; imports DuckDB, slower)",
    )
    parser.add_argument(
        "--connect",
        action="store_true",
        help="also check each connection: files exist, servers answer, credentials and tables are there",
    )


def main(args: argparse.Namespace) -> int:
    """Print a one-line verdict; 0 when the pipeline is valid."""
    untrust_current_folder()
    from ductflow_core import api
    from ductflow_core.pipeline.loader import load_pipeline

    pipeline = load_pipeline(args.pipeline, limit=LIMIT)
    args.secrets = pipeline.secrets
    registry = registry_from(args)
    _stage_problems(pipeline, registry, args.parse_sql)
    resolved = api.validate(pipeline, registry=registry, parse_sql=args.parse_sql)
    _check_tables(pipeline, args.parse_sql)
    if args.connect:
        import asyncio

        asyncio.run(_check_connections(pipeline, resolved))
    if args.print:
        from ductflow_core.cli.render import dump_masked

        print(dump_masked(pipeline), end="")
    stages, connections = len(pipeline.stages), len(resolved)
    print(
        f"{pipeline.source}: valid: {stages} stage{'s' if stages != 1 else ''}, "
        f"{connections} connection{'s' if connections != 1 else ''} resolved"
    )
    return ExitCode.OK


def _stage_problems(pipeline: Stages, registry: Registry, parse_sql: bool) -> None:
    """Raise the first problem of each stage (a transform's SQL, a connection and its params) when several have one.

    One problem alone is left to :func:`ductflow_core.api.validate`, which reports it as ``run`` would.
    """
    from ductflow_core.duck.transforms import duckdb_serialize, duckdb_statement_kinds, transform_problem
    from ductflow_core.errors import PipelineError, PipelineErrors
    from ductflow_core.models import TransformStage
    from ductflow_core.plugin.resolve import resolve_connection

    parse = serialize = None
    if parse_sql:
        parse, serialize = duckdb_statement_kinds(), duckdb_serialize()
    errors: list[PipelineError] = []
    for stage in pipeline.stages:
        try:
            if isinstance(stage, TransformStage):
                problem = transform_problem(stage.sql, parse, serialize)
                if problem:
                    raise pipeline.error(stage.name, ("sql",), problem)
            elif getattr(stage, "connection", None) is not None:
                resolve_connection(pipeline, stage, registry)
        except PipelineError as exc:
            errors.append(exc)
            if len(errors) > LIMIT:
                break
    if len(errors) > 1:
        raise PipelineErrors(errors[:LIMIT], more=len(errors) > LIMIT)


def _check_tables(pipeline: Stages, parse_sql: bool) -> None:
    """Refuse a transform reading a table that no stage makes, DuckDB lacks and the ``database:`` file lacks.

    DuckDB is imported only when the scan finds such a name, to look in its catalog and the file.
    """
    from ductflow_core import api
    from ductflow_core.duck.transforms import duckdb_serialize, existing_tables
    from ductflow_core.pipeline import plan, sqlscan

    refs = plan.parser_refs(duckdb_serialize()) if parse_sql else sqlscan.table_refs
    unknown = plan.unknown_tables(pipeline, refs)
    if unknown:
        present = existing_tables(sorted({table for _, table in unknown}), api.database_path(pipeline))
        plan.check_tables(pipeline, [(stage, table) for stage, table in unknown if table not in present])


async def _check_connections(pipeline: Stages, resolved: dict[str, Resolved]) -> None:
    """Await each stage's ``Connection.check``, in file order; the first failure is raised with its stage."""
    from ductflow_core.errors import ConnectorError, DuctflowError, first_line

    for stage in pipeline.stages:
        res = resolved.get(stage.name)
        if res is None or res.role is None:
            continue
        try:
            instance = res.create(stage.name, c=None, base_dir=pipeline.base_dir)
            try:
                await instance.check(res.role)
            finally:
                await instance.close()
        except Exception as exc:  # a plugin's own error too: the user sees one line naming the stage
            text = first_line(exc, fallback="")
            reason = text if isinstance(exc, DuctflowError) else f"{type(exc).__name__}: {text}".rstrip(": ")
            raise ConnectorError(
                f"{pipeline.location(stage.name)}: stage {stage.name!r}: check failed: {reason}"
            ) from exc
